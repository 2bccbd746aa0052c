"""Releases: rows and shards, the manifest and card, build, verify and publish."""
