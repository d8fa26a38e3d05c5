"""Who may do what with a planned meeting (pure).

A meeting belongs to its owners: its organiser (an invitation's ORGANIZER, a
plain request's sender) and whoever had it planned (the sender of the message
that planned it first). Anybody on the allow-list can send any invitation, so
what a message may do with a meeting that is already planned depends on who
sends it:

- an owner may update, re-plan and cancel it, and gets its link;
- an attendee, as the meeting was planned (not as the message says: anybody
  can add themselves to a copy), gets its link, but changes nothing;
- anybody else gets neither.

Whoever had the meeting planned is told of every change the organiser makes
(`to_tell`). A meeting recorded before owners were (an older state database
whose message is gone) has none, and stays open to every allowed sender as
before.
"""

from __future__ import annotations

from collections.abc import Iterable

from kmeet_bridge.models import EventProblem, MeetingRequest
from kmeet_bridge.store import Owners

OWNER = "owner"
ATTENDEE = "attendee"
STRANGER = "stranger"


def owners_of(meeting: MeetingRequest, sender: str) -> Owners:
    """The owners of a meeting `sender` is planning now."""
    organizer = next((a.address for a in meeting.attendees if a.organizer), "")
    return Owners(
        organizer=organizer.lower(),
        planner=sender.lower(),
        attendees=attendee_addresses(meeting),
    )


def attendee_addresses(meeting: MeetingRequest) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a.address.lower() for a in meeting.attendees))


def role(owners: Owners, sender: str) -> str:
    """OWNER, ATTENDEE or STRANGER: what `sender` is to a meeting with `owners`."""
    who = sender.lower()
    if not (owners.organizer or owners.planner) or who in (owners.organizer, owners.planner):
        return OWNER
    return ATTENDEE if who in owners.attendees else STRANGER


def to_tell(owners: Iterable[Owners], sender: str) -> list[str]:
    """Who had the changed meetings planned, when not `sender`: they are told."""
    who = sender.lower()
    return list(dict.fromkeys(o.planner for o in owners if o.planner and o.planner != who))


def not_theirs(role: str) -> EventProblem:
    """Why a sender in `role` may not do what their message does to a meeting."""
    if role == ATTENDEE:
        return EventProblem(
            "",
            "Only the meeting's organiser, or whoever had it planned, can change or cancel it. "
            "It stays as planned.",
            "Ask the organiser to send the change.",
            code="not_owner",
        )
    return EventProblem(
        "",
        "The meeting was planned by someone else, and does not list you as an attendee.",
        "Ask the meeting's organiser for the link.",
        code="not_yours",
    )
