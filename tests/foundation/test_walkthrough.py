"""The README's first walkthrough, as a user runs it: CLI, then a real HTTP server."""

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

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


@pytest.fixture(scope="module")
def hub(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, dict[str, str]]]:
    """A migrated database and `puente serve` on a free loopback port."""
    with empty_database(tmp_path_factory.mktemp("walk")) as url:
        env = os.environ | {"PUENTE_DATABASE_URL": url, "PUENTE_LOG_JSON": "true"}
        _puente(env, "db", "upgrade")
        port = _free_port()
        server = subprocess.Popen(
            [*PUENTE, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_ready(base)
            yield base, env
        finally:
            server.terminate()
            server.wait(timeout=20)


def _wait_until_ready(base: str) -> None:
    for _ in range(200):
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("the hub did not become ready")


def test_an_admin_bootstraps_issues_a_client_and_that_client_calls_the_hub(
    hub: tuple[str, dict[str, str]],
) -> None:
    base, env = hub
    admin_id, admin_secret = _secret(_puente(env, "bootstrap-admin"))
    with httpx.Client(base_url=base, timeout=10) as http:
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


def test_the_cli_lists_rotates_and_revokes_clients(
    hub: tuple[str, dict[str, str]],
) -> None:
    base, env = hub
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
    client_id, secret = _secret(output)
    assert client_id in _puente(env, "clients", "list")

    _new_id, new_secret = _secret(_puente(env, "clients", "rotate", client_id))
    _puente(env, "clients", "revoke", client_id)

    grant = {"grant_type": "client_credentials"}
    with httpx.Client(base_url=base, timeout=10) as http:
        assert (
            http.post("/oauth/token", data=grant, auth=(client_id, secret)).status_code
            == 401
        )
        revoked = http.post("/oauth/token", data=grant, auth=(client_id, new_secret))
    assert revoked.status_code == 401


def test_every_log_line_of_a_request_carries_its_request_id(
    hub: tuple[str, dict[str, str]],
) -> None:
    base, _env = hub
    response = httpx.get(f"{base}/livez", headers={"X-Request-ID": "walkthrough-1"})
    assert response.headers["x-request-id"] == "walkthrough-1"


def test_the_cli_explains_a_mistake_without_a_traceback(
    hub: tuple[str, dict[str, str]],
) -> None:
    _base, env = hub
    done = subprocess.run(
        [*PUENTE, "clients", "rotate", "nobody"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "no client" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


@pytest.fixture(autouse=True)
def _no_clean_tables() -> None:
    """These tests use their own database; nothing to clean."""
