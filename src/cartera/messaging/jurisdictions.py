"""The contact rules Cartera ships for each jurisdiction, and the checks that keep rules sane.

The rules are data (`ContactRule` rows): `contact_rules_ensure` runs after every migrate and
creates the shipped defaults that are missing. A rule nobody edited since it was shipped is
brought up to date when the shipped default changes; a rule an admin edited, deactivated or
created is never touched (see `ContactRule.shipped_digest`). A default an admin deletes comes
back on the next migrate: to stop a rule, deactivate it.

Each default names its legal source. Where the reading of the law is disputed the rule is
marked "verify with counsel", and the admin shows that flag. None of this is legal advice.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cartera.core.audit import Actor, audit_record
from cartera.messaging.models import ContactRule, WeekMode
from cartera.portfolio.models import DebtorKind

ANY_COUNTRY = "*"
"""The country of the rule that applies where no rule of the debtor's own country exists."""

CHANNELS = ("email", "sms", "whatsapp", "letter", "call", "visit")
VOICE_CHANNELS = frozenset({"call", "visit"})
WRITTEN_CHANNELS = frozenset({"email", "sms", "whatsapp", "letter"})
CHANNEL_CLASSES: dict[str, frozenset[str]] = {"voice": VOICE_CHANNELS, "written": WRITTEN_CHANNELS}
CAP_LIMITS = ("day", "week", "min_gap_days")

WEEKDAY_NAMES = (
    _("Monday"),
    _("Tuesday"),
    _("Wednesday"),
    _("Thursday"),
    _("Friday"),
    _("Saturday"),
    _("Sunday"),
)
WEEKDAY_SHORT = (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))

# The fields that make up a rule's content: what the digest covers and what a default sets.
CONTENT_FIELDS = (
    "name",
    "source",
    "verify_with_counsel",
    "active",
    "hours",
    "no_holidays",
    "max_per_day",
    "max_per_week",
    "channel_caps",
    "min_gap_hours",
    "one_channel_per_week",
    "consent_required",
    "counts_reached_only",
    "week_mode",
    "quiet_days_after_conversation",
    "description",
)


def _days(days: range | tuple[int, ...], start: str, end: str) -> dict[str, list[list[str]]]:
    return {str(day): [[start, end]] for day in days}


MONDAY_TO_FRIDAY = range(1, 6)
MONDAY_TO_SATURDAY = range(1, 7)
EVERY_DAY = range(1, 8)

_RULE_DEFAULTS: dict[str, Any] = {
    "verify_with_counsel": False,
    "active": True,
    "no_holidays": True,
    "max_per_day": None,
    "max_per_week": None,
    "channel_caps": {},
    "min_gap_hours": None,
    "one_channel_per_week": False,
    "consent_required": False,
    "counts_reached_only": False,
    "week_mode": WeekMode.CALENDAR.value,
    "quiet_days_after_conversation": None,
}


def _rule(**fields: Any) -> dict[str, Any]:
    return {**_RULE_DEFAULTS, **fields}


DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    _rule(
        country="CO",
        debtor_kind="",
        name=_("Colombia – Ley 2300 de 2023, art. 3"),
        source=_(
            "Ley 2300 de 2023 (“Dejen de fregar”), art. 2 (only the channels the consumer "
            "authorized) and art. 3 (hours and frequency of collection contacts)"
        ),
        verify_with_counsel=True,
        hours={
            **_days(MONDAY_TO_FRIDAY, "07:00", "19:00"),
            "6": [["08:00", "15:00"]],
        },
        max_per_day=1,
        one_channel_per_week=True,
        consent_required=True,
        description=_(
            "Monday to Friday 07:00–19:00 and Saturday 08:00–15:00 in the debtor's time zone; "
            "no contact on Sundays or public holidays; at most one contact a day; once a "
            "channel has been used in a week (Monday to Sunday) no other channel that week; "
            "only the channels the debtor authorized. Every attempt counts, reached or not. "
            "Applies to consumers and businesses alike: the law protects consumers, and "
            "Colombian consumer law (Ley 1480 de 2011, art. 5) counts a company that buys as "
            "the final recipient as a consumer, which Cartera cannot tell apart. Verify with "
            "counsel: whether an unanswered attempt is a contact, and the reading of art. 3 "
            "that allows a single channel per week."
        ),
    ),
    _rule(
        country="MX",
        debtor_kind="",
        name=_("Mexico – CONDUSEF, despachos de cobranza"),
        source=_(
            "CONDUSEF, Disposiciones de carácter general aplicables a las entidades financieras "
            "en materia de despachos de cobranza (DOF 7 October 2014): contacts between 07:00 "
            "and 22:00 in the debtor's local time"
        ),
        verify_with_counsel=True,
        hours=_days(MONDAY_TO_FRIDAY, "07:00", "22:00"),
        description=_(
            "07:00–22:00 in the debtor's own time zone (Mexico has several). Monday to Friday "
            "and no public holidays is Cartera's cautious default, not the text of the "
            "Disposiciones, which set the hours only: verify with counsel before adding "
            "weekends. Applies to consumers and businesses alike: the Disposiciones protect "
            "every debtor of a financial entity."
        ),
    ),
    _rule(
        country="PE",
        debtor_kind="",
        name=_("Peru – Ley 29571, art. 62"),
        source=_(
            "Ley 29571, Código de Protección y Defensa del Consumidor, art. 62 (abusive "
            "collection methods): no visits or calls between 20:00 and 07:00, on Saturdays, "
            "Sundays or public holidays"
        ),
        hours=_days(MONDAY_TO_FRIDAY, "07:00", "20:00"),
        description=_(
            "Monday to Friday 07:00–20:00, no public holidays. The article names calls and "
            "visits; Cartera applies the same hours to written messages, the cautious reading. "
            "Applies to consumers and businesses alike: the Code's consumers include companies "
            "that buy as final recipients (Preliminary Title, art. IV)."
        ),
    ),
    _rule(
        country="CL",
        debtor_kind="",
        name=_("Chile – Ley 19.496, art. 37 (Ley 21.320)"),
        source=_(
            "Ley 19.496 sobre Protección de los Derechos de los Consumidores, art. 37 as "
            "amended by Ley 21.320 (2021)"
        ),
        hours=_days(MONDAY_TO_SATURDAY, "08:00", "20:00"),
        channel_caps={
            "voice": {"week": 1},
            "written": {"week": 2, "min_gap_days": 2},
        },
        description=_(
            "Monday to Saturday 08:00–20:00, no public holidays; at most one call or visit a "
            "week and at most two written messages (email, SMS, WhatsApp, letter) a week, at "
            "least two days apart. Applies to consumers and businesses alike: smaller "
            "companies may invoke the consumer law (Ley 20.416)."
        ),
    ),
    _rule(
        country="ES",
        debtor_kind=DebtorKind.PERSON.value,
        name=_("Spain – TRLGDCU art. 96.2 (reference)"),
        source=_(
            "Real Decreto Legislativo 1/2007 (TRLGDCU), art. 96.2, used as a reference: Spain "
            "has no rule written for collection calls"
        ),
        verify_with_counsel=True,
        hours=_days(MONDAY_TO_FRIDAY, "09:00", "21:00"),
        description=_(
            "Weekdays 09:00–21:00, no public holidays (national ones; regional holidays are "
            "not known to Cartera). The hours follow a consumer-protection rule for commercial "
            "calls, taken as a reference for collections: verify with counsel. Consumers only: "
            "the TRLGDCU protects individuals acting outside their trade; businesses have their "
            "own rule."
        ),
    ),
    _rule(
        country="ES",
        debtor_kind=DebtorKind.COMPANY.value,
        name=_("Spain – businesses (house practice)"),
        source=_(
            "No statutory rule: the TRLGDCU protects consumers only; Cartera keeps the "
            "consumers' window as good practice"
        ),
        hours=_days(MONDAY_TO_FRIDAY, "09:00", "21:00"),
        description=_(
            "Weekdays 09:00–21:00, no public holidays, no caps. Business debts are outside "
            "consumer law; edit freely."
        ),
    ),
    _rule(
        country="US",
        debtor_kind=DebtorKind.PERSON.value,
        name=_("United States – Regulation F, 12 CFR 1006.6 and 1006.14"),
        source=_(
            "Regulation F (12 CFR part 1006): § 1006.6(b)(1)(i), no communication before "
            "08:00 or after 21:00 at the consumer's location; § 1006.14(b)(2), no more than "
            "seven call attempts within seven days, and none within seven days after a "
            "telephone conversation"
        ),
        hours=_days(EVERY_DAY, "08:00", "21:00"),
        no_holidays=False,
        channel_caps={"call": {"week": 7}},
        week_mode=WeekMode.ROLLING.value,
        quiet_days_after_conversation=7,
        description=_(
            "08:00–21:00 in the debtor's time zone, every day; at most seven calls in seven "
            "days (the day of the first call is day one) and no call within seven days after a "
            "conversation (a call that reached the debtor; its day is day one). Regulation F "
            "counts calls per debt; Cartera counts them per debtor, which is stricter. "
            "Consumers only: the rule covers natural persons' consumer debts."
        ),
    ),
    _rule(
        country="US",
        debtor_kind=DebtorKind.COMPANY.value,
        name=_("United States – businesses (house practice)"),
        source=_(
            "No statutory rule: the FDCPA and Regulation F cover consumer debts only "
            "(15 U.S.C. § 1692a(5)); Cartera keeps the consumers' hours as good practice"
        ),
        hours=_days(MONDAY_TO_FRIDAY, "08:00", "21:00"),
        no_holidays=False,
        description=_(
            "Monday to Friday 08:00–21:00 in the debtor's time zone, no caps. Business debts "
            "are outside the FDCPA; edit freely."
        ),
    ),
    _rule(
        country=ANY_COUNTRY,
        debtor_kind="",
        name=_("Any other country – Cartera's cautious fallback"),
        source=_(
            "No source: Cartera has no rule for the debtor's country, so it keeps to business hours"
        ),
        verify_with_counsel=True,
        hours=_days(MONDAY_TO_FRIDAY, "08:00", "20:00"),
        description=_(
            "Weekdays 08:00–20:00 in the debtor's time zone, no public holidays (where the "
            "holidays package knows the country). Applies to every country without a rule of "
            "its own. Ask counsel for the country's rules and add them as a rule of that "
            "country."
        ),
    ),
)
"""The shipped rules, in the installation's language once `contact_rules_ensure` stores them."""


def _plain(value: Any) -> Any:
    if isinstance(value, Promise):
        return str(value)
    return value


def shipped_content(default: Mapping[str, Any]) -> dict[str, Any]:
    """A default's content with its translatable texts in the active language."""
    return {name: _plain(default[name]) for name in CONTENT_FIELDS}


def rule_content(rule: ContactRule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in CONTENT_FIELDS}


def content_digest(content: Mapping[str, Any]) -> str:
    canonical = json.dumps(
        {name: _plain(content[name]) for name in CONTENT_FIELDS},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def fallback_rule() -> ContactRule:
    """The rule used when no stored rule applies (not even an active one for "*")."""
    default = next(d for d in DEFAULT_RULES if d["country"] == ANY_COUNTRY)
    return ContactRule(country=ANY_COUNTRY, debtor_kind="", **shipped_content(default))


def shipped_default(country: str, debtor_kind: str) -> dict[str, Any] | None:
    for default in DEFAULT_RULES:
        if default["country"] == country and default["debtor_kind"] == debtor_kind:
            return default
    return None


def contact_rules_ensure(**kwargs: Any) -> None:
    """post_migrate: create the shipped rules that are missing and refresh unedited ones.

    Texts are stored in the installation's language (LANGUAGE_CODE).
    """
    using = kwargs.get("using", DEFAULT_DB_ALIAS)
    state = kwargs.get("apps")
    if state is not None:
        try:
            state.get_model("messaging", "ContactRule")
        except LookupError:  # migrated backwards past the table: nothing to fill
            return
    actor = Actor.system("contact rule defaults")
    with translation.override(settings.LANGUAGE_CODE), transaction.atomic(using=using):
        existing: dict[tuple[str, str], list[ContactRule]] = {}
        for rule in ContactRule.objects.using(using).all():
            existing.setdefault((rule.country, rule.debtor_kind), []).append(rule)
        for default in DEFAULT_RULES:
            key = (default["country"], default["debtor_kind"])
            content = shipped_content(default)
            digest = content_digest(content)
            rules = existing.get(key, [])
            if not rules:
                rule = ContactRule(
                    country=key[0], debtor_kind=key[1], shipped_digest=digest, **content
                )
                rule.save(using=using)
                if using == DEFAULT_DB_ALIAS:
                    audit_record(
                        actor=actor,
                        action="contactrule.create.default",
                        obj=rule,
                        changes={"name": rule.name},
                    )
                continue
            for rule in rules:
                unedited = rule.shipped_digest and rule.shipped_digest == content_digest(
                    rule_content(rule)
                )
                if unedited and rule.shipped_digest != digest:
                    for name, value in content.items():
                        setattr(rule, name, value)
                    rule.shipped_digest = digest
                    rule.updated_at = timezone.now()
                    rule.save(using=using)
                    if using == DEFAULT_DB_ALIAS:
                        audit_record(
                            actor=actor,
                            action="contactrule.update.default",
                            obj=rule,
                            changes={"name": rule.name},
                        )


@transaction.atomic
def contact_rule_restore(*, rule: ContactRule, actor: Actor) -> ContactRule:
    """Put a rule back to the shipped default of its country and kind (the admin's action)."""
    default = shipped_default(rule.country, rule.debtor_kind)
    if default is None:
        raise ValueError(
            gettext("Cartera ships no rule for %(country)s %(kind)s")
            % {"country": rule.country, "kind": rule.debtor_kind or gettext("(any kind)")}
        )
    with translation.override(settings.LANGUAGE_CODE):
        content = shipped_content(default)
    before = rule_content(rule)
    for name, value in content.items():
        setattr(rule, name, value)
    rule.shipped_digest = content_digest(content)
    rule.updated_at = timezone.now()
    rule.full_clean()
    rule.save()
    audit_record(
        actor=actor,
        action="contactrule.restore",
        obj=rule,
        changes={
            name: [_plain(before[name]), _plain(content[name])]
            for name in CONTENT_FIELDS
            if before[name] != content[name]
        },
    )
    return rule


# -- reading and checking the data of a rule -------------------------------------------------

_HHMM = re.compile(r"^(\d{2}):(\d{2})$")


class RuleError(ValueError):
    """A rule's data cannot be read; the message says what to fix."""


def clock_seconds(text: Any, *, end: bool = False) -> int:
    """ "HH:MM" → seconds after midnight; "24:00" is allowed as the end of a window."""
    match = _HHMM.match(text) if isinstance(text, str) else None
    if match is None:
        raise RuleError(
            gettext("%(value)s is not a time: write it as HH:MM, e.g. 07:00")
            % {"value": json.dumps(text, ensure_ascii=False)}
        )
    hours, minutes = int(match[1]), int(match[2])
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not end)):
        raise RuleError(
            gettext("%(value)s is not a time of day (00:00 to 23:59; 24:00 only as an end)")
            % {"value": text}
        )
    return hours * 3600 + minutes * 60


def parse_hours(hours: Any) -> dict[int, tuple[tuple[int, int], ...]]:
    """The allowed hours as {ISO weekday: ((start, end) seconds, ...)}; RuleError if unreadable.

    Windows are [start, end): a contact at exactly the end is outside.
    """
    if not isinstance(hours, dict):
        raise RuleError(
            gettext('Allowed hours must be an object such as {"1": [["07:00", "19:00"]]}')
        )
    parsed: dict[int, tuple[tuple[int, int], ...]] = {}
    for key, windows in hours.items():
        day = int(key) if isinstance(key, str) and key.isdigit() else 0
        if not 1 <= day <= 7:
            raise RuleError(
                gettext(
                    "%(key)s is not a weekday: use 1 (Monday) to 7 (Sunday) as the keys of the "
                    "allowed hours"
                )
                % {"key": json.dumps(key, ensure_ascii=False)}
            )
        name = str(WEEKDAY_NAMES[day - 1])
        if not isinstance(windows, list):
            raise RuleError(
                gettext('%(day)s: give a list of windows, e.g. [["08:00", "15:00"]]')
                % {"day": name}
            )
        spans: list[tuple[int, int]] = []
        for window in windows:
            if not (isinstance(window, list) and len(window) == 2):
                raise RuleError(
                    gettext('%(day)s: each window is a pair ["HH:MM", "HH:MM"], not %(value)s')
                    % {"day": name, "value": json.dumps(window, ensure_ascii=False)}
                )
            start, end = clock_seconds(window[0]), clock_seconds(window[1], end=True)
            if end <= start:
                raise RuleError(
                    gettext("%(day)s: the window %(start)s–%(end)s ends before it starts")
                    % {"day": name, "start": window[0], "end": window[1]}
                )
            spans.append((start, end))
        spans.sort()
        for (_s1, e1), (s2, _e2) in itertools.pairwise(spans):
            if s2 < e1:
                raise RuleError(gettext("%(day)s: two windows overlap") % {"day": name})
        if spans:
            parsed[day] = tuple(spans)
    return parsed


def cap_channels(key: str) -> frozenset[str]:
    """The channels a cap key covers: a class ("voice", "written") or one channel."""
    if key in CHANNEL_CLASSES:
        return CHANNEL_CLASSES[key]
    if key in CHANNELS:
        return frozenset({key})
    raise RuleError(
        gettext(
            "%(key)s is not a channel class: use voice (calls and visits), written (email, SMS, "
            "WhatsApp, letters) or one channel (%(channels)s)"
        )
        % {"key": json.dumps(key, ensure_ascii=False), "channels": ", ".join(CHANNELS)}
    )


def parse_caps(caps: Any) -> dict[str, dict[str, int]]:
    """The caps per channel class as {key: {limit: number}}; RuleError if unreadable."""
    if caps in (None, ""):
        return {}
    if not isinstance(caps, dict):
        raise RuleError(
            gettext('Caps must be an object such as {"voice": {"week": 1}}'),
        )
    parsed: dict[str, dict[str, int]] = {}
    for key, limits in caps.items():
        cap_channels(key)
        if not isinstance(limits, dict) or not limits:
            raise RuleError(
                gettext('%(key)s: give its limits, e.g. {"week": 2, "min_gap_days": 2}')
                % {"key": key}
            )
        for limit, number in limits.items():
            if limit not in CAP_LIMITS:
                raise RuleError(
                    gettext("%(key)s: %(limit)s is not a limit; use %(limits)s")
                    % {
                        "key": key,
                        "limit": json.dumps(limit, ensure_ascii=False),
                        "limits": ", ".join(CAP_LIMITS),
                    }
                )
            if isinstance(number, bool) or not isinstance(number, int) or number < 1:
                raise RuleError(
                    gettext("%(key)s: %(limit)s must be a whole number of at least 1")
                    % {"key": key, "limit": limit}
                )
        parsed[key] = dict(limits)
    return parsed


def country_problem(country: str) -> str:
    if country == ANY_COUNTRY or re.fullmatch(r"[A-Z]{2}", country or ""):
        return ""
    return gettext(
        'Write the country as its two capital letters (CO, MX, ES…) or "*" for every country '
        "without a rule of its own"
    )


def contact_rule_problems(
    *, country: str, hours: Any, channel_caps: Any, week_mode: str = WeekMode.CALENDAR
) -> dict[str, list[str]]:
    """{field: [what is wrong, in words]} for the admin form; empty when the rule is usable."""
    problems: dict[str, list[str]] = {}
    wrong_country = country_problem(country)
    if wrong_country:
        problems["country"] = [wrong_country]
    for field, parse, value in (
        ("hours", parse_hours, hours),
        ("channel_caps", parse_caps, channel_caps),
    ):
        try:
            parse(value)
        except RuleError as error:
            problems[field] = [str(error)]
    if week_mode not in WeekMode.values:
        problems["week_mode"] = [gettext("Unknown week mode")]
    return problems


def hours_display(hours: Any) -> str:
    """ "Mon–Fri 07:00–19:00 · Sat 08:00–15:00": days with the same windows grouped."""
    try:
        parsed = parse_hours(hours)
    except RuleError:
        return gettext("(unreadable)")
    if not parsed:
        return gettext("no contact at any time")

    def clock(seconds: int) -> str:
        return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"

    groups: list[tuple[int, int, tuple[tuple[int, int], ...]]] = []
    for day in range(1, 8):
        spans = parsed.get(day)
        if spans is None:
            continue
        if groups and groups[-1][1] == day - 1 and groups[-1][2] == spans:
            groups[-1] = (groups[-1][0], day, spans)
        else:
            groups.append((day, day, spans))
    parts = []
    for first, last, spans in groups:
        days = str(WEEKDAY_SHORT[first - 1])
        if last != first:
            days += "–" + str(WEEKDAY_SHORT[last - 1])
        parts.append(days + " " + ", ".join(f"{clock(s)}–{clock(e)}" for s, e in spans))
    return " · ".join(parts)
