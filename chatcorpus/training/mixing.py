"""Mix configs into one training stream, each row tagged with the config it came from.

``mix`` is ``datasets.interleave_datasets`` with two guarantees on top: every row keeps
its ``config`` (a column added before interleaving) and its ``id``, so a mixed row can
be traced to its source record; and the probabilities are checked against the configs
by name, not by position. ``load_recipe`` loads a release's configs through the
verifying builder and mixes them by a named ``Recipe``, and says what the mix does.

What a mix does is not obvious from its probabilities. ``all_exhausted`` runs until
every config has been seen whole, so the mix has about max(rows / share) rows and the
small configs are repeated: ``ORIGINAL_RECIPE`` turns the 2024-05-06 corpus's 80,665
rows into about 207,900, each identity prompt seen ~115 times. ``first_exhausted``
stops when the first config runs out, so the others are cut short. ``target_rows``
gives a mix of exactly that many rows, each config contributing its share, cycled
when the share is larger than the config. ``plan_recipe`` computes the expected rows
and epochs of each config; ``load_recipe`` logs them (a warning on the
``chatcorpus.training.mixing`` logger) when it loads a recipe.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from types import MappingProxyType

import datasets
import pyarrow as pa

from chat_dataset_baseline import IDENTITY_CONFIG, IdentityError
from chatcorpus.errors import UsageError
from chatcorpus.release.lock import Lock
from chatcorpus.training.release_manifest import read_release_manifest
from chatcorpus.training.translation import TRANSLATION_PART, load_translation
from chatcorpus.training.views import AnyDataset, load_view, map_tables, to_view

logger = logging.getLogger(__name__)

CONFIG_COLUMN = "config"


#: When a mix ends: datasets' two stopping strategies, or after ``target_rows`` rows.
STOPPING_STRATEGIES = ("all_exhausted", "first_exhausted", "target_rows")


@dataclass(frozen=True)
class Recipe:
    """A named mix: the share of training rows each config gets, and when the mix ends.

    ``stopping_strategy`` is one of ``STOPPING_STRATEGIES``; ``target_rows`` is the size
    of the mix with ``"target_rows"`` (and only then).
    """

    name: str
    probabilities: Mapping[str, float]
    stopping_strategy: str
    target_rows: int | None = None

    def __post_init__(self) -> None:
        if self.stopping_strategy not in STOPPING_STRATEGIES:
            raise UsageError(
                f"unknown stopping strategy {self.stopping_strategy!r}; choose one of {', '.join(STOPPING_STRATEGIES)}"
            )
        targeted = self.stopping_strategy == "target_rows"
        if targeted != (self.target_rows is not None) or (targeted and (self.target_rows or 0) < 1):
            raise UsageError(
                "give target_rows (a positive number of rows) with stopping_strategy='target_rows', only then"
            )

    def with_target(self, target_rows: int) -> Recipe:
        """This mix, made exactly ``target_rows`` rows long."""
        return replace(self, stopping_strategy="target_rows", target_rows=target_rows)


@dataclass(frozen=True)
class ConfigPlan:
    config: str
    rows: int  # in the release
    share: float
    drawn: float  # expected rows of this config in the mix

    @property
    def epochs(self) -> float:
        return self.drawn / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class RecipePlan:
    """What a recipe does to a release: the expected size of the mix and each config's epochs."""

    recipe: Recipe
    configs: tuple[ConfigPlan, ...]

    @property
    def rows(self) -> int:
        return sum(plan.rows for plan in self.configs)

    @property
    def drawn(self) -> float:
        return sum(plan.drawn for plan in self.configs)

    def format(self) -> str:
        exact = self.recipe.stopping_strategy == "target_rows"
        lines = [
            f"recipe {self.recipe.name!r} ({self.recipe.stopping_strategy}) gives {'' if exact else 'about '}"
            f"{self.drawn:,.0f} rows from the release's {self.rows:,}:",
            f"  {'config':<16}{'rows':>9}{'share':>7}{'drawn':>10}{'epochs':>8}",
        ]
        lines += [f"  {p.config:<16}{p.rows:>9,}{p.share:>7.2f}{p.drawn:>10,.0f}{p.epochs:>8.2f}" for p in self.configs]
        return "\n".join(lines)


def plan_recipe(recipe: Recipe | str, rows: Mapping[str, int]) -> RecipePlan:
    """The expected rows and epochs of each config when ``recipe`` mixes configs of these sizes.

    Each draw picks config ``c`` with probability ``p[c]``, so after ``n`` draws about
    ``n * p[c]`` rows came from it: ``all_exhausted`` ends after about
    ``max(rows[c] / p[c])`` draws, ``first_exhausted`` after about ``min(rows[c] / p[c])``
    (datasets' actual count differs by the randomness of the draws).
    """
    recipe = _recipe(recipe)
    sizes = [rows[config] / share for config, share in recipe.probabilities.items()]
    if recipe.stopping_strategy == "target_rows":
        total = float(recipe.target_rows or 0)
    elif recipe.stopping_strategy == "first_exhausted":
        total = min(sizes)
    else:
        total = max(sizes)
    plans = tuple(
        ConfigPlan(config, rows[config], share, total * share) for config, share in recipe.probabilities.items()
    )
    return RecipePlan(recipe, plans)


#: The original authors' mix, in numbers they never wrote down (their repository trains
#: on the files concatenated). Their aim was a Chinese chat model: the translated
#: Alpaca and the re-answered ChatGLM questions get 70% of the rows. They found LoRA on
#: Chinese data cost the model its translation ability and proposed English data to
#: bring it back: the English Alpaca gets 25%. The identity prompts get 5%, one row in
#: twenty, so the model learns its name. ``all_exhausted`` ends the mix once every row
#: of every config has been seen, repeating the smaller configs rather than dropping
#: rows: on the 2024-05-06 corpus that is ~208k rows (51,942 English rows / 0.25), with
#: alpaca-zh seen ~4x, chatglm-issues ~7x and each identity prompt ~110x (``plan_recipe``
#: gives the figures for any release; ``load_recipe(..., target_rows=...)`` a mix of a chosen size).
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
    if stopping_strategy not in ("all_exhausted", "first_exhausted"):
        raise UsageError(f"mix stops at all_exhausted or first_exhausted, not {stopping_strategy!r}; see mix_to_size")
    configs = list(datasets_by_config)
    return datasets.interleave_datasets(
        [with_config(datasets_by_config[config], config) for config in configs],
        probabilities=[probabilities[config] for config in configs],
        seed=seed,
        stopping_strategy=stopping_strategy,
    )


#: How many standard deviations of a config's share ``mix_to_size`` repeats it beyond its expected share.
_SHARE_MARGIN_SIGMAS = 8


def mix_to_size(
    datasets_by_config: Mapping[str, AnyDataset],
    probabilities: Mapping[str, float],
    seed: int,
    target_rows: int,
    rows: Mapping[str, int],
) -> AnyDataset:
    """A mix of exactly ``target_rows`` rows, each config cycled as often as its share needs.

    Each config (of ``rows[config]`` rows) is repeated whole enough times that it does
    not run out before the mix has ``target_rows`` rows (its expected share plus
    ``_SHARE_MARGIN_SIGMAS`` standard deviations of the binomial draw), mixed with
    ``first_exhausted`` and cut at ``target_rows``. A config is seen in its stored order,
    again and again: every row of it before any row a second time.
    """
    if target_rows < 1:
        raise UsageError(f"target_rows must be a positive number of rows, got {target_rows}")
    _check_probabilities(datasets_by_config, probabilities)
    cycled = {}
    for config, ds in datasets_by_config.items():
        share = target_rows * probabilities[config]
        needed = share + _SHARE_MARGIN_SIGMAS * math.sqrt(share * (1 - probabilities[config])) + 1
        if rows[config] < 1:
            raise UsageError(f"the {config!r} config has no rows to give its share of the mix")
        cycled[config] = datasets.concatenate_datasets([ds] * math.ceil(needed / rows[config]))
    mixed = mix(cycled, probabilities, seed, "first_exhausted")
    if isinstance(mixed, datasets.IterableDataset):
        return mixed.take(target_rows)
    if mixed.num_rows < target_rows:  # beyond the margin: not seen in practice, but never silently short
        raise UsageError(f"the mix ran out at {mixed.num_rows} rows before target_rows={target_rows}; use another seed")
    return mixed.select(range(target_rows))


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
    stopping_strategy: str | None = None,
    target_rows: int | None = None,
) -> datasets.Dataset | datasets.IterableDataset:
    """A release's configs, verified and in ``view``, mixed by ``recipe`` (a ``Recipe`` or a name in ``RECIPES``).

    ``lock`` and ``manifest_sha256`` pin the release as in ``load_view``.
    ``stopping_strategy`` replaces the recipe's (``all_exhausted`` or
    ``first_exhausted``); ``target_rows`` makes the mix exactly that long instead.
    What the mix does (rows and epochs per config, ``plan_recipe``) is logged as a
    warning on this module's logger before the parts are mixed.

    A recipe with the identity prompts needs ``name`` and ``author``: training on the
    bare placeholders would teach the model that its name is NAME.
    """
    recipe = _recipe(recipe)
    if target_rows is not None:
        recipe = recipe.with_target(target_rows)
    elif stopping_strategy is not None:
        recipe = replace(recipe, stopping_strategy=stopping_strategy)
    if IDENTITY_CONFIG in recipe.probabilities and (name is None or author is None):
        raise IdentityError(
            f"recipe {recipe.name!r} includes the {IDENTITY_CONFIG!r} config; give name and author to fill it in"
        )
    manifest = read_release_manifest(release, revision, lock)
    configs = [config for config in recipe.probabilities if config != TRANSLATION_PART]
    missing = [config for config in configs if config not in manifest.configs]
    if missing:
        raise UsageError(
            f"recipe {recipe.name!r} mixes {', '.join(missing)}, which the release {release} does not have"
        )
    rows = {config: int(manifest.configs[config]["rows"]) for config in configs}
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
        for config in configs
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
        rows[TRANSLATION_PART] = tasks.num_rows
    logger.warning("%s", plan_recipe(recipe, rows).format())
    if recipe.target_rows is not None:
        return mix_to_size(loaded, recipe.probabilities, seed, recipe.target_rows, rows)
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
