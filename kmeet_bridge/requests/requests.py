"""A plain email whose subject says "kmeet" -> MeetingRequest.

The subject gives the title; the opening lines of the body say when (read by
`when.read_when`, in English, French, German or Italian), with whom (To/Cc
and an `Attendees:` line) and how the room is set up ("with lobby", "sans
chiffrement", "mit Passwort"). Quoted text, forwarded messages and signatures
below the request are not read. When the subject alone says when ("kmeet
demain 14h") and the body does not, the subject is read.

A request that cannot be planned raises `RequestProblem` (an `Unplannable`)
whose `code` and `params` say what was understood and what is missing, and
whose `reason` and `hint` are written in the request's language, the hint with
two corrected lines the sender can copy. Nothing is planned on a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from babel.lists import format_list

from kmeet_bridge import models
from kmeet_bridge.invitations.invites import clean_description, fold_title
from kmeet_bridge.mail import headers
from kmeet_bridge.models import (
    LANGUAGES,
    Attendee,
    EventProblem,
    MeetingRequest,
    NotARequest,
    RoomOptions,
    Unplannable,
)
from kmeet_bridge.replies import wording
from kmeet_bridge.requests.language import detect_language, fold
from kmeet_bridge.requests.reading_notes import Note, note
from kmeet_bridge.requests.typos import corrected_lines
from kmeet_bridge.requests.when import (
    Found,
    WhenProblem,
    find_when,
    resolve,
    write_date,
    write_duration,
    write_time,
    write_when,
)

SUBJECT_WORD = re.compile(r"(?<![\w-])kmeet(?![\w-])", re.IGNORECASE)
REQUEST_LINES = 15  # only the opening lines are the request
# What the reader looks at, whatever the message holds: the first lines (blank
# ones included), the first characters and words of each, the first characters
# of the body. Every step after this works on at most that much, so a request
# costs the same whether its body is 1 KB or 50 MB.
MAX_SCANNED_LINES = 100
MAX_LINE_CHARS = 1000
MAX_LINE_TOKENS = 100
MAX_BODY_CHARS = 64 * 1024
MAX_HTML_CHARS = 256 * 1024
_FIRST_TOKENS = re.compile(rf"\s*(?:\S+\s+){{0,{MAX_LINE_TOKENS - 1}}}\S*")
# The message's Date is the day "tomorrow" is counted from, unless it is this
# far from the present (a wrong clock): then the present is.
DATE_HEADER_TRUST = timedelta(days=7)
DATE_HEADER_SKEW = timedelta(minutes=5)


def is_request(message: Message) -> bool:
    """True when the subject names kmeet as a word."""
    return SUBJECT_WORD.search(headers.subject(message)) is not None


def title_from_subject(subject: str) -> str:
    """The subject without "kmeet", reply prefixes and brackets; never empty."""
    title = SUBJECT_WORD.sub(" ", subject)
    title = re.sub(r"^\s*(?:(?:re|fwd?|aw|wg|tr|rif|i)\s*:\s*)+", "", title, flags=re.IGNORECASE)
    title = re.sub(r"[\[\]()]+", " ", title)
    # Separators go ("kmeet - point", "kmeet: x"); "follow-up" and "14:30" stay.
    title = re.sub(r"(?<!\w)[:\-–—]+|[:\-–—]+(?!\w)", " ", title)
    title = " ".join(title.split())
    return title or "kMeet"


# The reader's notes a reply repeats to the sender (replies.note_text words
# them): what was assumed or corrected. Readings that only repeat the request
# ("45 minutes" read as 45 minutes, the language, an option as asked) are not
# among them; `parse` shows every note.
REPLY_NOTES = frozenset(
    {
        "no_date",
        "no_duration",
        "date",
        "corrected_word",
        "one_reading_ahead",
        "instant",
        "option_both_ways",
        "recording_not_on",
    }
)


# --- problems -------------------------------------------------------------------


class RequestProblem(Unplannable):
    """A request that cannot be planned, worded in the request's language.

    `code` names the problem (when.PROBLEM_CODES, or "no_message_id"), `params`
    what was understood ("date", "date_text", "time", "end", "duration",
    "zone", "text", "choices", "example_1", "example_2", "language"), as
    strings. `describe(language)` words it in any of the four languages.
    """

    def __init__(self, code: str, params: dict[str, str], language: str) -> None:
        self.code = code
        self.language = language
        self._params = dict(params)
        reason, hint = self.describe(language)
        super().__init__(reason, hint)

    @property
    def params(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(self._params.items()))

    def describe(self, language: str) -> tuple[str, str]:
        """(reason, hint) in `language`."""
        return problem_text(self.code, self._params, language)

    def event_problem(self, subject: str, key: str | None = None) -> EventProblem:
        """The EventProblem a reply is written from; `reason` and `hint` in the
        request's language (the English ones are `describe("en")`)."""
        return EventProblem(
            subject, self.reason, self.hint, key=key, code=self.code, params=self.params
        )


def problem_text(code: str, params: dict[str, str], language: str) -> tuple[str, str]:
    """A problem's reason and hint written in `language` (English when unknown).
    The hint's first line says what to write; the examples follow, one per line."""
    if language not in LANGUAGES:
        language = "en"
    values = {key: params.get(key, "") for key in _PARAM_NAMES}
    values.update(_written_params(params, language))
    key = code if code in _REASON_CODES else "vague"
    reason = wording.say(language, f"request.{key}", **values)
    understood = _understood_line(params, language)
    if understood:
        reason = f"{reason} {understood}"
    examples = [params[key] for key in ("example_1", "example_2") if params.get(key)]
    if examples:
        hint = wording.say(language, "request.hint.examples") + "".join(
            f"\n{line}" for line in examples
        )
    else:
        hint = wording.say(language, f"request.hint.{code if code in _HINT_CODES else 'plain'}")
    return reason, hint


_PARAM_NAMES = ("text", "date", "time", "end", "duration", "zone", "choices", "weekday", "named")
# The codes worded in the catalogs ("request.<code>"); any other is worded as "vague".
_REASON_CODES = frozenset(
    {
        "no_time",
        "no_date",
        "vague",
        "ambiguous_date",
        "ambiguous_time",
        "ambiguous_duration",
        "ambiguous_zone",
        "conflicting_end",
        "weekday_mismatch",
        "invalid_date",
        "invalid_time",
        "unknown_zone",
        "end_before_start",
        "too_long",
        "no_such_time",
        "past",
        "unplaced",
        "no_message_id",
    }
)
# Codes with a hint of their own ("request.hint.<code>"); the others get "plain".
_HINT_CODES = frozenset({"no_message_id"})
_UNDERSTOOD = (
    ("date", "request.understood.date"),
    ("time", "request.understood.start"),
    ("end", "request.understood.end"),
    ("duration", "request.understood.length"),
    ("zone", ""),  # a zone's name says what it is: "Zurich time"
)


def _written_params(params: dict[str, str], language: str) -> dict[str, str]:
    """Params as a person reads them in `language`: dates with month names, the
    choices joined with "or", minutes with their unit, the zone by its city."""
    written: dict[str, str] = {}
    if params.get("date"):
        written["date"] = write_date(date.fromisoformat(params["date"]), language, weekday=True)
    if params.get("duration"):
        written["duration"] = write_duration(int(params["duration"]), language)
    if params.get("zone"):
        written["zone"] = wording.zone_name(params["zone"], language)
    choices = [choice for choice in params.get("choices", "").split("|") if choice]
    if choices:
        words = [_write_choice(choice, language) for choice in choices]
        written["choices"] = format_list(words, style="or", locale=wording.LOCALES[language])
    for key in ("weekday", "named"):
        if params.get(key, "").isdigit():
            written[key] = wording.weekday_name(int(params[key]), language)
    return written


def _write_choice(choice: str, language: str) -> str:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", choice):
        return write_date(date.fromisoformat(choice), language, weekday=True)
    if choice.isdigit():
        return write_duration(int(choice), language)
    return choice


def _understood_line(params: dict[str, str], language: str) -> str:
    """ "Understood: date: Tuesday, 8 December 2026 (“tomorrow”); time zone: Zurich
    time." in `language`, or "" when nothing was understood."""
    colon = wording.say(language, "colon")
    written = _written_params(params, language)
    parts = []
    for key, label in _UNDERSTOOD:
        value = written.get(key) or params.get(key)
        if not value:
            continue
        if key == "date" and params.get("date_text") and params["date_text"] != value:
            value += " (" + wording.say(language, "request.quoted", text=params["date_text"]) + ")"
        parts.append(f"{wording.say(language, label)} {value}" if label else value)
    if not parts:
        return ""
    separator = wording.say(language, "punctuation.semicolon") + " "
    title = wording.say(language, "request.understood")
    return f"{title}{colon} " + separator.join(parts) + "."


def _problem(
    error: WhenProblem, *, language: str, now: datetime, default_duration: int
) -> RequestProblem:
    """A RequestProblem from what the reader understood, with two examples
    built from the sender's own date and time where they were readable."""
    understood = error.understood
    params: dict[str, str] = {"language": language}
    if error.text:
        params["text"] = error.text
    if understood.date:
        params["date"] = understood.date.isoformat()
    if understood.date_text:
        params["date_text"] = understood.date_text
    if understood.start:
        params["time"] = write_time(understood.start)
    if understood.end:
        params["end"] = write_time(understood.end)
    if understood.duration is not None:
        params["duration"] = str(understood.duration)
    if understood.zone:
        params["zone"] = understood.zone
    if error.choices:
        params["choices"] = "|".join(_choice_param(choice) for choice in error.choices)
    if error.code == "weekday_mismatch" and understood.date:
        named = error.choices[1]
        assert isinstance(named, date)
        params["weekday"] = str(understood.date.weekday())
        params["named"] = str(named.weekday())
    zone = ZoneInfo(understood.zone) if understood.zone else now.tzinfo
    examples = _examples(error, language, now.astimezone(zone), default_duration)
    for number, example in enumerate(examples, start=1):
        params[f"example_{number}"] = example
    return RequestProblem(error.code, params, language)


def _choice_param(choice: object) -> str:
    if isinstance(choice, date):
        return choice.isoformat()
    if isinstance(choice, time):
        return write_time(choice)
    return str(choice)


def _examples(
    error: WhenProblem, language: str, now: datetime, default_duration: int
) -> tuple[str, str]:
    """Two lines the sender can copy: their own day, time, end or length where
    these were clear, corrected where they were not; never in the past."""
    understood = error.understood
    code = error.code
    dates = [choice for choice in error.choices if isinstance(choice, date)]
    times = [choice for choice in error.choices if isinstance(choice, time)]
    minutes = [choice for choice in error.choices if isinstance(choice, int)]
    today = now.date()
    tomorrow, in_a_week = today + timedelta(days=1), today + timedelta(days=7)
    start = understood.start or time(10, 0)
    end = understood.end
    day = understood.date
    zone = f" {understood.zone}" if understood.zone_text else ""

    def line(
        on: date | None,
        begin: time = start,
        finish: time | None = end,
        length: int | None = None,
        *,
        weekday: bool = False,
        in_zone: str = zone,
    ) -> str:
        on = on or tomorrow
        if datetime.combine(on, begin, now.tzinfo) <= now:
            on = tomorrow if on <= today else on + timedelta(days=7)
        if finish is not None and finish <= begin and finish != time(0, 0):
            finish = None
        words = write_date(on, language, weekday=True) if weekday else _day_of(on, language, today)
        return write_when(language, words, begin, finish, length) + in_zone

    def later(begin: time, length: int) -> time:
        return (datetime.combine(today, begin) + timedelta(minutes=length)).time()

    if code in ("no_time", "invalid_time"):
        return line(day, time(10, 0), None), line(day or in_a_week, time(14, 0), time(15, 0))
    if code == "ambiguous_date" and len(dates) >= 2:
        return line(dates[0]), line(dates[1])
    if code == "weekday_mismatch" and len(dates) >= 2:
        named = dates[1] if dates[1] >= today else dates[1] + timedelta(days=7)
        return line(dates[0], weekday=True), line(named, weekday=True)
    if code == "ambiguous_time" and len(times) >= 2:
        return line(day, times[0]), line(day, times[1])
    if code == "ambiguous_duration" and len(minutes) >= 2:
        return line(day, finish=None, length=minutes[0]), line(day, finish=None, length=minutes[1])
    if code == "ambiguous_zone" and len(error.choices) >= 2:
        first, second = (f" {choice}" for choice in error.choices[:2])
        return line(day, in_zone=first), line(day, in_zone=second)
    if code == "conflicting_end" and understood.start and end and understood.duration:
        return line(day), line(day, finish=None, length=understood.duration)
    if code == "end_before_start" and understood.start:
        if end is not None and end < start:
            return line(day, end, start), line(day, start, None, default_duration)
        return line(day, start, later(start, default_duration)), line(day, start, None, 30)
    if code == "too_long" and understood.start:
        return line(day, start, later(start, default_duration)), line(day, start, None, 120)
    if code == "no_such_time" and understood.start:
        return line(day, later(start, 60), None), line(tomorrow, start, None)
    if code == "past":
        return line(tomorrow), line(day + timedelta(days=7) if day else in_a_week)
    return line(tomorrow), line(in_a_week)


def _day_of(value: date, language: str, today: date) -> str:
    """A day as the sender can write it: "today", "tomorrow" or the date."""
    if value == today:
        return wording.say(language, "request.today")
    if value == today + timedelta(days=1):
        return wording.say(language, "request.tomorrow")
    return write_date(value, language)


# --- the message --------------------------------------------------------------------


@dataclass(frozen=True)
class RequestText:
    """The part of a message that is the request: `lines` (quotes, forwarded
    messages and signatures cut off) and what else was there."""

    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


_QUOTE_HEADERS = (
    re.compile(r"^\s*on\b.{4,200}\bwrote:\s*$"),
    re.compile(r"^\s*le\b.{4,200}\ba\s+ecrit\s*:\s*$"),
    re.compile(r"^\s*am\b.{4,200}\bschrieb\b.{0,200}:\s*$"),
    re.compile(r"^\s*il\b.{4,200}\bha\s+scritto\s*:\s*$"),
    re.compile(r"^\s*-{2,}\s*(?:original\s+message|message\s+d'origine|ursprungliche\s+nachricht"
               r"|messaggio\s+originale|forwarded\s+message|message\s+transfere"
               r"|weitergeleitete\s+nachricht|messaggio\s+inoltrato)\s*-{2,}\s*$"),
    re.compile(r"^\s*(?:begin\s+forwarded\s+message|debut\s+du\s+message\s+reexpedie"
               r"|anfang\s+der\s+weitergeleiteten\s+nachricht|inizio\s+messaggio\s+inoltrato)\s*:\s*$"),
    re.compile(r"^\s*_{10,}\s*$"),
)  # fmt: skip
# Outlook's header block of the message below: "From: ..." then "Sent: ..." or "Date: ...".
_OUTLOOK_FROM = re.compile(r"^\s*\*?(?:from|de|von|da)\s*\*?\s*:\s*\S")
_OUTLOOK_NEXT = re.compile(
    r"^\s*\*?(?:sent|date|envoye|gesendet|datum|inviato|data|to|a|an|para)\s*\*?\s*:\s*\S"
)
_CLOSINGS = re.compile(
    r"^\s*(?:best(?:\s+regards)?|kind\s+regards|regards|best\s+wishes|cheers|thanks|thank\s+you"
    r"|many\s+thanks|cordialement|bien\s+cordialement|bien\s+a\s+vous|salutations|meilleures"
    r"\s+salutations|merci(?:\s+d'avance|\s+beaucoup)?|bonne\s+journee|a\s+bientot"
    r"|(?:mit\s+)?freundlichen\s+grussen|freundliche\s+grusse?|beste\s+grusse?|viele\s+grusse?"
    r"|liebe\s+grusse?|gruss|grusse|lg|vg|mfg|danke(?:\s+schon)?|cordiali\s+saluti|distinti"
    r"\s+saluti|saluti|un\s+saluto|grazie(?:\s+mille)?|a\s+presto|buona\s+giornata"
    r"|sent\s+from\s+my\s+\w+|envoye\s+de\s+mon\s+\w+|von\s+meinem\s+\w+\s+gesendet"
    r"|inviato\s+da\s+\w+)\s*[,.!]*\s*$"
)


def request_text(message: Message) -> RequestText:
    """The opening lines of the body that make up the request."""
    return RequestText(tuple(request_lines(body_text(message))))


def bounded_lines(text: str) -> list[str]:
    """The first MAX_SCANNED_LINES lines of `text`, each cut to its first
    MAX_LINE_CHARS characters and MAX_LINE_TOKENS words."""
    text = text[:MAX_BODY_CHARS].replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n", MAX_SCANNED_LINES)[:MAX_SCANNED_LINES]
    return [_first_tokens(line[:MAX_LINE_CHARS]) for line in lines]


def _first_tokens(line: str) -> str:
    found = _FIRST_TOKENS.match(line)
    return found.group(0) if found else line


def request_lines(text: str) -> list[str]:
    """The lines of `text` above any quote, forwarded message or signature,
    at most REQUEST_LINES of them that are not blank (see bounded_lines)."""
    lines: list[str] = []
    kept = 0  # lines that are not blank
    raw = bounded_lines(text)
    for index, line in enumerate(raw):
        folded = fold(line)
        if line.lstrip().startswith(">") or line.rstrip() in ("--", "-- ", "—"):
            break
        if any(pattern.match(folded) for pattern in _QUOTE_HEADERS):
            break
        # "On Tue, 1 Dec 2026 at 09:00, Anna <anna@example.com>" / "wrote:" on two lines
        if index + 1 < len(raw):
            joined = folded + " " + fold(raw[index + 1])
            if any(pattern.match(joined) for pattern in _QUOTE_HEADERS[:4]):
                break
        if _OUTLOOK_FROM.match(folded) and any(
            _OUTLOOK_NEXT.match(fold(following)) for following in raw[index + 1 : index + 4]
        ):
            break
        if _CLOSINGS.match(folded):
            break
        lines.append(line.rstrip())
        kept += 1 if line.strip() else 0
        if kept >= REQUEST_LINES:
            break
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return lines


def body_text(message: Message) -> str:
    """The text/plain body, or the HTML body as text; "" when there is neither.
    Undecodable bytes become U+FFFD rather than an error."""
    try:
        plain = message.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
        html = None if plain is not None else message.get_body(preferencelist=("html",))  # type: ignore[attr-defined]
    except (KeyError, LookupError, ValueError, AttributeError):
        plain, html = None, None
    if plain is None and html is None and not message.is_multipart():
        if message.get_content_type() == "text/plain":
            plain = message
        elif message.get_content_type() == "text/html":
            html = message
    if plain is not None:
        return _part_text(plain)[:MAX_BODY_CHARS]
    if html is not None:
        return html_to_text(_part_text(html)[:MAX_HTML_CHARS])[:MAX_BODY_CHARS]
    return ""


def _part_text(part: Message) -> str:
    try:
        return str(part.get_content())  # type: ignore[attr-defined]
    except (LookupError, ValueError, AttributeError, UnicodeError):
        pass
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(part.get_payload() or "")
    charset = part.get_content_charset() or "utf-8"
    for candidate in (charset, "utf-8"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("cp1252", errors="replace")


class _HTMLText(HTMLParser):
    """HTML -> plain text with line breaks; quoted parts (blockquote, Gmail's
    gmail_quote, Outlook's reply header) and styles are dropped."""

    _BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "table", "ul"})
    _SKIPPED = frozenset({"style", "script", "head", "title", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0
        self.stopped = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        marks = f"{attributes.get('class') or ''} {attributes.get('id') or ''}"
        if "gmail_quote" in marks or "divRplyFwdMsg" in marks or "moz-cite-prefix" in marks:
            self.stopped = True
        if tag in self._SKIPPED:
            self.skip_depth += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED and self.skip_depth:
            self.skip_depth -= 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip_depth and not self.stopped:
            self.parts.append(" ".join(data.split(" ")).replace("\n", " "))


# A "<" that no ">" closes before the next "<". html.parser looks for the end
# of such a tag up to the end of its input, again after every one of them: on
# "<a<a<a..." that is quadratic (100 KB took 20 s). Written as "&lt;" it is text.
_UNCLOSED_TAG = re.compile(r"<(?=[^<>]*(?:<|$))")


def html_to_text(html: str) -> str:
    parser = _HTMLText()
    try:
        parser.feed(_UNCLOSED_TAG.sub("&lt;", html))
        parser.close()
    except Exception:
        pass
    text = "".join(parser.parts)
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- attendees --------------------------------------------------------------------------

_ATTENDEES_LABEL = re.compile(
    r"^\s*(?:attendees|participants|invitees|invites|guests|teilnehmer(?:innen|:innen|\*innen)?"
    r"|teilnehmende|gaste|partecipanti|invitati|with|avec|mit|con)\s*:\s*(?P<rest>.*)$"
)
_ADDRESS = re.compile(
    r"^[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)
# Starts only where a local part can start, so that a long run without "@" is
# read once, not once from each of its characters.
_ADDRESS_IN_TEXT = re.compile(
    r"(?<![^@\s<>(),;:\"\[\]])[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
)


def attendee_lines(lines: Iterable[str]) -> tuple[list[str], list[int]]:
    """The address lists given on `Attendees:` lines (and the lines right after
    that hold only addresses), and the numbers of those lines."""
    found: list[str] = []
    numbers: list[int] = []
    listing = False
    for number, line in enumerate(lines):
        label = _ATTENDEES_LABEL.match(fold(line))
        if label and (_ADDRESS_IN_TEXT.search(line) or not label["rest"].strip()):
            found.append(line[label.start("rest") :])
            numbers.append(number)
            listing = True
            continue
        # "- carl@example.net": a list of addresses, one a line, with bullets
        bare = re.sub(r"^\s*(?:[-*•·]|\d{1,2}[.)])\s+", "", line)
        chunks = [chunk for chunk in re.split(r"[,;]", bare) if chunk.strip()]
        if listing and chunks and all(_ADDRESS_IN_TEXT.search(chunk) for chunk in chunks):
            found.append(bare)
            numbers.append(number)
            continue
        listing = False
    return found, numbers


def _addresses(values: Iterable[str]) -> list[tuple[str, str]]:
    """(name, address) pairs from address-list texts; invalid ones skipped."""
    pairs = []
    for value in values:
        for name, address in getaddresses([value.replace(";", ",")]):
            address = address.strip()
            if _ADDRESS.match(address):
                pairs.append((fold_title(name).strip('"').strip(), address))
    return pairs


def _header_addresses(message: Message, name: str) -> list[tuple[str, str]]:
    try:
        values = [str(value) for value in message.get_all(name, [])]
    except Exception:
        values = [str(value) for key, value in message.raw_items() if key.lower() == name.lower()]
    return _addresses(values)


def attendees(message: Message, listed: Iterable[str], own_address: str) -> tuple[Attendee, ...]:
    """The sender as organizer (accepted), then To, Cc and the listed
    addresses, without the bridge's own address and without repeats."""
    own = own_address.strip().casefold()
    seen: set[str] = {own} if own else set()
    result: list[Attendee] = []
    sender = headers.sender_address(message)
    if sender and sender.casefold() not in seen:
        from_pairs = _header_addresses(message, "From")
        name = next((n for n, a in from_pairs if a.casefold() == sender.casefold()), "")
        result.append(Attendee(sender, name or None, "ACCEPTED", organizer=True))
        seen.add(sender.casefold())
    pairs = _header_addresses(message, "To") + _header_addresses(message, "Cc") + _addresses(listed)
    for name, address in pairs:
        if address.casefold() in seen:
            continue
        seen.add(address.casefold())
        result.append(Attendee(address, name or None))
    return tuple(result)


# --- room options --------------------------------------------------------------------

_OPTION_WORDS = {
    "lobby_enabled": r"(?:lobby|waiting\s+room|salle\s+d'attente|warteraum|wartezimmer|wartesaal"
    r"|sala\s+d'attesa|sala\s+di\s+attesa)",
    # (the protection words first: "password protection", not "password" alone)
    "password_enabled": r"(?:password\s+protection|passwortschutz|kennwortschutz"
    r"|protection\s+par\s+(?:un\s+)?mot\s+de\s+passe|protezione\s+(?:con\s+|tramite\s+)?password"
    r"|password|passcode|mot\s+de\s+passe|passwort|kennwort)",
    "e2ee_enabled": r"(?:e2ee|e2e(?:[-\s](?:verschlusselung|encryption|chiffrement|crittografia))?"
    r"|end[-\s]to[-\s]end(?:\s+encryption)?|encryption|chiffrement"
    r"(?:\s+de\s+bout\s+en\s+bout)?|ende[-\s]zu[-\s]ende[-\s]verschlu(?:e)?sselung|verschlu(?:e)?sselung"
    r"|crittografia(?:\s+end[-\s]to[-\s]end)?|cifratura)",
    "enable_recording": r"(?:recording|enregistrement|aufzeichnung|aufnahme|registrazione"
    r"|aufzeichnen|aufnehmen|enregistrer|registrare)",
}
_NEGATION = (
    r"(?:no|without|not|non|sans|pas\s+de|pas\s+d'|ohne|kein|keine|keinen|nicht|senza|nessuna?"
    r"|niente|pas\s+besoin\s+de|pas\s+besoin\s+d'|no\s+need\s+(?:for|to)|nicht\s+notig)"
)
_ARTICLE = (
    r"(?:(?:a|an|the|any|de|d'|la|le|l'|un|une|ein|einen|einem|einer|eine|den|das|dem|il|una"
    r"|uno)\s*)?"
)
_OFF_VALUE = (
    r"(?:off|no|non|nein|aus|disabled|desactivee?|deaktiviert|disattivat[ao]|false"
    r"|deaktivieren|ausschalten|bitte\s+nicht|nicht(?=[ \t]*(?:[,.;!)\n]|$)))"
)
_ON_VALUE = (
    r"(?:on|yes|oui|ja|an|si|enabled|activee?|aktiviert|attivat[ao]|attiv[aoie]|true|required"
    r"|aktivieren|einschalten|please|pls|plz|bitte|svp|s\.v\.p\.|stp|per\s+favore|obligatoire"
    r"|obbligatori[ao]|obligatorisch|erforderlich|mandatory|needed|wanted|necessaire"
    r"|necessari[ao]|waren\s+super|ware\s+super|wichtig"
    # German puts the verb last: "ein Passwort setzen", "den Warteraum einrichten"
    r"|setzen|einrichten|vergeben|festlegen|verwenden|hinzufugen|anlegen|nutzen)"
)
# "turn on the lobby", "merci d'activer la salle d'attente", "disattivare la registrazione"
_ON_VERBS = (
    r"(?:enable|turn\s+on|switch\s+on|activate|add|use|set\s+up|set|put\s+on|put(?!\s+off)|include"
    r"|require|activer"
    r"|activez|ajouter|ajoutez|mettre|mettez|mets|metsz|prevoir|prevoyez|utiliser|attivare|attivate"
    r"|abilitare|abilitate|aggiungere|aggiungete|aggiungi|usare|mettere|mettete|metti|attiva"
    r"|impostare|impostate|imposta|definir|definissez|definire"
    # a need said as such: "serve la sala d'attesa", "we need a lobby", "il faut un mot
    # de passe", "wir brauchen einen Warteraum"
    r"|(?:serve|servono|occorre|occorrono|need|needs|faut|brauchen|braucht)"
    r"(?:\s+(?:also|aussi|auch|noch|anche|bitte))?"
    # German verb first with its pronoun: "aktivieren Sie den Warteraum"
    r"|(?:aktivieren|aktiviert|aktiviere|schalten|richten|richtet|setzen|setzt|vergeben"
    r"|verwenden|nutzen)(?:\s+sie|\s+bitte)*)"
)
_OFF_VERBS = (
    r"(?:disable|turn\s+off|switch\s+off|deactivate|desactiver|desactivez|couper|coupez"
    r"|disattivare|disattivate|disabilitare|disabilitate|togliere|togliete)"
)
# "with lobby and password", "mit Passwort und Warteraum": one setting after another.
# Both matched next to an option's words; the lookbehinds keep a search from
# starting inside a run of spaces (quadratic in the run's length).
# (also "ainsi qu'un mot de passe", "einen Warteraum (Lobby) sowie ein Passwort")
_OPTION_JOINER = re.compile(
    r"(?<![ \t])(?:[ \t]*\([^()\n]{1,30}\))?[ \t]*"
    r"(?:(?:and|und|et|e)[ \t]+(?:also|auch|aussi|anche)|as[ \t]+well[ \t]+as|ainsi[ \t]+que"
    r"|sowie|plus|nonche|oltre[ \t]+a|,|and|und|et|e|ni|noch|nor|\+|&)[ \t]+"
    r"|(?<![ \t])[ \t]*ainsi[ \t]+qu'"
)
# "Lobby und Passwort wären super": the setting said after a list applies to all of it.
_OPTION_BEFORE_JOINER = re.compile(r"(?<![ \t])[ \t]*(?:,|and|und|et|e|\+|&)[ \t]*$")
_EXTRA_OFF = {
    "e2ee_enabled": r"(?:unencrypted|not\s+encrypted|non\s+chiffree?s?|unverschlu(?:e)?sselt"
    r"|non\s+(?:crittografat|cifrat)[aoie])",
    "enable_recording": r"(?:(?:do\s+not|don't|dont)\s+record|ne\s+pas\s+enregistrer"
    r"|nicht\s+aufzeichnen|nicht\s+aufnehmen|non\s+registrare|not\s+(?:be\s+)?recorded"
    r"|nicht\s+aufgezeichnet|pas\s+enregistree?s?|non\s+(?:venga\s+)?registrat[aoie])",
}
_EXTRA_ON = {
    "e2ee_enabled": r"(?:end[-\s]to[-\s]end\s+encrypted|encrypted|chiffree?s?|verschlusselt"
    r"|(?:crittografat|cifrat)[aoie])",
    "password_enabled": r"(?:password[-\s]protected|protegee?\s+par\s+(?:un\s+)?mot\s+de\s+passe"
    r"|passwortgeschutzt|protett[ao]\s+da\s+password"
    # a verb of protecting, then "by/with a password" a few words on: "protéger la
    # réunion par un mot de passe", "protect the call with a password"
    r"|(?:protect|proteger|protegez|proteggere|proteggete|schutzen|absichern|sichern)"
    r"(?:[ \t]+[\w']+){0,3}?[ \t]+(?:by|with|par|avec|mit|con|da|tramite)[ \t]+"
    r"(?:a[ \t]+|un[ \t]+|einem[ \t]+|una[ \t]+)?(?:password|mot\s+de\s+passe|passwort|kennwort))",
    "lobby_enabled": r"(?:lobby\s+enabled|(?:in|into)\s+the\s+(?:lobby|waiting\s+room)"
    # "make sure a waiting room (lobby) is enabled"
    r"|(?:lobby|waiting\s+room)(?:[ \t]*\([ \t]*lobby[ \t]*\))?[ \t]+"
    r"(?:is|be|should\s+be|must\s+be)[ \t]+"
    r"(?:enabled|on|activated|switched\s+on|turned\s+on))",
}


def _option_patterns() -> list[tuple[str, bool, re.Pattern[str]]]:
    patterns: list[tuple[str, bool, re.Pattern[str]]] = []
    w, e = r"(?<![\w'])", r"(?![\w])"
    for option, words in _OPTION_WORDS.items():
        off = [
            rf"{_NEGATION}(?:\s+|(?<='))\s*{_ARTICLE}{words}",
            rf"{words}[ \t]*(?:[:=][ \t]*)?{_OFF_VALUE}",
        ]
        if option in _EXTRA_OFF:
            off.append(_EXTRA_OFF[option])
        on = [
            rf"(?:with|avec|mit|con)\s+{_ARTICLE}{words}",
            # "bitten um einen Warteraum"; "die Teilnehmenden im Warteraum sammeln"
            rf"um\s+{_ARTICLE}{words}",
            rf"(?<!nicht\s)(?<!ohne\s)(?<!pas\s)(?<!not\s)(?<!non\s)"
            rf"(?:im|in\s+den|dans\s+la|nella|in)"
            rf"\s+{words}",
            rf"{words}[ \t]*(?:[:=][ \t]*)?{_ON_VALUE}",
        ]
        if option in _EXTRA_ON:
            on.append(_EXTRA_ON[option])
        # A verb may follow an elision: "d'activer".
        off_verb = rf"(?<![\w]){_OFF_VERBS}\s+{_ARTICLE}{words}"
        # (not "don't set a password", "ne pas mettre de mot de passe")
        not_before = r"(?<!n't\s)(?<!not\s)(?<!pas\s)(?<!non\s)"
        on_verb = rf"(?<![\w]){not_before}{_ON_VERBS}\s+{_ARTICLE}{words}"
        for value, forms, verb in ((False, off, off_verb), (True, on, on_verb)):
            pattern = "(?:" + w + "(?:" + "|".join(forms) + ")|" + verb + ")" + e
            patterns.append((option, value, re.compile(pattern)))
    return patterns


_NEXT_OPTION = [
    (option, re.compile(rf"{_ARTICLE}{words}(?![\w])")) for option, words in _OPTION_WORDS.items()
]


_OPTION_PATTERNS = _option_patterns()


def _option_before(
    folded: str,
    match: re.Match[str],
    value: bool,
    taken: list[bool],
    asked: dict[str, dict[bool, str]],
    text: str,
    spans: list[tuple[int, int]],
) -> None:
    """ "lobby and password please": a setting named right before "and" gets the
    value said after the last one, when the match starts with a setting's name."""
    if not any(words.match(folded, match.start()) for _, words in _NEXT_OPTION):
        return
    joiner = _OPTION_BEFORE_JOINER.search(folded, max(0, match.start() - 8), match.start())
    if joiner is None:
        return
    window = folded[max(0, joiner.start() - 40) : joiner.start()]
    for other, words in _NEXT_OPTION:
        for found in words.finditer(window):
            begin = joiner.start() - len(window) + found.start()
            end = joiner.start() - len(window) + found.end()
            if end != joiner.start() or any(taken[begin:end]):
                continue
            taken[begin:end] = [True] * (end - begin)
            asked.setdefault(other, {})[value] = text[begin : match.end()]
            spans.append((begin, end))
            return


def room_options(text: str) -> tuple[RoomOptions, tuple[Note, ...], list[tuple[int, int]]]:
    """The room settings `text` asks for, notes saying how each was read, and
    the spans read. Asked both ways, a setting keeps its configured value; a
    request cannot turn recording on (it needs a drive the administrator chose)."""
    folded = fold(text)
    taken = [False] * len(folded)
    asked: dict[str, dict[bool, str]] = {}
    spans: list[tuple[int, int]] = []
    for option, value, pattern in _OPTION_PATTERNS:  # "off" forms come first
        for match in pattern.finditer(folded):
            if any(taken[match.start() : match.end()]):
                continue
            taken[match.start() : match.end()] = [True] * (match.end() - match.start())
            asked.setdefault(option, {})[value] = text[match.start() : match.end()]
            spans.append((match.start(), match.end()))
            _option_before(folded, match, value, taken, asked, text, spans)
            end = match.end()
            while joined := _OPTION_JOINER.match(folded, end):
                follower = next(
                    (
                        (other, found)
                        for other, words in _NEXT_OPTION
                        if (found := words.match(folded, joined.end()))
                        and not any(taken[found.start() : found.end()])
                    ),
                    None,
                )
                if follower is None:
                    break
                other, found = follower
                taken[found.start() : found.end()] = [True] * (found.end() - found.start())
                asked.setdefault(other, {})[value] = text[match.start() : found.end()]
                spans.append((found.start(), found.end()))
                end = found.end()
    settings: dict[str, bool] = {}
    notes: list[Note] = []
    for option, values in asked.items():
        if len(values) > 1:
            words = " / ".join(f'"{words}"' for words in values.values())
            notes.append(note("option_both_ways", option=option, words=words))
            continue
        ((value, words),) = values.items()
        if option == "enable_recording" and value:
            notes.append(note("recording_not_on", words=words))
            continue
        settings[option] = value
        notes.append(note("option", option=option, state="on" if value else "off", words=words))
    return RoomOptions(**settings), tuple(notes), spans


# --- the request --------------------------------------------------------------------------


def extract(
    message: EmailMessage,
    *,
    default_timezone: str,
    default_duration: int,
    now: datetime,
    own_address: str = "",
    default_language: str = "en",
) -> list[MeetingRequest]:
    """The meeting a "kmeet" email asks for.

    Raises NotARequest when the subject does not name kmeet, RequestProblem
    (an Unplannable) when the request cannot be planned as written.
    """
    if not is_request(message):
        raise NotARequest("no calendar invitation and no 'kmeet' in the subject")
    subject = headers.subject(message)
    title = title_from_subject(subject)
    lines = list(request_text(message).lines)
    listed, attendee_numbers = attendee_lines(lines)
    when_lines = ["" if number in attendee_numbers else line for number, line in enumerate(lines)]
    # Addresses written in a sentence ("please invite carl@example.net too") are attendees.
    named = [address for line in when_lines for address in _ADDRESS_IN_TEXT.findall(line)]
    read_lines, corrections = corrected_lines(when_lines)
    body = "\n".join(read_lines)
    language = detect_language(
        (title if title != "kMeet" else "") + "\n" + body, default=default_language
    )

    message_id = headers.message_id(message)
    base = _relative_base(message, now)
    if message_id is None:
        raise RequestProblem("no_message_id", {"language": language}, language)

    found = find_when(body, language=language)
    in_subject: Found | None = None
    if not found.says_when and title != "kMeet":
        # "kmeet demain 14h": the subject says when and the body does not; a
        # length in the body ("45 minutes") still counts.
        candidate = find_when(title, language=language, loose_durations=True)
        if candidate.says_when:
            in_subject = candidate
            lengths = () if candidate.of("duration") else tuple(found.of("duration"))
            found = Found(candidate.items + lengths)
    try:
        when = resolve(
            found,
            now=now,
            default_zone=default_timezone,
            default_duration=default_duration,
            base=base,
        )
    except WhenProblem as error:
        raise _problem(
            error, language=language, now=now, default_duration=default_duration
        ) from None

    options, option_notes, option_spans = room_options(body + "\n" + title)
    notes = [note("language", language=language)]
    notes += [
        note("corrected_word", text=fix.written, word=fix.meant)
        for fix in corrections
        if not fix.transliteration
    ]
    if in_subject is not None:
        notes.append(note("from_subject"))
        title = _title_without(title, in_subject) or title
    notes += list(when.notes)
    notes += list(option_notes)
    people = attendees(message, [*listed, ", ".join(named)], own_address)
    in_headers = {a.address.casefold() for a in attendees(message, listed, own_address)}
    added = [a.address for a in people if a.address.casefold() not in in_headers]
    if added:
        notes.append(note("attendees_in_text", addresses=", ".join(added)))
    read_spans = [*option_spans, *(() if in_subject is not None else found.spans)]
    description = _description(when_lines, read_spans, read_lines)
    return [
        MeetingRequest(
            key=f"msg:{message_id}",
            title=title,
            start=when.start,
            end=when.end,
            timezone=when.zone,
            description=description,
            attendees=people,
            source="request",
            notes=tuple(item.text(language) for item in notes),
            reply_notes=tuple(
                models.Note(item.code, item.params) for item in notes if item.code in REPLY_NOTES
            ),
            options=options,
            language=language,
        )
    ]


def _relative_base(message: Message, now: datetime) -> datetime:
    """The moment "tomorrow" is counted from: when the message was written,
    if its Date is believable, else now."""
    raw = message.get("Date")
    if raw is None:
        return now
    try:
        written = parsedate_to_datetime(str(raw))
    except (TypeError, ValueError, IndexError):
        return now
    if written is None or written.tzinfo is None:
        return now
    if now - DATE_HEADER_TRUST <= written <= now + DATE_HEADER_SKEW:
        return min(written, now)
    return now


_DANGLING = re.compile(
    r"^(?:at|on|for|from|a|à|le|de|du|am|um|ab|alle|il|ore|per|pour|,|;|-)\s+|"
    r"(?<!\s)\s+(?:at|on|for|from|a|à|le|de|du|am|um|ab|alle|il|ore|per|pour|,|;|-)$",
    re.IGNORECASE,
)


def _title_without(title: str, found: Found) -> str:
    """The subject's title with the date and time words taken out."""
    chars = list(title)
    for start, end in found.spans:
        for index in range(start, min(end, len(chars))):
            chars[index] = " "
    rest = " ".join("".join(chars).split()).strip(" ,;-")
    previous = None
    while rest and rest != previous:
        previous = rest
        rest = _DANGLING.sub("", rest).strip(" ,;-")
    return rest


def _description(
    lines: list[str], spans: Iterable[tuple[int, int]], read: list[str] | None = None
) -> str:
    """The lines of the request from which nothing was read (not the date, time,
    attendees or room options: "Agenda: ..."), for the calendar event. `spans`
    are offsets in `read` (the lines as read, typos corrected), by default `lines`."""
    read = lines if read is None else read
    offsets, position = [], 0
    for line in read:
        offsets.append(position)
        position += len(line) + 1
    read_lines = {
        number
        for number, begin in enumerate(offsets)
        for start, _ in spans
        if begin <= start < begin + len(read[number]) + 1
    }
    kept = [line for number, line in enumerate(lines) if number not in read_lines]
    # Lines taken out leave gaps: one blank line between paragraphs is enough.
    return clean_description(re.sub(r"\n\s*\n(?:\s*\n)+", "\n\n", "\n".join(kept)))
