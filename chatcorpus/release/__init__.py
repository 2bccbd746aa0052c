"""Releases: rows and shards, the manifest and card, build, verify and publish.

The default shard size is set here, not in ``shards``, so the command line can show it
without importing pyarrow and ``datasets``.
"""

DEFAULT_SHARD_ROWS = 5000
