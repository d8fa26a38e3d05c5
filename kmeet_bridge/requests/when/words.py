"""The words and forms of dates, times and lengths in English, French, German and
Italian, as regular expressions over folded text (see language.fold).

Every table is here: the French time words (`14h`, `midi et demi`, `à`,
`jusqu'à`, `de l'après-midi`...) sit next to the English, German and Italian
ones of the same kind, so that one form is added in all four languages at
once. The patterns have no nested quantifiers: each runs in linear time."""

from __future__ import annotations

import re

from kmeet_bridge.requests.language import (
    MONTHS,
    NUMBER_WORDS,
    WEEKDAY_ABBREVIATIONS,
    WEEKDAYS,
)
from kmeet_bridge.requests.when.text import _E, _W, _alternation, _words


def _month_table() -> dict[str, int]:
    table: dict[str, int] = {}
    for months in MONTHS.values():
        for number, names in enumerate(months, start=1):
            for name in names:
                table.setdefault(name, number)
    return table


# Swiss German weekdays as people write them ("am Zischtig", "Fritig"), folded.
_SWISS_GERMAN_WEEKDAYS = (
    ("mantig", "maentig"),
    ("zischtig", "ziischtig", "dienschtig"),
    ("mittwuch", "mittwoch"),
    ("dunschtig", "donnschtig", "donschtig", "dunnschtig"),
    ("fritig", "friitig", "freitig"),
    ("samschtig", "samstig"),
    ("sunntig", "sonntig"),
)


def _weekday_table() -> dict[str, int]:
    table = {name: day for names in WEEKDAYS.values() for day, name in enumerate(names)}
    for day, names in enumerate(_SWISS_GERMAN_WEEKDAYS):
        for name in names:
            table.setdefault(name, day)
    return table


def _weekday_abbreviations() -> dict[str, int]:
    table: dict[str, int] = {}
    for forms in WEEKDAY_ABBREVIATIONS.values():
        for day, names in enumerate(forms):
            for name in names:
                table.setdefault(name, day)
    return table


_MONTH = _month_table()
_WEEKDAY = _weekday_table()
_WEEKDAY_SHORT = _weekday_abbreviations()
_ENGLISH_MONTHS = {name for names in MONTHS["en"] for name in names}

_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "un": 1, "une": 1, "ein": 1, "eine": 1, "einer": 1,
    "einen": 1, "uno": 1, "una": 1, "un'": 1,
    "two": 2, "deux": 2, "zwei": 2, "due": 2,
    "three": 3, "trois": 3, "drei": 3, "tre": 3,
    "four": 4, "quatre": 4, "vier": 4, "quattro": 4,
}  # fmt: skip

# Relative days: folded words -> days from today.
_RELATIVE_DAYS = (
    (r"(?:the\s+)?day\s+after\s+tomorrow|apres[-\s]demain|ubermorgen|dopodomani", 2),
    # "aujourd'hui en huit", "oggi a otto": a week from that day
    (r"(?:d')?(?:aujourd'hui|aujourdhui)\s+en\s+huit|oggi\s+a\s+otto", 7),
    (r"demain\s+en\s+huit|domani\s+a\s+otto", 8),
    (r"tomorrow|tmrw|tmr|2morrow|demain|domani|domattina|domani\s+mattina", 1),
    # "morgen" is tomorrow, but not in "Guten Morgen", "heute Morgen", "am Morgen".
    (r"(?<!guten )(?<!heute )(?<!am )(?<!jeden )(?<!gestern )(?<!diesen )morgen", 1),
    (
        r"today|tonight|this\s+(?:morning|afternoon|evening)|(?:d')?aujourd'hui|aujourdhui"
        r"|ce\s+(?:matin|soir)|cet\s+apres[-\s]midi|cet\s+aprem|heute(?:\s+(?:morgen|fruh|vormittag"
        r"|nachmittag|abend))?|oggi|stamattina|stamani|stasera|stanotte",
        0,
    ),
    (r"(?:the\s+)?day\s+before\s+yesterday|avant[-\s]hier|vorgestern|l'altro\s+ieri", -2),
    (r"yesterday|gestern|ieri", -1),
    ("hier", -1),
    # Swiss German: "hüt" (today), "morn" (tomorrow), "übermorn"
    ("hut|hutt", 0),
    ("morn", 1),
    ("ubermorn", 2),
)
_SWISS_GERMAN_DAYS = ("hut|hutt", "morn", "ubermorn")
_NEXT_BEFORE = (
    "next|this coming|coming|nachsten|nachster|nachste|kommenden|kommender|kommende"
    "|il prossimo|la prossima|prossimo|prossima"
)
_THIS_BEFORE = "this|ce|diesen|dieser|diese|questo|questa"
_NEXT_AFTER = "prochain|prochaine|qui vient|prossimo|prossima"
_NEXT_WEEK = (
    r"next\s+week|(?:de\s+)?la\s+semaine\s+prochaine|semaine\s+prochaine"
    r"|(?:in\s+der\s+)?nachsten\s+woche|nachste\s+woche|nachster\s+woche"
    r"|(?:in\s+der\s+)?kommenden\s+woche|kommende\s+woche|(?:della\s+)?prossima\s+settimana"
    r"|(?:della\s+)?settimana\s+prossima"
)
# A weekday, full ("Friday") or short ("Fri", "ven.", "Mi"), with what says which week:
# "next Friday", "vendredi prochain", "Freitag nächste Woche", "next week Friday",
# "la settimana prossima, venerdì".
_WEEKDAY_MENTION = re.compile(
    _W
    + rf"(?:(?P<weekpre>{_NEXT_WEEK})[\s,]*(?:(?:on|am|le|il|al|a)\s+)?"
    + rf"|(?P<pre>{_NEXT_BEFORE}|{_THIS_BEFORE})\s+)?"
    + rf"(?P<wd>{_alternation([*_WEEKDAY, *_WEEKDAY_SHORT])})"
    # German compounds: "Dienstagabend", "Freitagmorgen" (the part of the day is read
    # by _PM_WORDS / _AM_WORDS)
    + r"(?:(?<=tag|och|tig|uch)(?:abends?|morgens?|nachmittags?|vormittags?|mittags?))?(?P<dot>\.)?"
    + r"(?:\s+(?P<post>"
    + _NEXT_AFTER
    + r")(?![\w])|,?\s+(?P<week>"
    + _NEXT_WEEK
    + r"))?"
    + _E
)
# A count of weeks after a day ("Dienstag in einer Woche", "heute in einer Woche",
# "a week from today", "mardi en huit", "lunedì a otto", "in two weeks", "tra due
# settimane"); "dans quinze jours" and "tra quindici giorni" are two weeks by
# custom, or fifteen days: never read, asked about (see dates._week_offsets).
_WEEK_COUNT = (
    r"\d{1,2}|a|an|one|une?|ein|eine|einer|una?|un'|two|deux|zwei|due|three|trois|drei|tre"
    r"|four|quatre|vier|quattro"
)
_WEEK_UNIT = r"(?:weeks?|semaines?|wochen?|settiman[ae])"
_DAY_UNIT = r"(?:days|jours|tagen|giorni)"
_WEEKS_LATER = re.compile(
    _W
    + rf"(?:(?P<from>(?P<n1>{_WEEK_COUNT})\s*{_WEEK_UNIT}|(?:a\s+)?fortnight"
    + r"|(?P<nd1>\d{1,2}|[a-z]+(?:-[a-z]+)?)\s+days)(?:\s+(?:from|after|on)"
    # British "a week today", "a fortnight tomorrow": the day follows, no "from"
    + r"|(?=\s+(?:today|tomorrow)(?![\w])))"
    + r"(?P<now>\s+now)?"
    # (not "check-in a week from today": that is the form above)
    + rf"|(?<!-)(?:in|dans|tra|fra)\s+(?:(?P<n2>{_WEEK_COUNT})\s*{_WEEK_UNIT}(?:'?s?\s+time)?"
    + rf"|(?P<fortnight>a\s+fortnight)|(?P<nd>\d{{1,2}}|[a-z]+(?:-[a-z]+)?)\s+{_DAY_UNIT})"
    + r"(?!\s+(?:from|after|on)(?![\w]))"
    + r"|(?P<eight>en\s+huit|a\s+otto)|(?P<fifteen>en\s+quinze|a\s+quindici)"
    + r")"
    + _E
)
# "Monday after next", "übernächsten Montag": a week after the coming Monday.
_WEEKDAY_AFTER_NEXT = re.compile(
    _W
    + r"(?:(?:the\s+)?(?P<wd>"
    + _alternation(WEEKDAYS["en"])
    + r")\s+after\s+next|ubernachste[nrs]?\s+(?P<wd2>"
    + _alternation(WEEKDAYS["de"])
    + r"))"
    + _E
)
# Weeks said as "after next", "the following", "übernächste", "la semaine d'après",
# "la settimana dopo": which week is meant is asked, never dropped.
_LATER_WEEK = re.compile(
    _W
    + r"(?:ubernachst\w*|after\s+next|dopo\s+la\s+prossima|(?:the\s+)?following\s+(?:week|"
    + _alternation(WEEKDAYS["en"])
    + r")|(?:the\s+)?week\s+after|(?:la\s+)?semaine\s+(?:d'apres|suivante|qui\s+suit)"
    + r"|(?:la\s+)?settimana\s+(?:dopo|successiva|seguente)|woche\s+(?:darauf|danach)"
    + r"|darauffolgend\w*|(?:"
    + _alternation(WEEKDAYS["fr"])
    + r")\s+(?:suivant|d'apres)|(?:"
    + _alternation(WEEKDAYS["it"])
    + r")\s+(?:successivo|seguente|dopo\s+ancora))"
    + _E
)
# British "Tuesday week": a week after the coming Tuesday.
_WEEK_AFTER_WEEKDAY = re.compile(r"(?<![ \t])[ \t]+week(?![\w-]|[ \t]*\d)")
_DAY_LIKE = re.compile(_W + r"(?:[a-z]{2,}(?:day|tag|dag|di|tog)|(?<=am\s)[a-z]{2,}ig)" + _E)
_AFTER_LUNCH = (
    r"|(?:subito\s+)?dopo\s+(?:il\s+)?pranzo|(?:right\s+|just\s+)?after\s+lunch"
    r"|nach\s+dem\s+(?:mittagessen|zmittag)|apres\s+(?:le\s+)?(?:dejeuner|diner|repas)"
)
# Words that say "some time" without a date that can be planned.
_VAGUE = re.compile(
    _W + r"(?:" + _NEXT_WEEK + _AFTER_LUNCH + r"|this\s+week|cette\s+semaine|diese\s+woche"
    r"|questa\s+settimana|next\s+month|le\s+mois\s+prochain|mois\s+prochain"
    r"|weeks?|months?|days|semaines?|mois|jours|wochen?|monate?n?|monats|tage|tagen|settiman[ae]"
    r"|mesi|mese|giorni|sometime|some\s+time|someday|irgendwann|demnachst|prochainement"
    r"|un\s+de\s+ces\s+jours|prossimamente|uno\s+di\s+questi\s+giorni|qualche\s+giorno"
    r"|christmas|xmas|noel|weihnachten|natale|easter|paques|ostern|pasqua|new\s+year|nouvel\s+an"
    r"|neujahr|capodanno|silvester|holidays?|vacances|ferien|feiertage?n?|ferie|vacanze"
    r"|years?|annee|jahr|jahres|anno|lunch(?:time)?|dinner|dejeuner|diner|mittagessen|pranzo"
    r"|cena|abendessen|souper|later|nachher|tantot|tout\s+a\s+l'heure|soon|bald|bientot"
    r"|presto|end\s+of\s+(?:the\s+)?day|eod|feierabend|fin\s+de\s+(?:la\s+)?journee"
    r"|fine\s+giornata"
    r"|nachsten\s+monat|il\s+mese\s+prossimo|mese\s+prossimo|later\s+today|plus\s+tard"
    r"|(?:anfang|mitte|ende|debut|mi|fin|inizio|meta|fine|early|mid|late|end\s+of|beginning\s+of"
    r"|start\s+of)[\s-]+(?:de\s+|d'|di\s+|del\s+|of\s+)?(?:" + _alternation(_MONTH) + r")"
    r"|spater|piu\s+tardi|(?<!good\s)(?:morning|afternoon|evening)|(?<!bon\s)matin"
    # parts of a day, not greetings ("bonne journée", "buona giornata")
    r"|(?<!bonne\s)(?<!belle\s)(?:journee|matinee|soiree)"
    r"|(?<!buona\s)(?<!bella\s)(?:giornata|mattinata|serata)|tagsuber|im\s+laufe\s+des\s+tages"
    r"|during\s+the\s+day|mittagspause|pause\s+de\s+midi|pausa\s+pranzo|lunch\s+break"
    r"|first\s+thing"
    r"|(?<!bon\s)apres[-\s]midi|aprem|(?<!bon\s)soir|vormittag|nachmittag|(?<!guten\s)abend"
    r"|(?<!buon\s)pomeriggio|mattina|di\s+sera|la\s+sera|(?:in|en|im|a|ad)\s+(?:"
    + _alternation(name for name in _MONTH if len(name) > 3)
    + r"))"
    + _E
)
# A month named without a day ("courant janvier", "im Laufe des Januars", "during
# February", "nel corso di marzo"): a period, asked about. Not the names that are
# other words too ("mai": Italian "never"; "sept": French "seven"; "march").
_MONTH_ALONE = re.compile(
    _W
    + r"(?:"
    + _alternation(
        name for name in _MONTH if len(name) >= 4 and name not in ("mai", "sept", "sett", "march")
    )
    + r")s?"
    + _E
    + r"(?!-)"  # "Dezember-Newsletter" is a name
)
# "en début d'après-midi": a part of the day after an elision.
_VAGUE_ELIDED = re.compile(r"(?<=[dl]')(?:apres[-\s]midi|aprem)" + _E)
# A day word with its part of the day: "demain soir", "domani sera", "tomorrow night",
# "lunedì sera", and German compounds ("Dienstagabend", "Freitagmorgen").
_DAY_WORDS_ALL = _alternation(["tomorrow", "demain", "domani", "morgen", "heute", *_WEEKDAY])
# "de l'après-midi": a part of the day may follow an apostrophe.
_PM_WORDS = re.compile(
    r"(?<![\w])(?:(?:" + _DAY_WORDS_ALL + r")(?:\s*(?:abends?|nachmittags?)|\s+(?:soir|sera|night"
    r"|evening|apres[-\s]midi|aprem|pomeriggio))"
    r"|in\s+the\s+(?:afternoon|evening)|(?<!good\s)(?:afternoon|evening)|tonight"
    r"|(?<!bon\s)apres[-\s]midi|aprem|du\s+soir|ce\s+soir|nachmittags?|(?<!guten\s)abends?"
    # after lunch: "dopo pranzo", "nach dem Mittagessen", "après le dîner" (Swiss lunch or
    # French dinner: both after noon)
     + _AFTER_LUNCH + r"|(?<!buon\s)pomeriggio|di\s+sera|la\s+sera|stasera)" + _E
)
_AM_WORDS = re.compile(
    r"(?<![\w])(?:(?:" + _DAY_WORDS_ALL + r")\s*(?:morgens?|vormittags?|fruh)"
    r"|in\s+the\s+morning|this\s+morning|(?:tomorrow|"
    + _alternation(WEEKDAYS["en"])
    + r")\s+morning|(?:demain|"
    + _alternation(WEEKDAYS["fr"])
    + r")\s+matin|du\s+matin|ce\s+matin|morgens|vormittags?"
    r"|heute\s+fruh|morgen\s+fruh|di\s+mattina|del\s+mattino|stamattina|domattina|mattina)" + _E
)


_ISO_DATE = re.compile(
    r"(?<![\w.:/-])(?P<y>\d{4})([-/.])(?P<m>\d{1,2})\2(?P<d>\d{1,2})(?![\w/]|[.:-]\d)"
)
_NUMERIC_DATE = re.compile(
    r"(?<![\w.:/+-])(?P<a>\d{1,2})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})"
    r"(?![\w/]|[.:-]\d)"
)
_DOTTED_DAY_MONTH = re.compile(r"(?<![\w.:/+-])(?P<a>\d{1,2})\.(?P<b>\d{1,2})\.(?![\w]|\d)")
# "le 3.2 à 9h", "am 3.2 um 9": without its last dot only after an article or a
# weekday, since "9.30" alone is a time.
_DOTTED_DAY_MONTH_BARE = re.compile(
    r"(?<![\w.:/+-])(?P<a>\d{1,2})\.(?P<b>\d{1,2})(?![\w]|[.:]?\d|\s?(?:uhr|h|[ap]\.?m)(?![\w]))"
)
_DATE_ARTICLE_BEFORE = re.compile(
    r"(?<![\w])(?:le|am|den|il|on|du|vom|al|dal|the|ab|des|dem)[ \t]+$"
)
# ("1/2h", "1/2 Std." are half an hour, not 1 February)
_SLASHED_DAY_MONTH = re.compile(
    r"(?<![\w.:/+-])(?P<a>\d{1,2})/(?P<b>\d{1,2})(?![\w/]|[.:-]\d)"
    # "1/2 ora" is a length; "15/12 ore 16" is a date and a time
    r"(?!\s?(?:hours?|hrs?|h|heures?|stunden?|std)(?![\w])|\s?or[ae](?![\w])(?!\s*\d))"
)
# A day of the month alone: "le 5", "le 1er", "il 5", "am 5.", "the 5th", "on the 5th".
# ("le 10" is a date in French only: Italian "le 10" is ten o'clock.)
_DAY_ONLY = re.compile(
    _W + r"(?:(?P<article>le|il)\s+(?P<d>\d{1,2})(?:er)?"
    r"(?![\w:.,']|\s*(?:h|uhr|heures?|ore|min)(?![\w]))"
    r"|(?:den|am)\s+(?P<d2>\d{1,2})\.(?!\d)"
    r"|(?:on\s+)?the\s+(?P<d3>\d{1,2})(?:st|nd|rd|th)(?![\w]))"
)
# "the first Monday of February", "le premier lundi de février", "am ersten
# Montag im Februar", "il primo lunedì di febbraio": (n, weekday) of a month.
_NTH = {
    "first": 1, "premier": 1, "erste": 1, "ersten": 1, "erster": 1, "primo": 1,
    "second": 2, "deuxieme": 2, "zweite": 2, "zweiten": 2, "zweiter": 2, "secondo": 2,
    "third": 3, "troisieme": 3, "dritte": 3, "dritten": 3, "dritter": 3, "terzo": 3,
    "fourth": 4, "quatrieme": 4, "vierte": 4, "vierten": 4, "vierter": 4,
    "last": -1, "dernier": -1, "letzte": -1, "letzten": -1, "letzter": -1, "ultimo": -1,
}  # fmt: skip
_NTH_WEEKDAY = re.compile(
    _W
    + r"(?P<nth>"
    + _alternation(_NTH)
    + r")\s+(?P<wd>"
    + _alternation(_WEEKDAY)
    + r")\s+(?:of\s+|de\s+|d'|in\s+|im\s+|di\s+|del\s+)?(?P<mon>"
    + _alternation(name for name in _MONTH if len(name) > 3)
    + r")(?![\w])(?:\s+(?P<y>\d{4})(?![\w]))?"
)
# Italian "il 22 c.m." (corrente mese): the 22nd of this month.
_THIS_MONTH_DAY = re.compile(_W + r"(?P<d>\d{1,2})\s+c\.\s?m\.")
_DAY_MONTH = re.compile(
    _W
    + r"(?P<d>\d{1,2}|primo|premier)(?:st|nd|rd|th|er|re|eme|°|º|\.)?\s*(?:of\s+|de\s+)?"
    + rf"(?P<mon>{_alternation(_MONTH)})(?![\w])\.?"
    + r"(?:,?\s*(?P<y>\d{4})(?![\w:.]|\.\d))?"
)
_MONTH_DAY = re.compile(
    _W
    + rf"(?P<mon>{_alternation(_ENGLISH_MONTHS)})\.?\s+"
    + r"(?P<d>\d{1,2})(?:st|nd|rd|th)?(?![\w:.]|\.\d)"
    + r"(?:,?\s*(?P<y>\d{4})(?![\w:.]|\.\d))?"
)
# Days with a name and a fixed date: (pattern, month, day). "Christmas" alone stays a
# vague period (see _VAGUE); its eve and day are one day.
_NAMED_DAYS = tuple(
    (re.compile(_W + pattern + _E), month, day)
    for pattern, month, day in (
        (
            r"(?:christmas|xmas)\s+eve|(?:la\s+)?veille\s+de\s+noel|heilig(?:en\s+)?abend"
            r"|(?:la\s+)?vigilia\s+di\s+natale",
            12,
            24,
        ),
        (
            r"christmas\s+day|(?:le\s+)?jour\s+de\s+noel|(?:am\s+)?ersten\s+weihnachtstag"
            r"|(?:il\s+)?giorno\s+di\s+natale",
            12,
            25,
        ),
        (
            r"new\s+year'?s\s+eve|(?:la\s+)?saint[-\s]sylvestre|silvester"
            r"|(?:la\s+)?vigilia\s+di\s+capodanno|san\s+silvestro",
            12,
            31,
        ),
    )
)
# Two-letter forms ("Mi.", "Do.") only with their dot: "do" and "so" are words
# (in German text, "Di 15.12." is read too: see `_WEEKDAY_BEFORE_GERMAN`).
_WEEKDAY_BEFORE = re.compile(
    r"(?<![\w'])(?:(?P<wd>"
    + _alternation([*_WEEKDAY, *(name for name in _WEEKDAY_SHORT if len(name) > 2)])
    + r")\.?|(?P<wd2>"
    + _alternation(name for name in _WEEKDAY_SHORT if len(name) == 2)
    + r")\.)[\s,]*(?:(?:le|the|den|dem|am|il|on)\s+)?$"
)
_WEEKDAY_BEFORE_GERMAN = re.compile(
    r"(?<![\w'])(?P<wd>"
    + _alternation([*_WEEKDAY, *_WEEKDAY_SHORT])
    + r")\.?[\s,]*(?:(?:den|dem|am)\s+)?$"
)
# A short weekday alone ("Fri 2pm", "am Fr um halb 4", "Di oder Mi um 10") counts
# only before a time, a day number or another weekday, since "mar", "sun", "so"
# and "do" are words too.
# The patterns matched right after a word or a number start with a lookbehind
# that lets them start only there: searched through a long run of spaces, they
# would otherwise start at every one of them (quadratic in the run's length).
_SHORT_WEEKDAY_FOLLOWERS = re.compile(
    r"(?<![\s,])[\s,]*(?:\d|(?:at|a|um|alle|ore|ab|gegen|vers|verso|h|or|oder|ou|o|and|und|et|e|bis|to)\s"
    r"|-|morning|afternoon|evening|vormittags?|nachmittags?|morgens?|abends?|fruh|matin"
    r"|half|quarter|halb|viertel|dreiviertel|noon|midday|midi|mittags?|mezzogiorno"
    r"|apres-midi|soir|mattina|pomeriggio|sera)"
)
# Short weekdays that are read in any language (Swiss senders mix them).
_SHORT_WEEKDAYS_ANYWHERE = _words("mon tue tues thu thur thurs fri")
# A day number after a weekday: "Friday 18th", "vendredi 18 à 16h", "lun 14 alle 9".
_DAY_AFTER_WEEKDAY = re.compile(
    r"(?<![\s,])[\s,]+(?:(?:the|le|den|il)\s+)?(?P<d>\d{1,2})(?P<suffix>st|nd|rd|th|er|°|º)?(?![\w:°º]|[.,]\d)"
)
# A number after a weekday is that day of the month ("vendredi 18", "gio 24) alle 10")
# unless it is a time itself ("Friday 3 pm", "Freitag 10 Uhr", "venerdì 10 e mezza",
# "Thursday 10-11").
_NOT_A_DAY_AFTER = re.compile(
    r"(?<!\s)(?:\s?(?:[ap]\.?m(?![\w])|uhr|h(?![\w])|heures?|o'clock|ore(?![\w])|hrs?(?![\w])"
    r"|e\s+(?:mezz|un\s+quarto|quarto|trenta)|et\s+(?:demie?|quart)|meno|moins)"
    r"|\s*(?:-|to|bis)\s*\d{1,2}(?![\d:h]))"
)
_TIME_AFTER_DAY = re.compile(
    r"(?<![\s,).])\.?[\s,)]*(?:(?:at|a|alle|ore|um|ab|gegen|vers|verso|dalle|from|de|des|von|h|dans|in)\s"
    r"|\d{1,2}(?:[:.h]\d\d|\s?(?:h|uhr|[ap]\.?m)(?![\w])))"
)


_AMPM = r"(?P<ampm>[ap])\.?\s?m\.?(?![\w])"
_STRONG_TIMES = (
    # 14:00, 9:30 am, 09:00 Uhr, 9:00 h
    re.compile(
        r"(?<![\w:.,])(?P<h>\d{1,2}):(?P<m>\d{2})(?::\d{2})?"
        r"(?:\s?" + _AMPM + r"|\s?(?:uhr|h)(?![\w]))?(?![:\d])"
    ),
    # 9am, 9.30 pm, 9 a.m.
    re.compile(r"(?<![\w:.,])(?P<h>\d{1,2})(?:[.:](?P<m>\d{2}))?\s?" + _AMPM),
    # 9 Uhr, 9.30 Uhr, 9 Uhr 30
    re.compile(
        r"(?<![\w:.,])(?P<h>\d{1,2})(?:[.:](?P<m>\d{2}))?\s?uhr(?:\s(?P<m2>\d{2})(?!\d))?(?![\w])"
    ),
    # 14h, 14h30, 14 h 30 (also a duration: decided by `_h_form_is_duration`)
    # (and "1h e 15", "1h et 15 min" at the end of a phrase: the minutes too)
    re.compile(
        r"(?<![\w:.,])(?P<h>\d{1,2})\s?h(?:\s?(?P<m>\d{2})(?!\s?(?:min|')))?(?![\w])"
        r"(?:\s(?:e|et|and|und)\s(?P<m3>[0-5]?\d)(?:\s?(?:min|minuti|minutes|minuten|'))?"
        r"(?=[ \t]*(?:[.,;!)]|\n|$)))?"
    ),
    # 14 heures, 14 heures 30 (also a duration)
    re.compile(r"(?<![\w:.,])(?P<h>\d{1,2})\s?heures?(?:\s(?P<m>\d{2})(?!\s?min))?(?![\w])"),
    re.compile(r"(?<![\w:.,])(?P<h>\d{1,2})(?:[.:](?P<m>\d{2}))?\s?o'clock(?![\w])"),
    # Swiss German "am 10i", "am 2i" (after "am", "um"...: see clock._strong_time)
    re.compile(r"(?<![\w:.,])(?P<h>\d{1,2})i(?![\w])"),
)
_SWISS_HOUR_FORM = len(_STRONG_TIMES) - 1
# Quarter and half hours in words: (pattern, minute, hours to add to the number).
# "halb 4" is 3:30 and "Viertel vor 4" 3:45 (German counts towards the next hour).
_HOUR_WORDS = {
    **{word: value for word, value in NUMBER_WORDS.items() if value <= 12},
    "una": 1,
}
_N = r"(?:(?P<h>\d{1,2})(?![\d:])|(?P<hw>" + _alternation(_HOUR_WORDS) + r")(?![\w]))"
_N_AMPM = _N + r"(?:\s?(?P<ampm>[ap])\.?\s?m\.?)?"
_N_UHR = _N + r"(?:\s?uhr)?"
_CLOCK_WORDS: tuple[tuple[re.Pattern[str], int, int], ...] = tuple(
    (re.compile(r"(?<![\w])" + pattern + r"(?![\w:]|[.,]\d)"), minute, shift)
    for pattern, minute, shift in (
        (r"halb\s+" + _N_UHR, 30, -1),
        (r"(?:viertel\s+vor|dreiviertel|drei\s+viertel)\s+" + _N_UHR, 45, -1),
        # Swiss "Viertel ab 2" is "Viertel nach 2"
        (r"viertel\s+(?:nach|ab)\s+" + _N_UHR, 15, 0),
        # Austrian and eastern German "viertel 3" is 2:15, as "dreiviertel 3" is 2:45
        (r"(?<!drei\s)viertel\s+" + _N_UHR, 15, -1),
        (r"half\s+past\s+" + _N_AMPM, 30, 0),
        (r"(?:a\s+)?quarter\s+(?:past|after)\s+" + _N_AMPM, 15, 0),
        (r"(?:a\s+)?quarter\s+(?:to|of|before)\s+" + _N_AMPM, 45, -1),
        (_N + r"\s?h(?:eures?)?\s+et\s+demie?", 30, 0),
        (_N + r"\s?h(?:eures?)?\s+et\s+quart", 15, 0),
        (_N + r"\s?h(?:eures?)?\s+moins\s+(?:le\s+)?quart", 45, -1),
        (_N + r"(?:\s+ore)?\s+e\s+(?:mezz[ao]|trenta)", 30, 0),
        (_N + r"(?:\s+ore)?\s+e\s+(?:un\s+)?quarto", 15, 0),
        (_N + r"(?:\s+ore)?\s+meno\s+(?:un\s+)?quarto", 45, -1),
    )
)
# Minutes counted around an hour or a half hour: "fünf vor halb elf" (10:25),
# "zehn nach drei" (3:10), "twenty past four", "trois heures moins dix" (2:50),
# "le tre meno dieci" (2:50). English "ten to three" is left out: "to" is a range.
_MINUTE_WORDS = {
    "funf": 5, "zehn": 10, "zwanzig": 20, "five": 5, "ten": 10, "twenty": 20,
    "twenty-five": 25, "cinq": 5, "dix": 10, "vingt": 20, "vingt-cinq": 25,
    "cinque": 5, "dieci": 10, "venti": 20, "venticinque": 25,
}  # fmt: skip
_MM = r"(?P<mm>\d{1,2}|" + _alternation(_MINUTE_WORDS) + r")"
_MINUTES_AROUND: tuple[tuple[re.Pattern[str], int], ...] = tuple(
    (re.compile(r"(?<![\w:.,])" + pattern + r"(?![\w:]|[.,]\d)"), sign)
    for pattern, sign in (
        (_MM + r"\s+(?:minuten\s+)?vor\s+(?P<half>halb\s+)?" + _N_UHR, -1),
        (_MM + r"\s+(?:minuten\s+)?nach\s+(?P<half>halb\s+)?" + _N_UHR, 1),
        (_MM + r"\s+(?:minutes\s+)?(?:past|after)\s+" + _N_AMPM, 1),
        (_N + r"\s?h(?:eures?)?\s+moins\s+" + _MM, -1),
        (_N + r"(?:\s+ore)?\s+meno\s+" + _MM + r"(?:\s+minuti)?", -1),
        # "alle 7 e 45": minutes added to the hour, only after "alle", "ore"...
        (_N + r"(?:\s+ore)?\s+(?P<plus>e)\s+(?P<mm>[0-5]\d|[1-9])(?:\s+minuti)?", 1),
    )
)
# "midi et demi", "mezzogiorno e un quarto", "Mittag" is not a time (lunch).
_NAMED_CLOCK_WORDS = re.compile(
    _W
    + r"(?P<word>midi|minuit|mezzogiorno|mezzanotte|noon|midnight)\s+(?:"
    + r"(?P<half>et\s+demie?|e\s+mezz[ao])|(?P<quarter>et\s+quart|e\s+(?:un\s+)?quarto)"
    + r"|(?P<before>moins\s+(?:le\s+)?quart|meno\s+(?:un\s+)?quarto))"
    + _E
)
# An hour in words: "zehn Uhr", "dix heures", "ten o'clock"; after "um", "alle",
# "ore", "à", "at": "um zehn", "alle dieci", "at ten".
_WORD_HOUR = re.compile(
    r"(?:(?<![\w])(?P<marker>um|alle|ore|at|vers|gegen|verso)\s+)?"
    + r"(?<![\w'])(?P<word>"
    + _alternation(word for word, value in NUMBER_WORDS.items() if value <= 24)
    + r")(?:\s?(?P<unit>uhr|heures?|o'clock|h)(?![\w]))?(?![\w'])"
)
_WORD_HOUR_AFTER = re.compile(r"[ \t]*(?:[,.;!?)]|$|\n|[ap]\.?m(?![\w])|(?:tomorrow|today|on)\s)")
_MILITARY_TIME = re.compile(
    r"(?<![\w:.,])(?P<h>[01]\d|2[0-3])(?P<m>[0-5]\d)\s?(?:hrs|hours|h|uhr)(?![\w])"
)
_HALF_ENGLISH = re.compile(r"(?<![\w])half\s+" + _N + r"(?![\w:]|[.,]\d)")
# German "Mittag" is noon after a day: "morgen Mittag", "am Freitag zu Mittag".
_NOON_GERMAN = re.compile(r"(?<![\w])(?:(?:am|zu|um|z')\s*)?mittags?(?![\w])")
_DAY_BEFORE_NOON = re.compile(
    r"(?:heute|morgen|ubermorgen|"
    + _alternation(WEEKDAYS["de"])
    + r"|mo|di|mi|do|fr|sa|so|\d\.)\.?[\s,]*$"
)
# Italian "all'una" (one o'clock; "alle" elides before "una").
_ALL_UNA = re.compile(r"(?<![\w'])(?:all'|(?:verso|per|entro)\s+l')\s?una(?![\w'])")
# Italian "h 10", "h. 14.30": the hour after its sign.
_H_BEFORE = re.compile(r"(?<![\w])h\.?\s?(?P<h>\d{1,2})(?:[.:](?P<m>\d{2}))?(?![\w:]|[.,]\d)")
_NAMED_TIMES = re.compile(
    _W + r"(?P<word>noon|midday|midnight|(?<!apres-)(?<!apres )midi|minuit|mezzogiorno"
    r"|mezzanotte|mitternacht)" + _E
)
_NAMED_TIME_VALUES = {
    "noon": 12, "midday": 12, "midi": 12, "mezzogiorno": 12,
    "midnight": 0, "minuit": 0, "mezzanotte": 0, "mitternacht": 0,
}  # fmt: skip
# A clock time anywhere: after one, a small "1h" or "2h30" is a length.
_CLOCK_TIME = re.compile(
    r"\d(?:[:.h]\d\d|\s?h(?![\w])|\s?uhr|\s?[ap]\.?m)"
    r"|(?<![\w])(?:a|at|um|alle|ore|verso\s+le|per\s+le)\s+\d"
)
_WEAK_TIME = re.compile(r"(?<![\w:.,/+])(?P<h>\d{1,2})(?:[.:](?P<m>\d{2}))?(?![\w:/]|[.,]\d)")
_START_MARKER = re.compile(
    r"(?:^|[\s(,;])(?:at|@|a|um|gegen|ab|alle|ore|alle\s+ore|verso|verso\s+le|per\s+le|vers|starting\s+at"
    r"|starts?\s+at|start|beginn|debut|inizio|time|heure|zeit|uhrzeit|orario|ora)[\s:]*$"
)
# Words after which a number is a time whatever follows it ("um 2 bitte").
_SURE_START = re.compile(
    r"(?:^|[\s(,;])(?:um|alle|ore|alle\s+ore|gegen|verso|verso\s+le|per\s+le|vers|vers\s+les|bis|until"
    r"|around|round|sulle|intorno\s+alle"
    r"|jusqu'a|fino\s+alle)\s*$"
)
_COUNTED = _words(
    """
    people persons participants colleagues guests slides points pages items topics minutes
    hours personnes participants collegues invites points pages sujets minutes heures
    leute personen teilnehmer teilnehmende kollegen gaste punkte seiten themen minuten stunden
    persone partecipanti colleghi ospiti punti pagine temi minuti ore
    """
)
_FRENCH_A_BEFORE = re.compile(r"(?:^|[\s(,;])à\s*$")
_OR_AFTER_TIME = re.compile(
    r"(?:\d(?:[:.]\d\d|\s?(?:h|uhr|[ap]\.?m\.?))|(?<![\w])(?:at|um|alle|ore|a)\s+\d{1,2})"
    r"\s+(?:or|ou|oder|o|oppure)\s+(?:(?:at|a|um|alle)\s+)?$"
)
_END_MARKER = re.compile(
    r"(?:^|[\s(,;])(?:until|till|til|to|bis|jusqu'a|jusqu a|jusqu'aux?|fino\s+alle(?:\s+ore)?"
    r"|fino\s+a|ends?\s+at|ending\s+at|finishing\s+at|end|fin|ende|fine|con\s+termine\s+alle"
    r"|termine\s+alle|schluss\s+um|fin\s+a|se\s+termine\s+a|fino\s+all'|fino\s+alle\s+ore"
    # "fin prévue à 10h45", "Ende geplant um 11", "fine prevista alle 12", "ends around 5"
    r"|(?:fin|ende|fine|end)\s+(?:prevue|prevista|geplant|planned|expected|vorgesehen)"
    r"\s+(?:a|vers|um|gegen|alle|at|around)|(?:ends?|finish(?:es)?)\s+(?:around|by|about)"
    r"|(?:ende|schluss)\s+(?:um|gegen))[\s:]*$"
)
_RANGE_OPENER = re.compile(
    r"(?:^|[\s(,;])(?:from|de|des|von|dalle(?:\s+ore)?|between|entre|zwischen|tra\s+le|fra\s+le"
    r"|tra|fra)\s*$"
)
_RANGE_GAP = re.compile(
    r"^\s*(?:-+>?|to|till|until|a|au|bis|alle|and|et|und|e)\s*(?:(?:le|ore|les)\s+)?$"
)
_WEAK_FOLLOWERS = _words(
    """
    to and et und e a au bis alle till until del di de du in am on at sharp pile precise
    please pls then if we i you so tomorrow today tonight ok okay works is would
    domani oggi demain heute
    precises genau ca circa environ etwa or ou oder o for pour fur per fino jusqu'a jusqu
    pendant durant with avec mit con sans ohne senza without right just after before
    """
)
# Matched right after a number; the lookbehind keeps a search from starting
# inside a run of spaces (quadratic in the run's length).
_PART_OF_DAY_AFTER = re.compile(
    r"(?<!\s)\s+(?:in\s+the\s+(?:morning|afternoon|evening)|at\s+night|du\s+matin|de\s+l'apres-midi"
    r"|de\s+l'aprem"
    r"|du\s+soir|morgens|vormittags|nachmittags|abends|di\s+mattina|del\s+mattino"
    r"|del\s+pomeriggio|di\s+sera|della\s+sera)(?![\w])"
)
_DURATION_MARKER = re.compile(
    r"(?:^|[\s(,;])(?:for|pour|pendant|durant|fur|wahrend|per|durata|duree|dauer|duration"
    r"|length|lange|lasting|takes?|dure|durera|dauert|dura|durera|environ|etwa|about|circa|ca"
    r"|approx|approximately|faudra|faut|prevoir|prevoyez|prevedere|prevedete|prevedi|compter"
    r"|compte|comptez|block|blocken|einplanen|planen|plan|reserve|reservieren|riservare|serve"
    r"|servono|need|needs|max|maximum|massimo|hochstens|bloquer|bloque"
    # "pour une durée de 2 heures", "Dauer von 2 Stunden", "a length of 2 hours"
    r"|(?:duree|durata|dauer|duration|length)\s+(?:de|d'|di|von|of))[\s:.]*$"
)


_HALF = (
    r"(?:(?P<half>and\s+a\s+half|and\s+half|et\s+demie?|und\s+eine?\s+halbe|e\s+mezz[ao])"
    r"|(?P<quarter>and\s+a\s+quarter|et\s+(?:un\s+)?quart|und\s+eine?\s+viertel"
    r"|e\s+(?:un\s+)?quarto))"
)
_HOUR_UNITS = r"hours?|hrs?|hr|h|stunden?|std\.?|heures?|ore|ora"
_MINUTE_UNITS = r"minutes?|mins?|min\.?|minuten|minuti|m(?![\w])|'"
_DURATIONS = (
    # Before "a half hour", which "one and a half hour" holds.
    (
        re.compile(
            _W + r"(?:(?:an\s+)?hour\s+and\s+a\s+half|one\s+and\s+a\s+half\s+hours?"
            r"|anderthalb\s+stunden?|eineinhalb\s+stunden?|un'\s?ora\s+e\s+mezz[ao])" + _E
        ),
        90,
    ),
    (re.compile(_W + r"(?:two\s+and\s+a\s+half\s+hours?|zweieinhalb\s+stunden?)" + _E), 150),
    (re.compile(_W + r"(?:three\s+and\s+a\s+half\s+hours?|dreieinhalb\s+stunden?)" + _E), 210),
    # half an hour, une demi-heure, eine halbe Stunde, mezz'ora, quarters
    (
        re.compile(
            _W + r"(?:half\s+an\s+hour|a\s+half[-\s]hour|half[-\s]hour|une\s+demi[-\s]heure"
            r"|demi[-\s]heure|eine\s+halbe\s+stunde|halbe\s+stunde|einer\s+halben\s+stunde"
            r"|halben\s+stunde|halbi\s+stund|e\s+halbi\s+stund|mezz'\s?ora|mezzora|mezz\s+ora"
            r"|mezza\s+ora)"
            + _E
            # "1/2h", "1/2 heure", "½ Std."
            + r"|(?<![\w/.])(?:1/2|½)\s?(?:hours?|hrs?|h|heures?|stunden?|std|ora)(?![\w/])"
        ),
        30,
    ),
    # Swiss German "e Stund", "ei Stund" (one hour)
    (re.compile(_W + r"(?:e|ei|eis)\s+stund" + _E), 60),
    (
        re.compile(
            _W + r"(?:a\s+quarter\s+of\s+an\s+hour|quarter\s+of\s+an\s+hour"
            r"|un\s+(?:petit\s+|bon\s+)?quart\s+d'heure"
            r"|eine\s+viertelstunde|viertelstunde|un\s+quarto\s+d'ora)" + _E
        ),
        15,
    ),
    (
        re.compile(
            _W + r"(?:three\s+quarters\s+of\s+an\s+hour|trois\s+quarts\s+d'heure"
            r"|dreiviertelstunde|eine\s+dreiviertelstunde|tre\s+quarti\s+d'ora)" + _E
        ),
        45,
    ),
)
# Not after "/": "15/12 ore 16" is a date and a time, not a length of 12 h 16.
_HOURS_DURATION = re.compile(
    r"(?<![\w'.:,/])(?P<n>\d{1,2}(?:[.,]\d{1,2})?|a|an|one|two|three|four|une?|deux|trois|quatre"
    r"|eine?|einer|zwei|drei|vier|una?|uno|un'|due|tre|quattro)\s?-?\s?(?P<unit>"
    + _HOUR_UNITS
    + r")"
    r"(?![\w])(?:\s*"
    + _HALF
    + r"|\s*(?:and|et|und|e)?\s*(?P<m>\d{1,2})\s?(?:"
    + _MINUTE_UNITS
    + r")?(?![\w:]))?"
)
_MINUTES_DURATION = re.compile(
    r"(?<![\w'.:,])(?P<n>\d{1,3})\s?-?\s?(?:" + _MINUTE_UNITS + r")(?![\w'])"
)
# "septante-cinq minutes", "forty-five minutes", "fünfundvierzig Minuten"
# (a word, or two with "et" between: checked against language.NUMBER_WORDS in
# code, which is cheaper than an alternation of its 800 forms)
_WORD_MINUTES = re.compile(
    r"(?<![\w'-])"  # not inside "a-a-a-...": every start would read to the run's end
    + r"(?P<n>(?:[a-z][a-z-]*\s(?:et\s)?)?[a-z][a-z-]*)\s?(?:minutes?|mins?|min|minuten|minuti)"
    + r"(?![\w])"
)
_OFFSET_BEFORE = re.compile(r"(?:^|[\s(,;])(?:in|dans|tra|fra|within)\s+$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)])\s")
_DURATION_LINE_WORDS = _words(
    """
    duration length duree dauer lange durata for pour fur per about approx approximately
    environ etwa circa ca max maximum the meeting call la reunion die besprechung il la
    riunione of de von di it takes will take take dure durera dauert dura durera
    """
)
# Words that change a time or a length and must not be left over: a quarter or a
# half before a number the clock words did not read ("Viertel über 2"), a length
# cue before a number the lengths did not read ("durata 1 ora e mezza").
_LEFT_OVER = re.compile(
    _W
    + r"(?:(?:viertel|dreiviertel|halb|quarter|half|quart|quarto|mezz[ao])"
    + r"(?:\s+(?:nach|vor|ab|uber|past|to|after|before|of|de|d'|di))?"
    + r"|(?:durata|duree|dauer|duration|length|lunghezza|longueur)(?:\s*:)?"
    + r"(?:\s+(?:de|di|von|of|ca\.?|circa|environ|etwa|about|approx\.?|d'environ))?)"
    + r"\s+(?P<n>\d|(?:one|two|three|une?|deux|trois|eine?|zwei|drei|una?|due|tre)(?![\w']))"
)
# Farewells are no time: "à tout à l'heure", "à tantôt", "see you later", "bis
# später", "a più tardi" close a request for now as well as one for later.
_FAREWELLS = re.compile(
    r"(?:(?<![\s\S])|(?<=[.!?,;:\n])|(?<=[.!?,;:\n][ \t]))"  # at the start of a phrase
    r"(?:a\s+(?:tout\s+a\s+l'heure|tantot|plus\s+tard|plus|bientot)"
    r"|see\s+you\s+(?:later|soon|then)|talk\s+(?:to\s+you\s+)?soon|speak\s+soon"
    r"|bis\s+(?:spater|bald|nachher|gleich)|a\s+(?:piu\s+tardi|dopo|presto))"
    r"(?=[ \t]*(?:[!.,;:)]|\n|$))"  # and at its end
)
# A bare number after "for", "pour", "für", "per" ("a room for 11 please"): an hour
# or a length, asked about (not "for 11 people": see reading.find_when).
_FOR_NUMBER = re.compile(
    r"(?<![\w])(?:for|pour|fur|per)\s+(?P<n>\d{1,2}(?:[.:]\d\d)?)(?![\w:/]|[.,]\d)"
)
_FOR_NUMBER_FOLLOWERS = _words(
    """
    please pls plz thanks thx thank bitte danke merci svp stp grazie prego today tomorrow
    heute morgen aujourd'hui demain oggi domani ok okay if si wenn
    """
)
_NOW_WORDS = re.compile(
    _W + r"(?:now|right\s+away|immediately|asap|maintenant|tout\s+de\s+suite|immediatement"
    r"|jetzt|sofort|gleich|subito|adesso|ora\s+stesso|immediatamente)"
    + _E
    # "subito dopo pranzo", "right after lunch", "gleich nach dem Essen" are no now
    + r"(?!\s+(?:dopo|prima|after|before|nach|vor|apres|avant))"
)
