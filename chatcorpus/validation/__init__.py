"""Reading and checking contributed files: sources, locating, schema, lint rules, reports.

Nothing here imports the release or training parts, so a pull-request check loads only
what it needs.
"""
