"""Touch definitions and their timing rules, and the materialisation of a plan into dated
touches for one customer over the next 12 months (pure: no I/O, no clock).

Every time is computed in the customer's IANA time zone and stored in UTC. Each definition
yields `count` touches (1 unless it is a cadence); a touch whose date cannot be computed (no
birth date, holiday not observed in the customer's country) is returned as skipped with its
reason, so a plan always accounts for every touch it promises.
"""

from __future__ import annotations

import calendar
import functools
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import chain
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import BaseModel, Field, model_validator

from wafa_shared.clock import LocalTime
from wafa_touch.domain.channels import INSTANT_CHANNELS, Channel

TimingKind = Literal["cadence", "fixed_date", "holiday", "personal_date", "after_event"]
HORIZON_MONTHS = 12
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def epoch_us(at: datetime) -> int:
    """An aware datetime as microseconds since the Unix epoch (exact, unlike `timestamp()`)."""
    return (at - UNIX_EPOCH) // _ONE_US


def from_epoch_us(us: int) -> datetime:
    return UNIX_EPOCH + timedelta(microseconds=us)


class Timing(BaseModel):
    """When a touch happens.

    - `cadence`: `offset_days` after enrolment, then every `every_days`, `count` times.
    - `fixed_date`: a company date (`month`/`day`), the first one on or after enrolment.
    - `holiday`: the first day of `holiday` in `calendar` (`customer` = the customer's country,
      or an ISO country code).
    - `personal_date`: `birthday`, `purchase_anniversary` (a year after enrolment) or
      `custom:<name>` (a custom date of the customer), the next one.
    - `after_event`: `offset_days` + `offset_hours` after the triggering event, to the minute.
    """

    kind: TimingKind
    offset_days: int = Field(0, ge=0, le=366)
    offset_hours: int = Field(0, ge=0, le=24 * 366)
    every_days: int | None = Field(None, ge=1, le=366)
    count: int = Field(1, ge=1, le=366)
    month: int | None = Field(None, ge=1, le=12)
    day: int | None = Field(None, ge=1, le=31)
    holiday: str | None = Field(None, min_length=1, max_length=100)
    calendar: str = Field("customer", min_length=2, max_length=20)
    personal: str | None = Field(None, min_length=1, max_length=100)
    local_time: LocalTime = time(10, 0)
    window_days: int = Field(7, ge=0, le=90, description="How far the fatigue policy may postpone the touch.")

    @model_validator(mode="after")
    def _complete(self) -> Timing:
        if self.kind == "cadence" and self.count > 1 and self.every_days is None:
            raise ValueError("a cadence with count > 1 needs every_days")
        if self.kind == "fixed_date":
            if self.month is None or self.day is None:
                raise ValueError("a fixed_date needs month and day")
            if self.day > calendar.monthrange(2024, self.month)[1]:
                raise ValueError("day does not exist in that month")
        if self.kind == "holiday" and not self.holiday:
            raise ValueError("a holiday timing needs holiday")
        if self.kind == "personal_date":
            p = self.personal or ""
            if not (p in ("birthday", "purchase_anniversary") or (p.startswith("custom:") and len(p) > 7)):
                raise ValueError("personal must be birthday, purchase_anniversary or custom:<name>")
        if self.kind != "cadence" and self.count != 1:
            raise ValueError("only a cadence may have count > 1")
        return self


class TouchDef(BaseModel):
    """One touch of a plan: what, through which channel, when, and at what cost."""

    key: str = Field(min_length=1, max_length=80, pattern=r"^[a-z0-9_\-]+$")
    channel: Channel
    timing: Timing
    content_key: str = Field(min_length=1, max_length=80)
    key_message: str = Field("", max_length=500)
    referral_cta: bool = Field(True, description="Include the gentle referral reminder (on unless switched off).")
    cost: Decimal = Field(Decimal("0"), ge=0, max_digits=12, decimal_places=2)
    priority: int = Field(10, ge=0, le=1000, description="Higher wins: service recovery 100 > personal 50 > newsletter 10.")
    sla_hours: int = Field(72, ge=1, le=24 * 60, description="Due time of the task (phone, letter, card) after dispatch.")


@dataclass(frozen=True)
class Facts:
    """What materialisation needs to know about the customer."""

    time_zone: str | None = None
    country: str | None = None
    birth_date: date | None = None
    custom_dates: dict[str, date] = field(default_factory=dict)
    quiet_start: time | None = None
    quiet_end: time | None = None


@dataclass(frozen=True)
class Planned:
    def_key: str
    seq: int
    due_at: datetime | None  # UTC; None when skipped
    window_end: datetime | None
    skip_reason: str | None = None


def zone(name: str | None, default: str = "UTC") -> ZoneInfo:
    for candidate in (name, default, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February in a non-leap year: the 28th
        return d.replace(year=d.year + years, day=28)


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return d.replace(year=year, month=month, day=min(d.day, calendar.monthrange(year, month)[1]))


def in_quiet(t: time, start: time | None, end: time | None) -> bool:
    """Whether local time `t` lies in quiet hours [start, end) (which may wrap midnight)."""
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= t < end
    return t >= start or t < end


def leave_quiet(at: datetime, tz: ZoneInfo, start: time | None, end: time | None) -> datetime:
    """`at` (UTC) moved to the end of the quiet hours it falls in, else unchanged. Around a DST
    change the local end time may not exist or exist twice: the earliest instant after `at` that
    is outside quiet hours is taken."""
    local = at.astimezone(tz)
    if start is None or end is None or not in_quiet(local.time(), start, end):
        return at
    end_day = local.date()
    if start > end and local.time() >= start:
        end_day += timedelta(days=1)
    candidates = [datetime.combine(end_day, end.replace(fold=f), tzinfo=tz).astimezone(UTC) for f in (0, 1)]
    valid = [c for c in candidates if c > at and not in_quiet(c.astimezone(tz).time(), start, end)]
    if valid:
        return min(valid)
    moved = max(candidates + [at])
    for _ in range(96):  # step out in quarter hours (never needed outside DST oddities)
        if not in_quiet(moved.astimezone(tz).time(), start, end):
            break
        moved += timedelta(minutes=15)
    return moved


@functools.lru_cache(maxsize=4096)
def _holiday_dates(country: str, year: int, name: str) -> tuple[date, ...]:
    try:
        cal = holidays.country_holidays(country, years=[year], language="en_US")
    except (NotImplementedError, KeyError):
        return ()
    wanted = name.casefold()
    return tuple(sorted(d for d, n in cal.items() if wanted in n.casefold() and "observed" not in n.casefold()))


def holiday_dates(country: str, name: str, first: date, last: date) -> list[date]:
    """First days of the holiday's occurrences between `first` and `last` (inclusive)."""
    out: list[date] = []
    for year in range(first.year - 1, last.year + 1):
        days = _holiday_dates(country, year, name)
        for i, d in enumerate(days):
            starts_run = i == 0 or (d - days[i - 1]).days > 1
            if starts_run and first <= d <= last:
                out.append(d)
    return out


def supported_calendars() -> set[str]:
    return set(holidays.list_supported_countries())


# One planned touch in bulk form: (index of its definition, seq, due time in microseconds since
# the Unix epoch or None, skip reason). Integers, not datetimes: the bulk path compares and
# encodes millions of them. Its window ends the definition's `window_days` after the due time.
PlannedRow = tuple[int, int, int | None, str | None]


def materialise(defs: list[TouchDef], facts: Facts, anchor: datetime, *, default_tz: str = "UTC", default_country: str | None = None) -> list[Planned]:
    """The dated touches of `defs` for one customer enrolled (or triggered) at `anchor` (UTC),
    over the 12 months that follow. Nothing is dated before `anchor`."""
    [rows] = materialise_many(defs, [(facts, anchor)], default_tz=default_tz, default_country=default_country)
    out = []
    for i, seq, us, reason in rows:
        at = from_epoch_us(us) if us is not None else None
        out.append(Planned(defs[i].key, seq, at, at + timedelta(days=defs[i].timing.window_days) if at is not None else None, reason))
    return out


def _candidates(d: TouchDef, tz: ZoneInfo, facts: Facts, first_day: date, last_day: date, default_country: str | None) -> tuple[list[datetime], str | None]:
    """The instants (UTC, out of quiet hours) a date-based definition may fall on, before the
    anchor/horizon filter, and the skip reason when it has none. Depends on the anchor only
    through its local day, so one computation serves every enrolment of that day."""
    t = d.timing
    days: list[date] = []
    reason: str | None = None
    if t.kind == "cadence":
        days = [first_day + timedelta(days=t.offset_days + i * (t.every_days or 0)) for i in range(t.count)]
    elif t.kind == "fixed_date":
        assert t.month is not None and t.day is not None
        for year in (first_day.year, first_day.year + 1):
            mday = min(t.day, calendar.monthrange(year, t.month)[1])
            days.append(date(year, t.month, mday))
    elif t.kind == "holiday":
        country = facts.country if t.calendar == "customer" else t.calendar
        country = country or default_country
        if not country:
            reason = "no-country"
        else:
            days = list(holiday_dates(country.upper(), t.holiday or "", first_day, last_day))
            if not days:
                reason = "holiday-not-observed"
    else:  # personal_date
        p = t.personal or ""
        base: date | None
        if p == "birthday":
            base, reason = facts.birth_date, None if facts.birth_date else "no-birth-date"
        elif p == "purchase_anniversary":
            base = first_day
        else:
            base = facts.custom_dates.get(p.removeprefix("custom:"))
            reason = None if base else "no-personal-date"
        if base is not None:
            days = [add_years(base, first_day.year - base.year + k) for k in (0, 1)]
            if p == "purchase_anniversary":
                days = [add_years(base, 1)]
    out = []
    for day in days:
        at = datetime.combine(day, t.local_time, tzinfo=tz).astimezone(UTC)
        if d.channel in INSTANT_CHANNELS:
            at = leave_quiet(at, tz, facts.quiet_start, facts.quiet_end)
        out.append(at)
    return out, reason


def _cache_key(i: int, d: TouchDef, tz: ZoneInfo, facts: Facts, first_day: date) -> tuple[object, ...]:
    """What `_candidates` of definition `i` depends on besides the definition: profiles that
    differ elsewhere share it (every birthday shares the newsletters)."""
    t = d.timing
    quiet = (facts.quiet_start, facts.quiet_end) if d.channel in INSTANT_CHANNELS else None
    extra: object = None
    if t.kind == "holiday":
        extra = facts.country if t.calendar == "customer" else None
    elif t.kind == "personal_date" and t.personal != "purchase_anniversary":
        p = t.personal or ""
        extra = _month_day(facts.birth_date if p == "birthday" else facts.custom_dates.get(p.removeprefix("custom:")))
    return (i, tz, first_day, quiet, extra)


def _month_day(d: date | None) -> tuple[int, int] | None:
    return (d.month, d.day) if d is not None else None  # next occurrences depend on month and day only


@dataclass
class _Profile:
    """What the shared touches of a profile (zone, local day of the anchor, quiet hours,
    country) are dated from, and the runs computed so far."""

    last_day: date
    horizon_end: int
    candidates: list[list[int] | None]  # per definition; None for those dated per enrolment
    reasons: list[str | None]
    cutoffs: list[int]  # every candidate instant, sorted: the anchor matters only by how many precede it
    runs: dict[int, PlannedRun] = field(default_factory=dict)


# Planned rows; the shared ones of a profile and cut-off are one run, read-only, for all its enrolments.
PlannedRun = tuple[PlannedRow, ...]


def _per_enrolment(d: TouchDef) -> bool:
    """Dated from the anchor itself or from a personal date: not shared with the profile."""
    t = d.timing
    return t.kind == "after_event" or (t.kind == "personal_date" and t.personal != "purchase_anniversary")


class Planner:
    """Dates many enrolments of one plan. Most touches of an enrolment depend only on its
    profile (zone, local day of the anchor, quiet hours, country) and on how many of the
    profile's candidate instants fall before its anchor: those rows are computed once per case
    and shared, as one run, by every enrolment in it. Only `after_event` touches and personal dates
    are dated per enrolment, so dating a plan for 100k customers costs little more than a tuple
    per enrolment (and the encoder formats each shared run from one template)."""

    def __init__(self, defs: list[TouchDef], *, default_tz: str = "UTC", default_country: str | None = None) -> None:
        self.defs, self.default_tz, self.default_country = defs, default_tz, default_country
        self._zones: dict[str | None, ZoneInfo] = {}
        self._profiles: dict[tuple[object, ...], _Profile] = {}
        self._candidates: dict[tuple[object, ...], tuple[list[int], str | None]] = {}
        self._one_dated = [d.timing.kind in ("fixed_date", "holiday", "personal_date") for d in defs]
        self._per_enrolment = [_per_enrolment(d) for d in defs]
        self._own = [i for i, own in enumerate(self._per_enrolment) if own]

    def plan(self, facts: Facts, anchor: datetime) -> tuple[PlannedRun, PlannedRun]:
        """The enrolment's planned rows: those of the shared definitions as one run (the same
        object for every enrolment with the same profile and cut-off), then its own, each in
        definition order."""
        tz = self._zones.get(facts.time_zone)
        if tz is None:
            tz = self._zones[facts.time_zone] = zone(facts.time_zone, self.default_tz)
        first_day = anchor.astimezone(tz).date()
        key = (tz, first_day, facts.quiet_start, facts.quiet_end, facts.country)
        profile = self._profiles.get(key)
        if profile is None:
            profile = self._profiles[key] = self._profile(tz, facts, first_day)
        start = epoch_us(anchor)
        cut = bisect_left(profile.cutoffs, start)
        shared = profile.runs.get(cut)
        if shared is None:
            rows = (self._rows(i, c, profile.reasons[i], start) for i, c in enumerate(profile.candidates) if c is not None)
            shared = profile.runs[cut] = tuple(chain.from_iterable(rows))
        if not self._own:
            return shared, ()
        return shared, tuple(row for i in self._own for row in self._own_rows(i, tz, facts, anchor, start, first_day, profile))

    def _dated(self, i: int, tz: ZoneInfo, facts: Facts, first_day: date, last_day: date, horizon_end: int) -> tuple[list[int], str | None]:
        """Candidate instants (to the horizon) of a date-based definition, and its skip reason
        when it has none; computed once per distinct input (`_cache_key`)."""
        d = self.defs[i]
        key = _cache_key(i, d, tz, facts, first_day)
        hit = self._candidates.get(key)
        if hit is None:
            instants, reason = _candidates(d, tz, facts, first_day, last_day, self.default_country)
            hit = self._candidates[key] = ([us for at in instants if (us := epoch_us(at)) <= horizon_end], reason)
        return hit

    def _profile(self, tz: ZoneInfo, facts: Facts, first_day: date) -> _Profile:
        last_day = add_months(first_day, HORIZON_MONTHS)
        horizon_end = epoch_us(datetime.combine(last_day, time.max, tzinfo=tz))
        candidates: list[list[int] | None] = []
        reasons: list[str | None] = []
        for i, own in enumerate(self._per_enrolment):
            instants, reason = ([], None) if own else self._dated(i, tz, facts, first_day, last_day, horizon_end)
            candidates.append(None if own else instants)
            reasons.append(reason)
        cutoffs = sorted({us for c in candidates if c is not None for us in c})
        return _Profile(last_day, horizon_end, candidates, reasons, cutoffs)

    def _rows(self, i: int, instants_us: list[int], reason: str | None, start: int) -> list[PlannedRow]:
        """Definition `i`'s rows for an anchor at `start`, from its candidate instants."""
        dated = [us for us in instants_us if us >= start]
        if self._one_dated[i] and len(dated) > 1:
            dated = [min(dated)]
        if dated:
            return [(i, seq, us, None) for seq, us in enumerate(dated)]
        t = self.defs[i].timing
        if reason is None and t.kind != "cadence":
            reason = "outside-horizon"
        return [(i, seq, None, reason or "outside-horizon") for seq in range(t.count)]

    def _own_rows(self, i: int, tz: ZoneInfo, facts: Facts, anchor: datetime, start: int, first_day: date, profile: _Profile) -> list[PlannedRow]:
        """The rows of a definition dated per enrolment: from the anchor, or a personal date."""
        d = self.defs[i]
        if d.timing.kind != "after_event":
            return self._rows(i, *self._dated(i, tz, facts, first_day, profile.last_day, profile.horizon_end), start)
        at = anchor + timedelta(days=d.timing.offset_days, hours=d.timing.offset_hours)
        if d.channel in INSTANT_CHANNELS:
            at = leave_quiet(at, tz, facts.quiet_start, facts.quiet_end)
        us = epoch_us(at)
        return [(i, 0, us, None) if start <= us <= profile.horizon_end else (i, 0, None, "outside-horizon")]


def materialise_many(
    defs: list[TouchDef], items: list[tuple[Facts, datetime]], *, default_tz: str = "UTC", default_country: str | None = None
) -> list[list[PlannedRow]]:
    """`materialise` for many customers at once, one list of rows per item (facts, anchor)."""
    planner = Planner(defs, default_tz=default_tz, default_country=default_country)
    return [sorted(chain(*planner.plan(facts, anchor))) for facts, anchor in items]  # (definition, seq) order
