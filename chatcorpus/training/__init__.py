"""What trainers use: views, identity rendering, mixing recipes and exports.

The export formats are named here, not in ``export``, so the command line can list
them without importing ``datasets``.
"""

LLAMA_FACTORY = "llama-factory"
#: The view each plain JSON Lines format writes.
PLAIN_FORMATS = {
    "jsonl": "alpaca",
    "messages": "messages",
    "sharegpt": "sharegpt",
    "prompt-completion": "prompt-completion",
}
FORMATS = (LLAMA_FACTORY, *PLAIN_FORMATS)
