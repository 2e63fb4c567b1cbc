"""Reading a batch of messages quickly: ids as one array, claimed messages, `documents.0`."""

from __future__ import annotations

import pytest
import time_machine
from django.core import signing
from django.db import connection
from django.template import Context, Engine
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from cartera.messaging.batchsql import among
from cartera.messaging.dispatch import claimed_messages, dispatch_prepare
from cartera.messaging.models import Message, MessageStatus
from cartera.messaging.optout import SALT, OptOutLinkInvalid, optout_parse, optout_token
from cartera.messaging.outbox import outbox_claim, worker_id_new
from cartera.messaging.rendering import _Documents
from cartera.portfolio.models import ContactPoint, Debtor
from tests.messaging_helpers import TUESDAY_10, accounts, messaging_ready, queue


@pytest.fixture(autouse=True)
def setup(db):
    messaging_ready()
    with translation.override("en"), time_machine.travel(TUESDAY_10, tick=False):
        yield


# -- among(): the same rows as an IN list ---------------------------------------------------


def test_among_finds_the_same_rows_as_an_in_list(creditor):
    debtors = accounts(creditor, 12)
    wanted = [d.pk for d in debtors[::3]] + [10**9]  # and an id that names nothing
    assert sorted(Debtor.objects.filter(among("pk", wanted)).values_list("pk", flat=True)) == (
        sorted(Debtor.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    )
    by_fk = ContactPoint.objects.filter(among("debtor_id", wanted), kind="email")
    assert sorted(by_fk.values_list("pk", flat=True)) == sorted(
        ContactPoint.objects.filter(debtor_id__in=wanted, kind="email").values_list("pk", flat=True)
    )
    assert by_fk.count() == 4


def test_among_no_ids_finds_nothing(creditor):
    accounts(creditor, 2)
    assert list(Debtor.objects.filter(among("pk", []))) == []
    assert Debtor.objects.exclude(among("pk", [])).count() == 2


def test_among_sends_the_ids_as_one_parameter_on_postgresql(creditor):
    debtors = accounts(creditor, 30)

    def statement(ids: list[int]) -> str:
        with CaptureQueriesContext(connection) as queries:
            list(Debtor.objects.filter(among("pk", ids)))
        (query,) = queries.captured_queries
        return query["sql"]

    few, many = statement([debtors[0].pk]), statement([d.pk for d in debtors])
    if connection.vendor == "postgresql":
        assert "= ANY(" in many and " IN (" not in many
    else:
        assert " IN (" in many
        assert many.count(",") > few.count(",")


# -- claimed_messages(): what the worker holds, as dispatch_batch reads it ------------------


def test_claimed_messages_are_the_workers_own_still_held(creditor):
    messages = queue(accounts(creditor, 4))
    worker = worker_id_new()
    ids = outbox_claim(worker_id=worker, limit=3)
    assert len(ids) == 3
    # One of them is given back (its lease ran out and another worker may have it now).
    Message.objects.filter(pk=ids[0]).update(status=MessageStatus.QUEUED, leased_by="")
    found = claimed_messages([*ids, messages[-1].pk], worker_id=worker)
    assert sorted(m.pk for m in found) == sorted(ids[1:])
    assert claimed_messages(ids, worker_id="someone else") == []


def test_deciding_a_batch_reads_the_same_statements_for_5_or_50_messages(creditor):
    """The batch's reads do not grow with it: a fixed set of statements of fixed size on
    PostgreSQL (the ids travel as one array), a fixed number of statements elsewhere."""

    def statements(count: int, prefix: str) -> list[str]:
        queue(accounts(creditor, count, prefix=prefix), key_prefix=prefix)
        worker = worker_id_new()
        ids = outbox_claim(worker_id=worker, limit=1000)
        claimed = claimed_messages(ids, worker_id=worker)
        with CaptureQueriesContext(connection) as queries:
            prepared = dispatch_prepare(claimed, now=TUESDAY_10)
        assert len(prepared.ready) == count
        Message.objects.filter(pk__in=ids).update(status=MessageStatus.CANCELLED)
        return [q["sql"] for q in queries.captured_queries]

    few, many = statements(5, "A"), statements(50, "B")
    assert len(few) == len(many)
    if connection.vendor == "postgresql":
        assert [" IN (" in sql and "%s, %s" in sql for sql in many] == [False] * len(many)


# -- documents.0 in a template ------------------------------------------------------------

EXPRESSIONS = (
    "{{ documents.0.number }}",
    "{{ documents.1.number }}",
    "{{ documents.5.number }}",
    "{{ documents.01.number }}",
    "{{ documents.x }}",
    "{{ documents.count }}",
    "{{ documents|length }}",
    "{{ documents }}",
    "{% if documents.0 %}yes{% else %}no{% endif %}",
    "{% for d in documents %}{{ d.number }};{% endfor %}",
    "{{ documents.0 }}",
)


@pytest.mark.parametrize("expression", EXPRESSIONS)
@pytest.mark.parametrize("count", [0, 1, 2])
def test_documents_read_in_a_template_exactly_as_a_plain_list(expression, count):
    rows = [{"number": f"FV-{n}"} for n in range(count)]
    template = Engine(string_if_invalid="").from_string(expression)
    as_list = template.render(Context({"documents": list(rows)}))
    assert template.render(Context({"documents": _Documents(rows)})) == as_list


def test_documents_index_like_a_list():
    documents = _Documents([{"n": 1}, {"n": 2}])
    assert documents["1"] == {"n": 2} and documents[0] == {"n": 1}
    assert documents[-1] == {"n": 2} and documents[:1] == [{"n": 1}]
    with pytest.raises(IndexError):
        documents["2"]
    with pytest.raises(TypeError):
        documents["number"]


# -- the opt-out token, signed with a kept key --------------------------------------------


@pytest.mark.parametrize("channel", ["email", "sms", "whatsapp", "letter"])
def test_the_optout_token_is_what_djangos_signer_writes(channel, settings):
    for secret in ("first-secret-" + "x" * 40, "another-secret-" + "y" * 40):
        settings.SECRET_KEY = secret
        signer = signing.Signer(key=secret, salt=SALT)
        for contact_point_id in (0, 7, 123_456, 10**12):
            token = optout_token(contact_point_id=contact_point_id, channel=channel)
            assert token == signer.sign(f"{contact_point_id}{channel[0]}")
            assert optout_parse(token).contact_point_id == contact_point_id


def test_an_optout_token_signed_with_another_key_is_refused(settings):
    settings.SECRET_KEY = "first-secret-" + "x" * 40
    token = optout_token(contact_point_id=42, channel="email")
    settings.SECRET_KEY = "another-secret-" + "y" * 40
    with pytest.raises(OptOutLinkInvalid):
        optout_parse(token)
