"""Translation tasks from linked pairs: both directions, every field, provenance kept, and in the recipes."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import datasets
import pytest
from alignment_fixtures import Tree, generate

from chat_dataset_baseline import FEATURES, VIEWS
from chatcorpus.errors import UsageError
from chatcorpus.release.build import BuildOptions, build_release
from chatcorpus.training.mixing import ORIGINAL_RECIPE, Recipe, load_recipe, with_translation
from chatcorpus.training.translation import PROMPTS, TRANSLATION_PART, load_translation, translation_tasks
from chatcorpus.training.views import from_view, to_view

N = 80


@pytest.fixture(scope="module")
def linked_release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Tree]:
    tree = generate(31, n=N, untranslated=0.2, duplicate=0.0)
    root = tmp_path_factory.mktemp("src")
    for relative, records in {
        f"alpaca-zh/alpaca_data-0-{N}-中文.json": tree.chinese,
        f"alpaca-en/alpaca_data-0-{N}-英文.json": tree.english,
    }.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    out = tmp_path_factory.mktemp("release") / "chat-dataset-baseline"
    assert build_release(root, out, options=BuildOptions(progress=False)).published
    return out, tree


def _load(release: Path, config: str, cache: Path) -> datasets.Dataset:
    return datasets.load_dataset(str(release), config, split="train", cache_dir=str(cache))


def test_each_translated_pair_gives_a_task_per_field_and_direction(
    linked_release: tuple[Path, Tree], tmp_path: Path
) -> None:
    release, _ = linked_release
    zh, en = _load(release, "alpaca-zh", tmp_path), _load(release, "alpaca-en", tmp_path)
    tasks = load_translation(release, cache_dir=str(tmp_path / "builder"))
    assert tasks.features == FEATURES
    english = {row["id"]: row for row in en}
    chinese = {row["id"]: row for row in zh}
    expected = 0
    for row in zh:
        if row["translation_kind"] == "translated":
            original = english[row["translation_of"]]
            expected += 2 * sum(
                bool(row[f].strip() and original[f].strip()) for f in ("instruction", "input", "output")
            )
    assert tasks.num_rows == expected > 0
    for task in tasks:
        origin, field = task["source"].rsplit(":", 1)
        if task["category"] == "translation-zh-en":
            row, other = chinese[task["translation_of"]], english[chinese[task["translation_of"]]["translation_of"]]
            assert task["language"] == "en" and task["instruction"] == PROMPTS["zh-en"]
        else:
            assert task["category"] == "translation-en-zh" and task["language"] == "zh"
            row = english[task["translation_of"]]
            versions = [
                r[field] for r in zh if r["translation_of"] == row["id"] and r["translation_kind"] == "translated"
            ]
            assert origin == row["source"] and task["input"] == row[field] and task["output"] in versions
            continue
        assert origin == row["source"]
        assert (task["input"], task["output"]) == (row[field], other[field])


def test_untranslated_copies_and_other_configs_give_no_tasks() -> None:
    row = {name: "" for name in FEATURES} | {"history": [], "instruction": "Hello", "output": "World"}
    zh = datasets.Dataset.from_list(
        [row | {"id": "z", "translation_of": "e", "translation_kind": "untranslated"}], features=FEATURES
    )
    en = datasets.Dataset.from_list([row | {"id": "e"}], features=FEATURES)
    assert translation_tasks(zh, en).num_rows == 0


def test_directions_and_fields_can_be_chosen(linked_release: tuple[Path, Tree], tmp_path: Path) -> None:
    release, _ = linked_release
    tasks = load_translation(release, directions=["en-zh"], fields=["instruction"], cache_dir=str(tmp_path))
    assert set(tasks["category"]) == {"translation-en-zh"}
    assert all(source.endswith(":instruction") for source in tasks["source"])
    with pytest.raises(UsageError, match="directions"):
        load_translation(release, directions=["zh-fr"], cache_dir=str(tmp_path))


@pytest.mark.parametrize("view", VIEWS)
def test_tasks_take_every_view_losslessly(linked_release: tuple[Path, Tree], tmp_path: Path, view: str) -> None:
    tasks = load_translation(linked_release[0], cache_dir=str(tmp_path))
    assert from_view(to_view(tasks, view), view).to_list() == tasks.to_list()


def test_with_translation_scales_the_other_parts() -> None:
    recipe = with_translation(ORIGINAL_RECIPE, 0.2)
    assert math.isclose(sum(recipe.probabilities.values()), 1.0)
    assert recipe.probabilities[TRANSLATION_PART] == 0.2
    for config, p in ORIGINAL_RECIPE.probabilities.items():
        assert math.isclose(recipe.probabilities[config], p * 0.8)
    with pytest.raises(UsageError):
        with_translation(ORIGINAL_RECIPE, 1.0)


@pytest.mark.parametrize("streaming", [False, True], ids=["map-style", "streaming"])
def test_the_translation_recipe_mixes_tasks_in(
    linked_release: tuple[Path, Tree], tmp_path: Path, streaming: bool
) -> None:
    release, _ = linked_release
    recipe = with_translation(Recipe("zh-en", {"alpaca-zh": 0.5, "alpaca-en": 0.5}, "first_exhausted"), 0.3)
    mixed = load_recipe(release, recipe, seed=1, streaming=streaming, cache_dir=str(tmp_path))
    counts = Counter(row["config"] for row in mixed)
    assert set(counts) == {"alpaca-zh", "alpaca-en", TRANSLATION_PART}


def test_a_release_without_links_refuses_the_translation_recipe(
    write_source: Callable[..., Path], tmp_path: Path
) -> None:
    tree = generate(32, n=10)
    source = write_source({"alpaca-zh/no-range.json": tree.chinese, "alpaca-en/no-range.json": tree.english})
    release = tmp_path / "unlinked"
    assert build_release(source, release, options=BuildOptions(progress=False, skip_invalid=True)).published
    recipe = with_translation(Recipe("both", {"alpaca-zh": 0.5, "alpaca-en": 0.5}, "first_exhausted"), 0.2)
    with pytest.raises(UsageError, match="no alpaca-zh row linked"):
        load_recipe(release, recipe, seed=0, cache_dir=str(tmp_path / "c"))
