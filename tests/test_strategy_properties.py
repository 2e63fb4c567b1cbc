"""Property: whatever the payments, no step fires twice in an episode, and no episode step
fires for an account with nothing overdue."""

from __future__ import annotations

import datetime
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cartera.strategy.defaults import strategy_defaults_ensure
from cartera.strategy.models import Action, ActionStatus, Episode
from cartera.strategy.run import run_execute
from tests.helpers import rolled_back

START = datetime.date(2026, 9, 20)


documents = st.lists(
    st.tuples(st.integers(0, 25), st.integers(100, 5000), st.sampled_from(["C1", "C2"])),
    min_size=1,
    max_size=4,
)
payments = st.lists(
    st.tuples(st.integers(0, 45), st.integers(50, 6000), st.sampled_from(["C1", "C2"])),
    max_size=5,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(docs=documents, pays=payments, step=st.sampled_from([1, 2, 5]))
def test_no_step_twice_per_episode_and_none_without_overdue(
    creditor, actor, write_file, load, docs, pays, step
):
    with rolled_back():
        strategy_defaults_ensure(creditor=creditor, actor=actor)
        lines = ["external_id,debtor_external_id,name,issue_date,due_date,amount"]
        for n, (offset, amount, debtor) in enumerate(docs):
            due = START + datetime.timedelta(days=offset)
            lines.append(
                f"D{n},{debtor},Deudor {debtor},{START - datetime.timedelta(days=30)},{due},{amount}"
            )
        load("documents", write_file("docs.csv", "\n".join(lines) + "\n"), as_of=START)
        by_day: dict[int, list[str]] = {}
        for offset, amount, debtor in pays:
            by_day.setdefault(offset, []).append(
                f"{debtor},{START + datetime.timedelta(days=offset)},{amount}"
            )
        for n in range(0, 60, step):
            today = START + datetime.timedelta(days=n)
            for offset in [o for o in sorted(by_day) if n - step < o <= n]:
                text = "debtor_external_id,date,amount\n" + "\n".join(by_day[offset]) + "\n"
                load("payments", write_file(f"p{offset}.csv", text))
            run_execute(creditor=creditor, as_of=today, actor=actor)

        episode_steps = Counter(
            Action.objects.filter(episode__isnull=False).values_list("episode_id", "step__code")
        )
        assert all(count == 1 for count in episode_steps.values())
        document_steps = Counter(
            Action.objects.filter(document__isnull=False).values_list("document_id", "step__code")
        )
        assert all(count == 1 for count in document_steps.values())
        for action in (
            Action.objects.filter(episode__isnull=False)
            .exclude(status__in=[ActionStatus.SUPERSEDED, ActionStatus.EXPIRED])
            .select_related("episode")
        ):
            episode = action.episode
            assert episode.opened_on <= action.due_on
            assert episode.cured_on is None or action.due_on < episode.cured_on
            assert action.due_on > episode.anchor_due_date
        assert Episode.objects.filter(cured_on__isnull=True).values(
            "debtor"
        ).distinct().count() == (Episode.objects.filter(cured_on__isnull=True).count())
