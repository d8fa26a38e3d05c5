"""The mail side: the mailbox over IMAP (new UIDs, a large message fetched in
parts after its BODYSTRUCTURE, moves), the IDLE watcher that wakes a pass,
SMTP sending, the headers a request is read and answered by, and whether its
sender is who they say (Authentication-Results).
"""
