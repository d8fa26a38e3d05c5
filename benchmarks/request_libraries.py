"""The request reader against date libraries, on requests written without sight of the code.

    python benchmarks/request_libraries.py tests/requests_corpus/unseen_a.txt [...]

Every case of the unseen corpora (tests/requests_corpus/unseen_*.txt, format of
scripts/score_requests.py) is read by:

- ours: kmeet_bridge.requests.requests.extract (the bridge's reader);
- dateparser.search_dates (languages=[lang], RELATIVE_BASE = the present,
  PREFER_DATES_FROM="future", DATE_ORDER DMY, MDY for English): its first date;
- ctparse.ctparse (timeout 1 s): its resolution;
- parsedatetime Calendar.parseDT with the language's locale where it has one;
- recognizers-text-suite recognize_datetime with the language's culture (no
  German culture: it falls back to English): its first date-time.

The libraries get the same text ours reads: the opening lines of the body above
quotes and signatures. They only give a start, so they are counted right when
the start's wall-clock time is the expected one (their end, zone and the room
options are not checked; a date without a time counts as "nothing planned");
ours must also get the end and the zone. Where the sender should be asked
back, a reader is right only when it plans nothing. "wrong time": planned at
another start, or planned where it should have asked.

"ours + dateparser": ours, but asking back whenever dateparser reads another
start than ours (a second opinion).

The libraries are needed only here: pip install dateparser ctparse
parsedatetime recognizers-text-suite 'emoji<1.0' (recognizers-text 1.0.2a2
imports a name that emoji 1.0 removed).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import warnings
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kmeet_bridge.requests import requests  # noqa: E402
from kmeet_bridge.requests.requests import RequestProblem  # noqa: E402

ZONE = ZoneInfo("Europe/Zurich")
NOW = datetime(2026, 12, 7, 9, 15, tzinfo=ZONE)
NAIVE_NOW = NOW.replace(tzinfo=None)

Reader = Callable[[str, str], datetime | None]


def _scorer():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "score_requests", ROOT / "scripts" / "score_requests.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["score_requests"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _with_time(value: datetime | None, text: str) -> datetime | None:
    """A reading that gives no time of day is no plan (dateparser answers
    midnight or the present's time for a bare date)."""
    if value is None:
        return None
    if (
        value.hour == 0
        and value.minute == 0
        and not any(
            word in text.lower() for word in ("00:00", "midnight", "minuit", "mitternacht", "0h")
        )
    ):
        return None
    return value.replace(tzinfo=None, second=0, microsecond=0)


def read_dateparser(text: str, language: str) -> datetime | None:
    from dateparser.search import search_dates

    settings = {
        "RELATIVE_BASE": NAIVE_NOW,
        "PREFER_DATES_FROM": "future",
        "DATE_ORDER": "MDY" if language == "en" else "DMY",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    found = search_dates(text, languages=[language], settings=settings)  # type: ignore[arg-type]
    return _with_time(found[0][1], text) if found else None


def read_ctparse(text: str, language: str) -> datetime | None:
    from ctparse import ctparse
    from ctparse.types import Interval, Time

    result = ctparse(text, ts=NAIVE_NOW, timeout=1)
    if result is None:
        return None
    value = result.resolution
    if isinstance(value, Interval):
        value = value.t_from
    if not isinstance(value, Time) or value.hour is None or value.year is None:
        return None
    return datetime(value.year, value.month, value.day, value.hour, value.minute or 0)


_LOCALES = {"en": "en_US", "fr": "fr_FR", "de": "de_DE", "it": "en_US"}


def read_parsedatetime(text: str, language: str) -> datetime | None:
    import parsedatetime

    calendar = parsedatetime.Calendar(parsedatetime.Constants(_LOCALES[language]))
    value, status = calendar.parseDT(text, sourceTime=NAIVE_NOW)
    if status in (0, 1):  # nothing, or a date without a time
        return None
    return value.replace(second=0, microsecond=0)


def read_recognizers(text: str, language: str) -> datetime | None:
    from recognizers_suite import Culture, recognize_datetime

    culture = {"en": Culture.English, "fr": Culture.French, "it": Culture.Italian}.get(
        language, Culture.English
    )
    for result in recognize_datetime(text, culture, reference=NAIVE_NOW):
        for value in (result.resolution or {}).get("values", []):
            if value.get("type") in ("datetime", "datetimerange") and value.get(
                "value", value.get("start")
            ):
                raw = value.get("value") or value.get("start")
                return datetime.strptime(raw[:16], "%Y-%m-%d %H:%M")
    return None


LIBRARIES: dict[str, Reader] = {
    "dateparser": read_dateparser,
    "ctparse": read_ctparse,
    "parsedatetime": read_parsedatetime,
    "recognizers-text": read_recognizers,
}
CLASSES = ("right", "asked", "wrong-time")


def _classify(expect: dict[str, str], start: datetime | None) -> str:
    if expect.get("ask") == "yes":
        return "right" if start is None else "wrong-time"
    if start is None:
        return "asked"
    return "right" if f"{start:%Y-%m-%d %H:%M}" == expect.get("start") else "wrong-time"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    scorer = _scorer()
    warnings.simplefilter("ignore")
    names = ["ours", *LIBRARIES, "ours + dateparser"]
    for path in args.files:
        cases = scorer.load(path)
        table = {name: dict.fromkeys(CLASSES, 0) for name in names}
        seconds = dict.fromkeys(names, 0.0)
        for case in cases:
            message = scorer.message_of(case, NOW)
            text = " ".join(requests.request_text(message).lines)
            language = case.expect.get("language", "en")
            began = time.perf_counter()
            kind, _ = scorer.score(case, NOW)
            seconds["ours"] += time.perf_counter() - began
            ours_kind = "wrong-time" if kind == "wrong-other" else kind
            table["ours"]["right" if kind in ("right", "wrong-other") else kind] += 1
            try:
                (meeting,) = requests.extract(
                    message,
                    default_timezone="Europe/Zurich",
                    default_duration=60,
                    now=NOW,
                    own_address=scorer.OWN,
                )
                ours_start: datetime | None = meeting.start.replace(tzinfo=None)
            except RequestProblem:
                ours_start = None
            second_start = None
            for name, reader in LIBRARIES.items():
                began = time.perf_counter()
                try:
                    start = reader(text, language)
                except Exception:
                    start = None
                seconds[name] += time.perf_counter() - began
                table[name][_classify(case.expect, start)] += 1
                if name == "dateparser":
                    second_start = start
            # Second opinion: ask back when dateparser reads another start.
            agreed = ours_start is None or second_start == ours_start
            combined = ours_kind if agreed else "asked"
            if combined == "asked" and case.expect.get("ask") == "yes":
                combined = "right"
            table["ours + dateparser"]["right" if combined == "right" else combined] += 1
        print(f"\n{path.name}: {len(cases)} requests (start only for the libraries)\n")
        print("| reader | right | asked back | wrong time | ms per request |")
        print("|---|---|---|---|---|")
        for name in names:
            row = table[name]
            share = f"{row['right']}/{len(cases)} ({100 * row['right'] / len(cases):.0f} %)"
            ms = 1000 * seconds[name] / len(cases) if name != "ours + dateparser" else None
            cost = f"{ms:.1f}" if ms is not None else "—"
            print(f"| {name} | {share} | {row['asked']} | {row['wrong-time']} | {cost} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
