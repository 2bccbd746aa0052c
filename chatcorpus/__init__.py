"""Tooling around the chat-dataset-baseline builder: read, validate, build, publish, export.

The shared schema and the configs live in the builder module ``chat_dataset_baseline``;
everything here imports them from there.
"""

__version__ = "0.1.0"
