"""SMS and WhatsApp through the generic HTTP provider, against a real HTTP server on loopback.

The provider here expects `{"destination": …, "message": {"body": …}, "reference": key}` with a
bearer token, and answers `{"data": {"id": "…"}}`; a test can make it answer anything else.
"""

from __future__ import annotations

import datetime
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import time_machine
from django.utils import translation

from cartera.messaging.backends.http import HttpBackend
from cartera.messaging.dispatch import outbox_drain
from cartera.messaging.models import ChannelSettings, MessageStatus
from cartera.portfolio.models import Activity
from tests.messaging_helpers import TUESDAY_10, accounts, messaging_ready, queue


@dataclass
class Provider:
    """What the fake provider received, and the answers it gives in turn (then 200)."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    answers: list[tuple[int, Any]] = field(default_factory=list)
    delay: float = 0.0
    url: str = ""


@pytest.fixture
def provider() -> Iterator[Provider]:
    state = Provider()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            state.requests.append(
                {"path": self.path, "headers": dict(self.headers), "json": json.loads(body)}
            )
            if state.delay:
                time.sleep(state.delay)
            status, answer = (
                state.answers.pop(0)
                if state.answers
                else (200, {"data": {"id": f"prov-{len(state.requests)}"}})
            )
            raw = json.dumps(answer).encode() if not isinstance(answer, bytes) else answer
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1/messages"
    yield state
    server.shutdown()
    server.server_close()


def http_config(url: str, **changes: Any) -> dict[str, Any]:
    from cartera.settings import _http_channel

    config = _http_channel("SMS")
    config.update(
        url=url,
        auth_header="Authorization",
        auth_value="Bearer s3cret",
        field_to="destination",
        field_text="message.body",
        field_key="reference",
        field_from="sender",
        response_id="data.id",
        timeout=2.0,
        extra='{"channel": "sms"}',
    )
    config.update(changes)
    return config


@pytest.fixture(autouse=True)
def setup(db, settings, provider, creditor):
    messaging_ready()
    settings.CARTERA_SMS_BACKEND = "http"
    settings.CARTERA_WHATSAPP_BACKEND = "http"
    settings.CARTERA_SMS_HTTP = http_config(provider.url)
    settings.CARTERA_WHATSAPP_HTTP = http_config(
        provider.url, field_template="template.name", field_params="template.params"
    )
    settings.CARTERA_OUTBOX_BACKOFF_SECONDS = 60
    settings.CARTERA_PUBLIC_URL = "https://cobros.acme.co"
    ChannelSettings.objects.create(creditor=creditor, sms_sender="ACME")
    with translation.override("en"), time_machine.travel(TUESDAY_10, tick=False):
        yield


def test_an_sms_is_posted_with_the_configured_fields_and_auth(creditor, provider):
    (message,) = queue(accounts(creditor, 1), "sms")

    assert outbox_drain().sent == 1

    (request,) = provider.requests
    assert request["path"] == "/v1/messages"
    assert request["headers"]["Authorization"] == "Bearer s3cret"
    assert request["headers"]["Content-Type"] == "application/json"
    message.refresh_from_db()
    assert request["json"] == {
        "channel": "sms",
        "destination": message.recipient,
        "sender": "ACME",
        "message": {"body": message.body_text},
        "reference": message.idempotency_key,
        "callback_url": "https://cobros.acme.co/m/callbacks/sms/",
    }
    assert message.body_text == "ACME: Deudor C0, su saldo vencido es $ 1.234.567."
    assert message.status == MessageStatus.SENT and message.provider_id == "prov-1"
    assert Activity.objects.get(message_id=message.pk).kind == "sms"


def test_whatsapp_sends_the_approved_template_and_its_parameters_not_free_text(creditor, provider):
    queue(accounts(creditor, 1), "whatsapp")

    assert outbox_drain().sent == 1

    body = provider.requests[0]["json"]
    assert body["template"] == {"name": "recordatorio_pago", "params": ["Deudor C0", "$ 1.234.567"]}
    assert body["language"] == "es" and "message" not in body


def test_a_5xx_answer_is_retried_later(creditor, provider):
    provider.answers.append((503, {"error": "maintenance"}))
    (message,) = queue(accounts(creditor, 1), "sms")

    assert outbox_drain().retrying == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED and "503" in message.error
    assert message.next_attempt_at == TUESDAY_10 + datetime.timedelta(seconds=60)

    with time_machine.travel(message.next_attempt_at, tick=False):
        assert outbox_drain().sent == 1
    # The retry carries the same idempotency key.
    assert [r["json"]["reference"] for r in provider.requests] == [message.idempotency_key] * 2


def test_a_4xx_answer_fails_the_message_for_good(creditor, provider):
    provider.answers.append((400, {"error": "invalid destination"}))
    (message,) = queue(accounts(creditor, 1), "sms")

    assert outbox_drain().failed == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert "400" in message.status_reason and "invalid destination" in message.status_reason


def test_too_many_requests_is_transient(creditor, provider):
    provider.answers.append((429, {"error": "slow down"}))
    queue(accounts(creditor, 1), "sms")
    assert outbox_drain().retrying == 1


def test_a_provider_that_does_not_answer_in_time_is_transient(creditor, provider, settings):
    settings.CARTERA_SMS_HTTP = http_config(provider.url, timeout=0.3)
    provider.delay = 1.0
    (message,) = queue(accounts(creditor, 1), "sms")

    assert outbox_drain().retrying == 1
    message.refresh_from_db()
    assert "unreachable" in message.error


def test_without_a_url_the_message_waits_and_says_what_to_configure(creditor, settings):
    settings.CARTERA_SMS_HTTP = http_config("")
    (message,) = queue(accounts(creditor, 1), "sms")
    assert outbox_drain().retrying == 1
    message.refresh_from_db()
    assert "set CARTERA_SMS_HTTP_URL" in message.error


def test_the_key_is_honoured_only_when_the_provider_says_so(provider):
    assert not HttpBackend("sms", http_config(provider.url)).accepts_idempotency_key
    assert HttpBackend(
        "sms", http_config(provider.url, accepts_idempotency_key=True)
    ).accepts_idempotency_key


def test_a_bad_extra_setting_is_explained():
    with pytest.raises(ValueError, match="CARTERA_SMS_HTTP_EXTRA is not a JSON object"):
        HttpBackend("sms", http_config("http://x", extra="{nope"))


def test_the_demo_file_backend_writes_a_readable_file_per_message(creditor, settings, tmp_path):
    settings.CARTERA_SMS_BACKEND = "file"
    settings.CARTERA_OUTBOX_DIR = tmp_path
    (message,) = queue(accounts(creditor, 1), "sms")

    assert outbox_drain().sent == 1

    (written,) = tmp_path.glob("sms/2026-11-24/*.txt")
    text = written.read_text()
    message.refresh_from_db()
    assert f"To: {message.recipient}" in text and "From: ACME" in text
    assert "ACME: Deudor C0, su saldo vencido es $ 1.234.567." in text
    assert "1 segment(s)" in text and message.provider_id == f"file:{written.name}"
