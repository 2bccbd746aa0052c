"""The card's "Statistics" section: ``chat-dataset-baseline stats`` as Markdown, with the charts.

The charts are linked by their path in the release (``![...](images/lengths-alpaca-zh.png)``).
The Hub renders a README's relative links against the revision being viewed, so the card
of tag v1.2.0 shows v1.2.0's charts (an absolute ``resolve/main`` link would show the
newest release's charts on every old tag), and the same card renders in a local
folder, a Git checkout, or any Markdown viewer.

Names in the tables come from the release (category names are source file stems, chosen
by contributors): each is escaped so that it stays one table cell of text, never Markdown
or HTML of its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from chatcorpus.release.charts import Chart
from chatcorpus.release.stats import LENGTH_FIELDS, ReleaseStats, category_rows
from chatcorpus.validation import inert

_PLAIN = re.compile(r"[\w.\-]+")


def statistics_section(stats: ReleaseStats, charts: Sequence[Chart]) -> str:
    """Rows and languages, length summaries, the charts, categories, and the rules' counts per config."""
    parts = [
        "Counted from this release's shards; `chat-dataset-baseline stats` prints the same for any release "
        "(`--format json`, and `--tokenizer NAME_OR_PATH` to count a model's tokens instead of characters).",
        _rows_table(stats),
        f"Lengths in {stats.unit} per row: `total` is the system prompt, the earlier turns, the instruction, "
        "the input and the output together; quantiles are lengths that rows have.",
        _lengths_table(stats),
        *(f"![{_text(chart.title)}]({chart.path})" for chart in charts),
        "Rows per category (`#` is the rank a chart labels a category by when its font cannot draw the name):",
        _categories_table(stats),
        "What the build's rules found, per config (errors rejected their records; warnings were published):",
        _faults_table(stats),
    ]
    return "\n\n".join(parts)


def _rows_table(stats: ReleaseStats) -> str:
    lines = ["| config | rows | rejected | languages |", "|---|---:|---:|---|"]
    for name, config in stats.configs.items():
        languages = ", ".join(f"{_text(k)} {v:,}" for k, v in sorted(config.languages.items(), key=lambda i: -i[1]))
        lines.append(f"| `{name}` | {config.rows:,} | {config.rejected:,} | {languages} |")
    return "\n".join(lines)


def _lengths_table(stats: ReleaseStats) -> str:
    lines = ["| config | field | min | p50 | p90 | p99 | max | mean |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, config in stats.configs.items():
        summaries = config.summaries()
        for field_name in LENGTH_FIELDS:
            s = summaries[field_name]
            lines.append(
                f"| `{name}` | {field_name} | {s.min:,} | {s.p50:,} | {s.p90:,} | {s.p99:,} | {s.max:,} | {s.mean:,.1f} |"
            )
    return "\n".join(lines)


def _categories_table(stats: ReleaseStats) -> str:
    lines = ["| config | # | category | rows |", "|---|---:|---|---:|"]
    lines.extend(
        f"| `{config}` | {rank} | {_code(category)} | {count:,} |"
        for config, rank, category, count in category_rows(stats)
    )
    return "\n".join(lines)


def _faults_table(stats: ReleaseStats) -> str:
    if not stats.faults:
        return "No rule found anything."
    lines = ["| config | rule | severity | faults |", "|---|---|---|---:|"]
    for entry in stats.faults:
        config = f"`{entry['config']}`" if entry["config"] else "(source root)"
        lines.append(f"| {config} | {_code(entry['rule'])} | {entry['severity']} | {entry['count']:,} |")
    return "\n".join(lines)


def _code(value: str) -> str:
    """A name as a code span when it is a plain word (``clean.url-only-input``, ``三国问题``), else as escaped text."""
    return f"`{value}`" if _PLAIN.fullmatch(value) else _text(value)


def _text(value: str) -> str:
    """Release-derived text as literal Markdown text on one line (``$`` never starts math on the Hub)."""
    return inert.markdown_text(value)
