"""The demo sends its messages out of the box: to files under CARTERA_HOME/outbox.

`cartera demo` switches email, SMS and WhatsApp to the file backends for itself (CARTERA_DEMO=1,
set before the settings load) and starts `cartera worker` beside the web server. The end-to-end
tests run real `cartera` processes on a database of their own, at a moment the Colombian contact
rules allow (Tuesday 24 November 2026, 10:00 in Bogotá): a `sitecustomize` module on the
processes' path moves their clock there, the worker started by the demo included.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from cartera.portfolio.models import ContactKind, ContactPoint, Creditor

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-11-24T10:00:00-05:00"  # a Tuesday, 10:00 in Bogotá: contact is allowed
DAY = "2026-11-24"
# Large enough for the day's run to queue emails, SMS and letters that go out (seed chosen so).
SIZE = ("--debtors", "150", "--documents", "700", "--seed", "15")
# Variables that would choose the backends, the database or the task queue for the processes.
SCRUBBED = (
    "CARTERA_DEMO",
    "CARTERA_EMAIL_BACKEND",
    "CARTERA_SMS_BACKEND",
    "CARTERA_WHATSAPP_BACKEND",
    "CARTERA_OUTBOX_DIR",
    "CARTERA_PUBLIC_URL",
    "CARTERA_REDIS_URL",
    "CARTERA_HUEY_IMMEDIATE",
    "DATABASE_URL",
)
# Every process's clock reads NOW plus the real time since the test began, so the processes
# agree on the time (a worker never lives before the messages it should send).
SITECUSTOMIZE = """\
import datetime
import os
import time

if os.environ.get("DEMO_TEST_NOW"):
    import time_machine

    elapsed = time.time() - float(os.environ["DEMO_TEST_STARTED"])
    moment = datetime.datetime.fromisoformat(os.environ["DEMO_TEST_NOW"])
    time_machine.travel(moment + datetime.timedelta(seconds=elapsed), tick=True).start()
"""
REPORT = """\
import json

import django

django.setup()
from cartera.messaging.models import Message
from cartera.portfolio.models import Activity

print(json.dumps({
    "messages": list(Message.objects.values("pk", "channel", "status", "debtor_id")),
    "history": list(
        Activity.objects.filter(message_id__isnull=False).values(
            "message_id", "debtor_id", "kind", "is_contact"
        )
    ),
}))
"""


def _clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in SCRUBBED}


def _settings_in_a_process(**env: str) -> dict[str, str]:
    code = (
        "import json, cartera.settings as s; print(json.dumps({'email': s.CARTERA_EMAIL_BACKEND,"
        " 'django': s.EMAIL_BACKEND, 'sms': s.CARTERA_SMS_BACKEND,"
        " 'whatsapp': s.CARTERA_WHATSAPP_BACKEND}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**_clean_environment(), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def test_without_the_demo_switch_email_is_smtp_and_sms_whatsapp_http():
    assert _settings_in_a_process() == {
        "email": "smtp",
        "django": "django.core.mail.backends.smtp.EmailBackend",
        "sms": "http",
        "whatsapp": "http",
    }
    assert _settings_in_a_process(CARTERA_DEMO="0")["email"] == "smtp"


def test_the_demo_switch_chooses_the_file_backends_unless_the_environment_did():
    assert _settings_in_a_process(CARTERA_DEMO="1") == {
        "email": "file",
        "django": "cartera.messaging.backends.files.EmailFileBackend",
        "sms": "file",
        "whatsapp": "file",
    }
    chosen = _settings_in_a_process(
        CARTERA_DEMO="1", CARTERA_EMAIL_BACKEND="console", CARTERA_SMS_BACKEND="http"
    )
    assert chosen == {
        "email": "console",
        "django": "django.core.mail.backends.console.EmailBackend",
        "sms": "http",
        "whatsapp": "file",
    }


def test_the_demo_records_its_debtors_authorizations_once(db, tmp_path, settings, capsys):
    settings.CARTERA_HOME = tmp_path
    settings.STATIC_ROOT = tmp_path / "static"
    settings.CARTERA_OUTBOX_DIR = tmp_path / "outbox"

    call_command("demo", no_serve=True, debtors=60, documents=300, seed=5)
    out = capsys.readouterr().out

    assert "channel authorizations" in out
    assert f"{tmp_path / 'outbox'}" not in out  # not the demo switch here: SMTP and HTTP
    assert "outbox: " in out and "contact rules: the demo creditor is Colombian" in out
    creditor = Creditor.objects.get(code="DEMO")
    points = ContactPoint.objects.filter(debtor__creditor=creditor)
    emails = points.filter(kind=ContactKind.EMAIL)
    assert emails.exists() and not emails.exclude(consent_email=True).exists()
    assert not points.filter(kind=ContactKind.ADDRESS).exclude(consent_letter=True).exists()
    mobiles = points.filter(kind=ContactKind.MOBILE)
    reserved = mobiles.filter(consent_sms__isnull=True)
    assert mobiles.filter(consent_sms=True).count() > reserved.count() > 0
    assert all(p.debtor_id % 10 == 0 for p in reserved)

    opted_out = emails.first()
    assert opted_out is not None
    opted_out.consent_email = False
    opted_out.save()
    call_command("demo", no_serve=True, debtors=60, documents=300, seed=5)

    assert "channel authorizations" not in capsys.readouterr().out
    opted_out.refresh_from_db()
    assert opted_out.consent_email is False


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


@pytest.fixture(params=["sqlite", "postgres"])
def database(request) -> Iterator[str | None]:
    """None: the embedded SQLite database under CARTERA_HOME, as `make demo` makes it."""
    if request.param == "sqlite":
        yield None
        return
    server = _postgres_url()
    if server is None:
        pytest.skip("PostgreSQL variant: runs in the PostgreSQL pass (DATABASE_URL=postgres://…)")
    import psycopg

    base = os.environ.get("CARTERA_TEST_DB_NAME") or "test_cartera"
    name = f"{base}_demo_{uuid.uuid4().hex[:8]}"
    admin_url = server.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Demo:
    """`cartera` processes on one demo installation, their clock at NOW."""

    def __init__(self, directory: Path, database_url: str | None) -> None:
        self.home = directory / "home"
        self.outbox = self.home / "outbox"
        site = directory / "site"
        site.mkdir()
        (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
        self.env = {
            **_clean_environment(),
            "CARTERA_HOME": str(self.home),
            "DEMO_TEST_NOW": NOW,
            "DEMO_TEST_STARTED": str(time.time()),
            "DJANGO_SETTINGS_MODULE": "cartera.settings",
            "PYTHONPATH": os.pathsep.join([str(site), str(ROOT / "src")]),
        }
        if database_url:
            self.env["DATABASE_URL"] = database_url
            self.cartera("migrate", "--verbosity", "0")

    def run(self, *args: str, **env: str) -> str:
        done = subprocess.run(
            args,
            cwd=self.home.parent,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, f"{args} failed ({done.returncode}): {done.stderr[-3000:]}"
        return done.stdout

    def cartera(self, *args: str, **env: str) -> str:
        return self.run(sys.executable, "-m", "cartera", *args, **env)

    def report(self) -> dict[str, list[dict[str, Any]]]:
        return json.loads(self.run(sys.executable, "-c", REPORT))

    def files(self, channel: str) -> list[Path]:
        return sorted(
            (self.outbox / channel / DAY).glob("*.eml" if channel == "email" else "*.txt")
        )


def _check_sent_messages_are_files_and_history(demo: Demo) -> Counter[tuple[str, str]]:
    report = demo.report()
    states = Counter((m["channel"], m["status"]) for m in report["messages"])
    assert not [m for m in report["messages"] if m["status"] == "queued"], states
    assert states["email", "sent"] >= 1 and states["sms", "sent"] >= 1, states
    assert len(demo.files("email")) == states["email", "sent"]
    assert len(demo.files("sms")) == states["sms", "sent"]
    assert demo.files("email")[0].read_text().startswith("Content-Type: multipart/alternative")
    assert "Channel: sms" in demo.files("sms")[0].read_text()
    # Each sent message is a contact on its account's history (what the workdesk shows).
    history = {(a["message_id"], a["debtor_id"], a["kind"]) for a in report["history"]}
    for message in report["messages"]:
        if message["status"] == "sent":
            assert (message["pk"], message["debtor_id"], message["channel"]) in history
    return states


@pytest.mark.slow
def test_after_the_demo_a_worker_run_writes_the_messages_and_letters_build(database, tmp_path):
    demo = Demo(tmp_path, database)

    out = demo.cartera("demo", "--no-serve", *SIZE)

    # `cartera demo` chose the file backends for itself and says where they write.
    assert f"written as .eml files under {demo.outbox / 'email'}/<day>/" in out
    assert f"written as text files under {demo.outbox / 'sms'}/<day>/" in out
    assert "CARTERA_DEMO=1 cartera worker --until-empty" in out
    waiting = Counter(m["channel"] for m in demo.report()["messages"])
    assert waiting["email"] and waiting["sms"] and waiting["letter"], waiting

    counts = json.loads(
        demo.cartera("worker", "--until-empty", "--format", "json", CARTERA_DEMO="1")
    )

    assert counts["sent"] >= 2 and counts["letters"] >= 1, counts
    states = _check_sent_messages_are_files_and_history(demo)
    assert states["letter", "sending"] == counts["letters"]  # in the day's print batch

    built = json.loads(demo.cartera("letters", "build", "--format", "json"))

    assert [b["letters"] for b in built] == [counts["letters"]]
    pdf = Path(built[0]["file"])
    assert pdf.parent == demo.home / "letters" / "DEMO" and pdf.name.startswith(DAY)
    assert pdf.read_bytes().startswith(b"%PDF")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_the_demo_serves_with_its_worker_and_stops_both(tmp_path):
    demo = Demo(tmp_path, None)
    addr = f"127.0.0.1:{_free_port()}"
    process = subprocess.Popen(
        [sys.executable, "-m", "cartera", "demo", "--addr", addr, *SIZE],
        cwd=tmp_path,
        env=demo.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 400
        # Setting up takes a while; then the worker sends the day's messages within seconds.
        while not (demo.files("email") and demo.files("sms")):
            assert process.poll() is None, process.communicate()[0][-3000:]
            assert time.monotonic() < deadline, "the demo's worker wrote no message"
            time.sleep(0.5)
        with urllib.request.urlopen(f"http://{addr}/login/", timeout=30) as page:
            assert page.status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        out = process.communicate(timeout=120)[0]

    assert process.returncode == 0, out[-3000:]
    started = re.search(r"worker started \(pid (\d+), log (\S+)\)", out)
    assert started, out[-3000:]
    assert "worker stopped (exit 0)" in out
    with pytest.raises(ProcessLookupError):
        os.kill(int(started.group(1)), 0)  # stopped and reaped: nothing left behind
    assert "cartera worker" in Path(started.group(2)).read_text()
    # Links in the messages point at the demo's own address.
    assert f"http://{addr}/m/optout/" in demo.files("email")[0].read_text()
    _check_sent_messages_are_files_and_history(demo)
