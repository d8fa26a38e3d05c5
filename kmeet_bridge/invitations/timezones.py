"""Time-zone helpers: from whatever an invitation calls its zone to an IANA name.

Pure functions, no I/O. The kMeet API wants wall-clock times plus an IANA zone
name (kmeet-api.md), while invitations name their zones in many ways: IANA names
(Thunderbird, Apple, Google), Windows names with a VTIMEZONE (Outlook, Exchange),
"globally unique" TZIDs with a vendor prefix (older Lightning, libical), and
custom zones with a made-up name ("Customized Time Zone", a Windows display
name such as "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna").

How a custom VTIMEZONE is mapped (see `zone_for_definition`):

1. The INSTANT is never guessed: it is computed from the invitation's own
   VTIMEZONE definition (icalendar builds a tzinfo from it). Only the zone used
   to show that instant as wall-clock time, and to send it to the API, is
   chosen here. Whatever zone is chosen, start and end stay the same instants.
2. Candidates are tried in this order: the TZID itself when it names a zone
   (`iana_zone_for`), hints from the definition (X-LIC-LOCATION), city names
   found in the TZID text (Windows display names list cities), the configured
   default zone, then `COMMON_ZONES`.
3. A candidate is accepted only if its UTC offset equals the definition's at
   the meeting's start AND at its end, so the wall-clock times shown are the
   ones the organizer's calendar shows.
4. When no candidate matches, the default zone is used: the wall-clock times
   then differ from the invitation's, but the instants are still right.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

# Tried after the default zone when a custom definition has to be matched by
# its offsets. Ordered roughly by how often they appear in invitations here;
# the first one with the right offsets wins.
COMMON_ZONES: tuple[str, ...] = (
    "Europe/Zurich",
    "Europe/London",
    "Europe/Lisbon",
    "Europe/Helsinki",
    "Europe/Moscow",
    "Europe/Istanbul",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "America/Halifax",
    "America/Sao_Paulo",
    "America/Mexico_City",
    "Africa/Lagos",
    "Africa/Johannesburg",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Bangkok",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Perth",
    "Australia/Brisbane",
    "Australia/Sydney",
    "Pacific/Auckland",
    "UTC",
)

# Names that mean UTC. A time given in UTC is shown in a more useful zone
# (X-WR-TIMEZONE or the configured default) by the invitation reader.
UTC_NAMES = frozenset(
    {
        "UTC",
        "UCT",
        "GMT",
        "GMT0",
        "GMT+0",
        "GMT-0",
        "Greenwich",
        "Universal",
        "Zulu",
        "Etc/UTC",
        "Etc/UCT",
        "Etc/GMT",
        "Etc/GMT0",
        "Etc/GMT+0",
        "Etc/GMT-0",
        "Etc/Greenwich",
        "Etc/Universal",
        "Etc/Zulu",
    }
)

# Names seen in invitations that are neither IANA nor Windows zone ids.
_ALIASES = {
    "z": "UTC",
    "coordinated universal time": "UTC",
    "(utc) coordinated universal time": "UTC",
    "tzone://microsoft/utc": "UTC",
}

# Top-level areas whose last path element is a city, for matching display names.
_CITY_AREAS = frozenset(
    {
        "Africa",
        "America",
        "Antarctica",
        "Arctic",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    }
)


@dataclass(frozen=True)
class ZoneChoice:
    """The IANA zone chosen to show a time, and how it was found.

    `how` is one of: "name" (the TZID names the zone), "hint" (X-LIC-LOCATION or
    a similar hint), "city" (a city in the TZID text), "offset" (same UTC offsets
    as the definition), "fallback" (nothing matched: the default zone).
    """

    zone: str
    how: str


@lru_cache(maxsize=1)
def _iana_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_iana_name(name: str) -> bool:
    """Whether `name` is exactly the name of an IANA zone (case matters)."""
    return name in _iana_names()


@lru_cache(maxsize=1)
def _known_zones() -> dict[str, str]:
    """Lower-cased IANA name -> IANA name, for case-insensitive lookups."""
    return {name.lower(): name for name in _iana_names()}


@lru_cache(maxsize=1)
def _windows_zones() -> dict[str, str]:
    return {name.lower(): olson for name, olson in WINDOWS_TO_OLSON.items()}


@lru_cache(maxsize=1)
def _city_zones() -> dict[str, str]:
    """Lower-cased city ("new york") -> IANA name ("America/New_York")."""
    cities: dict[str, str] = {}
    # Shorter names first, so a canonical "America/Cordoba" beats a deeper link.
    for name in sorted(_known_zones().values(), key=lambda n: (n.count("/"), n)):
        parts = name.split("/")
        if len(parts) < 2 or parts[0] not in _CITY_AREAS:
            continue
        cities.setdefault(parts[-1].replace("_", " ").lower(), name)
    return cities


def _iana_exact(name: str) -> str | None:
    return _known_zones().get(name.lower())


def iana_zone_for(tzid: str | None) -> str | None:
    """The IANA name a TZID stands for, or None when it names no known zone.

    Accepts an IANA name (any case), a Windows zone id ("W. Europe Standard
    Time" -> "Europe/Berlin"), a "globally unique" TZID with a vendor prefix
    ("/mozilla.org/20050126_1/Europe/Berlin" -> "Europe/Berlin", the longest
    suffix that is an IANA name) and a few common aliases ("Z", "Coordinated
    Universal Time").
    """
    if tzid is None:
        return None
    name = tzid.strip().strip('"').strip()
    if not name:
        return None
    found = _iana_exact(name) or _windows_zones().get(name.lower()) or _ALIASES.get(name.lower())
    if found:
        return found
    if "/" in name:
        # Longest suffix first: ".../America/Argentina/Buenos_Aires" must not
        # stop at a shorter, different zone.
        parts = [part for part in name.split("/") if part]
        for start in range(len(parts)):
            found = _iana_exact("/".join(parts[start:]))
            if found:
                return found
    return None


def zones_named_in(text: str | None) -> list[str]:
    """IANA zones whose city appears in a free-text zone name, in order of appearance.

    "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna" gives
    Europe/Amsterdam, Europe/Berlin, Europe/Rome, Europe/Stockholm, Europe/Vienna.
    """
    if not text:
        return []
    text = re.sub(r"\((?:UTC|GMT)[^)]*\)", " ", text)  # "(UTC+01:00)" is no city
    zones: list[str] = []
    for chunk in re.split(r"[,;/&()]|\s-\s", text):
        city = " ".join(chunk.split()).lower()
        zone = _city_zones().get(city)
        if zone and zone not in zones:
            zones.append(zone)
    return zones


def to_utc(value: datetime) -> datetime:
    """The instant an aware wall-clock time stands for, as a UTC datetime.

    RFC 5545 (3.3.5): a local time that does not exist (skipped by a DST change)
    is read with the UTC offset from before the gap. zoneinfo does that already;
    the tzinfo icalendar builds from a VTIMEZONE uses the offset from after the
    gap, so the gap case is detected and corrected here for any tzinfo.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("to_utc needs an aware datetime")
    first = value.astimezone(UTC)
    back = first.astimezone(value.tzinfo)
    if back.replace(tzinfo=None) == value.replace(tzinfo=None):
        return first
    # A gap: offsets grow across it, so the smaller one is the one before it.
    offsets = [offset for offset in (value.utcoffset(), back.utcoffset()) if offset is not None]
    before = min(offsets)
    return (value.replace(tzinfo=None) - before).replace(tzinfo=UTC)


def in_gap(value: datetime) -> bool:
    """Whether an aware wall-clock time does not exist: the clocks jumped over it
    (a DST change forward). Such a time means the one `to_utc` gives (RFC 5545)."""
    if value.tzinfo is None:
        raise ValueError("in_gap needs an aware datetime")
    back = value.astimezone(UTC).astimezone(value.tzinfo)
    return back.replace(tzinfo=None) != value.replace(tzinfo=None)


def is_ambiguous(value: datetime) -> bool:
    """Whether an aware wall-clock time happens twice (the clocks go back over it).

    RFC 5545 reads such a time as its first occurrence, which `to_utc` does.
    """
    if value.tzinfo is None:
        raise ValueError("is_ambiguous needs an aware datetime")
    first, second = value.replace(fold=0).utcoffset(), value.replace(fold=1).utcoffset()
    return first != second and not in_gap(value)


def names_one_instant(instant: datetime, zone: tzinfo) -> bool:
    """Whether `instant` written as wall-clock time in `zone` can only be read back
    as that instant. The second pass through a repeated hour cannot: a wall-clock
    time plus a zone name (what the kMeet API takes) means the first one."""
    local = instant.astimezone(zone)
    return local.replace(fold=0).astimezone(UTC) == instant.astimezone(UTC)


def _offset_in(zone: tzinfo, instant: datetime) -> timedelta | None:
    return instant.astimezone(zone).utcoffset()


def _matches(zone_name: str, definition: tzinfo, instants: Iterable[datetime]) -> bool:
    zone = zoneinfo.ZoneInfo(zone_name)
    return all(_offset_in(zone, at) == _offset_in(definition, at) for at in instants)


def zone_for_definition(
    tzid: str | None,
    start: datetime,
    end: datetime,
    *,
    default_zone: str,
    hints: Iterable[str] = (),
) -> ZoneChoice:
    """Choose the IANA zone that shows a custom-defined meeting time faithfully.

    `start` carries the tzinfo built from the invitation's VTIMEZONE; `end` may
    carry any tzinfo. The choice follows the module docstring: named zone,
    hints, cities in the name, default zone, common zones, each accepted only
    when its UTC offsets at the start and end instants equal the definition's;
    otherwise the default zone (the instants are unchanged either way).
    """
    definition = start.tzinfo
    if definition is None:
        raise ValueError("zone_for_definition needs an aware start")
    instants = (to_utc(start), to_utc(end))

    candidates: list[tuple[str, str]] = []
    named = iana_zone_for(tzid)
    if named:
        candidates.append((named, "name"))
    candidates += [(zone, "hint") for zone in map(iana_zone_for, hints) if zone]
    candidates += [(zone, "city") for zone in zones_named_in(tzid)]
    candidates.append((default_zone, "offset"))
    candidates += [(zone, "offset") for zone in COMMON_ZONES]

    for zone, how in candidates:
        if _matches(zone, definition, instants):
            return ZoneChoice(zone, how)
    return ZoneChoice(default_zone, "fallback")
