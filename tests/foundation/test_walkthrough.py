"""The README's first walkthrough, as a user runs it: CLI, then a real HTTP server."""

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import empty_database, run_cli

PUENTE = [sys.executable, "-m", "app"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _puente(env: dict[str, str], *args: str) -> str:
    done = run_cli(env["PUENTE_DATABASE_URL"], *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _secret(output: str) -> tuple[str, str]:
    client_id = re.search(r"client_id:\s+(\S+)", output)
    secret = re.search(r"client_secret:\s+(\S+)", output)
    assert client_id, output
    assert secret, output
    return client_id.group(1), secret.group(1)


@dataclass(frozen=True)
class Hub:
    base: str
    env: dict[str, str]
    log: Path


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A migrated database and `puente serve` on a free loopback port."""
    directory = tmp_path_factory.mktemp("walk")
    with empty_database(directory) as url:
        env = os.environ | {"PUENTE_DATABASE_URL": url, "PUENTE_LOG_JSON": "true"}
        _puente(env, "db", "upgrade")
        port = _free_port()
        log = directory / "server.log"
        with log.open("w") as stderr:
            server = subprocess.Popen(
                [*PUENTE, "serve", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_ready(base, server, log)
            yield Hub(base, env, log)
        finally:
            server.terminate()
            server.wait(timeout=20)


@pytest.fixture(autouse=True)
def _server_log_on_failure(hub: Hub) -> Iterator[None]:
    """pytest shows what teardown writes only when the test failed."""
    yield
    sys.stderr.write(f"puente serve's stderr:\n{hub.log.read_text()}")


def _wait_until_ready(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    # A deadline for a slow start, not an assertion about speed.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    state = "exited" if server.poll() is not None else "did not become ready"
    raise AssertionError(f"the hub {state}; its stderr:\n{log.read_text()}")


def test_an_admin_bootstraps_issues_a_client_and_that_client_calls_the_hub(
    hub: Hub,
) -> None:
    admin_id, admin_secret = _secret(_puente(hub.env, "bootstrap-admin"))
    with httpx.Client(base_url=hub.base, timeout=10) as http:
        admin_token = http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(admin_id, admin_secret),
        ).json()["access_token"]
        admin = {"Authorization": f"Bearer {admin_token}"}
        created = http.post(
            "/v1/admin/clients",
            json={"institution": "dgme", "name": "DGME SII", "scopes": ["cases:read"]},
            headers=admin,
        ).json()
        token = http.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": created["id"],
                "client_secret": created["client_secret"],
            },
        ).json()["access_token"]
        roles = http.get(
            "/v1/institutions", headers={"Authorization": f"Bearer {token}"}
        ).json()
    assert {"migration", "child_protection", "consulate"} <= {r["role"] for r in roles}


def test_the_cli_lists_rotates_and_revokes_clients(hub: Hub) -> None:
    env = hub.env
    output = _puente(
        env,
        "clients",
        "create",
        "--institution",
        "minsal",
        "--name",
        "SIS",
        "--scope",
        "referrals:read",
    )
    client_id, old_secret = _secret(output)
    assert client_id in _puente(env, "clients", "list")
    grant = {"grant_type": "client_credentials"}

    with httpx.Client(base_url=hub.base, timeout=10) as http:

        def token_status(secret: str) -> int:
            return http.post(
                "/oauth/token", data=grant, auth=(client_id, secret)
            ).status_code

        rotated_id, new_secret = _secret(_puente(env, "clients", "rotate", client_id))
        after_rotation = token_status(old_secret), token_status(new_secret)
        _puente(env, "clients", "revoke", client_id)
        after_revocation = token_status(new_secret)

    assert rotated_id == client_id
    assert after_rotation == (401, 200)
    assert after_revocation == 401


def test_every_log_line_of_a_request_carries_its_request_id(hub: Hub) -> None:
    response = httpx.get(
        f"{hub.base}/livez", headers={"X-Request-ID": "walkthrough-1"}, timeout=10
    )
    assert response.headers["x-request-id"] == "walkthrough-1"


def test_the_cli_explains_a_mistake_without_a_traceback(hub: Hub) -> None:
    done = run_cli(hub.env["PUENTE_DATABASE_URL"], "clients", "rotate", "nobody")

    assert done.returncode == 1
    assert "no client" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
