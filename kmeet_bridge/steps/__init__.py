"""The steps of one message's journey that bridge.py orders, one small object
each: reading what a message asks for, the services as the steps reach them,
planning rooms (new, series joined, re-planned), changes asked for by answering
the bridge's reply, cancelling, replying, and recording what became of it.
"""
