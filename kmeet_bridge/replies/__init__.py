"""Composing the replies (pure, no I/O): the reply email with its .ics, a
series' rule in words, and the wording: the gettext catalogs (locale/) and
CLDR dates, numbers, units and zone names (Babel).
"""
