"""Real servers for the tests, on loopback: Dovecot, an SMTP sink, the kMeet API simulator."""
