"""Tasks sent through the real broker to a real worker process, and their effects."""

import re
import time
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest

from portal.models import User

pytestmark = pytest.mark.integration


def wait_for_mail(mail_dir, to: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = sorted(mail_dir.glob("*.log"))
        messages = []
        for path in files:
            # The file backend appends each message followed by a line of dashes.
            for chunk in path.read_bytes().split(b"-" * 79 + b"\n"):
                if chunk.strip():
                    messages.append(message_from_bytes(chunk.strip()))
        mine = [message for message in messages if message["To"] == to]
        if mine:
            return mine
        time.sleep(0.1)
    raise AssertionError(f"no mail from the worker within {timeout}s")


def test_the_worker_mails_the_code_that_verifies_the_account(real_worker, api_client):
    response = api_client.post(
        "/api/v1/auth/register",
        {
            "email": "worker@example.com",
            "password": "a long enough passphrase",
            "display_name": "Wu",
            "date_of_birth": "1990-01-01",
            "language": "zh-hans",
        },
        format="json",
    )
    assert response.status_code == 201

    message = wait_for_mail(real_worker["mail_dir"], "worker@example.com")[0]

    assert message["To"] == "worker@example.com"
    assert "验证码" in str(make_header(decode_header(message["Subject"])))
    body = message.get_payload(decode=True).decode()
    code = re.search(r"\b(\d{6})\b", body).group(1)
    response = api_client.post(
        "/api/v1/auth/verify-email", {"email": "worker@example.com", "code": code}, format="json"
    )
    assert response.status_code == 200
    assert User.objects.get(email="worker@example.com").email_verified
    assert "portal.email_send" in real_worker["log"].read_text()


def test_healthz_sees_the_broker_and_the_worker(real_worker, client):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    checks = response.json()["checks"]
    assert checks["broker"]["status"] == "ok"
    assert checks["workers"]["status"] == "ok"
    assert checks["workers"]["answered"].startswith(("integration-match@", "integration-background@"))
    assert checks["workers"]["ms"] < 1000  # the first answer is enough
