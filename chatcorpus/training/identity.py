"""Fill the identity prompts' NAME and AUTHOR placeholders in a loaded dataset.

The ``prompts`` config teaches a model who it is; its answers say "I am NAME, built by
AUTHOR" (and "我是 NAME，由 AUTHOR 开发"), to be filled with the user's model name and
author before training. This is the plain-datasets path; the builder does the same with
``ChatDatasetBaseline(config_name="prompts", model_name=..., model_author=...)``, and
both run ``chat_dataset_baseline.render_identity_table``.

Rules (the builder's, documented there): a placeholder is replaced where it is a whole
ASCII token, in Chinese text as in English; a blank name or author is refused with
``IdentityError`` (a ``ChatDatasetError`` and a ``ValueError``); ``id`` is kept, since it
names the source record the row was rendered from.
"""

from __future__ import annotations

from functools import partial

from chat_dataset_baseline import FEATURES, IdentityError, check_identity, check_identity_columns, render_identity_table
from chatcorpus.training.views import AnyDataset, map_tables

__all__ = ["IdentityError", "render_identity"]


def render_identity(ds: AnyDataset, name: str, author: str) -> AnyDataset:
    """``ds`` (rows of the shared schema, streaming or not) with NAME and AUTHOR filled in.

    Checked now rather than when a streamed row is first read, so a blank name fails
    at the call that gave it.
    """
    check_identity(name, author)
    if ds.column_names is not None:
        check_identity_columns(ds.column_names)
    return map_tables(ds, partial(render_identity_table, name=name, author=author), FEATURES)
