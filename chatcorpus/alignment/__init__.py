"""The translation link between alpaca-zh and alpaca-en: which English record each Chinese one was made from.

A group of its own because it relates two configs to each other: validation judges one
record at a time, release packages rows, training reshapes them; the alignment is read
by all three (``build`` fills the link, ``align``/``coverage`` audit it, the
``translation`` view turns linked pairs into translation tasks).
"""
