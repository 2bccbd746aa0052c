"""Mixing configs: the recipe's proportions hold, and every mixed row says where it came from."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import datasets
import pytest

from chat_dataset_baseline import CONFIGS, IdentityError
from chatcorpus.errors import UsageError
from chatcorpus.training.mixing import ORIGINAL_RECIPE, load_recipe, mix

SAMPLE = 4000  # rows drawn; each config's count is Binomial(SAMPLE, p)
ROWS_PER_CONFIG = 2000  # enough that no config runs out within the sample, so the draws are independent
SIGMAS = 4


def _synthetic(config: str, streaming: bool) -> datasets.Dataset | datasets.IterableDataset:
    ds = datasets.Dataset.from_dict({"id": [f"{config}:{n}" for n in range(ROWS_PER_CONFIG)]})
    return ds.to_iterable_dataset(num_shards=4) if streaming else ds


@pytest.mark.parametrize("streaming", [False, True], ids=["map-style", "streaming"])
def test_the_original_recipe_gives_its_proportions_within_sampling_error(streaming: bool) -> None:
    sources = {config: _synthetic(config, streaming) for config in ORIGINAL_RECIPE.probabilities}
    mixed = mix(
        sources, ORIGINAL_RECIPE.probabilities, seed=20240506, stopping_strategy=ORIGINAL_RECIPE.stopping_strategy
    )
    rows = list(mixed.take(SAMPLE)) if streaming else mixed.select(range(SAMPLE)).to_list()

    counts = Counter(row["config"] for row in rows)
    for config, p in ORIGINAL_RECIPE.probabilities.items():
        tolerance = SIGMAS * math.sqrt(SAMPLE * p * (1 - p))
        assert abs(counts[config] - SAMPLE * p) <= tolerance, (config, counts[config], SAMPLE * p)
    assert all(row["id"].startswith(f"{row['config']}:") for row in rows)  # the tag names the source the row came from


def test_the_original_recipe_is_chinese_first_and_sums_to_one() -> None:
    p = ORIGINAL_RECIPE.probabilities

    assert set(p) == set(CONFIGS)
    assert math.isclose(sum(p.values()), 1.0)
    assert p["alpaca-zh"] + p["chatglm-issues"] > p["alpaca-en"] > p["prompts"]


@pytest.mark.parametrize("streaming", [False, True], ids=["map-style", "streaming"])
def test_a_mixed_release_keeps_every_rows_config_and_id(demo_release: Path, cache_dir: str, streaming: bool) -> None:
    mixed = load_recipe(
        demo_release, seed=0, streaming=streaming, name="小明", author="Example Lab", cache_dir=cache_dir
    )
    rows = list(mixed)

    sources = {
        config: datasets.load_dataset(str(demo_release), config, split="train", cache_dir=cache_dir)
        for config in CONFIGS
    }
    source_ids = {config: set(ds["id"]) for config, ds in sources.items()}
    assert {(row["config"], row["id"]) for row in rows} == {
        (c, i) for c, ids in source_ids.items() for i in ids
    }  # all_exhausted: every row
    assert not any("NAME" in row["output"] for row in rows if row["config"] == "prompts")


def test_a_recipe_with_the_identity_prompts_needs_name_and_author(demo_release: Path, cache_dir: str) -> None:
    with pytest.raises(IdentityError, match="give name and author"):
        load_recipe(demo_release, "original", seed=0, cache_dir=cache_dir)


def test_an_unknown_recipe_name_is_refused(demo_release: Path, cache_dir: str) -> None:
    with pytest.raises(UsageError, match="unknown recipe 'secret'; choose one of original"):
        load_recipe(demo_release, "secret", seed=0, cache_dir=cache_dir)


@pytest.mark.parametrize(
    "probabilities, message",
    [
        ({"alpaca-zh": 1.0}, "name the same configs"),
        ({"alpaca-zh": 0.5, "alpaca-en": 0.4}, "sum to 1"),
        ({"alpaca-zh": 1.2, "alpaca-en": -0.2}, "positive"),
    ],
)
def test_probabilities_must_name_the_configs_and_sum_to_one(probabilities: dict[str, float], message: str) -> None:
    sources = {config: _synthetic(config, streaming=False) for config in ("alpaca-zh", "alpaca-en")}

    with pytest.raises(UsageError, match=message):
        mix(sources, probabilities, seed=0)
