"""Calendar invitations -> MeetingRequest: finding the calendar parts of a
message, reading its events (icalendar), placing them in time (IANA, Windows
and custom VTIMEZONE zones), series; and what an invitation does to a meeting
already planned, and who may change that meeting.
"""
