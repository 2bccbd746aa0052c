"""Mixing configs: the recipe's proportions hold, and every mixed row says where it came from."""

from __future__ import annotations

import logging
import math
from collections import Counter
from pathlib import Path

import datasets
import pytest

from chat_dataset_baseline import CONFIGS, IdentityError
from chatcorpus.errors import UsageError
from chatcorpus.training.mixing import ORIGINAL_RECIPE, Recipe, load_recipe, mix, mix_to_size, plan_recipe

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


# --- what a recipe does: rows and epochs per config, and the modes that bound it ----------------

PLAN_ROWS = {"alpaca-zh": 2000, "chatglm-issues": 600, "alpaca-en": 1000, "prompts": 40}


def _sized(rows: dict[str, int], streaming: bool) -> dict[str, datasets.Dataset | datasets.IterableDataset]:
    sources = {}
    for config, n in rows.items():
        ds = datasets.Dataset.from_dict({"id": [f"{config}:{i}" for i in range(n)]})
        sources[config] = ds.to_iterable_dataset(num_shards=2) if streaming else ds
    return sources


def test_the_plan_of_all_exhausted_is_the_largest_rows_over_share() -> None:
    plan = plan_recipe(ORIGINAL_RECIPE, PLAN_ROWS)
    by_config = {p.config: p for p in plan.configs}

    assert plan.rows == sum(PLAN_ROWS.values())
    assert plan.drawn == pytest.approx(5000)  # alpaca-zh: 2000 rows / 0.40
    assert by_config["alpaca-zh"].epochs == pytest.approx(1.0)
    assert by_config["chatglm-issues"].epochs == pytest.approx(1500 / 600)
    assert by_config["prompts"].epochs == pytest.approx(250 / 40)
    text = plan.format()
    assert "about 5,000 rows from the release's 3,640" in text
    assert all(config in text for config in PLAN_ROWS)


def test_the_plan_matches_what_datasets_draws() -> None:
    mixed = mix(_sized(PLAN_ROWS, streaming=False), ORIGINAL_RECIPE.probabilities, seed=3)
    counts = Counter(mixed["config"])
    plan = {p.config: p for p in plan_recipe(ORIGINAL_RECIPE, PLAN_ROWS).configs}

    assert abs(mixed.num_rows - 5000) <= SIGMAS * math.sqrt(5000)
    for config, expected in plan.items():
        assert abs(counts[config] - expected.drawn) <= SIGMAS * math.sqrt(5000 * expected.share) + 5, config


def test_first_exhausted_stops_at_the_smallest_rows_over_share() -> None:
    recipe = Recipe("cut", ORIGINAL_RECIPE.probabilities, "first_exhausted")
    plan = plan_recipe(recipe, PLAN_ROWS)
    mixed = mix(_sized(PLAN_ROWS, streaming=False), recipe.probabilities, seed=3, stopping_strategy="first_exhausted")

    assert plan.drawn == pytest.approx(800)  # prompts: 40 rows / 0.05
    assert abs(mixed.num_rows - 800) <= SIGMAS * math.sqrt(800 / 0.05)


@pytest.mark.parametrize("streaming", [False, True], ids=["map-style", "streaming"])
def test_target_rows_gives_exactly_that_many_rows_each_config_cycled_in_order(streaming: bool) -> None:
    target = 3000
    mixed = mix_to_size(
        _sized(PLAN_ROWS, streaming), ORIGINAL_RECIPE.probabilities, seed=5, target_rows=target, rows=PLAN_ROWS
    )
    rows = list(mixed) if streaming else mixed.to_list()

    assert len(rows) == target
    counts = Counter(row["config"] for row in rows)
    for config, p in ORIGINAL_RECIPE.probabilities.items():
        assert abs(counts[config] - target * p) <= SIGMAS * math.sqrt(target * p * (1 - p)), config
        seen = Counter(row["id"] for row in rows if row["config"] == config)
        # cycled whole, in order: no row a second time before every row once
        assert max(seen.values()) - min(seen.values()) <= 1 and len(seen) == min(PLAN_ROWS[config], counts[config])
    assert plan_recipe(ORIGINAL_RECIPE.with_target(target), PLAN_ROWS).drawn == target


def test_load_recipe_says_what_the_recipe_does(
    demo_release: Path, cache_dir: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="chatcorpus.training.mixing"):
        mixed = load_recipe(
            demo_release, seed=0, name="小明", author="Example Lab", cache_dir=cache_dir, target_rows=40
        )

    assert mixed.num_rows == 40
    assert "recipe 'original' (target_rows) gives 40 rows from the release's" in caplog.text
    assert "epochs" in caplog.text and "prompts" in caplog.text


def test_load_recipe_can_stop_at_the_first_exhausted_config(demo_release: Path, cache_dir: str) -> None:
    full = load_recipe(demo_release, seed=0, name="小明", author="Example Lab", cache_dir=cache_dir)
    cut = load_recipe(
        demo_release,
        seed=0,
        name="小明",
        author="Example Lab",
        cache_dir=cache_dir,
        stopping_strategy="first_exhausted",
    )
    assert cut.num_rows < full.num_rows


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"stopping_strategy": "forever"}, "unknown stopping strategy"),
        ({"stopping_strategy": "target_rows"}, "give target_rows"),
        ({"stopping_strategy": "all_exhausted", "target_rows": 10}, "give target_rows"),
        ({"stopping_strategy": "target_rows", "target_rows": 0}, "give target_rows"),
    ],
)
def test_a_recipe_names_a_known_stop(kwargs: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        Recipe("bad", {"alpaca-zh": 1.0}, **kwargs)


def test_a_recipe_with_a_config_the_release_lacks_is_refused(write_source, tmp_path: Path) -> None:
    from conftest import good_record

    from chatcorpus.release.build import BuildOptions, build_release

    release = tmp_path / "partial"
    source = write_source({"alpaca-zh/a.json": [good_record(n, "zh") for n in range(3)]})
    assert build_release(source, release, options=BuildOptions(progress=False)).published
    with pytest.raises(UsageError, match="which the release .* does not have"):
        load_recipe(release, seed=0, name="小明", author="Example Lab")
