"""Plain "kmeet" emails -> MeetingRequest: the request reader, the date, time,
duration and zone grammar of four languages (when/), misspelt day words, the
language of a text, and what was read, worded for the reply.
"""
