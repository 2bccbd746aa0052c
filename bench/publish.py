"""Benchmark: what an append-only release costs to publish, ``push`` against ``Dataset.push_to_hub``.

Not a test: it prints figures and their ratio. Both publishers run in this process against
the same local Hub (``tests/hub_server.py``), which counts every request and every byte it
receives. The scenario: a config of ``--rows`` records is published as this package's
``RELEASE_VERSION`` (vX.0.0), then ``--new`` records are appended and the next minor (vX.1.0) is
published. Only the second publication is measured:

* ``push``: ``build --base ORG/NAME@vX.0.0`` keeps every unchanged shard, so the push
  uploads the new shards, the card and the manifest;
* ``push_to_hub``: the whole config, as ``datasets`` publishes it.

    python bench/publish.py [--rows 20000] [--new 1000] [--shard-rows 5000]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the local Hub lives with the tests

from hub_server import HubServer, client_environment  # noqa: E402

CONFIG = "alpaca-en"
WORDS = [
    "the",
    "model",
    "answers",
    "questions",
    "about",
    "rivers",
    "mountains",
    "history",
    "code",
    "numbers",
    "poems",
    "recipes",
    "weather",
    "planets",
    "languages",
    "music",
    "markets",
    "health",
    "travel",
    "animals",
    "plants",
    "physics",
    "chemistry",
    "logic",
    "games",
    "sports",
    "law",
    "art",
]


def records(start: int, count: int, seed: int = 0) -> list[dict[str, str]]:
    """Distinct, plausible records: text that compresses like text, not like a counter."""
    rng = random.Random(seed + start)

    def sentence(n: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."

    return [
        {
            "instruction": f"Q{start + i}: {sentence(12)}",
            "input": "",
            "output": " ".join(sentence(14) for _ in range(4)),
        }
        for i in range(count)
    ]


def write_source(folder: Path, files: dict[str, list[dict[str, str]]]) -> Path:
    for name, content in files.items():
        path = folder / CONFIG / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content), encoding="utf-8")
    return folder


def measure(hub: HubServer, publish) -> tuple[int, int]:
    """(requests, request bytes) the server received while ``publish`` ran."""
    mark = hub.mark()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        publish()
    return len(hub.since(mark)), hub.received_bytes(mark)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000, help="records in the first release")
    parser.add_argument("--new", type=int, default=1_000, help="records appended in the second")
    parser.add_argument("--shard-rows", type=int, default=5_000)
    args = parser.parse_args()

    import datasets
    from huggingface_hub.utils import disable_progress_bars

    from chat_dataset_baseline import RELEASE_VERSION
    from chatcorpus.cli import main as cli
    from chatcorpus.release.build import BuildOptions, build_release

    disable_progress_bars()
    datasets.disable_progress_bars()
    with tempfile.TemporaryDirectory() as tmp, HubServer() as hub, client_environment(hub.url, Path(tmp) / "hf-home"):
        root = Path(tmp)
        first = {"a.json": records(0, args.rows)}
        second = {**first, "b.json": records(args.rows, args.new)}
        options = dict(shard_rows=args.shard_rows, progress=False, configs=(CONFIG,))
        v1 = root / "v1" / "chat-dataset-baseline"
        major, minor, _ = (int(part) for part in RELEASE_VERSION.split("."))
        first_version, second_version = RELEASE_VERSION, f"{major}.{minor + 1}.0"
        build_release(write_source(root / "src1", first), v1, options=BuildOptions(version=first_version, **options))

        # push: the first version, then the next minor built on the published first
        measure(hub, lambda: cli(["push", str(v1), "--repo", "bench/push"]))
        v2 = root / "v2" / "chat-dataset-baseline"
        build_release(
            write_source(root / "src2", second),
            v2,
            options=BuildOptions(version=second_version, base=f"bench/push@v{first_version}", **options),
        )
        ours = measure(hub, lambda: cli(["push", str(v2), "--repo", "bench/push"]))

        # push_to_hub: the same two versions of the config, each pushed whole
        cache = str(root / "cache")
        for release, _label in ((v1, "first"), (v2, "second")):
            ds = datasets.load_dataset(str(release), CONFIG, split="train", cache_dir=cache)
            cost = measure(hub, lambda ds=ds: ds.push_to_hub("bench/push-to-hub", config_name=CONFIG))
        theirs = cost

    rows_total = args.rows + args.new
    print(
        f"append-only release: {args.new:,} new rows on {args.rows:,} ({rows_total:,} in all), shards of {args.shard_rows:,} rows"
    )
    print(f"{'publisher':<34}{'requests':>10}{'bytes uploaded':>16}")
    print(f"{'chat-dataset-baseline push':<34}{ours[0]:>10,}{ours[1]:>16,}")
    print(f"{'Dataset.push_to_hub (whole config)':<34}{theirs[0]:>10,}{theirs[1]:>16,}")
    print(f"ratio push_to_hub / push: {theirs[1] / ours[1]:.1f}x the bytes, {theirs[0] / ours[0]:.1f}x the requests")


if __name__ == "__main__":
    main()
