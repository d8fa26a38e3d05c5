"""The service around the bridge: the command line, the APScheduler daemon and
its signals, one bridge per state database (the lock), the dry run, what the
state says (status, Prometheus metrics), what the systemd unit's user can
read, and text safe for a terminal.
"""
