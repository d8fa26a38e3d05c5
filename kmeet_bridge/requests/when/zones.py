"""Time zones named in a request ("London time", "heure de Londres", "EST") and their reading."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime
from functools import lru_cache

from kmeet_bridge.invitations import timezones
from kmeet_bridge.requests.language import (
    fold,
)
from kmeet_bridge.requests.when.model import Understood, WhenProblem
from kmeet_bridge.requests.when.text import _E, _W, Found, _alternation, _Found, _Text, _words

_CENTRAL_EUROPE = "CET"  # resolved to a city zone by `_central_european_zone`
_ZONE_ABBREVIATIONS = {
    "UTC": "UTC", "GMT": "UTC", "CET": _CENTRAL_EUROPE, "CEST": _CENTRAL_EUROPE,
    "MEZ": _CENTRAL_EUROPE, "MESZ": _CENTRAL_EUROPE, "WET": "Europe/Lisbon",
    "WEST": "Europe/Lisbon", "BST": "Europe/London", "EET": "Europe/Helsinki",
    "EEST": "Europe/Helsinki", "EST": "America/New_York", "EDT": "America/New_York",
    "ET": "America/New_York", "CST": "America/Chicago", "CDT": "America/Chicago",
    "CT": "America/Chicago", "MST": "America/Denver", "MDT": "America/Denver",
    "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles", "PT": "America/Los_Angeles",
    "JST": "Asia/Tokyo", "AEST": "Australia/Sydney", "AEDT": "Australia/Sydney",
}  # fmt: skip
_ZONE_ABBREVIATION = re.compile(
    r"(?<![\w/])(?P<name>" + _alternation(_ZONE_ABBREVIATIONS) + r")"
    r"(?:\s*(?P<sign>[+-])\s*(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?)?(?![\w/])"
)
_IANA_NAME = re.compile(r"(?<![\w/])[A-Z][A-Za-z_+-]+(?:/[A-Za-z_+-]+){1,2}(?![\w/])")
# Cities people name in the four languages, where the zone's own name differs.
_CITY_NAMES = {
    "londres": "Europe/London", "londra": "Europe/London", "londoner": "Europe/London",
    "parigi": "Europe/Paris", "pariser": "Europe/Paris",
    "berlino": "Europe/Berlin", "berliner": "Europe/Berlin",
    "zurigo": "Europe/Zurich", "zurcher": "Europe/Zurich", "geneva": "Europe/Zurich",
    "geneve": "Europe/Zurich", "genf": "Europe/Zurich", "ginevra": "Europe/Zurich",
    "bern": "Europe/Zurich", "berne": "Europe/Zurich", "berna": "Europe/Zurich",
    "lausanne": "Europe/Zurich", "basel": "Europe/Zurich", "bale": "Europe/Zurich",
    "lugano": "Europe/Zurich", "rom": "Europe/Rome", "roma": "Europe/Rome",
    "milan": "Europe/Rome", "milano": "Europe/Rome", "mailand": "Europe/Rome",
    "wien": "Europe/Vienna", "vienne": "Europe/Vienna", "lisbonne": "Europe/Lisbon",
    "lissabon": "Europe/Lisbon", "lisbona": "Europe/Lisbon", "bruxelles": "Europe/Brussels",
    "brussel": "Europe/Brussels", "bruxelle": "Europe/Brussels",
    "moscou": "Europe/Moscow", "moskau": "Europe/Moscow", "mosca": "Europe/Moscow",
    "new york": "America/New_York", "new-york": "America/New_York",
    "san francisco": "America/Los_Angeles", "tokio": "Asia/Tokyo",
    "singapour": "Asia/Singapore", "singapur": "Asia/Singapore",
    "swiss": "Europe/Zurich", "suisse": "Europe/Zurich", "schweizer": "Europe/Zurich",
    "svizzera": "Europe/Zurich", "uk": "Europe/London", "british": "Europe/London",
    "anglaise": "Europe/London", "britische": "Europe/London", "inglese": "Europe/London",
    "french": "Europe/Paris", "francaise": "Europe/Paris", "franzosische": "Europe/Paris",
    "francese": "Europe/Paris", "german": "Europe/Berlin", "allemande": "Europe/Berlin",
    "deutsche": "Europe/Berlin", "tedesca": "Europe/Berlin", "italian": "Europe/Rome",
    "italienne": "Europe/Rome", "italienische": "Europe/Rome", "italiana": "Europe/Rome",
    "eastern": "America/New_York", "pacific": "America/Los_Angeles",
    "central european": _CENTRAL_EUROPE, "mitteleuropaische": _CENTRAL_EUROPE,
    "india": "Asia/Kolkata", "indian": "Asia/Kolkata", "mumbai": "Asia/Kolkata",
    "bombay": "Asia/Kolkata", "delhi": "Asia/Kolkata", "new delhi": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata", "bengaluru": "Asia/Kolkata", "inde": "Asia/Kolkata",
    "indien": "Asia/Kolkata", "china": "Asia/Shanghai", "chinese": "Asia/Shanghai",
    "beijing": "Asia/Shanghai", "peking": "Asia/Shanghai", "pekin": "Asia/Shanghai",
    "pechino": "Asia/Shanghai", "chine": "Asia/Shanghai", "cina": "Asia/Shanghai",
    "japan": "Asia/Tokyo", "japanese": "Asia/Tokyo", "japon": "Asia/Tokyo",
    "giappone": "Asia/Tokyo", "japanische": "Asia/Tokyo", "giapponese": "Asia/Tokyo",
    "australian": "Australia/Sydney", "boston": "America/New_York",
    "washington": "America/New_York", "miami": "America/New_York",
    "atlanta": "America/New_York", "philadelphia": "America/New_York",
    "east coast": "America/New_York", "ostkuste": "America/New_York",
    "seattle": "America/Los_Angeles", "silicon valley": "America/Los_Angeles",
    "california": "America/Los_Angeles", "californie": "America/Los_Angeles",
    "kalifornien": "America/Los_Angeles", "west coast": "America/Los_Angeles",
    "westkuste": "America/Los_Angeles", "dallas": "America/Chicago",
    "houston": "America/Chicago", "austin": "America/Chicago",
    "montreal": "America/Toronto", "quebec": "America/Toronto",
    "central": "America/Chicago", "mountain": "America/Denver", "pacifique": "America/Los_Angeles",
    "pacifico": "America/Los_Angeles", "kalifornische": "America/Los_Angeles",
    "californienne": "America/Los_Angeles", "californiana": "America/Los_Angeles",
    "san paolo": "America/Sao_Paulo", "san paulo": "America/Sao_Paulo",
    "atene": "Europe/Athens", "athen": "Europe/Athens", "athenes": "Europe/Athens",
    # Major cities whose French, German or Italian name differs from the zone's.
    "le caire": "Africa/Cairo", "kairo": "Africa/Cairo", "il cairo": "Africa/Cairo",
    "cairo": "Africa/Cairo", "varsovie": "Europe/Warsaw", "warschau": "Europe/Warsaw",
    "varsavia": "Europe/Warsaw", "prag": "Europe/Prague", "praga": "Europe/Prague",
    "copenhague": "Europe/Copenhagen", "kopenhagen": "Europe/Copenhagen",
    "copenaghen": "Europe/Copenhagen", "stoccolma": "Europe/Stockholm",
    "barcelone": "Europe/Madrid", "barcelona": "Europe/Madrid", "barcellona": "Europe/Madrid",
    "munich": "Europe/Berlin", "munchen": "Europe/Berlin", "monaco di baviera": "Europe/Berlin",
    "francfort": "Europe/Berlin", "frankfurt": "Europe/Berlin", "francoforte": "Europe/Berlin",
    "hambourg": "Europe/Berlin", "hamburg": "Europe/Berlin", "amburgo": "Europe/Berlin",
    "bruxelles-capitale": "Europe/Brussels", "la haye": "Europe/Amsterdam",
    "den haag": "Europe/Amsterdam", "l'aia": "Europe/Amsterdam",
    "edimbourg": "Europe/London", "edinburgh": "Europe/London", "edimburgo": "Europe/London",
    "mexico": "America/Mexico_City", "mexiko": "America/Mexico_City",
    "citta del messico": "America/Mexico_City", "mexiko-stadt": "America/Mexico_City",
    "los angeles": "America/Los_Angeles", "san francisco bay": "America/Los_Angeles",
    "rio": "America/Sao_Paulo", "rio de janeiro": "America/Sao_Paulo",
    "le cap": "Africa/Johannesburg", "kapstadt": "Africa/Johannesburg",
    "citta del capo": "Africa/Johannesburg", "cape town": "Africa/Johannesburg",
    "tel aviv": "Asia/Jerusalem", "jerusalem": "Asia/Jerusalem",
    "gerusalemme": "Asia/Jerusalem", "riyad": "Asia/Riyadh", "riad": "Asia/Riyadh",
    "abou dhabi": "Asia/Dubai", "abu dhabi": "Asia/Dubai", "abu dabi": "Asia/Dubai",
    "doubai": "Asia/Dubai", "teheran": "Asia/Tehran", "manille": "Asia/Manila",
    "hong-kong": "Asia/Hong_Kong", "seoul": "Asia/Seoul", "seul": "Asia/Seoul",
    "pekino": "Asia/Shanghai", "canton": "Asia/Shanghai", "shenzhen": "Asia/Shanghai",
    "singapore": "Asia/Singapore", "bangkok": "Asia/Bangkok", "hanoi": "Asia/Bangkok",
    "new york city": "America/New_York", "nyc": "America/New_York",
    "nuova york": "America/New_York", "new-yorkaise": "America/New_York",
    "quebec city": "America/Toronto", "ottawa": "America/Toronto",
    "sidney": "Australia/Sydney", "melbourne": "Australia/Melbourne",
    "auckland": "Pacific/Auckland",
}  # fmt: skip
_PLACE = r"(?P<place>[a-z][a-z'-]*(?:\s[a-z][a-z'-]*){0,2})"
# "heure de Londres", "time in London", "ora di Londra", "ora italiana": the place follows.
_ZONE_AFTER = re.compile(
    _W
    + r"(?:(?:heure|horaire)\s+(?:locale\s+)?(?:de\s+|du\s+|d'|a\s+)?|(?:local\s+)?time\s+in\s+"
    + r"|zeit\s+in\s+|ortszeit\s+(?:in\s+)?|ora\s+(?:locale\s+)?(?:di\s+|del\s+)?)"
    + _PLACE
    + _E
)
# "London time", "Londoner Zeit", "Swiss time": the place comes first. It starts
# only where a run of letters, dashes and apostrophes starts: from inside one
# ("a-a-a-..."), every start would read to the run's end, a square in all.
_ZONE_BEFORE = re.compile(r"(?<![\w'-])" + _PLACE + r"(?:\s+|-)(?:time|zeit)" + _E)
# "8am Pacific", "10 Eastern": an American zone named right after a time.
_ZONE_AFTER_TIME = re.compile(
    r"(?:\d|[ap]\.?m\.?|uhr|h)\s+(?P<place>pacific|eastern|central|mountain)(?![\w])"
    r"(?!\s+(?:time|zeit|europe|standard|daylight))"
)
_AMERICAN_ZONES = {
    "pacific": "America/Los_Angeles",
    "eastern": "America/New_York",
    "central": "America/Chicago",
    "mountain": "America/Denver",
}
# German names a zone by the city's adjective: "Londoner", "Tokioter", "New Yorker",
# "Singapurer", "britischer Zeit". These endings are taken off to find the place.
_ADJECTIVE_ENDINGS = ("er", "ter", "r", "n", "en")


def _find_zones(reader: _Text) -> list[_Found]:
    items = []
    for match in reader.matches(_IANA_NAME, original=True):
        zone = timezones.iana_zone_for(match.group(0))
        if zone and "/" in zone:
            items.append(reader.found("zone", match, zone))
    for match in reader.matches(_ZONE_ABBREVIATION, original=True):
        named: str | None = _ZONE_ABBREVIATIONS[match["name"]]
        if match["sign"]:
            if match["name"] not in ("UTC", "GMT"):
                continue
            hours, minutes = int(match["hours"]), int(match["minutes"] or 0)
            # No zone name carries a half-hour offset from UTC: asked about.
            named = None if minutes or hours > 14 else _fixed_zone(match["sign"], hours)
        items.append(reader.found("zone", match, named))
    for match in reader.matches(_ZONE_AFTER_TIME):
        start, end = match.start("place"), match.end("place")
        reader.take(start, end)
        zone = _AMERICAN_ZONES[match["place"]]
        text = reader.original[start:end]
        items.append(_Found("zone", start, end, zone, text, reader.line_of(start)))
    for pattern, place_first in ((_ZONE_AFTER, False), (_ZONE_BEFORE, True)):
        # Not `reader.matches`: the up-to-three place words may run into something
        # already read ("heure de Dubaï avec k.haddad@…"); only the words naming
        # the place must be free, which is checked below.
        for match in pattern.finditer(reader.folded):
            found = _zone_of_place(match["place"], last_words=place_first)
            if found is None:
                unknown = _unknown_place(reader, match, place_first)
                if unknown is not None:
                    items.append(unknown)
                continue
            zone, words = found
            if place_first:
                start, end = match.start("place") + match["place"].rfind(words), match.end()
            else:
                start, end = match.start(), match.start("place") + len(words)
            if not reader.free(start, end):
                continue
            reader.take(start, end)
            text = reader.original[start:end].strip()
            items.append(_Found("zone", start, end, zone, text, reader.line_of(start)))
    return items


# Capitalised words before "time" that are not places.
_NOT_PLACES = _words(
    """
    lunch dinner breakfast any some same meeting summer winter standard local our your my
    the this that which what real start end call office daylight spare free quality screen
    """
)


def _unknown_place(reader: _Text, match: re.Match, place_first: bool) -> _Found | None:
    """A place named for a zone that the reader cannot name ("Lagos time", "heure
    de Nouméa"): a zone item without a zone, asked about rather than ignored."""
    words = match["place"].split()
    word = words[-1] if place_first else words[0]
    offset = match["place"].rfind(word) if place_first else 0
    start = match.start("place") + offset
    written = reader.original[start : start + len(word)]
    before = reader.folded[max(0, start - 3) : start]
    sentence_start = start == 0 or bool(re.search(r"(?:^|[.!?:\n])\s*$", before))
    if not written[:1].isupper() or sentence_start or word in _NOT_PLACES:
        return None
    if not reader.free(start, start + len(word)):
        return None
    reader.take(start, start + len(word))
    return _Found("zone", start, start + len(word), None, written, reader.line_of(start))


def _fixed_zone(sign: str, hours: int) -> str:
    if hours == 0:
        return "UTC"
    # POSIX-style names invert the sign: UTC+2 is Etc/GMT-2.
    return f"Etc/GMT{'-' if sign == '+' else '+'}{hours}"


def _zone_of_place(place: str, *, last_words: bool) -> tuple[str, str] | None:
    """The zone a place (one to three folded words) names, and the words naming
    it: the last ones before "time" ("meet at london time"), the first ones after
    "heure de" ("heure de londres pour")."""
    words = place.split()
    spans = range(len(words)) if last_words else range(len(words), 0, -1)
    for cut in spans:
        candidate = " ".join(words[cut:] if last_words else words[:cut])
        zone = _CITY_NAMES.get(candidate) or _cities().get(candidate)
        if zone:
            return zone, candidate
        for ending in _ADJECTIVE_ENDINGS if last_words else ():
            stem = candidate[: -len(ending)]
            if candidate.endswith(ending) and len(stem) >= 4:
                zone = _CITY_NAMES.get(stem) or _cities().get(stem)
                if zone:
                    return zone, candidate
    return None


@lru_cache(maxsize=1)
def _cities() -> dict[str, str]:
    """Folded city name of every IANA zone ("new york") -> its zone."""
    cities: dict[str, str] = {}
    areas = ("Europe", "America", "Asia", "Africa", "Australia", "Pacific", "Atlantic", "Indian")
    order = {area: index for index, area in enumerate(areas)}  # Europe/Istanbul, not Asia/
    names = zoneinfo.available_timezones()
    for name in sorted(names, key=lambda n: (n.count("/"), order.get(n.split("/")[0], 9), n)):
        parts = name.split("/")
        if len(parts) >= 2 and parts[0] in areas:
            cities.setdefault(fold(parts[-1].replace("_", " ")), name)
    return cities


def _zone(found: Found, default_zone: str) -> tuple[str, str]:
    zones = found.of("zone")
    for item in zones:
        if item.value is None:
            raise WhenProblem("unknown_zone", Understood(zone=default_zone), text=item.text)
    names = {_central_european_zone(str(item.value), default_zone) for item in zones}
    if len(names) > 1:
        texts = tuple(item.text for item in zones)
        raise WhenProblem(
            "ambiguous_zone",
            Understood(zone=default_zone),
            choices=tuple(sorted(names)),
            text=" / ".join(texts),
        )
    if not zones:
        return default_zone, ""
    return names.pop(), zones[0].text


def _central_european_zone(name: str, default_zone: str) -> str:
    """CET, CEST, MEZ: the configured zone when it keeps Central European time,
    else Europe/Zurich (the kMeet API wants a city zone, not "CET")."""
    if name != _CENTRAL_EUROPE:
        return name
    central = zoneinfo.ZoneInfo("Europe/Paris")
    default = zoneinfo.ZoneInfo(default_zone)
    probes = [datetime(2026, month, 15, 12, tzinfo=UTC) for month in (1, 4, 7, 11)]
    if all(p.astimezone(central).utcoffset() == p.astimezone(default).utcoffset() for p in probes):
        return default_zone
    return "Europe/Zurich"
