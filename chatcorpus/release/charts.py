"""The release's charts: a length histogram per config and the category counts, as PNG.

Written into the release under ``images/`` and shown in the card, so the Hub page shows
what is inside. Charts are files of the release like shards: listed in the manifest
with their sha256, so they must be the same bytes every time the same release is
built. What makes them so:

- matplotlib's object API (``Figure`` + the Agg canvas), never ``pyplot``: no global
  backend or figure state, headless, and nothing of the caller's matplotlib changes;
- matplotlib's defaults, not the user's ``matplotlibrc`` (``rc_context`` over
  ``rcParamsDefault``), a fixed size and dpi, and the PNG written without the
  ``Software`` text chunk (PNG has no date chunk unless asked for);
- only the font matplotlib ships (DejaVu Sans), so a machine's installed fonts do not
  change a pixel. DejaVu has no CJK glyphs: a category whose name it cannot draw is
  labelled by its rank, which the card's category table lists beside the name.

matplotlib is imported here only, and this module only when charts are written.
"""

from __future__ import annotations

import dataclasses
import functools
import io
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from chatcorpus.release.stats import LENGTH_FIELDS, ReleaseStats, category_rows

if TYPE_CHECKING:
    from matplotlib.figure import Figure

IMAGE_FOLDER = "images/"
IMAGE_KIND = "image"
#: The fields a length histogram overlays (``input`` is empty for most rows: a spike at 0).
HISTOGRAM_FIELDS = ("instruction", "output", "total")
_FONT = "DejaVu Sans"
_DPI = 100
_WIDTH = 8.0  # inches
#: Most categories a chart shows per config; the card's table lists all of them.
MAX_CATEGORIES = 30


@dataclass(frozen=True)
class Chart:
    path: str  # relative to the release root: images/<name>.png
    title: str  # the card's alt text
    data: bytes


def lengths_path(config: str) -> str:
    return f"{IMAGE_FOLDER}lengths-{config}.png"


CATEGORIES_PATH = f"{IMAGE_FOLDER}categories.png"


def release_charts(stats: ReleaseStats) -> list[Chart]:
    """Every chart of the release, in the order the card shows them."""
    charts = [length_chart(name, config.lengths, stats.unit) for name, config in stats.configs.items()]
    if stats.configs:
        charts.append(category_chart(stats))
    return charts


def length_chart(config: str, lengths: dict[str, np.ndarray], unit: str) -> Chart:
    """A config's length histogram: it needs that config's rows only, so a build renders it
    as soon as the config is written (``build --jobs``: in its second process)."""
    with _fixed_style():
        return Chart(
            lengths_path(config), f"{config}: rows by length in {unit}", _png(_length_figure(config, lengths, unit))
        )


def category_chart(stats: ReleaseStats) -> Chart:
    """The category counts of every config (their lengths are not used)."""
    with _fixed_style():
        return Chart(CATEGORIES_PATH, "rows per category, per config", _png(_category_figure(stats)))


def warm_up() -> None:
    """Import matplotlib and open the bundled font, so that a process that will render charts
    pays for that while it would wait anyway (``build --jobs``)."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401

    _font()


class ChartRenderer:
    """A build's charts, each rendered as soon as its numbers are known.

    With an ``executor`` (``build --jobs``: the build's second process, once the alignment
    is done) the length charts render there while this process writes the next configs,
    and matplotlib is imported there first; without one they render here. The bytes are
    the same either way: every chart is drawn from defaults (``_fixed_style``).
    """

    def __init__(self, executor: Executor | None = None) -> None:
        self._executor = executor
        self._lengths: dict[str, Future[Chart] | Chart] = {}
        if executor is not None:
            executor.submit(warm_up)

    def add_lengths(self, config: str, lengths: dict[str, np.ndarray], unit: str) -> None:
        """Render ``config``'s length chart (meanwhile, with an executor)."""
        if self._executor is None:
            self._lengths[config] = length_chart(config, lengths, unit)
        else:
            self._lengths[config] = self._executor.submit(length_chart, config, lengths, unit)

    def finish(self, stats: ReleaseStats) -> list[Chart]:
        """Every chart of ``stats``, in ``release_charts``' order; the category chart is drawn
        last (it needs every config), with the length charts ``add_lengths`` did not get."""
        charts = []
        for name, config in stats.configs.items():
            chart = self._lengths.get(name)
            if chart is None:
                chart = length_chart(name, config.lengths, stats.unit)
            charts.append(chart if isinstance(chart, Chart) else chart.result())
        if not stats.configs:
            return charts
        if self._executor is None:
            charts.append(category_chart(stats))
        else:  # without the lengths: only the categories cross to the other process
            counts_only = {name: dataclasses.replace(config, lengths={}) for name, config in stats.configs.items()}
            charts.append(
                self._executor.submit(category_chart, dataclasses.replace(stats, configs=counts_only)).result()
            )
        return charts


@contextmanager
def _fixed_style() -> Iterator[None]:
    import matplotlib

    with matplotlib.rc_context(rc=dict(matplotlib.rcParamsDefault)):
        matplotlib.rcParams.update({"font.family": "sans-serif", "font.sans-serif": [_FONT]})
        yield


def _png(figure: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _length_figure(config: str, lengths: dict[str, np.ndarray], unit: str) -> Figure:
    """Step histograms of the lengths over log-spaced bins: chat texts run from a few
    characters to tens of thousands, and a linear axis would show one bar."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, NullLocator

    figure = Figure(figsize=(_WIDTH, 4.0))
    figure.subplots_adjust(left=0.11, right=0.97, bottom=0.13, top=0.92)  # fixed: a layout engine costs seconds
    axes = figure.add_subplot()
    longest = max((int(lengths[name].max()) for name in HISTOGRAM_FIELDS if len(lengths.get(name, ()))), default=1)
    edges = np.unique(np.round(np.geomspace(1, max(longest, 2) + 1, num=41)))
    for name in HISTOGRAM_FIELDS:
        values = lengths.get(name, np.zeros(0, np.int64))
        counts, _ = np.histogram(np.maximum(values, 1), bins=edges)  # an empty text is drawn in the first bin
        axes.stairs(counts, edges, label=f"{name} ({len(values):,} rows)", linewidth=1.5)
    axes.set_xscale("log")
    # plain numbers (1, 10, 1,000) instead of mathtext powers of ten, whose parser is a tenth of the chart's time
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    axes.xaxis.set_minor_locator(NullLocator())  # eight unlabelled ticks a decade: a third of the drawing time
    axes.set_xlabel(f"length in {unit} (log scale; 0 drawn as 1)")
    axes.set_ylabel("rows")
    axes.set_title(f"{config}: length distribution")
    axes.legend(loc="upper right")
    assert set(HISTOGRAM_FIELDS) <= set(LENGTH_FIELDS)
    return figure


def _category_figure(stats: ReleaseStats) -> Figure:
    """One horizontal bar panel per config, most frequent category on top."""
    from matplotlib.figure import Figure

    per_config: dict[str, list[tuple[str, int]]] = {}
    for config, rank, category, count in category_rows(stats):
        if rank <= MAX_CATEGORIES:
            per_config.setdefault(config, []).append((_label(rank, category), count))
    heights = [0.6 + 0.28 * len(bars) for bars in per_config.values()]
    total = sum(heights) + 0.6 * len(heights)  # inches: the bars, and each panel's title and axis below
    widest = max(len(label) for bars in per_config.values() for label, _ in bars)
    figure = Figure(figsize=(_WIDTH, total))
    # fixed margins, the labels' width estimated from their length: a layout engine costs seconds a chart
    figure.subplots_adjust(
        left=min(0.5, 0.05 + 0.0125 * widest),
        right=0.97,
        bottom=0.5 / total,
        top=1 - 0.3 / total,
        hspace=0.6 * len(heights) / sum(heights),
    )
    panels: Any = figure.subplots(len(per_config), 1, squeeze=False, gridspec_kw={"height_ratios": heights})
    for axes, (config, bars) in zip(panels[:, 0], per_config.items(), strict=True):
        labels = [label for label, _ in bars]
        counts = [count for _, count in bars]
        positions = np.arange(len(bars))
        bars_drawn = axes.barh(positions, counts, height=0.7)
        axes.bar_label(bars_drawn, labels=[f"{count:,}" for count in counts], padding=3, fontsize="small")
        axes.margins(x=0.12)  # room for the longest bar's label
        axes.set_yticks(positions, labels, parse_math=False)  # a category is a file name: '$\\foo$' is text
        axes.invert_yaxis()
        axes.set_title(config, loc="left", fontsize="medium")
        axes.set_xlabel("rows")
        axes.xaxis.get_major_locator().set_params(integer=True)
    return figure


#: Longer category names are cut (the card's table gives them whole), so one file name cannot squeeze the bars.
_LABEL_CHARS = 40


def _label(rank: int, category: str) -> str:
    """The category's name if the bundled font draws every character of it, else ``#rank``."""
    if not _drawable(category):
        return f"#{rank}"
    name = category if len(category) <= _LABEL_CHARS else category[: _LABEL_CHARS - 1] + "…"
    return f"#{rank} {name}"


def _drawable(text: str) -> bool:
    font = _font()
    return text.isprintable() and all(font.get_char_index(ord(char)) for char in text)


@functools.cache
def _font() -> Any:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    return FT2Font(font_manager.findfont(_FONT, fallback_to_default=False))
