import base64
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.notifications.signing import new_secret, sign, webhook_headers

BODY = b'{"type":"case.updated","case_id":"c_123","sequence":7}'


def _headers(secrets: list[str], body: bytes = BODY) -> dict[str, str]:
    # The library refuses timestamps more than five minutes from its own clock.
    return webhook_headers(
        secrets, msg_id="msg_01", timestamp=int(time.time()), body=body
    )


def test_a_new_secret_is_whsec_and_32_random_bytes() -> None:
    secret = new_secret()

    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert new_secret() != secret


def test_a_receiver_verifies_the_delivery_with_the_standard_webhooks_library() -> None:
    secret = new_secret()

    payload = Webhook(secret).verify(BODY, _headers([secret]))

    assert payload == {"type": "case.updated", "case_id": "c_123", "sequence": 7}


def test_during_rotation_both_the_old_and_the_new_secret_verify() -> None:
    old, new = new_secret(), new_secret()
    headers = _headers([old, new])

    Webhook(old).verify(BODY, headers)
    Webhook(new).verify(BODY, headers)
    assert len(headers["webhook-signature"].split(" ")) == 2


def test_a_tampered_body_fails_verification() -> None:
    secret = new_secret()
    headers = _headers([secret])

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"c_123", b"c_999"), headers)


def test_a_tampered_webhook_id_fails_verification() -> None:
    secret = new_secret()
    headers = _headers([secret]) | {"webhook-id": "msg_02"}

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, headers)


def test_a_receiver_with_another_secret_rejects_the_delivery() -> None:
    headers = _headers([new_secret()])

    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


def test_the_signature_matches_the_specifications_published_vector() -> None:
    signature = sign(
        ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp=1614265330,
        body=b'{"test": 2432232314}',
    )

    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_headers_carry_id_timestamp_signature_and_json_content_type() -> None:
    headers = webhook_headers(
        [new_secret()], msg_id="msg_01", timestamp=1700000000, body=BODY
    )

    assert headers["webhook-id"] == "msg_01"
    assert headers["webhook-timestamp"] == "1700000000"
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["content-type"] == "application/json"


def test_signing_without_any_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        sign([], msg_id="msg_01", timestamp=1700000000, body=BODY)


@pytest.mark.parametrize(
    "secret", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_!!"]
)
def test_a_malformed_secret_is_refused(secret: str) -> None:
    with pytest.raises(ValueError, match="secret"):
        sign([secret], msg_id="msg_01", timestamp=1700000000, body=BODY)
