"""How often and how fast the bridge asks its servers: several messages of a
pass at once, in UID and meeting order; API requests in flight and per
second, and the pause after a 429; the wait before the next attempt; and
which servers are down, their probes and the lines that say so.
"""
