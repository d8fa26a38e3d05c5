"""A fast tzinfo for a VTIMEZONE that an invitation defines itself.

Why this exists: icalendar turns a custom VTIMEZONE (Outlook's "W. Europe
Standard Time", "Customized Time Zone", ...) into a dateutil ``tzical`` zone.
That zone answers every ``utcoffset()``/``dst()``/``fromutc()`` by walking each
observance's RRULE from its DTSTART (1970, or 1601 as Outlook writes it) up to
the date asked: about 57 yearly occurrences per observance per call, and one
invitation makes ~15 calls. In the profile that was ~7 ms per Outlook
invitation, against a budget of 2 ms for the whole extraction.

`zone_from_definition` builds a tzinfo with the same instants and the same rule
semantics (dateutil's rrule still expands every RRULE) that never walks from
DTSTART:

* The common rule shape (FREQ=YEARLY, INTERVAL=1, BYMONTH plus BYDAY or
  BYMONTHDAY, no COUNT; UNTIL allowed), which Outlook, Exchange, Thunderbird
  and most clients write, has occurrences within a calendar year that do not
  depend on the year the rule started. A year's onsets are therefore computed
  by an rrule started on Jan 1 of that year, and memoized.
* Any other rule goes through dateutil's cached rruleset (correct, slower, rare).
* RDATEs and DTSTART (dateutil counts DTSTART as an onset too) are explicit
  onsets, found by bisection.
* Lookups run on UTC instants: for each UTC year a small sorted table of
  transitions is built once, after which an offset is a dict lookup and a
  bisection.

Wall times are read as PEP 495 (and zoneinfo) read them: in a repeated hour
fold=0 is the first pass and fold=1 the second; in a skipped hour (a gap)
fold=0 uses the offset from before the gap and fold=1 the one after.

Where this differs from dateutil's zone, on purpose:

* Inside a gap dateutil always uses the offset after it; `timezones.to_utc`
  gives the same instant for both readings.
* dateutil's fromutc() assumes utcoffset() - dst() never changes, so where a
  definition changes its STANDARD offset (two STANDARD blocks, as generated
  for Asia/Srednekolymsk 1991) it shows some instants an hour off; this zone
  reads the onsets as written (RFC 5545: local time in TZOFFSETFROM).
* Before every onset dateutil uses the first STANDARD observance and fails
  without one; the first observance stands in for it here.
* Properties dateutil refuses but that have one meaning (RDATE as DATE or
  PERIOD, DTSTART with TZID, X- and unknown properties) are read, not refused.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import MAXYEAR, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any, Final

import icalendar
from dateutil.rrule import rrule, rruleset, rrulestr

__all__ = ["VTimezone", "zone_from_definition"]

ZERO: Final = timedelta(0)

# The rule parts the yearly fast path accepts. With only these, every
# occurrence is at DTSTART's time of day and the set of occurrences within one
# calendar year does not depend on the year the rule started.
_YEARLY_PARTS: Final = frozenset(
    {"FREQ", "INTERVAL", "UNTIL", "WKST", "BYMONTH", "BYDAY", "BYMONTHDAY"}
)

_OBSERVANCES: Final = ("STANDARD", "DAYLIGHT")


def _shift(value: datetime, delta: timedelta) -> datetime:
    """value + delta, clamped to datetime's range (years 1 and 9999 stay usable)."""
    try:
        return value + delta
    except OverflowError:
        return datetime.max if delta > ZERO else datetime.min


def _year_start(year: int) -> datetime:
    """Jan 1 of `year`, or datetime.max past the last representable year."""
    return datetime(year, 1, 1) if year <= MAXYEAR else datetime.max


def _wall_time(value: Any, what: str) -> datetime:
    """A DTSTART/RDATE value as naive wall time, read the way dateutil's tzical
    reads it: a trailing Z or TZID is ignored (ignoretz), a DATE is midnight."""
    if isinstance(value, tuple) and value:  # a PERIOD: the onset is its start
        value = value[0]
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime.combine(value, time())
    raise ValueError(f"{what} is not a date-time")


def _values(component: icalendar.Component, name: str) -> list[Any]:
    """All values of a property that may appear more than once."""
    found = component.get(name)
    if found is None:
        return []
    return list(found) if isinstance(found, list) else [found]


def _date_times(component: icalendar.Component, name: str, what: str) -> list[datetime]:
    """The date-times of all RDATE (or EXDATE) properties, as wall times."""
    found: list[datetime] = []
    for value in _values(component, name):
        dts = getattr(value, "dts", None)
        if dts is None:
            raise ValueError(f"{what} {name} cannot be read")
        found += [_wall_time(getattr(item, "dt", None), f"{what} {name}") for item in dts]
    return found


# vRecur.to_ical() costs ~25 µs, a third of building a zone, and the same few
# rules come in every invitation: remember the text by the rule's parts.
_RULE_TEXTS: dict[tuple[tuple[str, tuple[str, ...]], ...], str] = {}


def _rule_text(value: Any) -> str:
    """An RRULE/EXRULE property as the text dateutil's tzical would parse."""
    key = None
    if isinstance(value, dict):
        key = tuple(
            (str(name), tuple(map(repr, parts if isinstance(parts, list) else [parts])))
            for name, parts in value.items()
        )
        text = _RULE_TEXTS.get(key)
        if text is not None:
            return text
    raw = value.to_ical() if hasattr(value, "to_ical") else value
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    if key is not None:
        if len(_RULE_TEXTS) >= 1024:
            _RULE_TEXTS.clear()  # bounded; rebuilt from the next invitations
        _RULE_TEXTS[key] = text
    return text


def _rule_texts(component: icalendar.Component, name: str) -> list[str]:
    return [_rule_text(value) for value in _values(component, name)]


def _offset(component: icalendar.Component, name: str, what: str) -> timedelta:
    value = getattr(component.get(name), "td", None)
    if not isinstance(value, timedelta):
        raise ValueError(f"{what} has no readable {name}")
    return value


@lru_cache(maxsize=256)
def _parse_rule(text: str, start: datetime) -> rrule:
    """An RRULE value parsed exactly as dateutil's tzical parses it (ignoretz)."""
    parsed = rrulestr("RRULE:" + text, dtstart=start, ignoretz=True)
    if not isinstance(parsed, rrule):
        raise ValueError(f"not a single rule: {text}")
    return parsed


@lru_cache(maxsize=8192)
def _local_onsets(text: str, start: datetime, year: int) -> tuple[datetime, ...]:
    """Occurrences in local `year` of a yearly fast-path rule that starts at `start`.

    The rule is restarted on Jan 1 of the year (at DTSTART's time of day, never
    before DTSTART) and stopped at the year's end, so dateutil expands one year
    instead of every year since DTSTART. Shared by all zones (lru_cache), so a
    definition seen in many invitations is expanded once per year.
    """
    base = _parse_rule(text, start)
    begin = max(start, datetime.combine(date(year, 1, 1), start.time()))
    end = datetime(year, 12, 31, 23, 59, 59, 999999)
    until: datetime | None = getattr(base, "_until", None)  # the rule's own UNTIL, as parsed
    one_year = base.replace(dtstart=begin, until=end if until is None or until > end else until)
    return tuple(one_year)


def _is_yearly_shape(text: str) -> bool:
    """Whether a rule has the shape whose yearly occurrences do not depend on its start."""
    parts: dict[str, str] = {}
    for part in text.upper().split(";"):
        name, equals, value = part.partition("=")
        if not equals:
            return False
        parts[name.strip()] = value.strip()
    if not parts.keys() <= _YEARLY_PARTS or parts.get("FREQ") != "YEARLY":
        return False
    if parts.get("INTERVAL", "1").lstrip("0") != "1":
        return False
    return "BYMONTH" in parts and ("BYDAY" in parts or "BYMONTHDAY" in parts)


def _months(text: str) -> frozenset[int]:
    for part in text.upper().split(";"):
        name, _, value = part.partition("=")
        if name.strip() == "BYMONTH":
            return frozenset(int(month) for month in value.split(","))
    return frozenset(range(1, 13))


class _Observance:
    """One STANDARD or DAYLIGHT block: its offsets, name and onsets (as UTC)."""

    def __init__(
        self,
        *,
        daylight: bool,
        offset_from: timedelta,
        offset_to: timedelta,
        tzname: str | None,
        order: int,
        start: datetime,
        explicit: list[datetime],
        yearly_rule: str | None,
        general: rruleset | None,
    ) -> None:
        self.offset = offset_to
        self.offset_from = offset_from
        self.is_dst = daylight
        # dateutil's dst(): TZOFFSETTO - TZOFFSETFROM in DAYLIGHT, zero in STANDARD.
        self.dst = offset_to - offset_from if daylight else ZERO
        self.tzname = tzname
        self.order = order
        self.start = start
        # An onset's UTC instant is its local wall time minus TZOFFSETFROM.
        self._explicit = sorted({_shift(local, -offset_from) for local in explicit})
        self._yearly_rule = yearly_rule
        self._general = general
        self._months = _months(yearly_rule) if yearly_rule else frozenset()
        self._last_year = MAXYEAR
        if yearly_rule is not None:
            until: datetime | None = getattr(_parse_rule(yearly_rule, start), "_until", None)
            if until is not None:
                self._last_year = until.year
        # Local year -> UTC onsets of the yearly rule. Only ever gains entries,
        # and a racing thread computes the same value, so no lock is needed.
        self._years: dict[int, tuple[datetime, ...]] = {}

    def rank(self, onset: datetime) -> tuple[datetime, timedelta, int]:
        """Order of onsets at the same UTC instant: dateutil compares local onsets,
        so the one that is later in local time (larger TZOFFSETFROM) wins, then
        the one defined first."""
        return onset, self.offset_from, -self.order

    def _year(self, year: int) -> tuple[datetime, ...]:
        found = self._years.get(year)
        if found is None:
            found = ()
            if self._yearly_rule is not None and self.start.year <= year <= self._last_year:
                local = _local_onsets(self._yearly_rule, self.start, year)
                found = tuple(_shift(onset, -self.offset_from) for onset in local)
            self._years[year] = found
        return found

    def _may_touch(self, year: int, first: datetime, last: datetime) -> bool:
        """Whether local `year` can have an occurrence in [first, last): skips the
        neighbouring year when only a January or December sliver of it is in range
        and the rule has no onset in that month."""
        if not self.start.year <= year <= self._last_year:
            return False
        low = max(first, _year_start(year))
        high = min(last, _year_start(year + 1)) - timedelta(microseconds=1)
        return any(month in self._months for month in range(low.month, high.month + 1))

    def onsets_between(self, low: datetime, high: datetime) -> list[datetime]:
        """UTC onsets in [low, high)."""
        found = self._explicit[bisect_left(self._explicit, low) : bisect_left(self._explicit, high)]
        if self._yearly_rule is not None:
            first, last = _shift(low, self.offset_from), _shift(high, self.offset_from)
            for year in range(first.year, last.year + 1):
                if self._may_touch(year, first, last):
                    found += [onset for onset in self._year(year) if low <= onset < high]
        if self._general is not None:
            local = self._general.between(
                _shift(low, self.offset_from), _shift(high, self.offset_from), inc=True
            )
            found += [t for t in (_shift(x, -self.offset_from) for x in local) if low <= t < high]
        return found

    def latest_before(self, bound: datetime) -> datetime | None:
        """The latest UTC onset strictly before `bound`, or None."""
        best: datetime | None = None
        index = bisect_left(self._explicit, bound)
        if index:
            best = self._explicit[index - 1]
        if self._yearly_rule is not None:
            # Newest local year first; usually found in the first or second year.
            # A rule that never fires walks back to DTSTART once (memoized).
            year = min(_shift(bound, self.offset_from).year, self._last_year)
            while year >= self.start.year:
                onsets = self._year(year)
                index = bisect_left(onsets, bound)
                if index:
                    if best is None or onsets[index - 1] > best:
                        best = onsets[index - 1]
                    break
                if best is not None and _shift(_year_start(year), -self.offset_from) <= best:
                    break  # nothing older can beat an explicit onset already found
                year -= 1
        if self._general is not None:
            local = self._general.before(_shift(bound, self.offset_from))
            if local is not None:
                onset = _shift(local, -self.offset_from)
                if best is None or onset > best:
                    best = onset
        return best


@dataclass(frozen=True, slots=True)
class _Table:
    """The transitions of one UTC year: starts[i] begins entries[i]; onsets[i] is
    the real onset of entries[i] (starts[0] is Jan 1; its onset was earlier, or
    None before every onset); `end` is where the next year's table starts."""

    starts: list[datetime]
    entries: list[_Observance]
    onsets: list[datetime | None]
    end: datetime


class VTimezone(tzinfo):
    """A PEP 495 tzinfo built from a VTIMEZONE definition (see the module docstring)."""

    def __init__(
        self,
        tzid: str | None,
        observances: list[_Observance],
        source: icalendar.Component | None = None,
    ) -> None:
        if not observances:
            raise ValueError("no STANDARD or DAYLIGHT observance")
        self._tzid = tzid
        self._observances = observances
        self._source = source
        # Before every onset dateutil uses the first STANDARD observance (and
        # fails without one); the first observance stands in for it then.
        self._default = next((o for o in observances if not o.is_dst), observances[0])
        # dateutil uses the only observance whatever its onsets say.
        self._single = observances[0] if len(observances) == 1 else None
        offsets = sorted({o.offset for o in observances})
        self._offsets_desc = tuple(reversed(offsets))
        self._largest, self._smallest = offsets[-1], offsets[0]
        self._spread = self._largest - self._smallest
        # UTC year -> transitions; only ever gains entries (see _Observance._years).
        self._tables: dict[int, _Table] = {}

    # -- lookups on UTC instants ------------------------------------------------

    def _table(self, year: int) -> _Table:
        table = self._tables.get(year)
        if table is None:
            table = self._tables[year] = self._build(year)
        return table

    def _build(self, year: int) -> _Table:
        low, high = _year_start(year), _year_start(year + 1)
        initial: tuple[tuple[datetime, timedelta, int], _Observance] | None = None
        ranked: dict[tuple[datetime, timedelta, int], _Observance] = {}
        for observance in self._observances:
            before = observance.latest_before(low)
            if before is not None:
                rank = observance.rank(before)
                if initial is None or rank > initial[0]:
                    initial = (rank, observance)
            for onset in observance.onsets_between(low, high):
                ranked[observance.rank(onset)] = observance
        starts = [low]
        entries = [initial[1] if initial else self._default]
        onsets: list[datetime | None] = [initial[0][0] if initial else None]
        for rank in sorted(ranked):
            # Equal instants: the later one in this order wins (bisect_right).
            starts.append(rank[0])
            entries.append(ranked[rank])
            onsets.append(rank[0])
        return _Table(starts, entries, onsets, high)

    def _at(self, instant: datetime) -> _Observance:
        """The observance in effect at a naive UTC instant."""
        table = self._tables.get(instant.year) or self._table(instant.year)
        return table.entries[bisect_right(table.starts, instant) - 1]

    # -- wall times ---------------------------------------------------------------

    def _resolve(self, dt: datetime) -> _Observance:
        """The observance a wall time (with its fold) is read in, PEP 495 style."""
        if self._single is not None:
            return self._single
        wall = dt.replace(tzinfo=None)
        # Every reading wall - offset lies in [earliest, latest]; with no
        # transition in between there is exactly one reading (the usual case).
        earliest = _shift(wall, -self._largest)
        table = self._tables.get(earliest.year) or self._table(earliest.year)
        index = bisect_right(table.starts, earliest) - 1
        following = table.starts[index + 1] if index + 1 < len(table.starts) else table.end
        if _shift(wall, -self._smallest) < following:
            return table.entries[index]
        # Near a transition: the readings are the offsets o with offset(wall - o) == o.
        readings = [
            observance
            for offset in self._offsets_desc
            if (observance := self._at(_shift(wall, -offset))).offset == offset
        ]
        if readings:
            # Largest offset first: fold=0 is the earlier instant (first pass).
            return readings[-1] if dt.fold else readings[0]
        # A gap: fold=0 keeps the offset from before it, fold=1 the one after.
        return self._at(_shift(wall, -(self._smallest if dt.fold else self._largest)))

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        if dt is None:
            return None
        return self._resolve(dt).offset

    def dst(self, dt: datetime | None) -> timedelta | None:
        if dt is None:
            return None
        return self._resolve(dt).dst

    def tzname(self, dt: datetime | None) -> str | None:
        if dt is None:
            return None
        return self._resolve(dt).tzname

    def fromutc(self, dt: datetime) -> datetime:
        if not isinstance(dt, datetime):
            raise TypeError("fromutc() requires a datetime argument")
        if dt.tzinfo is not self:
            raise ValueError("fromutc: dt.tzinfo is not self")
        if self._single is not None:
            return dt + self._single.offset
        instant = dt.replace(tzinfo=None)
        table = self._tables.get(instant.year) or self._table(instant.year)
        index = bisect_right(table.starts, instant) - 1
        observance = table.entries[index]
        local = dt + observance.offset
        onset = table.onsets[index]
        # The second pass through a repeated hour: the same wall time was shown
        # earlier with a larger offset, which needs a transition less than the
        # offsets' spread ago.
        if onset is not None and instant - onset < self._spread:
            wall = local.replace(tzinfo=None)
            for offset in self._offsets_desc:
                if offset <= observance.offset:
                    break
                if self._at(_shift(wall, -offset)).offset == offset:
                    return local.replace(fold=1)
        return local

    # -- the rest of the tzinfo protocol --------------------------------------------

    def __repr__(self) -> str:
        return f"<VTimezone {self._tzid!r}>"

    def __copy__(self) -> VTimezone:
        return self  # immutable as far as anyone can tell: share it

    def __deepcopy__(self, memo: dict[int, Any]) -> VTimezone:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as its definition; tzinfo's default would call VTimezone().
        if self._source is None:
            raise TypeError("this VTimezone has no definition to pickle")
        return _from_ical, (self._source.to_ical(),)


def _from_ical(data: bytes) -> VTimezone:
    return zone_from_definition(icalendar.Timezone.from_ical(data))


def _observance(sub: icalendar.Component, order: int) -> _Observance:
    what = sub.name
    start = _wall_time(getattr(sub.get("DTSTART"), "dt", None), f"{what} DTSTART")
    offset_from = _offset(sub, "TZOFFSETFROM", what)
    offset_to = _offset(sub, "TZOFFSETTO", what)
    names = _values(sub, "TZNAME")
    tzname = str(names[-1]) if names else None  # dateutil keeps the last TZNAME
    rdates = _date_times(sub, "RDATE", what)
    exdates = _date_times(sub, "EXDATE", what)
    # dateutil counts DTSTART itself as an onset, whether the rule matches it or not.
    explicit = [start, *rdates]
    yearly_rule: str | None = None
    general: rruleset | None = None
    try:
        rules = _rule_texts(sub, "RRULE")
        exrules = _rule_texts(sub, "EXRULE")
        if len(rules) == 1 and not exdates and not exrules and _is_yearly_shape(rules[0]):
            yearly_rule = rules[0]
            _parse_rule(yearly_rule, start)  # reject an unreadable rule now, not on use
        elif rules or exdates or exrules:
            # The general case, built as dateutil's tzical builds it.
            general = rruleset(cache=True)
            for text in rules:
                general.rrule(_parse_rule(text, start))
            for text in exrules:
                general.exrule(_parse_rule(text, start))
            for value in explicit:
                general.rdate(value)
            for value in exdates:
                general.exdate(value)
            explicit = []
    except (ValueError, TypeError, KeyError, IndexError) as error:
        raise ValueError(f"{what} RRULE cannot be read: {error}") from error
    return _Observance(
        daylight=what == "DAYLIGHT",
        offset_from=offset_from,
        offset_to=offset_to,
        tzname=tzname,
        order=order,
        start=start,
        explicit=explicit,
        yearly_rule=yearly_rule,
        general=general,
    )


def zone_from_definition(component: icalendar.Timezone) -> tzinfo:
    """A fast, fold-aware tzinfo with the instants of a VTIMEZONE definition.

    Gives the same UTC offsets as ``component.to_tz(lookup_tzid=False)``
    (dateutil's tzical zone), except inside a gap, where it follows PEP 495.
    Raises ValueError when the definition cannot be read: no STANDARD or
    DAYLIGHT observance, or one without DTSTART, TZOFFSETFROM or TZOFFSETTO,
    or with an RRULE dateutil cannot parse.
    """
    if getattr(component, "name", None) != "VTIMEZONE":
        raise ValueError("not a VTIMEZONE")
    subs = [sub for sub in component.subcomponents if sub.name in _OBSERVANCES]
    if not subs:
        raise ValueError("no STANDARD or DAYLIGHT observance")
    tzid = component.get("TZID")
    return VTimezone(
        str(tzid) if tzid is not None else None,
        [_observance(sub, order) for order, sub in enumerate(subs)],
        component,
    )
