"""Compose the bridge's answers to a requester (design.md, "The reply").

Pure functions: everything, the clock included, comes in as arguments, and the
result is an `EmailMessage` ready for the mailer. Values taken from the incoming
message or the meeting are never trusted: they are folded to one line before
they reach a header, and escaped before they reach the HTML part.

A reply is written in one of models.LANGUAGES (`WORDING`; any other language is
answered in English), dates included; problems the bridge names by a code are
worded from the same table (`problem_text`).
"""

from __future__ import annotations

import hashlib
import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Parameters, vRecur

from . import headers, recurrence
from .models import CancelledMeeting, EventProblem, MeetingRequest, PlannedMeeting, Room
from .recurrence import Plural, join_list, plural

# Headers are folded only past 998 characters (RFC 5322's hard limit): at 78, the
# email package moves a long Message-ID to a continuation line of its own, which
# some clients fail to thread on.
REPLY_POLICY = policy.SMTP.clone(max_line_length=998)

PRODID = "-//kmeet-bridge//kMeet reply//EN"
# Longer subjects are cut: nobody reads them, and the reply's header stays sane.
_MAX_SUBJECT = 200
# Echo at most this many ids of a long thread (the first and the most recent),
# as RFC 5322 allows, so a hostile References header cannot bloat the reply.
_MAX_REFERENCES = 20
_ALREADY_A_REPLY = re.compile(r"re\s*:", re.IGNORECASE)
# VTIMEZONE rules are generated for this margin around the meeting: enough for
# any calendar to place it, small enough to keep the attachment short.
_TIMEZONE_MARGIN = timedelta(days=366)
# A series may run for years: its zone's rules are given for ten of them, so a
# calendar that trusts the attachment's VTIMEZONE keeps summer time right.
_SERIES_TIMEZONE_SPAN = timedelta(days=3653)


@dataclass(frozen=True)
class Wording:
    """Everything a reply says in one language. Templates name their fields.

    Dates are written from recurrence.WORDING's names and day numbers (one
    source for both modules), never through the process locale, so a reply
    reads the same on every host.
    """

    # "{label}: {value}" as the language punctuates it (French: a no-break
    # space before the colon).
    colon: str
    day: str  # {weekday}, {date}: a day with its weekday
    same_day: str  # {day}, {start}, {end}: a meeting within one day
    across_days: str  # {day}, {start}, {end_day}, {end}
    at_utc: str  # {day}, {time}: a cancelled occurrence, in UTC
    # Kept as "Re: " in every language: it is what keeps replies threaded in
    # every client, whatever its own language.
    reply_prefix: str
    no_subject: str
    # The opening sentence, chosen by what the message asked for.
    planned_one: str
    planned_many: str  # {count}
    cancelled_one: str
    cancelled_many: str  # {count}
    rejected: str
    rejected_many: str  # {count}
    mixed: str  # {count}: planned, cancelled and unplannable events together
    links_changed: Plural  # {titles}: said up front when a list holds a new link
    quoted: str  # {title}, as links_changed names it
    # One sentence per PlannedMeeting.status.
    status: dict[str, str]
    replanned_why: str
    replanned_old: str  # {url}
    replanned_old_unknown: str
    changed: str
    change_labels: dict[str, str]  # by Change.what
    change: str  # {label}, {before}, {after}
    series: str  # {rule}: recurrence.describe_rule's phrase
    next_occurrence: str  # {when}
    occurrences_left: Plural  # {n}, the next occurrence included
    join: str
    join_new: str
    # {password}: a password-protected room's password, sent to the requester only.
    password: str
    # A room with end-to-end encryption: which guests must change browser.
    e2ee: str
    # Cancellations.
    cancelled: str  # {title}
    cancelled_occurrence: str  # {title}, {when}
    room_removed: str
    room_unneeded: str  # {url}
    series_room_kept: str  # {url}
    no_room: str
    # Events that could not be planned.
    not_planned: str  # {subject}
    reason: str
    hint: str
    # Problems the bridge names by EventProblem.code: (reason, hint) templates.
    # {where} is a `place_*` phrase or "", {detail} the colon and the detail or
    # "", {hours} an `hours` phrase (see problem_text).
    problems: dict[str, tuple[str, str]]
    # Where an unreadable calendar was, with its preposition.
    place_named: str  # {name}: the attachment's file name
    place_attachment: str
    place_inline: str
    place_forwarded: str  # {place}: one of the above, inside a forwarded message
    place_other: str  # {where}: a place worded elsewhere, shown as it came
    hours: Plural  # {n}
    decimal_separator: str
    # French counts below two as singular ("1,5 heure"); the others only one.
    singular_below_two: bool
    calendar_one: str  # {filename}
    calendar_many: str
    ics_description: str  # {url}: the first line of the .ics DESCRIPTION
    signature: str


NBSP = "\u00a0"

WORDING: dict[str, Wording] = {
    "en": Wording(
        colon=": ",
        day="{weekday} {date}",
        same_day="{day}, {start}–{end}",
        across_days="{day}, {start} – {end_day}, {end}",
        at_utc="{day}, {time} (UTC)",
        reply_prefix="Re: ",
        no_subject="your kMeet request",
        planned_one="Your kMeet conference is planned.",
        planned_many="Your {count} kMeet conferences are planned.",
        cancelled_one="Your cancellation is noted.",
        cancelled_many="Your {count} cancellations are noted.",
        rejected="Your message could not be turned into a kMeet conference.",
        rejected_many=(
            "None of the {count} events in your message could be turned into a kMeet conference."
        ),
        mixed="Here is what became of the {count} events in your message.",
        links_changed=(
            "Please note: the link for {titles} has changed.",
            "Please note: the links for {titles} have changed.",
        ),
        quoted="“{title}”",
        status={
            "new": "Your kMeet conference is planned.",
            "unchanged": "This meeting was already planned: here is the same link again.",
            "updated": "This meeting has changed; it keeps the same link.",
            "replanned": "The link has changed: please use the new link below.",
            "occurrence": (
                "This occurrence of the series uses the series' room:"
                " the link is the same as for the other occurrences."
            ),
        },
        replanned_why=(
            "The meeting now ends after the old room's settings expire, so it has a new room."
        ),
        replanned_old=(
            "The old link {url} no longer carries this meeting's settings;"
            " if you shared it, please pass on the new link instead."
        ),
        replanned_old_unknown=(
            "The old link no longer carries this meeting's settings;"
            " if you shared it, please pass on the new link instead."
        ),
        changed="What changed:",
        change_labels={"time": "Time", "title": "Title"},
        change="{label}: {before} → {after}",
        series="Repeats {rule}",
        next_occurrence="Next occurrence: {when}",
        occurrences_left=(
            "This is the last occurrence of the series.",
            "{n} occurrences are left, the next one included.",
        ),
        join="Join",
        join_new="New link",
        password="Password: {password} (sent to you only: pass it on to the people you invite)",
        e2ee=(
            "Guests using Firefox, Safari or a phone browser should join with the kMeet app or a Chromium-based browser (Chrome, Edge, Brave): the meeting is end-to-end encrypted."
        ),
        cancelled="Cancelled: {title}",
        cancelled_occurrence="Cancelled: {title}, the occurrence of {when}",
        room_removed="The kMeet room was removed.",
        room_unneeded="The room link {url} is no longer needed; there is nothing else to do.",
        series_room_kept=(
            "The other occurrences keep the link {url} as before; there is nothing else to do."
        ),
        no_room="No kMeet room was planned for it, so there is nothing to remove.",
        not_planned="Not planned: {subject}",
        reason="What went wrong",
        hint="How to fix it",
        problems={
            "all_day": (
                "The event lasts all day; a video conference needs a start and an end time.",
                "Give the event a start and an end time in your calendar program"
                " and send the invitation again.",
            ),
            "ended": (
                "The event has already ended.",
                "Check the date of the event; only meetings that are still to come can be planned.",
            ),
            "series_ended": (
                "The repeating event is over: all its occurrences have ended.",
                "Check the dates of the series;"
                " only meetings that are still to come can be planned.",
            ),
            "unreadable": (
                "The calendar{where} could not be read{detail}",
                "Export the event from your calendar program again and forward the invitation"
                " unchanged (or attach the .ics file it produces).",
            ),
            "end_before_start": (
                "The event ends before or when it starts.",
                "Give the event a start and an end time in your calendar program"
                " and send the invitation again.",
            ),
            "no_start": (
                "The event has no start time (DTSTART).",
                "Give the event a start and an end time in your calendar program"
                " and send the invitation again.",
            ),
            "bad_rule": (
                "The event repeats by a rule that cannot be used{detail}",
                "Check how the event repeats in your calendar program"
                " and send the invitation again.",
            ),
            "api_refused": (
                "kMeet refused to plan the meeting{detail}",
                "Check the times and the title of the invitation and send it again.",
            ),
            "retry_exhausted": (
                "Planning the meeting kept failing for {hours}{detail}",
                "Please send the request again later.",
            ),
            "too_deep": (
                "The message holds forwarded messages nested more than {limit} deep.",
                "Forward the invitation itself, or attach its .ics file.",
            ),
            "too_large": (
                "The calendar{where} is {size} KiB, more than the {limit} KiB read here.",
                "Send the invitation of this one meeting only, not a whole calendar export.",
            ),
            "too_many_events": (
                "The message holds {count} events, more than the {limit} planned from one message.",
                "Send the meetings that need a kMeet room one by one.",
            ),
            "message_too_large": (
                "The message is {size} MiB, more than the {limit} MiB read here.",
                "Send the invitation again without large attachments.",
            ),
            "sender_rate_limited": (
                "You have planned {limit} rooms within the last hour, the most allowed.",
                "Please send your request again after {after}.",
            ),
            "daily_rate_limited": (
                "{limit} rooms have been planned within the last 24 hours, the most allowed.",
                "Please send your request again after {after}.",
            ),
            "internal": (
                "An internal error occurred in kmeet-bridge.",
                "Please send the message again later;"
                " if the problem persists, contact your IT support.",
            ),
        },
        place_named='in the attachment "{name}"',
        place_attachment="in the attachment",
        place_inline="in the inline part",
        place_forwarded="{place} of the forwarded message",
        place_other="in {where}",
        hours=("{n} hour", "{n} hours"),
        decimal_separator=".",
        singular_below_two=False,
        calendar_one="To add it to your calendar, open the attached {filename}.",
        calendar_many="To add them to your calendar, open the attached .ics files.",
        ics_description="kMeet: {url}",
        signature="This message was sent automatically by kmeet-bridge.",
    ),
    # French as written in Switzerland and France alike: a no-break space before
    # ":", ";", "?" and "!", typographic apostrophes, guillemets.
    "fr": Wording(
        colon=f"{NBSP}: ",
        day="{weekday} {date}",
        same_day="{day}, {start}–{end}",
        across_days="{day}, {start} – {end_day}, {end}",
        at_utc="{day}, {time} (UTC)",
        reply_prefix="Re: ",
        no_subject="votre demande kMeet",
        planned_one="Votre visioconférence kMeet est planifiée.",
        planned_many="Vos {count} visioconférences kMeet sont planifiées.",
        cancelled_one="Votre annulation a bien été prise en compte.",
        cancelled_many="Vos {count} annulations ont bien été prises en compte.",
        rejected="Votre message n’a pas pu être transformé en visioconférence kMeet.",
        rejected_many=(
            "Aucun des {count} événements de votre message n’a pu être transformé"
            " en visioconférence kMeet."
        ),
        mixed="Voici ce qu’il est advenu des {count} événements de votre message.",
        links_changed=(
            f"Attention{NBSP}: le lien de la réunion {{titles}} a changé.",
            f"Attention{NBSP}: les liens des réunions {{titles}} ont changé.",
        ),
        quoted=f"«{NBSP}{{title}}{NBSP}»",
        status={
            "new": "Votre visioconférence kMeet est planifiée.",
            "unchanged": (
                f"Cette réunion était déjà planifiée{NBSP}: voici à nouveau le même lien."
            ),
            "updated": f"Cette réunion a été modifiée{NBSP}; elle garde le même lien.",
            "replanned": (f"Le lien a changé{NBSP}: veuillez utiliser le nouveau lien ci-dessous."),
            "occurrence": (
                f"Cette date de la série utilise la salle de la série{NBSP}:"
                " le lien est le même que pour les autres dates."
            ),
        },
        replanned_why=(
            "La réunion se termine désormais après l’expiration des réglages de l’ancienne"
            f" salle{NBSP}; elle a donc une nouvelle salle."
        ),
        replanned_old=(
            f"L’ancien lien {{url}} ne porte plus les réglages de cette réunion{NBSP};"
            " si vous l’avez communiqué, veuillez transmettre le nouveau lien à la place."
        ),
        replanned_old_unknown=(
            f"L’ancien lien ne porte plus les réglages de cette réunion{NBSP};"
            " si vous l’avez communiqué, veuillez transmettre le nouveau lien à la place."
        ),
        changed=f"Ce qui a changé{NBSP}:",
        change_labels={"time": "Horaire", "title": "Titre"},
        change=f"{{label}}{NBSP}: {{before}} → {{after}}",
        series="Se répète {rule}",
        next_occurrence=f"Prochaine date{NBSP}: {{when}}",
        occurrences_left=(
            "C’est la dernière date de la série.",
            "Il reste {n} dates, la prochaine comprise.",
        ),
        join="Rejoindre",
        join_new="Nouveau lien",
        password=(
            f"Mot de passe{NBSP}: {{password}} (envoyé à vous seul{NBSP}: transmettez-le aux "
            "personnes que vous invitez)"
        ),
        e2ee=(
            "La réunion est chiffrée de bout en bout\u00a0: les invités sous Firefox, Safari ou sur le navigateur d’un téléphone doivent la rejoindre avec l’application kMeet ou un navigateur basé sur Chromium (Chrome, Edge, Brave)."
        ),
        cancelled=f"Annulé{NBSP}: {{title}}",
        cancelled_occurrence=f"Annulé{NBSP}: {{title}}, le {{when}}",
        room_removed="La salle kMeet a été supprimée.",
        room_unneeded=(
            f"Le lien de la salle {{url}} n’est plus nécessaire{NBSP};"
            " vous n’avez rien d’autre à faire."
        ),
        series_room_kept=(
            f"Les autres dates de la série gardent le lien {{url}}{NBSP};"
            " vous n’avez rien d’autre à faire."
        ),
        no_room=(
            "Aucune salle kMeet n’avait été planifiée pour cette réunion,"
            " il n’y a donc rien à supprimer."
        ),
        not_planned=f"Non planifié{NBSP}: {{subject}}",
        reason="Ce qui ne va pas",
        hint="Comment y remédier",
        problems={
            "all_day": (
                f"L’événement dure toute la journée{NBSP}; une visioconférence a besoin"
                " d’une heure de début et d’une heure de fin.",
                "Indiquez une heure de début et une heure de fin pour l’événement dans votre"
                " agenda, puis renvoyez l’invitation.",
            ),
            "ended": (
                "L’événement est déjà terminé.",
                f"Vérifiez la date de l’événement{NBSP}; seules les réunions à venir peuvent"
                " être planifiées.",
            ),
            "series_ended": (
                f"La série est terminée{NBSP}: toutes ses dates sont passées.",
                f"Vérifiez les dates de la série{NBSP}; seules les réunions à venir peuvent"
                " être planifiées.",
            ),
            "unreadable": (
                "Le calendrier{where} n’a pas pu être lu{detail}",
                "Exportez à nouveau l’événement depuis votre agenda et transférez l’invitation"
                " sans la modifier (ou joignez le fichier .ics obtenu).",
            ),
            "end_before_start": (
                "L’heure de fin de l’événement n’est pas postérieure à son heure de début.",
                "Indiquez une heure de début et une heure de fin pour l’événement dans votre"
                " agenda, puis renvoyez l’invitation.",
            ),
            "no_start": (
                "L’événement n’a pas d’heure de début (DTSTART).",
                "Indiquez une heure de début et une heure de fin pour l’événement dans votre"
                " agenda, puis renvoyez l’invitation.",
            ),
            "bad_rule": (
                "L’événement se répète selon une règle inutilisable{detail}",
                "Vérifiez la périodicité de l’événement dans votre agenda,"
                " puis renvoyez l’invitation.",
            ),
            "api_refused": (
                "kMeet a refusé de planifier la réunion{detail}",
                "Vérifiez les horaires et le titre de l’invitation, puis renvoyez-la.",
            ),
            "retry_exhausted": (
                "La planification de la réunion a échoué pendant {hours}{detail}",
                "Veuillez renvoyer la demande plus tard.",
            ),
            "too_deep": (
                "Le message contient des messages transférés imbriqués sur plus de {limit}"
                " niveaux.",
                "Transférez l’invitation elle-même, ou joignez son fichier .ics.",
            ),
            "too_large": (
                "Le calendrier{where} fait {size} Kio, plus que les {limit} Kio lus ici.",
                "Envoyez uniquement l’invitation de cette réunion, pas l’export d’un agenda"
                " entier.",
            ),
            "too_many_events": (
                "Le message contient {count} événements, plus que les {limit} planifiés"
                " par message.",
                "Envoyez une à une les réunions qui ont besoin d’une salle kMeet.",
            ),
            "message_too_large": (
                "Le message fait {size} Mio, plus que les {limit} Mio lus ici.",
                "Renvoyez l’invitation sans pièces jointes volumineuses.",
            ),
            "sender_rate_limited": (
                "Vous avez planifié {limit} salles au cours de la dernière heure, le maximum"
                " autorisé.",
                "Veuillez renvoyer votre demande après {after}.",
            ),
            "daily_rate_limited": (
                "{limit} salles ont été planifiées au cours des dernières 24 heures, le maximum"
                " autorisé.",
                "Veuillez renvoyer votre demande après {after}.",
            ),
            "internal": (
                "Une erreur interne s’est produite dans kmeet-bridge.",
                f"Veuillez renvoyer le message plus tard{NBSP}; si le problème persiste,"
                " contactez votre support informatique.",
            ),
        },
        place_named=f"dans la pièce jointe «{NBSP}{{name}}{NBSP}»",
        place_attachment="dans la pièce jointe",
        place_inline="dans le message lui-même",
        place_forwarded="{place} du message transféré",
        place_other="({where})",
        hours=("{n} heure", "{n} heures"),
        decimal_separator=",",
        singular_below_two=True,
        calendar_one="Pour l’ajouter à votre agenda, ouvrez le fichier joint {filename}.",
        calendar_many="Pour les ajouter à votre agenda, ouvrez les fichiers .ics joints.",
        ics_description=f"Visioconférence kMeet{NBSP}: {{url}}",
        signature="Ce message a été envoyé automatiquement par kmeet-bridge.",
    ),
    # German as written in Switzerland: "ss" is the same in both spellings, so
    # the words chosen need no "ß".
    "de": Wording(
        colon=": ",
        day="{weekday}, {date}",
        same_day="{day}, {start}–{end} Uhr",
        across_days="{day}, {start} Uhr – {end_day}, {end} Uhr",
        at_utc="{day}, {time} Uhr (UTC)",
        reply_prefix="Re: ",
        no_subject="Ihre kMeet-Anfrage",
        planned_one="Ihre kMeet-Videokonferenz ist geplant.",
        planned_many="Ihre {count} kMeet-Videokonferenzen sind geplant.",
        cancelled_one="Ihre Absage wurde vermerkt.",
        cancelled_many="Ihre {count} Absagen wurden vermerkt.",
        rejected="Aus Ihrer Nachricht konnte keine kMeet-Videokonferenz erstellt werden.",
        rejected_many=(
            "Aus keinem der {count} Termine in Ihrer Nachricht konnte eine"
            " kMeet-Videokonferenz erstellt werden."
        ),
        mixed="Hier sehen Sie, was aus den {count} Terminen in Ihrer Nachricht geworden ist.",
        links_changed=(
            "Bitte beachten Sie: Der Link für {titles} hat sich geändert.",
            "Bitte beachten Sie: Die Links für {titles} haben sich geändert.",
        ),
        quoted="„{title}“",
        status={
            "new": "Ihre kMeet-Videokonferenz ist geplant.",
            "unchanged": (
                "Diese Besprechung war bereits geplant: Hier ist noch einmal derselbe Link."
            ),
            "updated": "Diese Besprechung wurde geändert; der Link bleibt derselbe.",
            "replanned": "Der Link hat sich geändert: Bitte verwenden Sie den neuen Link unten.",
            "occurrence": (
                "Dieser Termin der Serie nutzt den Raum der Serie:"
                " Der Link ist derselbe wie für die anderen Termine."
            ),
        },
        replanned_why=(
            "Die Besprechung endet jetzt erst nach Ablauf der Einstellungen des alten Raums"
            " und hat deshalb einen neuen Raum erhalten."
        ),
        replanned_old=(
            "Für den alten Link {url} gelten die Einstellungen dieser Besprechung nicht mehr;"
            " falls Sie ihn weitergegeben haben, geben Sie bitte stattdessen den neuen Link"
            " weiter."
        ),
        replanned_old_unknown=(
            "Für den alten Link gelten die Einstellungen dieser Besprechung nicht mehr;"
            " falls Sie ihn weitergegeben haben, geben Sie bitte stattdessen den neuen Link"
            " weiter."
        ),
        changed="Was sich geändert hat:",
        change_labels={"time": "Zeit", "title": "Titel"},
        change="{label}: {before} → {after}",
        series="Wiederholung: {rule}",
        next_occurrence="Nächster Termin: {when}",
        occurrences_left=(
            "Dies ist der letzte Termin der Serie.",
            "Es bleiben {n} Termine, der nächste eingeschlossen.",
        ),
        join="Teilnehmen",
        join_new="Neuer Link",
        password=(
            "Passwort: {password} (nur an Sie gesendet: geben Sie es den eingeladenen "
            "Personen weiter)"
        ),
        e2ee=(
            "Die Besprechung ist Ende-zu-Ende-verschlüsselt: Gäste mit Firefox, Safari oder einem Handy-Browser nehmen bitte mit der kMeet-App oder einem Chromium-basierten Browser (Chrome, Edge, Brave) teil."
        ),
        cancelled="Abgesagt: {title}",
        cancelled_occurrence="Abgesagt: {title} am {when}",
        room_removed="Der kMeet-Raum wurde gelöscht.",
        room_unneeded="Der Raumlink {url} wird nicht mehr benötigt; Sie müssen nichts weiter tun.",
        series_room_kept=(
            "Die anderen Termine der Serie behalten den Link {url}; Sie müssen nichts weiter tun."
        ),
        no_room="Dafür war kein kMeet-Raum geplant, es gibt also nichts zu löschen.",
        not_planned="Nicht geplant: {subject}",
        reason="Was nicht stimmt",
        hint="So beheben Sie es",
        problems={
            "all_day": (
                "Der Termin dauert den ganzen Tag; eine Videokonferenz braucht eine Start-"
                " und eine Endzeit.",
                "Geben Sie dem Termin in Ihrem Kalenderprogramm eine Start- und eine Endzeit"
                " und senden Sie die Einladung erneut.",
            ),
            "ended": (
                "Der Termin ist bereits vorbei.",
                "Prüfen Sie das Datum des Termins; nur künftige Besprechungen können geplant"
                " werden.",
            ),
            "series_ended": (
                "Die Serie ist abgeschlossen: Alle ihre Termine sind vorbei.",
                "Prüfen Sie die Daten der Serie; nur künftige Besprechungen können geplant werden.",
            ),
            "unreadable": (
                "Der Kalender{where} konnte nicht gelesen werden{detail}",
                "Exportieren Sie den Termin erneut aus Ihrem Kalenderprogramm und leiten Sie"
                " die Einladung unverändert weiter (oder hängen Sie die erzeugte .ics-Datei an).",
            ),
            "end_before_start": (
                "Das Ende des Termins liegt nicht nach seinem Beginn.",
                "Geben Sie dem Termin in Ihrem Kalenderprogramm eine Start- und eine Endzeit"
                " und senden Sie die Einladung erneut.",
            ),
            "no_start": (
                "Der Termin hat keine Startzeit (DTSTART).",
                "Geben Sie dem Termin in Ihrem Kalenderprogramm eine Start- und eine Endzeit"
                " und senden Sie die Einladung erneut.",
            ),
            "bad_rule": (
                "Der Termin wiederholt sich nach einer Regel, die nicht verwendet werden"
                " kann{detail}",
                "Prüfen Sie die Wiederholung des Termins in Ihrem Kalenderprogramm und senden"
                " Sie die Einladung erneut.",
            ),
            "api_refused": (
                "kMeet hat die Planung der Besprechung abgelehnt{detail}",
                "Prüfen Sie Zeiten und Titel der Einladung und senden Sie sie erneut.",
            ),
            "retry_exhausted": (
                "Die Planung der Besprechung ist {hours} lang fehlgeschlagen{detail}",
                "Bitte senden Sie die Anfrage später erneut.",
            ),
            "too_deep": (
                "Die Nachricht enthält weitergeleitete Nachrichten, die mehr als {limit}"
                " Ebenen tief verschachtelt sind.",
                "Leiten Sie die Einladung selbst weiter oder hängen Sie ihre .ics-Datei an.",
            ),
            "too_large": (
                "Der Kalender{where} ist {size} KiB gross, mehr als die {limit} KiB, die hier"
                " gelesen werden.",
                "Senden Sie nur die Einladung dieser einen Besprechung, nicht den Export eines"
                " ganzen Kalenders.",
            ),
            "too_many_events": (
                "Die Nachricht enthält {count} Termine, mehr als die {limit}, die aus einer"
                " Nachricht geplant werden.",
                "Senden Sie die Besprechungen, die einen kMeet-Raum brauchen, einzeln.",
            ),
            "message_too_large": (
                "Die Nachricht ist {size} MiB gross, mehr als die {limit} MiB, die hier gelesen"
                " werden.",
                "Senden Sie die Einladung ohne grosse Anhänge erneut.",
            ),
            "sender_rate_limited": (
                "Sie haben in der letzten Stunde {limit} Räume geplant, mehr sind nicht erlaubt.",
                "Bitte senden Sie Ihre Anfrage nach {after} erneut.",
            ),
            "daily_rate_limited": (
                "In den letzten 24 Stunden wurden {limit} Räume geplant, mehr sind nicht erlaubt.",
                "Bitte senden Sie Ihre Anfrage nach {after} erneut.",
            ),
            "internal": (
                "In kmeet-bridge ist ein interner Fehler aufgetreten.",
                "Bitte senden Sie die Nachricht später erneut; falls der Fehler bestehen"
                " bleibt, wenden Sie sich an Ihren IT-Support.",
            ),
        },
        place_named="im Anhang „{name}“",
        place_attachment="im Anhang",
        place_inline="in der Nachricht selbst",
        place_forwarded="{place} der weitergeleiteten Nachricht",
        place_other="({where})",
        hours=("{n} Stunde", "{n} Stunden"),
        decimal_separator=",",
        singular_below_two=False,
        calendar_one=(
            "Um den Termin in Ihren Kalender aufzunehmen, öffnen Sie die angehängte Datei"
            " {filename}."
        ),
        calendar_many=(
            "Um die Termine in Ihren Kalender aufzunehmen, öffnen Sie die angehängten .ics-Dateien."
        ),
        ics_description="kMeet-Videokonferenz: {url}",
        signature="Diese Nachricht wurde automatisch von kmeet-bridge gesendet.",
    ),
    # Italian addresses the reader formally (Lei), as Swiss services do.
    "it": Wording(
        colon=": ",
        day="{weekday} {date}",
        same_day="{day}, {start}–{end}",
        across_days="{day}, {start} – {end_day}, {end}",
        at_utc="{day}, {time} (UTC)",
        reply_prefix="Re: ",
        no_subject="la sua richiesta kMeet",
        planned_one="La sua videoconferenza kMeet è stata pianificata.",
        planned_many="Le sue {count} videoconferenze kMeet sono state pianificate.",
        cancelled_one="Il suo annullamento è stato registrato.",
        cancelled_many="I suoi {count} annullamenti sono stati registrati.",
        rejected="Non è stato possibile creare una videoconferenza kMeet dal suo messaggio.",
        rejected_many=(
            "Da nessuno dei {count} eventi del suo messaggio è stato possibile creare"
            " una videoconferenza kMeet."
        ),
        mixed="Ecco che cosa è successo ai {count} eventi del suo messaggio.",
        links_changed=(
            "Attenzione: il link della riunione {titles} è cambiato.",
            "Attenzione: i link delle riunioni {titles} sono cambiati.",
        ),
        quoted="«{title}»",
        status={
            "new": "La sua videoconferenza kMeet è stata pianificata.",
            "unchanged": "Questa riunione era già pianificata: ecco di nuovo lo stesso link.",
            "updated": "Questa riunione è stata modificata; il link resta lo stesso.",
            "replanned": "Il link è cambiato: utilizzi il nuovo link indicato qui sotto.",
            "occurrence": (
                "Questa data della serie usa la sala della serie:"
                " il link è lo stesso delle altre date."
            ),
        },
        replanned_why=(
            "Ora la riunione termina dopo la scadenza delle impostazioni della vecchia sala,"
            " per cui le è stata assegnata una nuova sala."
        ),
        replanned_old=(
            "Il vecchio link {url} non ha più le impostazioni di questa riunione;"
            " se lo ha condiviso, trasmetta invece il nuovo link."
        ),
        replanned_old_unknown=(
            "Il vecchio link non ha più le impostazioni di questa riunione;"
            " se lo ha condiviso, trasmetta invece il nuovo link."
        ),
        changed="Che cosa è cambiato:",
        change_labels={"time": "Orario", "title": "Titolo"},
        change="{label}: {before} → {after}",
        series="Si ripete {rule}",
        next_occurrence="Prossima data: {when}",
        occurrences_left=(
            "Questa è l’ultima data della serie.",
            "Restano {n} date, compresa la prossima.",
        ),
        join="Partecipa",
        join_new="Nuovo link",
        password="Password: {password} (inviata solo a Lei: la comunichi alle persone che invita)",
        e2ee=(
            "La riunione è cifrata end-to-end: gli ospiti che usano Firefox, Safari o il browser di un telefono devono partecipare con l’app kMeet o con un browser basato su Chromium (Chrome, Edge, Brave)."
        ),
        cancelled="Annullato: {title}",
        cancelled_occurrence="Annullato: {title}, la data di {when}",
        room_removed="La sala kMeet è stata eliminata.",
        room_unneeded="Il link della sala {url} non serve più; non deve fare nient’altro.",
        series_room_kept=(
            "Le altre date della serie mantengono il link {url}; non deve fare nient’altro."
        ),
        no_room="Non era stata pianificata alcuna sala kMeet, quindi non c’è nulla da eliminare.",
        not_planned="Non pianificato: {subject}",
        reason="Che cosa non va",
        hint="Come risolvere",
        problems={
            "all_day": (
                "L’evento dura tutto il giorno; una videoconferenza richiede un orario di inizio"
                " e uno di fine.",
                "Indichi un orario di inizio e uno di fine per l’evento nel suo programma di"
                " calendario e invii di nuovo l’invito.",
            ),
            "ended": (
                "L’evento è già terminato.",
                "Controlli la data dell’evento; si possono pianificare solo riunioni future.",
            ),
            "series_ended": (
                "La serie è conclusa: tutte le sue date sono passate.",
                "Controlli le date della serie; si possono pianificare solo riunioni future.",
            ),
            "unreadable": (
                "Il calendario{where} non è leggibile{detail}",
                "Esporti di nuovo l’evento dal suo programma di calendario e inoltri l’invito"
                " senza modificarlo (oppure alleghi il file .ics generato).",
            ),
            "end_before_start": (
                "L’orario di fine dell’evento non è successivo a quello di inizio.",
                "Indichi un orario di inizio e uno di fine per l’evento nel suo programma di"
                " calendario e invii di nuovo l’invito.",
            ),
            "no_start": (
                "L’evento non ha un orario di inizio (DTSTART).",
                "Indichi un orario di inizio e uno di fine per l’evento nel suo programma di"
                " calendario e invii di nuovo l’invito.",
            ),
            "bad_rule": (
                "L’evento si ripete secondo una regola non utilizzabile{detail}",
                "Controlli la ricorrenza dell’evento nel suo programma di calendario e invii"
                " di nuovo l’invito.",
            ),
            "api_refused": (
                "kMeet ha rifiutato di pianificare la riunione{detail}",
                "Controlli gli orari e il titolo dell’invito e lo invii di nuovo.",
            ),
            "retry_exhausted": (
                "La pianificazione della riunione non è riuscita per {hours}{detail}",
                "Invii di nuovo la richiesta più tardi.",
            ),
            "too_deep": (
                "Il messaggio contiene messaggi inoltrati annidati su più di {limit} livelli.",
                "Inoltri l’invito stesso, oppure alleghi il suo file .ics.",
            ),
            "too_large": (
                "Il calendario{where} occupa {size} KiB, più dei {limit} KiB letti qui.",
                "Invii soltanto l’invito di questa riunione, non l’esportazione di un intero"
                " calendario.",
            ),
            "too_many_events": (
                "Il messaggio contiene {count} eventi, più dei {limit} pianificati per messaggio.",
                "Invii una alla volta le riunioni che hanno bisogno di una sala kMeet.",
            ),
            "message_too_large": (
                "Il messaggio occupa {size} MiB, più dei {limit} MiB letti qui.",
                "Invii di nuovo l’invito senza allegati pesanti.",
            ),
            "sender_rate_limited": (
                "Nell’ultima ora ha pianificato {limit} sale, il massimo consentito.",
                "Invii di nuovo la sua richiesta dopo le {after}.",
            ),
            "daily_rate_limited": (
                "Nelle ultime 24 ore sono state pianificate {limit} sale, il massimo consentito.",
                "Invii di nuovo la sua richiesta dopo le {after}.",
            ),
            "internal": (
                "Si è verificato un errore interno in kmeet-bridge.",
                "Invii di nuovo il messaggio più tardi; se il problema persiste, contatti il"
                " supporto informatico.",
            ),
        },
        place_named="nell’allegato «{name}»",
        place_attachment="nell’allegato",
        place_inline="nel messaggio stesso",
        place_forwarded="{place} del messaggio inoltrato",
        place_other="({where})",
        hours=("{n} ora", "{n} ore"),
        decimal_separator=",",
        singular_below_two=False,
        calendar_one="Per aggiungerla al suo calendario, apra il file allegato {filename}.",
        calendar_many="Per aggiungerle al suo calendario, apra i file .ics allegati.",
        ics_description="Videoconferenza kMeet: {url}",
        signature="Questo messaggio è stato inviato automaticamente da kmeet-bridge.",
    ),
}

STATUSES = ("new", "unchanged", "updated", "replanned", "occurrence")


def _wording(language: str | None) -> Wording:
    return WORDING[recurrence.language_code(language)]


@dataclass(frozen=True)
class _ProblemParams:
    """The params a problem code's wording uses: `required` must be given and
    non-empty; any name outside `allowed` means the problem says more than the
    table can, and keeps its own words."""

    allowed: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()


# The codes the bridge sets on an EventProblem whose wording lives in WORDING.
# Other codes (a plain request's "no_time", "past", ...) come with `reason` and
# `hint` already written in the sender's language, and are shown as given. A
# plain request's "end_before_start" carries the times it read (and its
# "language"), so it too keeps its own, more precise, words.
PROBLEM_CODES: dict[str, _ProblemParams] = {
    "all_day": _ProblemParams(),
    "ended": _ProblemParams(),
    "series_ended": _ProblemParams(),
    "unreadable": _ProblemParams(frozenset({"where", "detail"})),
    "end_before_start": _ProblemParams(),
    "no_start": _ProblemParams(),
    "bad_rule": _ProblemParams(frozenset({"detail"})),
    "api_refused": _ProblemParams(frozenset({"detail"})),
    "retry_exhausted": _ProblemParams(frozenset({"hours", "detail"}), frozenset({"hours"})),
    "internal": _ProblemParams(),
    "too_deep": _ProblemParams(frozenset({"limit"}), frozenset({"limit"})),
    "too_large": _ProblemParams(
        frozenset({"where", "size", "limit"}), frozenset({"size", "limit"})
    ),
    "too_many_events": _ProblemParams(frozenset({"count", "limit"}), frozenset({"count", "limit"})),
    "message_too_large": _ProblemParams(frozenset({"size", "limit"}), frozenset({"size", "limit"})),
    "sender_rate_limited": _ProblemParams(
        frozenset({"limit", "after"}), frozenset({"limit", "after"})
    ),
    "daily_rate_limited": _ProblemParams(
        frozenset({"limit", "after"}), frozenset({"limit", "after"})
    ),
}

# The places invites.py names a calendar part by: 'the attachment "x.ics"',
# "attachment", "inline part", each maybe "... of the forwarded message".
_PLACE = re.compile(
    r'(?:the\s+)?(?:attachment(?:\s+"(?P<name>[^"]*)")?|(?P<inline>inline\s+part))'
    r"(?P<forwarded>\s+of\s+the\s+forwarded\s+message)?",
    re.IGNORECASE,
)
_SENTENCE_END = (".", "!", "?", "…")


def _place(where: str, wording: Wording) -> str:
    """Where an unreadable calendar was, worded for the reply: " in the
    attachment ..." (with its leading space), or "" when not said."""
    where = headers.one_line(where)
    if not where:
        return ""
    match = _PLACE.fullmatch(where)
    if match is None:
        return " " + wording.place_other.format(where=where)
    if match["inline"]:
        place = wording.place_inline
    elif match["name"]:
        place = wording.place_named.format(name=match["name"])
    else:
        place = wording.place_attachment
    if match["forwarded"]:
        place = wording.place_forwarded.format(place=place)
    return " " + place


def _hours(value: str, wording: Wording) -> str:
    """A number of hours in words: "24 hours", "1,5 heure"."""
    text = headers.one_line(value)
    try:
        number = float(text)
    except ValueError:
        return wording.hours[1].format(n=text)  # shown as given
    if not math.isfinite(number):
        return wording.hours[1].format(n=text)
    shown = f"{number:g}".replace(".", wording.decimal_separator)
    singular = abs(number) < 2 if wording.singular_below_two else number == 1
    return wording.hours[0 if singular else 1].format(n=shown)


def _sentence(text: str) -> str:
    # A detail from a parser or an API may bring its own full stop, or none.
    text = text.rstrip()
    return text if text.endswith(_SENTENCE_END) else text + "."


def problem_text(problem: EventProblem, language: str | None) -> tuple[str, str]:
    """The problem's (reason, hint) for a reply written in `language`.

    A code of PROBLEM_CODES is worded from WORDING, its params inserted (a
    "detail" from a parser or the API is quoted as it came); any other code, or
    none, gives the problem's own `reason` and `hint`.
    """
    wording = _wording(language)
    spec = PROBLEM_CODES.get(problem.code)
    templates = wording.problems.get(problem.code)
    params = {name: headers.one_line(value) for name, value in problem.params}
    if (
        spec is None
        or templates is None
        or not params.keys() <= spec.allowed
        or any(not params.get(name) for name in spec.required)
    ):
        return problem.reason, problem.hint
    detail = params.get("detail", "")
    reason, hint = templates
    plain = {k: v for k, v in params.items() if k not in ("where", "detail", "hours")}
    reason = reason.format(
        where=_place(params.get("where", ""), wording),
        detail=wording.colon + detail if detail else "",
        hours=_hours(params.get("hours", ""), wording),
        **plain,
    )
    return _sentence(reason), hint.format(**plain)


def reply_recipient(original: EmailMessage) -> str | None:
    """Where a reply to `original` goes: its From address, never its Reply-To.

    The sender allow-list is checked against From. Answering Reply-To instead
    would let anyone on the allow-list (or anyone forging a From on it) aim the
    bridge's mail at a third party.
    """
    return headers.sender_address(original)


def reply_subject(original_subject: str, language: str | None = "en") -> str:
    """`Re: <subject>`, on one line, without piling up a second "Re:"."""
    text = headers.one_line(original_subject)
    if len(text) > _MAX_SUBJECT:
        text = text[: _MAX_SUBJECT - 1] + "…"
    wording = _wording(language)
    if not text:
        return wording.reply_prefix + wording.no_subject
    if _ALREADY_A_REPLY.match(text):
        return text
    return wording.reply_prefix + text


def _in_zone(moment: datetime, zone_name: str) -> datetime:
    """`moment` on the wall clock of `zone_name`; unchanged if the zone is unknown."""
    try:
        return moment.astimezone(ZoneInfo(zone_name))
    except (ValueError, KeyError, OSError):
        return moment


def _day(moment: datetime, language: str) -> str:
    """A day with its weekday, as `language` writes it: "Mittwoch, 3. Februar 2027"."""
    code = recurrence.language_code(language)
    weekday = recurrence.WORDING[code].weekdays[moment.weekday()]
    return _wording(code).day.format(
        weekday=weekday, date=recurrence.format_date(moment.date(), code)
    )


def describe_time(meeting: MeetingRequest, language: str | None = "en") -> str:
    """When the meeting happens, in its own zone, with the zone named:
    `Wednesday 3 February 2027, 09:00–10:00 (Europe/Zurich)` in English,
    `Mittwoch, 3. Februar 2027, 09:00–10:00 Uhr (Europe/Zurich)` in German."""
    code = recurrence.language_code(language)
    wording = _wording(code)
    start = _in_zone(meeting.start, meeting.timezone)
    end = _in_zone(meeting.end, meeting.timezone)
    if start.date() == end.date():
        span = wording.same_day.format(
            day=_day(start, code), start=f"{start:%H:%M}", end=f"{end:%H:%M}"
        )
    else:
        span = wording.across_days.format(
            day=_day(start, code),
            start=f"{start:%H:%M}",
            end_day=_day(end, code),
            end=f"{end:%H:%M}",
        )
    return f"{span} ({headers.one_line(meeting.timezone)})"


def _describe_recurrence_id(recurrence_id: str, language: str) -> str:
    """A cancelled occurrence's RECURRENCE-ID ("20270315T090000Z"), for people.

    A cancellation does not say the series' zone, so a UTC value is shown as UTC;
    a value of another shape is shown as it came.
    """
    text = headers.one_line(recurrence_id)
    for shape, with_time in (("%Y%m%dT%H%M%SZ", True), ("%Y%m%d", False)):
        try:
            moment = datetime.strptime(text, shape)
        except ValueError:
            continue
        if not with_time:
            return _day(moment, language)
        return _wording(language).at_utc.format(day=_day(moment, language), time=f"{moment:%H:%M}")
    return text


def _event_uid(meeting: MeetingRequest) -> str:
    """The UID of the event in the reply's .ics.

    The request's own UID lets the requester's calendar merge the kMeet details
    into the event it already holds. A key that carries more than the UID (a
    RECURRENCE-ID: one occurrence of a series) gets its own UID instead, so that
    publishing one occurrence never replaces the whole series.
    """
    key = meeting.key
    if meeting.uid and (key.endswith(meeting.uid) or key.endswith(meeting.uid + ":")):
        return meeting.uid
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32] + "@kmeet-bridge"


def _utc(moment: datetime) -> datetime:
    # A naive `now` is taken as UTC rather than as the host's local time.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _series_rule(meeting: MeetingRequest, zone: tzinfo | None) -> vRecur | None:
    """The RRULE for the reply's .ics of a series, or None.

    The event starts at the series' first occurrence that has not yet ended, not
    at the original DTSTART, so a COUNT is cut to the occurrences left. A local
    or date-only UNTIL becomes the UTC time RFC 5545 asks for beside a zoned
    DTSTART. A rule icalendar cannot read is left out: the event then holds the
    next occurrence only, which is still true.
    """
    text = meeting.rule.strip().removeprefix("RRULE:") if meeting.rule else ""
    if not text.isprintable():
        return None
    try:
        rule = vRecur.from_ical(text)
    except (ValueError, TypeError, KeyError, IndexError):
        return None
    if "FREQ" not in rule:
        return None
    if "COUNT" in rule and meeting.occurrences_left is not None:
        rule["COUNT"] = [meeting.occurrences_left]
    if "UNTIL" in rule and zone is not None:
        until = rule["UNTIL"][0]
        if not isinstance(until, datetime):
            until = datetime.combine(until, time(23, 59, 59))
        if until.tzinfo is None:
            rule["UNTIL"] = [until.replace(tzinfo=zone).astimezone(UTC)]
    return rule


def calendar_attachment(
    meeting: MeetingRequest, room: Room, *, now: datetime, language: str | None = "en"
) -> bytes:
    """An iCalendar PUBLISH object holding one VEVENT for the planned meeting;
    for a series, the event carries the series' RRULE. The description's first
    line names the room in `language`.

    No ORGANIZER or ATTENDEE: the file only adds the meeting to the requester's
    own calendar and must not make their client send invitations.
    """
    start = _in_zone(meeting.start, meeting.timezone)
    end = _in_zone(meeting.end, meeting.timezone)
    description = _wording(language).ics_description.format(url=room.url)
    if meeting.description.strip():
        description += "\n\n" + meeting.description.strip()

    event = Event()
    event.add("uid", _event_uid(meeting))
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", _utc(now))
    event.add("dtstart", start)
    event.add("dtend", end)
    rule = _series_rule(meeting, start.tzinfo)
    if rule is not None:
        event.add("rrule", rule)
    event.add("summary", headers.one_line(meeting.title))
    event.add("location", room.url)
    event.add("url", room.url)
    # RFC 7986: lets calendar clients show a "join" button.
    event.add(
        "conference",
        room.url,
        parameters=Parameters({"VALUE": "URI", "FEATURE": ["AUDIO", "VIDEO"], "LABEL": "kMeet"}),
    )
    event.add("description", description)
    event.add("status", "CONFIRMED")

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add_component(event)
    span = _SERIES_TIMEZONE_SPAN if meeting.is_series else _TIMEZONE_MARGIN
    calendar.add_missing_timezones(
        first_date=start.date() - _TIMEZONE_MARGIN, last_date=end.date() + span
    )
    return calendar.to_ical()


def _attachment_names(count: int) -> list[str]:
    if count == 1:
        return ["kmeet.ics"]
    return [f"kmeet-{index}.ics" for index in range(1, count + 1)]


def _reply_skeleton(
    original: EmailMessage,
    *,
    from_address: str,
    from_name: str,
    now: datetime,
    language: str,
) -> EmailMessage:
    """A message with the headers every reply carries: addressing, threading,
    and the marks that keep auto-responders from answering it."""
    recipient = reply_recipient(original)
    if recipient is None:
        raise ValueError("the original message has no usable From address to reply to")
    domain = from_address.rpartition("@")[2] or "kmeet-bridge.invalid"

    reply = EmailMessage(policy=REPLY_POLICY)
    reply["From"] = Address(display_name=headers.one_line(from_name), addr_spec=from_address)
    reply["To"] = Address(addr_spec=recipient)
    reply["Subject"] = reply_subject(headers.subject(original), language)
    reply["Date"] = format_datetime(now if now.tzinfo else now.replace(tzinfo=UTC))
    reply["Message-ID"] = make_msgid(domain=domain)

    original_id = headers.message_id(original)
    if original_id is not None:
        thread = [ref for ref in headers.references(original) if ref != original_id]
        if len(thread) >= _MAX_REFERENCES:
            thread = thread[:1] + thread[-(_MAX_REFERENCES - 2) :]
        reply["In-Reply-To"] = original_id
        reply["References"] = " ".join([*thread, original_id])

    reply["Auto-Submitted"] = "auto-replied"
    # Exchange and Outlook: send no out-of-office or other automatic answer to this.
    reply["X-Auto-Response-Suppress"] = "All"
    return reply


def _finish(reply: EmailMessage) -> EmailMessage:
    # add_alternative/add_attachment give every sub-part its own MIME-Version;
    # RFC 2045 wants it once, at the top.
    for part in reply.walk():
        if part is not reply:
            del part["MIME-Version"]
    return reply


def _html_document(body: str, language: str) -> str:
    # The lang attribute lets screen readers pronounce the reply in its language.
    return (
        f'<!DOCTYPE html>\n<html lang="{language}"><head><meta charset="utf-8"></head>\n'
        f'<body style="font-family: sans-serif">\n{body}</body></html>\n'
    )


def _html_link(url: str) -> str:
    shown = html.escape(url)
    # Only web addresses become links; anything else is shown as text.
    if url.startswith(("https://", "http://")):
        return f'<a href="{html.escape(url, quote=True)}">{shown}</a>'
    return shown


@dataclass(frozen=True)
class _Line:
    """One line of the reply, as the text part shows it and as the HTML part does."""

    text: str
    html: str


@dataclass(frozen=True)
class _Block:
    """Lines shown together: a paragraph, or a bulleted list."""

    lines: tuple[_Line, ...]
    bulleted: bool = False


@dataclass(frozen=True)
class _Item:
    """One event of the message: a heading ("" for none) and what is said of it."""

    heading: str
    blocks: tuple[_Block, ...]


def _flat(value: str) -> str:
    """`value` folded to one line as headers.one_line does, but keeping its
    no-break spaces: French typography puts one before ":" and inside « »."""
    return NBSP.join(headers.one_line(part) for part in value.split(NBSP))


def _say(
    template: str, *, strong: bool = False, links: dict[str, str] | None = None, **values: str
) -> _Line:
    """`template` filled in: values folded to one line, and escaped in the HTML
    part, where the values named in `links` become links."""
    plain = {name: _flat(value) for name, value in values.items()}
    linked = {name: _flat(value) for name, value in (links or {}).items()}
    text = template.format(**plain, **linked)
    page = html.escape(template).format(
        **{name: html.escape(value) for name, value in plain.items()},
        **{name: _html_link(value) for name, value in linked.items()},
    )
    return _Line(text, f"<strong>{page}</strong>" if strong else page)


def _labelled(label: str, value: str, wording: Wording) -> _Line:
    value = _flat(value)
    colon = wording.colon.rstrip(" ")
    return _Line(
        f"{label}{wording.colon}{value}",
        f"<strong>{html.escape(label)}{colon}</strong> {html.escape(value)}",
    )


def _planned_item(
    planned: PlannedMeeting, wording: Wording, language: str, *, show_status: bool
) -> _Item:
    meeting, room = planned.meeting, planned.room
    replanned = planned.status == "replanned"
    blocks: list[_Block] = []
    if show_status:
        blocks.append(_Block((_say(wording.status[planned.status], strong=replanned),)))
    if replanned:
        old = (
            _say(wording.replanned_old, url=planned.previous_url)
            if planned.previous_url
            else _say(wording.replanned_old_unknown)
        )
        blocks.append(_Block((_say(wording.replanned_why), old)))
    if planned.changes:
        changes = tuple(
            _say(
                wording.change,
                label=wording.change_labels.get(change.what, change.what),
                before=change.before,
                after=change.after,
            )
            for change in planned.changes
        )
        blocks += [_Block((_say(wording.changed),)), _Block(changes, bulleted=True)]

    when = describe_time(meeting, language)
    lines: list[_Line] = []
    if meeting.is_series:
        start = _in_zone(meeting.start, meeting.timezone)
        rule = recurrence.describe_rule(meeting.rule or "", start, language)
        lines += [_say(wording.series, rule=rule), _say(wording.next_occurrence, when=when)]
        left = meeting.occurrences_left
        if left is not None:
            lines.append(_say(plural(wording.occurrences_left, left), n=str(left)))
    else:
        lines.append(_say("{when}", when=when))
    # After a replan the link is the news: it is named as the new one.
    label = wording.join_new if replanned else wording.join
    url = headers.one_line(room.url)
    colon = wording.colon
    lines.append(
        _Line(
            f"{label}{colon}{url}",
            f"{html.escape(label)}{colon}<strong>{_html_link(url)}</strong>",
        )
    )
    if planned.password:
        lines.append(_say(wording.password, password=planned.password))
    if room.e2ee_enabled:
        lines.append(_say(wording.e2ee))
    blocks.append(_Block(tuple(lines)))

    notes = tuple(_say("{note}", note=note) for note in meeting.notes if note.strip())
    if notes:
        blocks.append(_Block(notes, bulleted=True))
    return _Item(headers.one_line(meeting.title), tuple(blocks))


def _cancelled_item(cancelled: CancelledMeeting, wording: Wording, language: str) -> _Item:
    cancellation = cancelled.cancellation
    title = headers.one_line(cancellation.title)
    if cancellation.recurrence_id:
        when = _describe_recurrence_id(cancellation.recurrence_id, language)
        heading = wording.cancelled_occurrence.format(title=title, when=when)
    else:
        heading = wording.cancelled.format(title=title)

    if cancelled.room_removed:
        line = _say(wording.room_removed)
    elif cancelled.room is None:
        line = _say(wording.no_room)
    elif cancellation.recurrence_id:
        # One occurrence is off; the series' room goes on serving the others.
        line = _say(wording.series_room_kept, links={"url": cancelled.room.url})
    else:
        # Not a link: there is nothing left to join.
        line = _say(wording.room_unneeded, url=cancelled.room.url)
    return _Item(heading, (_Block((line,)),))


def _problem_item(problem: EventProblem, wording: Wording, language: str) -> _Item:
    subject = headers.one_line(problem.subject)
    reason, hint = problem_text(problem, language)
    blocks = [_Block((_labelled(wording.reason, reason, wording),))]
    if hint.strip():
        blocks.append(_Block((_labelled(wording.hint, hint, wording),)))
    heading = wording.not_planned.format(subject=subject) if subject else ""
    return _Item(heading, tuple(blocks))


def _intro(
    planned: Sequence[PlannedMeeting],
    cancelled: Sequence[CancelledMeeting],
    problems: Sequence[EventProblem],
    wording: Wording,
    language: str,
) -> tuple[list[_Line], bool]:
    """The opening lines, and whether each planned meeting still needs its own
    status sentence (not when the opening has already said it)."""
    count = len(planned) + len(cancelled) + len(problems)
    if planned and not cancelled and not problems and all(p.status == "new" for p in planned):
        opening = wording.planned_one if count == 1 else wording.planned_many
        return [_say(opening.format(count=count))], False
    if count == 1 and planned:
        status = planned[0].status
        return [_say(wording.status[status], strong=status == "replanned")], False

    if not planned and not problems:
        opening = wording.cancelled_one if count == 1 else wording.cancelled_many
    elif not planned and not cancelled:
        opening = wording.rejected if count == 1 else wording.rejected_many
    else:
        opening = wording.mixed
    lines = [_say(opening.format(count=count))]
    # In a list, a changed link must not wait to be found further down.
    replanned = [headers.one_line(p.meeting.title) for p in planned if p.status == "replanned"]
    if replanned:
        titles = join_list([wording.quoted.format(title=title) for title in replanned], language)
        lines.append(
            _say(plural(wording.links_changed, len(replanned)), strong=True, titles=titles)
        )
    return lines, True


def _render(
    intro: list[_Line], items: list[_Item], closing: list[_Line], wording: Wording, language: str
) -> tuple[str, str]:
    """The text and the HTML body: the opening, the items (numbered when there
    are several), the closing lines and the signature."""
    several = len(items) > 1
    indent = "   " if several else ""
    text = [line.text for line in intro] + [""]
    page = [f"<p>{line.html}</p>\n" for line in intro]
    for number, item in enumerate(items, start=1):
        heading = f"{number}. {item.heading}".rstrip() if several else item.heading
        if heading:
            text.append(heading)
            page.append(f"<h3>{html.escape(heading)}</h3>\n")
        for block in item.blocks:
            if block.bulleted:
                text += [f"{indent}- {line.text}" for line in block.lines]
                page.append("<ul>" + "".join(f"<li>{line.html}</li>" for line in block.lines))
                page.append("</ul>\n")
            else:
                text += [f"{indent}{line.text}" for line in block.lines]
                page.append("<p>" + "<br>\n".join(line.html for line in block.lines) + "</p>\n")
        text.append("")
    for line in closing:
        text += [line.text, ""]
        page.append(f"<p>{line.html}</p>\n")
    text += ["-- ", wording.signature, ""]
    page.append(f"<p><small>{html.escape(wording.signature)}</small></p>\n")
    return "\n".join(text), _html_document("".join(page), language)


def compose_reply(
    original: EmailMessage,
    *,
    planned: Sequence[PlannedMeeting] = (),
    cancelled: Sequence[CancelledMeeting] = (),
    problems: Sequence[EventProblem] = (),
    from_address: str,
    from_name: str,
    now: datetime,
    language: str | None = "en",
) -> EmailMessage:
    """The one reply to a message: its planned meetings (with what this message
    changed for each), its cancellations and the events that could not be
    planned, in that order, in text and HTML, with one .ics attachment per
    planned meeting. Written in `language` (one of models.LANGUAGES; any other
    is answered in English); a problem with a known code is worded by
    `problem_text`."""
    if not (planned or cancelled or problems):
        raise ValueError(
            "compose_reply needs at least one planned meeting, cancellation or problem"
        )
    for entry in planned:
        if entry.status not in STATUSES:
            raise ValueError(f"unknown status of a planned meeting: {entry.status!r}")
    language = recurrence.language_code(language)
    wording = _wording(language)
    intro, show_status = _intro(planned, cancelled, problems, wording, language)
    items = [
        *(_planned_item(p, wording, language, show_status=show_status) for p in planned),
        *(_cancelled_item(c, wording, language) for c in cancelled),
        *(_problem_item(problem, wording, language) for problem in problems),
    ]
    names = _attachment_names(len(planned)) if planned else []
    closing: list[_Line] = []
    if len(names) == 1:
        closing.append(_say(wording.calendar_one, filename=names[0]))
    elif names:
        closing.append(_say(wording.calendar_many))
    text, page = _render(intro, items, closing, wording, language)

    reply = _reply_skeleton(
        original, from_address=from_address, from_name=from_name, now=now, language=language
    )
    # Quoted-printable keeps every part 7-bit clean whatever the SMTP server supports.
    reply.set_content(text, cte="quoted-printable")
    reply.add_alternative(page, subtype="html", cte="quoted-printable")
    for name, entry in zip(names, planned, strict=True):
        reply.add_attachment(
            calendar_attachment(entry.meeting, entry.room, now=now, language=language),
            maintype="text",
            subtype="calendar",
            filename=name,
            params={"method": "PUBLISH", "charset": "utf-8"},
        )
    # Set last: the email package moves Content-* headers into the first sub-part
    # when it turns the message into a multipart.
    reply["Content-Language"] = language
    return _finish(reply)


def compose_planned(
    original: EmailMessage,
    planned: list[tuple[MeetingRequest, Room]],
    *,
    from_address: str,
    from_name: str,
    now: datetime,
    language: str | None = "en",
) -> EmailMessage:
    """The reply to a request whose meetings were all just planned: a
    `compose_reply` with status "new" for each."""
    if not planned:
        raise ValueError("compose_planned needs at least one planned meeting")
    return compose_reply(
        original,
        planned=[PlannedMeeting(meeting, room) for meeting, room in planned],
        from_address=from_address,
        from_name=from_name,
        now=now,
        language=language,
    )


def compose_rejection(
    original: EmailMessage,
    reason: str,
    hint: str,
    *,
    from_address: str,
    from_name: str,
    now: datetime,
    language: str | None = "en",
    code: str = "",
    params: Sequence[tuple[str, str]] = (),
) -> EmailMessage:
    """The reply to a message that cannot be honoured as a whole: what was wrong
    and how to fix it. No attachment. With a `code` (and its `params`) that
    `problem_text` knows, the reason and hint are worded in `language`;
    otherwise `reason` and `hint` are shown as given."""
    problem = EventProblem(subject="", reason=reason, hint=hint, code=code, params=tuple(params))
    return compose_reply(
        original,
        problems=[problem],
        from_address=from_address,
        from_name=from_name,
        now=now,
        language=language,
    )
