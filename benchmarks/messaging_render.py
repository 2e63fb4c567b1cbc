"""Times rendering queued messages, and the memory of building a day's letter batch.

    .venv/bin/python benchmarks/messaging_render.py render --messages 100000
    .venv/bin/python benchmarks/messaging_render.py letters --letters 2000

`render` loads a synthetic portfolio (one debtor per message, 1 to 4 open documents each, an
email and a mobile), then renders every message with the shipped Spanish templates the way the
worker does: one `Renderer` per creditor, `prepare()` per batch of `--batch` messages, then
`render()` each. Half the messages are emails (HTML layout and opt-out link), a third SMS, the
rest WhatsApp. It reports the time of loading (`prepare`) and of rendering apart.

`letters` queues `--letters` letters into one batch and builds its printable file in a child
process, whose peak memory (max RSS) is the build's own.

Both use a throw-away SQLite database under a temporary CARTERA_HOME (the database only
matters to `prepare`, a handful of indexed reads per batch).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AS_OF = datetime.date(2026, 11, 23)


def setup(home: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cartera.settings")
    os.environ["CARTERA_HOME"] = str(home)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def portfolio(count: int, *, address: bool = False) -> tuple[object, list[int]]:
    """A creditor with `count` debtors, their documents and contact points; the debtor ids."""
    from cartera.core.audit import Actor
    from cartera.messaging.models import ChannelSettings
    from cartera.portfolio.models import ContactPoint, Debtor, Document
    from cartera.portfolio.services import creditor_create

    creditor = creditor_create(
        code="BENCH",
        name="Bench Colombia S.A.S.",
        country="CO",
        currency="COP",
        actor=Actor.system("bench"),
    )
    ChannelSettings.objects.create(
        creditor=creditor,
        contact_phone="601 555 0100",
        contact_email="cartera@bench.co",
        payment_instructions="Bancolombia, cuenta corriente 123-456789-01.",
    )
    debtors = [
        Debtor(
            creditor=creditor,
            external_id=f"D{n}",
            name=f"Cliente Número {n} S.A.S.",
            kind="company" if n % 3 else "person",
            country="CO",
            payment_reference=f"{n:08d}",
            tax_id=f"9{n:08d}",
            tax_id_type="NIT",
            city="Bogotá",
        )
        for n in range(count)
    ]
    Debtor.objects.bulk_create(debtors, batch_size=5000)
    ids = list(Debtor.objects.filter(creditor=creditor).order_by("pk").values_list("pk", flat=True))
    documents, points = [], []
    for n, debtor_id in enumerate(ids):
        for d in range(1 + n % 4):
            minor = (150_000 + 37_113 * ((n * 7 + d) % 97)) * 100
            documents.append(
                Document(
                    creditor=creditor,
                    debtor_id=debtor_id,
                    number=f"FV-{n}-{d}",
                    external_id=f"FV-{n}-{d}",
                    currency="COP",
                    amount_minor=minor,
                    balance_minor=minor,
                    payment_reference=f"{n:08d}",
                    due_date=AS_OF - datetime.timedelta(days=3 + (n + 11 * d) % 120),
                )
            )
        points.append(ContactPoint(debtor_id=debtor_id, kind="email", value=f"c{n}@example.com"))
        points.append(ContactPoint(debtor_id=debtor_id, kind="mobile", value=f"+5730012{n:05d}"))
        if address:
            points.append(
                ContactPoint(debtor_id=debtor_id, kind="address", value=f"Calle {n} # 10-20")
            )
    Document.objects.bulk_create(documents, batch_size=5000)
    ContactPoint.objects.bulk_create(points, batch_size=5000)
    return creditor, ids


def bench_render(args: argparse.Namespace) -> None:
    from cartera.messaging.models import Message
    from cartera.messaging.rendering import Renderer

    started = time.perf_counter()
    creditor, ids = portfolio(args.messages)
    print(f"portfolio of {len(ids):,} debtors loaded in {time.perf_counter() - started:.1f} s")
    codes = ["aviso_1", "aviso_2", "aviso_final", "carta_prejuridica", "recordatorio_vencimiento"]
    channels = ["email", "sms", "email", "whatsapp", "email", "sms"]
    messages = [
        Message(
            pk=n + 1,
            creditor=creditor,
            creditor_id=creditor.pk,
            debtor_id=debtor_id,
            channel=channels[n % len(channels)],
            template_code=codes[n % len(codes)],
            idempotency_key=f"bench-{n}",
            origin="bench",
        )
        for n, debtor_id in enumerate(ids)
    ]
    loading = rendering = cpu_loading = cpu_rendering = 0.0
    segments = characters = 0
    for start in range(0, len(messages), args.batch):
        batch = messages[start : start + args.batch]
        renderer = Renderer(creditor=creditor, as_of=AS_OF)
        t0, c0 = time.perf_counter(), time.process_time()
        renderer.prepare(batch)
        t1, c1 = time.perf_counter(), time.process_time()
        for message in batch:
            rendered = renderer.render(message)
            characters += len(rendered.text) + len(rendered.html)
            if rendered.sms is not None:
                segments += rendered.sms.segments
        t2, c2 = time.perf_counter(), time.process_time()
        loading += t1 - t0
        rendering += t2 - t1
        cpu_loading += c1 - c0
        cpu_rendering += c2 - c1
    total = loading + rendering
    print(
        f"{len(messages):,} messages (email/SMS/WhatsApp) in {total:.1f} s: "
        f"prepare {loading:.1f} s + render {rendering:.1f} s; "
        f"{len(messages) / total:,.0f} messages/s; {characters / 1e6:.0f} M characters; "
        f"{segments:,} SMS segments"
    )
    # On a shared machine the wall clock counts the other processes' turns too.
    print(
        f"CPU time of this process: prepare {cpu_loading:.1f} s + render {cpu_rendering:.1f} s "
        f"= {cpu_loading + cpu_rendering:.1f} s ({os.getloadavg()[0]:.1f} load average now)"
    )


def bench_letters(args: argparse.Namespace) -> None:
    from django.utils import timezone

    from cartera.messaging.letters import letter_enqueue
    from cartera.messaging.models import LetterBatch, Message, MessageStatus
    from cartera.messaging.rendering import Renderer

    creditor, ids = portfolio(args.letters, address=True)
    Message.objects.bulk_create(
        [
            Message(
                creditor=creditor,
                debtor_id=debtor_id,
                channel="letter",
                template_code="aviso_final" if n % 2 else "carta_prejuridica",
                idempotency_key=f"letter-{n}",
                origin="bench",
                status=MessageStatus.SENDING,
                lease_until=timezone.now(),
            )
            for n, debtor_id in enumerate(ids)
        ],
        batch_size=5000,
    )
    messages = list(Message.objects.filter(creditor=creditor).order_by("pk"))
    renderer = Renderer(creditor=creditor, as_of=AS_OF)
    renderer.prepare(messages)
    t0 = time.perf_counter()
    for message in messages:
        letter_enqueue(message=message, rendered=renderer.render(message), day=AS_OF)
    print(f"{len(messages):,} letters rendered and queued in {time.perf_counter() - t0:.1f} s")
    batch = LetterBatch.objects.get()
    t0 = time.perf_counter()
    child = subprocess.run(
        [sys.executable, __file__, "build-child", str(batch.pk)],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ.copy(),
    )
    if child.returncode:
        sys.exit(child.stderr[-3000:])
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    batch.refresh_from_db()
    size = Path(batch.file).stat().st_size / 1e6
    print(
        f"batch built in {seconds:.1f} s ({batch.letters:,} letters, {batch.pages:,} pages, "
        f"{size:.1f} MB, chunks of {os.environ.get('CARTERA_LETTER_CHUNK', '50')}); "
        f"peak memory of the build process {peak:.0f} MiB"
    )


def build_child(batch_id: int) -> None:
    from cartera.messaging.letters import letter_batch_build
    from cartera.messaging.models import LetterBatch

    letter_batch_build(batch=LetterBatch.objects.get(pk=batch_id))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    render = sub.add_parser("render")
    render.add_argument("--messages", type=int, default=100_000)
    render.add_argument("--batch", type=int, default=2000, help="messages per prepare()")
    letters = sub.add_parser("letters")
    letters.add_argument("--letters", type=int, default=2000)
    child = sub.add_parser("build-child")
    child.add_argument("batch", type=int)
    args = parser.parse_args()
    if args.what == "build-child":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cartera.settings")
        import django

        django.setup()
        build_child(args.batch)
        return
    url = os.environ.get("DATABASE_URL", "")
    print(
        f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"database {url.split('@')[-1] if url else 'sqlite (temporary)'}"
    )
    with tempfile.TemporaryDirectory(prefix="cartera-bench-") as home:
        if url:
            sys.exit("this benchmark makes its own temporary SQLite database: unset DATABASE_URL")
        os.environ["DATABASE_URL"] = f"sqlite:///{home}/bench.sqlite3"
        setup(Path(home))
        if args.what == "render":
            bench_render(args)
        else:
            bench_letters(args)


if __name__ == "__main__":
    main()
