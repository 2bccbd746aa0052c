"""Mix configs into one training stream, each row tagged with the config it came from.

``mix`` is ``datasets.interleave_datasets`` with two guarantees on top: every row keeps
its ``config`` (a column added before interleaving) and its ``id``, so a mixed row can
be traced to its source record; and the probabilities are checked against the configs
by name, not by position. ``load_recipe`` loads a release's configs through the
verifying builder and mixes them by a named ``Recipe``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import MappingProxyType

import datasets
import pyarrow as pa

from chat_dataset_baseline import IDENTITY_CONFIG, IdentityError
from chatcorpus.errors import UsageError
from chatcorpus.release.lock import Lock
from chatcorpus.training.translation import TRANSLATION_PART, load_translation
from chatcorpus.training.views import AnyDataset, load_view, map_tables, to_view

CONFIG_COLUMN = "config"


@dataclass(frozen=True)
class Recipe:
    """A named mix: the share of training rows each config gets, and when the mix ends."""

    name: str
    probabilities: Mapping[str, float]
    stopping_strategy: str


#: The original authors' mix, in numbers they never wrote down (their repository trains
#: on the files concatenated). Their aim was a Chinese chat model: the translated
#: Alpaca and the re-answered ChatGLM questions get 70% of the rows. They found LoRA on
#: Chinese data cost the model its translation ability and proposed English data to
#: bring it back: the English Alpaca gets 25%. The identity prompts get 5%, one row in
#: twenty, so the model learns its name. ``all_exhausted`` ends the mix once every row
#: of every config has been seen, repeating the smaller configs rather than dropping
#: rows: on the 2024-05-06 corpus that is ~208k rows (51,942 English rows / 0.25), with
#: alpaca-zh seen ~4x, chatglm-issues ~7x and each identity prompt ~110x.
ORIGINAL_RECIPE = Recipe(
    name="original",
    probabilities=MappingProxyType(
        {"alpaca-zh": 0.40, "chatglm-issues": 0.30, "alpaca-en": 0.25, IDENTITY_CONFIG: 0.05}
    ),
    stopping_strategy="all_exhausted",
)


def with_translation(recipe: Recipe, share: float, name: str | None = None) -> Recipe:
    """``recipe`` with the translation tasks (``chatcorpus.training.translation``) as a part of ``share`` of the rows.

    The other parts keep their proportions to each other, scaled to ``1 - share``: a
    user keeps translation ability on purpose instead of hoping English Alpaca is enough.
    """
    if not 0 < share < 1:
        raise UsageError(f"the translation share must be between 0 and 1, got {share}")
    scaled = {part: p * (1 - share) for part, p in recipe.probabilities.items() if part != TRANSLATION_PART}
    return Recipe(
        name=name or f"{recipe.name}+translation",
        probabilities=MappingProxyType({**scaled, TRANSLATION_PART: share}),
        stopping_strategy=recipe.stopping_strategy,
    )


#: The original mix with one row in ten a translation task (zh->en or en->zh).
TRANSLATION_RECIPE = with_translation(ORIGINAL_RECIPE, 0.10, name="original-with-translation")
RECIPES: dict[str, Recipe] = {recipe.name: recipe for recipe in (ORIGINAL_RECIPE, TRANSLATION_RECIPE)}


def mix(
    datasets_by_config: Mapping[str, AnyDataset],
    probabilities: Mapping[str, float],
    seed: int,
    stopping_strategy: str = "all_exhausted",
) -> AnyDataset:
    """Rows of every config, drawn at random with ``probabilities[config]``, each with its ``config``.

    All datasets must be of one kind (``Dataset`` or ``IterableDataset``) and one view.
    The default stopping strategy sees every row at least once; ``first_exhausted``
    (datasets' default) would silently drop the rest of every config but the first to
    run out.
    """
    _check_probabilities(datasets_by_config, probabilities)
    configs = list(datasets_by_config)
    return datasets.interleave_datasets(
        [with_config(datasets_by_config[config], config) for config in configs],
        probabilities=[probabilities[config] for config in configs],
        seed=seed,
        stopping_strategy=stopping_strategy,
    )


def with_config(ds: AnyDataset, config: str) -> AnyDataset:
    """``ds`` with a ``config`` column naming where its rows came from."""
    if ds.features is None:
        raise UsageError(f"the {config!r} dataset has no known features; load it from a release or cast it first")
    features = datasets.Features({**ds.features, CONFIG_COLUMN: datasets.Value("string")})
    return map_tables(ds, partial(_tag_config, config=config), features)


def _tag_config(table: pa.Table, config: str) -> pa.Table:
    return table.append_column(CONFIG_COLUMN, pa.repeat(config, table.num_rows))


def load_recipe(
    release: str | Path,
    recipe: Recipe | str = ORIGINAL_RECIPE,
    *,
    seed: int,
    view: str = "alpaca",
    streaming: bool = False,
    revision: str | None = None,
    name: str | None = None,
    author: str | None = None,
    cache_dir: str | None = None,
    lock: Lock | None = None,
    manifest_sha256: str | None = None,
) -> datasets.Dataset | datasets.IterableDataset:
    """A release's configs, verified and in ``view``, mixed by ``recipe`` (a ``Recipe`` or a name in ``RECIPES``).

    ``lock`` and ``manifest_sha256`` pin the release as in ``load_view``.

    A recipe with the identity prompts needs ``name`` and ``author``: training on the
    bare placeholders would teach the model that its name is NAME.
    """
    recipe = _recipe(recipe)
    if IDENTITY_CONFIG in recipe.probabilities and (name is None or author is None):
        raise IdentityError(
            f"recipe {recipe.name!r} includes the {IDENTITY_CONFIG!r} config; give name and author to fill it in"
        )
    loaded = {
        config: load_view(
            release,
            config,
            view,
            streaming=streaming,
            revision=revision,
            name=name if config == IDENTITY_CONFIG else None,
            author=author if config == IDENTITY_CONFIG else None,
            cache_dir=cache_dir,
            lock=lock,
            manifest_sha256=manifest_sha256,
        )
        for config in recipe.probabilities
        if config != TRANSLATION_PART
    }
    if TRANSLATION_PART in recipe.probabilities:
        tasks = to_view(
            load_translation(
                release, revision=revision, cache_dir=cache_dir, lock=lock, manifest_sha256=manifest_sha256
            ),
            view,
        )
        if tasks.num_rows == 0:
            raise UsageError(
                f"recipe {recipe.name!r} includes translation tasks, but {release} has no alpaca-zh row linked to "
                "an alpaca-en original"
            )
        loaded[TRANSLATION_PART] = tasks.to_iterable_dataset() if streaming else tasks
    return mix(loaded, recipe.probabilities, seed, recipe.stopping_strategy)


def _recipe(recipe: Recipe | str) -> Recipe:
    if isinstance(recipe, Recipe):
        return recipe
    if recipe not in RECIPES:
        raise UsageError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    return RECIPES[recipe]


def _check_probabilities(datasets_by_config: Mapping[str, AnyDataset], probabilities: Mapping[str, float]) -> None:
    if set(probabilities) != set(datasets_by_config):
        raise UsageError(
            f"probabilities name {sorted(probabilities)} but the datasets are {sorted(datasets_by_config)}; name the same configs"
        )
    if any(p <= 0 for p in probabilities.values()) or not math.isclose(sum(probabilities.values()), 1.0, abs_tol=1e-9):
        raise UsageError(f"probabilities must be positive and sum to 1, got {dict(probabilities)}")
