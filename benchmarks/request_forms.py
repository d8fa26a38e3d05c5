"""How well each approach reads the date and time forms of plain requests.

Runs every form below through (a) dateparser.parse, (b) dateparser.search_dates
(both with languages=[lang], RELATIVE_BASE, PREFER_DATES_FROM="future" and the
language's DATE_ORDER) and (c) kmeet_bridge.requests.when.read_when, and prints a
markdown table: the form, what it means, what each approach understood, ✓/✗.

dateparser only answers a start: it is marked right when the start (wall-clock
time in the expected zone) is; ours must also get the end and the zone. A form
that must be asked about (marked "ask") is right only when no time is planned.

    python benchmarks/request_forms.py                       # print the table
    python benchmarks/request_forms.py --update docs/request-forms.md

dateparser is needed only here (pip install dateparser); the bridge does not
import it.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kmeet_bridge.requests.when import WhenProblem, read_when

ZONE = "Europe/Zurich"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo(ZONE))  # a Tuesday
DEFAULT_DURATION = 60
DATE_ORDER = {"en": "MDY", "fr": "DMY", "de": "DMY", "it": "DMY"}
BEGIN, END = "<!-- forms:begin -->", "<!-- forms:end -->"


@dataclass(frozen=True)
class Form:
    language: str
    text: str
    start: str | None  # "YYYY-MM-DD HH:MM" wall-clock in `zone`; None: must be asked about
    end: str | None = None  # None with a start: start + DEFAULT_DURATION
    zone: str = ZONE


FORMS = (
    # English
    Form("en", "2027-02-03 09:00", "2027-02-03 09:00"),
    Form("en", "3 Feb 2027 9am", "2027-02-03 09:00"),
    Form("en", "03.02.2027 09:00", "2027-02-03 09:00"),
    Form("en", "February 3, 2027 at 2:30 pm", "2027-02-03 14:30"),
    Form("en", "13/04/2027 10:00", "2027-04-13 10:00"),
    Form("en", "tomorrow 10am", "2026-12-02 10:00"),
    Form("en", "next Monday 14:00", "2026-12-07 14:00"),
    Form("en", "the day after tomorrow at noon", "2026-12-03 12:00"),
    Form("en", "tomorrow 9:00-9:45", "2026-12-02 09:00", "2026-12-02 09:45"),
    Form("en", "tomorrow 2pm for 45 minutes", "2026-12-02 14:00", "2026-12-02 14:45"),
    Form("en", "Friday 11:30 until 12:15", "2026-12-04 11:30", "2026-12-04 12:15"),
    Form("en", "Wednesday 3 February 2027, 9-10am", "2027-02-03 09:00", "2027-02-03 10:00"),
    Form("en", "tomorrow 10am London time", "2026-12-02 10:00", zone="Europe/London"),
    Form("en", "tomorrow 10:00 Europe/London", "2026-12-02 10:00", zone="Europe/London"),
    Form("en", "tomorrow 3pm EST", "2026-12-02 15:00", zone="America/New_York"),
    Form("en", "tomorrow 10:00 CET", "2026-12-02 10:00"),
    Form("en", "in 30 minutes", "2026-12-01 10:30"),
    Form("en", "03/04/2027 10:00", None),  # 3 April or 4 March?
    Form("en", "tomorrow at 4", None),  # 4:00 or 16:00?
    Form("en", "Tuesday 15:00", None),  # today or in a week?
    Form("en", "next week", None),
    # French
    Form("fr", "12 mars 2027 à 14h30", "2027-03-12 14:30"),
    Form("fr", "demain 14h", "2026-12-02 14:00"),
    Form("fr", "lundi prochain à 9h", "2026-12-07 09:00"),
    Form("fr", "03/04/2027 à 10h", "2027-04-03 10:00"),
    Form("fr", "le 1er mars 2027 de 9h à 10h30", "2027-03-01 09:00", "2027-03-01 10:30"),
    Form("fr", "demain 14h pour 1h30", "2026-12-02 14:00", "2026-12-02 15:30"),
    Form("fr", "après-demain à 16h, une heure", "2026-12-03 16:00", "2026-12-03 17:00"),
    Form("fr", "jeudi 10h-11h", "2026-12-03 10:00", "2026-12-03 11:00"),
    Form("fr", "3 février à 9h jusqu'à 9h45", "2027-02-03 09:00", "2027-02-03 09:45"),
    Form("fr", "mardi prochain à 14h", "2026-12-08 14:00"),
    Form("fr", "demain à 14h30, une demi-heure", "2026-12-02 14:30", "2026-12-02 15:00"),
    Form("fr", "demain à 15 heures heure de Londres", "2026-12-02 15:00", zone="Europe/London"),
    Form("fr", "31.02.2027 à 10h", None),  # no such day
    # German
    Form("de", "3. Februar 2027, 9:00–9:45", "2027-02-03 09:00", "2027-02-03 09:45"),
    Form("de", "morgen 9 Uhr", "2026-12-02 09:00"),
    Form("de", "nächsten Dienstag 15:30", "2026-12-08 15:30"),
    Form("de", "03.02.2027 09:00", "2027-02-03 09:00"),
    Form("de", "03/04/2027 10:00", None),  # German writes dots: asked, as in English
    Form("de", "morgen von 9 bis 10 Uhr", "2026-12-02 09:00", "2026-12-02 10:00"),
    Form("de", "übermorgen um 14 Uhr, 1 Stunde", "2026-12-03 14:00", "2026-12-03 15:00"),
    Form("de", "Freitag, 4.12. um 10:30", "2026-12-04 10:30"),
    Form("de", "morgen 9:30 Uhr, eine halbe Stunde", "2026-12-02 09:30", "2026-12-02 10:00"),
    Form("de", "Montag nächste Woche 10 Uhr", "2026-12-07 10:00"),
    Form("de", "morgen 16 Uhr MEZ", "2026-12-02 16:00"),
    Form("de", "morgen", None),  # no time
    # Italian
    Form("it", "5 marzo 2027 ore 16", "2027-03-05 16:00"),
    Form("it", "domani alle 16", "2026-12-02 16:00"),
    Form("it", "lunedì prossimo alle 10", "2026-12-07 10:00"),
    Form("it", "03/04/2027 alle 10", "2027-04-03 10:00"),
    Form("it", "domani dalle 10 alle 11", "2026-12-02 10:00", "2026-12-02 11:00"),
    Form("it", "dopodomani alle 9:30 per un'ora", "2026-12-03 09:30", "2026-12-03 10:30"),
    Form("it", "giovedì 3 dicembre alle 15:00", "2026-12-03 15:00"),
    Form("it", "domani alle 14, mezz'ora", "2026-12-02 14:00", "2026-12-02 14:30"),
    Form("it", "domani alle 16 fino alle 17:30", "2026-12-02 16:00", "2026-12-02 17:30"),
    Form(
        "it",
        "mercoledì 3 febbraio 2027 alle 14:30 ora di Londra",
        "2027-02-03 14:30",
        zone="Europe/London",
    ),
    Form("it", "ieri alle 10", None),  # past
)


def _wall(value: datetime | None, zone: str) -> str | None:
    """A result as wall-clock time in `zone` (dateparser answers naive times in
    the base's clock, or aware ones when the text names a zone)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return f"{value:%Y-%m-%d %H:%M}"


def with_dateparser(form: Form) -> tuple[str | None, str | None]:
    import dateparser
    from dateparser.search import search_dates

    settings = {
        "RELATIVE_BASE": NOW.replace(tzinfo=None),
        "PREFER_DATES_FROM": "future",
        "DATE_ORDER": DATE_ORDER[form.language],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = dateparser.parse(form.text, languages=[form.language], settings=settings)
        except Exception:  # a crash is a miss
            parsed = None
        try:
            found = search_dates(form.text, languages=[form.language], settings=settings)
        except Exception:
            found = None
    searched = found[0][1] if found else None
    return _wall(parsed, form.zone), _wall(searched, form.zone)


def with_ours(form: Form) -> str:
    try:
        when = read_when(
            form.text,
            language=form.language,
            now=NOW,
            default_zone=ZONE,
            default_duration=DEFAULT_DURATION,
        )
    except WhenProblem as problem:
        return f"ask: {problem.code}"
    zone = "" if when.zone == ZONE else f" {when.zone}"
    return f"{when.start:%Y-%m-%d %H:%M}–{when.end:%H:%M}{zone}"


def expected(form: Form) -> str:
    if form.start is None:
        return "ask"
    start = datetime.strptime(form.start, "%Y-%m-%d %H:%M")
    end = (
        datetime.strptime(form.end, "%Y-%m-%d %H:%M")
        if form.end
        else start + timedelta(minutes=DEFAULT_DURATION)
    )
    zone = "" if form.zone == ZONE else f" {form.zone}"
    return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}{zone}"


def table() -> tuple[str, dict[str, int]]:
    rows = [
        "| # | lang | form | expected | dateparser.parse | search_dates | ours "
        "| parse | search | ours |",
        "|---|---|---|---|---|---|---|:-:|:-:|:-:|",
    ]
    score = {"parse": 0, "search": 0, "ours": 0}
    for number, form in enumerate(FORMS, start=1):
        parsed, searched = with_dateparser(form)
        ours = with_ours(form)
        want = expected(form)
        marks = {
            "parse": parsed == form.start,
            "search": searched == form.start,
            "ours": ours == want or (form.start is None and ours.startswith("ask")),
        }
        for key, right in marks.items():
            score[key] += right
        cells = [
            str(number),
            form.language,
            f"`{form.text}`",
            want,
            parsed or "—",
            searched or "—",
            ours,
            *("✓" if marks[key] else "✗" for key in ("parse", "search", "ours")),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    total = len(FORMS)
    rows.append("")
    rows.append(
        f"Right, out of {total} forms: dateparser.parse {score['parse']}, "
        f"search_dates {score['search']}, ours {score['ours']}."
    )
    return "\n".join(rows), score


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", type=Path, help="rewrite the table inside this file")
    args = parser.parse_args()
    text, _ = table()
    if args.update is None:
        print(text)
        return 0
    document = args.update.read_text(encoding="utf-8")
    head, _, rest = document.partition(BEGIN)
    _, _, tail = rest.partition(END)
    args.update.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
