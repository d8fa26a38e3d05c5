"""What reading one message may cost: its MIME structure, counted on the raw
bytes before any parser sees it, and the CPU budget the readers check in
their loops.
"""
