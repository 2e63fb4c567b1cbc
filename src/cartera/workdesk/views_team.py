"""The supervisor's pages: the team's work against targets, new delinquents, runs, messages
waiting for a person, assignment (bulk reassignment and load balancing) and approvals.

Reading needs `workdesk.view_team` (supervisors, admins, auditors); every change needs
`workdesk.manage_team` (supervisors and admins), so an auditor reads and never writes.
"""

from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cartera.core.audit import Actor
from cartera.core.money import format_minor, from_minor, to_minor
from cartera.messaging.contacts import gate_override, may_override
from cartera.messaging.models import Message, MessageStatus
from cartera.messaging.outbox import (
    OutboxError,
    message_cancel,
    message_mark_sent,
    message_retry,
)
from cartera.portfolio.models import Creditor
from cartera.reports.aging import make_buckets
from cartera.strategy.models import Account, AssignmentRule, Run, Segment, Stage
from cartera.workdesk import forms as wf
from cartera.workdesk.access import (
    MANAGE_TEAM,
    VIEW_TEAM,
    creditor_for,
    permission_required,
    visible_creditors,
)
from cartera.workdesk.models import AMOUNT_METRICS, TargetMetric
from cartera.workdesk.queries import (
    DayFigures,
    account_counts,
    collectors_of,
    messages_waiting,
    new_delinquents,
    run_actions,
    runs_page,
    runs_recent,
    targets_for,
    team_productivity,
)
from cartera.workdesk.services import (
    WorkdeskError,
    accounts_reassign,
    accounts_rebalance,
    target_set,
)


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user, request.META.get("REMOTE_ADDR"))


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _date(value: Any, default: datetime.date) -> datetime.date:
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        return default


def _creditor(request: HttpRequest) -> Creditor | None:
    """The creditor the page is about: ?creditor=ID (404 if not visible), else the first."""
    wanted = request.GET.get("creditor") or request.POST.get("creditor")
    if wanted:
        return creditor_for(request, wanted)
    creditors = visible_creditors(request)
    return creditors[0] if creditors else None


def _base(request: HttpRequest, creditor: Creditor | None, section: str) -> dict[str, Any]:
    return {
        "creditors": visible_creditors(request),
        "creditor": creditor,
        "section": section,
        "can_manage": request.user.has_perm(MANAGE_TEAM),
    }


def _page(request: HttpRequest) -> int:
    return max(1, _int(request.GET.get("page")) or 1)


PAGE = 25


def metric_value(figures: DayFigures, metric: str) -> int | None:
    """A metric of a collector's (or the team's) figures, in the unit its target uses."""
    return {
        TargetMetric.CONTACTS_ATTEMPTED: figures.attempted,
        TargetMetric.CONTACTS_MADE: figures.made,
        TargetMetric.RIGHT_PARTY: figures.right_party,
        TargetMetric.PROMISES_MADE: figures.promises,
        TargetMetric.PROMISES_AMOUNT: figures.promised_minor,
        TargetMetric.KEPT_RATE: figures.kept_rate,
        TargetMetric.COLLECTED: figures.collected_minor,
    }[TargetMetric(metric)]


def metric_shown(creditor: Creditor, metric: str, value: int | None) -> str:
    if value is None:
        return "—"
    if metric in AMOUNT_METRICS:
        return format_minor(value, creditor.currency, creditor.locale)
    if metric == TargetMetric.KEPT_RATE:
        return f"{value} %"
    return str(value)


def _tiles(
    creditor: Creditor, figures: DayFigures, targets: dict[tuple[int | None, str], int]
) -> list[dict[str, Any]]:
    tiles = []
    for metric in TargetMetric:
        value = metric_value(figures, metric)
        target = targets.get((None, metric.value))
        percent = 0
        if target and value is not None:
            percent = max(0, min(100, round(100 * value / target)))
        tiles.append(
            {
                "label": metric.label,
                "shown": metric_shown(creditor, metric, value),
                "target": target,
                "target_shown": metric_shown(creditor, metric, target),
                "percent": percent if target else 0,
                "done": target is not None and value is not None and value >= target,
            }
        )
    return tiles


@permission_required(VIEW_TEAM)
@require_GET
def team(request: HttpRequest) -> HttpResponse:
    creditor = _creditor(request)
    context = _base(request, creditor, "team")
    if creditor is None:
        return render(request, "workdesk/team.html", context)
    today = timezone.localdate()
    end = min(_date(request.GET.get("end"), today), today)
    start = _date(request.GET.get("start"), end - datetime.timedelta(days=6))
    if start > end or (end - start).days > 62:
        start = end - datetime.timedelta(days=6)
    month = end.replace(day=1)
    # One pass over the days of the period and of the month so far, split afterwards.
    both = team_productivity(creditor=creditor, start=min(start, month), end=end)
    period = both.between(start, end)
    to_date = both.between(month, end)
    targets = targets_for(creditor=creditor, month=month)
    loads = account_counts([creditor])
    # Collectors, and anyone else who held accounts or worked in the period.
    people = collectors_of(
        [creditor],
        supervisors=False,
        also=[*period.totals, *to_date.totals, *loads],
    )
    rows = []
    for person in [*people, None]:
        key = person.pk if person is not None else None
        if person is None and key not in period.totals and key not in loads:
            continue
        rows.append(
            {
                "person": person,
                "load": loads.get(key, (0, 0)),
                "days": [period.cells.get((key, d), DayFigures()) for d in period.days],
                "period": period.totals.get(key, DayFigures()),
                "month": to_date.totals.get(key, DayFigures()),
                "targets": {m.value: targets.get((key, m.value)) for m in TargetMetric},
            }
        )
    alerts, alert_total = new_delinquents(
        creditors=[creditor], since=today - datetime.timedelta(days=7), page=1, page_size=8
    )
    waiting, waiting_total = messages_waiting(creditors=[creditor], page=1, page_size=5)
    context.update(
        {
            "start": start,
            "end": end,
            "month": month,
            "period": period,
            "rows": rows,
            "team_period": period.team,
            "team_month": to_date.team,
            "tiles": _tiles(creditor, to_date.team, targets),
            "metrics": list(TargetMetric),
            "alerts": alerts,
            "alert_total": alert_total,
            "waiting": waiting,
            "waiting_total": waiting_total,
            "runs": runs_recent(creditors=[creditor], limit=3),
            "unassigned": loads.get(None, (0, 0)),
            "overdue_accounts": sum(n for n, _minor in loads.values()),
            # The period on the productivity report: its payments drill down there.
            "report_query": urlencode(
                {
                    "creditor": creditor.pk,
                    "as_of": end.isoformat(),
                    "days": (end - start).days + 1,
                    "currency": creditor.currency,
                }
            ),
        }
    )
    return render(request, "workdesk/team.html", context)


@permission_required(VIEW_TEAM)
def targets(request: HttpRequest) -> HttpResponse:
    creditor = _creditor(request)
    if creditor is None:
        raise PermissionDenied(_("You do not have access to any creditor yet."))
    today = timezone.localdate()
    month = _date(request.GET.get("month") or request.POST.get("month"), today).replace(day=1)
    people = collectors_of([creditor], supervisors=False)
    if request.method == "POST":
        if not request.user.has_perm(MANAGE_TEAM):
            raise PermissionDenied(_("Your role does not allow this."))
        form = wf.TargetsForm(request.POST, people=people, creditor=creditor)
        if form.is_valid():
            try:
                for person, metric, value in form.values():
                    minor: int | None
                    if value is None:
                        minor = None
                    elif metric in AMOUNT_METRICS:
                        minor = to_minor(value, creditor.currency)  # type: ignore[arg-type]
                    else:
                        minor = int(value)
                    target_set(
                        creditor=creditor,
                        user=person,
                        metric=metric,
                        month=month,
                        value=minor,
                        actor=_actor(request),
                    )
            except WorkdeskError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Targets saved."))
                return HttpResponseRedirect(
                    reverse("workdesk:targets")
                    + f"?creditor={creditor.pk}&month={month.isoformat()}"
                )
        status = 422
    else:
        current = targets_for(creditor=creditor, month=month)
        initial: dict[str, Any] = {"month": month}
        for person in [None, *people]:
            for metric in TargetMetric:
                value = current.get((person.pk if person else None, metric.value))
                if value is None:
                    continue
                initial[wf.TargetsForm.field_name(person, metric)] = (
                    from_minor(value, creditor.currency) if metric in AMOUNT_METRICS else value
                )
        form = wf.TargetsForm(initial=initial, people=people, creditor=creditor)
        status = 200
    grid = [
        {
            "person": person,
            "fields": [form[wf.TargetsForm.field_name(person, m)] for m in TargetMetric],
        }
        for person in [None, *people]
    ]
    context = _base(request, creditor, "targets")
    context.update(
        {
            "form": form,
            "grid": grid,
            "metrics": list(TargetMetric),
            "month": month,
            "previous_month": (month - datetime.timedelta(days=1)).replace(day=1),
            "next_month": (month + datetime.timedelta(days=32)).replace(day=1),
        }
    )
    return render(request, "workdesk/targets.html", context, status=status)


@permission_required(VIEW_TEAM)
@require_GET
def delinquents(request: HttpRequest) -> HttpResponse:
    creditor = _creditor(request)
    creditors = [creditor] if creditor else []
    days = min(max(_int(request.GET.get("days")) or 7, 1), 90)
    page = _page(request)
    rows, total = new_delinquents(
        creditors=creditors,
        since=timezone.localdate() - datetime.timedelta(days=days),
        page=page,
        page_size=PAGE,
    )
    context = _base(request, creditor, "delinquents")
    context.update(
        {
            "rows": rows,
            "total": total,
            "days": days,
            "extra_query": f"&days={days}",
            "page": page,
            "pages": max(1, -(-total // PAGE)),
        }
    )
    return render(request, "workdesk/delinquents.html", context)


@permission_required(VIEW_TEAM)
@require_GET
def runs(request: HttpRequest) -> HttpResponse:
    creditor = _creditor(request)
    page = _page(request)
    rows, total = runs_page(creditors=[creditor] if creditor else [], page=page, page_size=PAGE)
    context = _base(request, creditor, "runs")
    context.update({"runs": rows, "total": total, "page": page, "pages": max(1, -(-total // PAGE))})
    return render(request, "workdesk/runs.html", context)


@permission_required(VIEW_TEAM)
@require_GET
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(
        Run.objects.select_related("creditor"),
        pk=run_id,
        creditor__in=[c.pk for c in visible_creditors(request)],
    )
    page = _page(request)
    created, total = run_actions(run, page=page, page_size=PAGE)
    context = _base(request, run.creditor, "runs")
    context.update(
        {
            "run": run,
            "created": created,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE)),
        }
    )
    return render(request, "workdesk/run.html", context)


@permission_required(VIEW_TEAM)
@require_GET
def waiting(request: HttpRequest) -> HttpResponse:
    creditor = _creditor(request)
    page = _page(request)
    rows, total = messages_waiting(
        creditors=[creditor] if creditor else [], page=page, page_size=PAGE
    )
    context = _base(request, creditor, "messages")
    context.update(
        {
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE)),
            "override_form": wf.OverrideForm(),
            "can_override": creditor is not None and may_override(request.user, creditor.pk),  # type: ignore[arg-type]
            "blocked": MessageStatus.BLOCKED,
        }
    )
    return render(request, "workdesk/waiting.html", context)


@permission_required(VIEW_TEAM, MANAGE_TEAM)
@require_POST
def override(request: HttpRequest, message_id: int) -> HttpResponse:
    message = get_object_or_404(
        Message, pk=message_id, creditor__in=[c.pk for c in visible_creditors(request)]
    )
    form = wf.OverrideForm(request.POST)
    url = reverse("workdesk:waiting") + f"?creditor={message.creditor_id}"
    if not form.is_valid():
        messages.error(request, _("Write why the message must go out."))
        return HttpResponseRedirect(url)
    try:
        gate_override(
            message=message,
            justification=form.cleaned_data["justification"],
            actor=_actor(request),
        )
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Override recorded: the message goes back to the queue."))
    return HttpResponseRedirect(url)


@permission_required(VIEW_TEAM, MANAGE_TEAM)
@require_POST
def decide(request: HttpRequest, message_id: int) -> HttpResponse:
    """A person's decision on a message whose fate a crash left unknown (it did leave, send it
    again after checking, or cancel it), or on a blocked one (cancel it)."""
    message = get_object_or_404(
        Message, pk=message_id, creditor__in=[c.pk for c in visible_creditors(request)]
    )
    url = reverse("workdesk:waiting") + f"?creditor={message.creditor_id}"
    decision = request.POST.get("decision")
    note = (request.POST.get("note") or "").strip()
    actor = _actor(request)
    try:
        if decision == "sent":
            message_mark_sent(message=message, actor=actor, note=note)
            done = _("Marked as sent.")
        elif decision == "retry":
            message_retry(
                message=message, actor=actor, checked_unknown=bool(request.POST.get("checked"))
            )
            done = _("Queued again.")
        elif decision == "cancel":
            message_cancel(message=message, actor=actor, reason=note)
            done = _("Cancelled.")
        else:
            raise OutboxError(_("Choose what to do with the message"))
    except OutboxError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    return HttpResponseRedirect(url)


def _reassign_queryset(creditor: Creditor, data: dict[str, Any]) -> Any:
    accounts = Account.objects.filter(creditor=creditor, overdue=True)
    held = data["from_collector"]
    if held == "none":
        accounts = accounts.filter(collector__isnull=True)
    elif held != "any":
        accounts = accounts.filter(collector_id=int(held))
    if data.get("stage"):
        accounts = accounts.filter(stage_id=data["stage"])
    if data.get("segment"):
        accounts = accounts.filter(segment_id=data["segment"])
    for bucket in make_buckets():
        if bucket.name == data.get("bucket"):
            if bucket.low is not None:
                accounts = accounts.filter(max_dpd__gte=bucket.low)
            if bucket.high is not None:
                accounts = accounts.filter(max_dpd__lte=bucket.high)
    if data.get("min_overdue") is not None:
        accounts = accounts.filter(
            overdue_minor__gte=to_minor(data["min_overdue"], creditor.currency)
        )
    return accounts


@permission_required(VIEW_TEAM)
def assignment(request: HttpRequest) -> HttpResponse:
    """Rules (edited in the administration), loads, bulk reassignment and load balancing."""
    creditor = _creditor(request)
    if creditor is None:
        raise PermissionDenied(_("You do not have access to any creditor yet."))
    people = collectors_of([creditor])
    stages = list(Stage.objects.filter(creditor=creditor).order_by("order"))
    segments = list(Segment.objects.filter(creditor=creditor).order_by("order"))

    def reassign_form(data: Any = None, **initial: Any) -> wf.ReassignForm:
        return wf.ReassignForm(
            data,
            initial=initial or None,
            collectors=people,
            stages=stages,
            segments=segments,
            creditor=creditor,
        )

    preview: dict[str, Any] | None = None
    status = 200
    if request.method == "POST":
        if not request.user.has_perm(MANAGE_TEAM):
            raise PermissionDenied(_("Your role does not allow this."))
        form = reassign_form(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            matching = _reassign_queryset(creditor, data)
            to = data["to_collector"]
            to_user = None if to == "none" else next((p for p in people if str(p.pk) == to), None)
            if to != "none" and to_user is None:
                form.add_error("to_collector", _("Choose who takes the accounts"))
            elif data.get("confirm"):
                ids = list(
                    matching.order_by("-overdue_minor", "pk").values_list("pk", flat=True)[
                        : data["count"]
                    ]
                )
                try:
                    moved = accounts_reassign(
                        creditor=creditor, account_ids=ids, to_user=to_user, actor=_actor(request)
                    )
                except WorkdeskError as exc:
                    form.add_error(None, str(exc))
                else:
                    messages.success(
                        request,
                        _("%(n)s account(s) now held by %(who)s.")
                        % {
                            "n": moved,
                            "who": to_user.get_username() if to_user else _("nobody"),
                        },
                    )
                    return HttpResponseRedirect(
                        reverse("workdesk:assignment") + f"?creditor={creditor.pk}"
                    )
            else:
                total = matching.count()
                preview = {
                    "matching": total,
                    "moving": min(total, data["count"]),
                    "to": to_user,
                    "sample": list(
                        matching.select_related("debtor", "collector").order_by(
                            "-overdue_minor", "pk"
                        )[: min(data["count"], 10)]
                    ),
                }
        if form.errors:
            status = 422
    else:
        form = reassign_form(from_collector="any", count=10)
    rules = list(
        AssignmentRule.objects.filter(creditor=creditor)
        .select_related("segment", "stage")
        .prefetch_related(Prefetch("collectors", queryset=User.objects.order_by("username")))
        .order_by("order")
    )
    loads = account_counts([creditor])
    context = _base(request, creditor, "assignment")
    context.update(
        {
            "form": form,
            "preview": preview,
            "rules": rules,
            "loads": [(p, loads.get(p.pk, (0, 0))) for p in people],
            "unassigned": loads.get(None, (0, 0)),
        }
    )
    return render(request, "workdesk/assignment.html", context, status=status)


@permission_required(VIEW_TEAM, MANAGE_TEAM)
@require_POST
def rebalance(request: HttpRequest) -> HttpResponse:
    creditor = _creditor(request)
    if creditor is None:
        raise PermissionDenied(_("You do not have access to any creditor yet."))
    report = accounts_rebalance(
        creditor=creditor, actor=_actor(request), even_out=bool(request.POST.get("even_out"))
    )
    messages.success(
        request,
        _(
            "Assignment rules applied: %(assigned)s account(s) assigned by the rules, "
            "%(evened)s moved to even out the loads."
        )
        % {"assigned": report.assigned, "evened": report.evened},
    )
    return HttpResponseRedirect(reverse("workdesk:assignment") + f"?creditor={creditor.pk}")


@permission_required(VIEW_TEAM)
@require_GET
def approvals(request: HttpRequest) -> HttpResponse:
    """Payment agreements beyond their proposer's limits, waiting for a supervisor's decision
    (the queue and its approve / reject actions live in `views_agreements`)."""
    from cartera.workdesk.views_agreements import approvals_page

    return approvals_page(request)
