"""The monthly participation chart: a 16:9 slide a Bupati's meeting can put on the screen.

One horizontal bar per unit (OPD or kecamatan), best at the top, every name written out in
full (Kendal's longest OPD name has 54 letters), the target as a red line, the region's
overall percentage as a dark line and as the big number of the header, and a title that
says which kind of unit it ranks. 1920 × 1080 pixels: a projector's and a phone's landscape
screen; the same PNG goes to the group chats on the report day and to `asn-peduli export
chart`. Up to 40 units stand in one column (fonts shrink to fit the rows); more are spread
over columns of equal rows.

Drawn with matplotlib's object API (a bare `Figure`, never pyplot): no display is needed, no
global figure registry keeps figures alive between calls, and the figure is freed as soon as
the PNG bytes are out. Every word on it is a template (report/chart_*).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from messages.formatting import number
from messages.renderer import Renderer
from storage.interfaces import UnitProgress
from storage.report_snapshots import MonthlyReport
from storage.reports import is_full, region_totals

WIDTH_INCHES, HEIGHT_INCHES = 13 + 1 / 3, 7.5  # a 16:9 slide, as presentation software has it
DPI = 144  # 1920 × 1080
ROWS_PER_COLUMN = 40
MAX_COLUMNS = 3
HEADER = 0.835  # the share of the height below the header (title, overall figure, legend)

BELOW = "#90caf9"  # under the target
AT_TARGET = "#2e7d32"  # the target reached
FULL = "#f9a825"  # every ASN of the unit participates
TARGET_LINE = "#c62828"
OVERALL_LINE = "#37474f"


@dataclass(frozen=True, slots=True)
class ChartWords:
    """What the slide says, rendered from report/chart_*.j2 for one report and kind."""

    title: str
    subtitle: str
    overall: str
    overall_detail: str
    axis: str
    target: str
    overall_line: str
    full: str
    below: str
    reached: str


def chart_words(report: MonthlyReport, kind: str, region: str) -> ChartWords:
    renderer = Renderer()
    totals = region_totals(report.opd, report.target_percent)
    context: dict[str, Any] = {
        "kind": kind, "region": region, "month": report.month, "report_at": report.at,
        "live": report.live, "report_target": round(report.target_percent, 1),
        "overall_percent": round(totals.percent, 1),
        "participating": totals.asn_participating, "asn_total": totals.asn_total,
        "protected": totals.workers_protected,
    }

    def say(name: str) -> str:
        return renderer.text(f"report/chart_{name}", context)

    return ChartWords(
        title=say("title"), subtitle=say("subtitle"), overall=say("overall"),
        overall_detail=say("overall_detail"), axis=say("axis"), target=say("target"),
        overall_line=say("overall_line"), full=say("full"), below=say("below"),
        reached=say("reached"),
    )


def report_chart(report: MonthlyReport, kind: str, region: str) -> bytes:
    """The PNG of `report` for units of `kind` ("opd" or "kecamatan")."""
    totals = region_totals(report.opd, report.target_percent)
    return participation_chart(report.units(kind), report.target_percent, totals.percent,
                               chart_words(report, kind, region))


def _colour(unit: UnitProgress, target_percent: float) -> str:
    if is_full(unit):
        return FULL
    return AT_TARGET if unit.percent >= target_percent else BELOW


def _columns(count: int) -> int:
    return min(MAX_COLUMNS, max(1, math.ceil(count / ROWS_PER_COLUMN)))


def participation_chart(progress: list[UnitProgress], target_percent: float,
                        overall_percent: float, words: ChartWords) -> bytes:
    """The PNG of `slide`; the figure is freed once its bytes are out."""
    figure = slide(progress, target_percent, overall_percent, words)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    figure.clear()
    return buffer.getvalue()


def slide(progress: list[UnitProgress], target_percent: float, overall_percent: float,
          words: ChartWords) -> Figure:
    """Every unit with ASN, the best at the top, the target and overall lines.

    Bars under the target are light blue, at or over it green, and a unit where every ASN
    participates is gold and labelled "100% ★". Units without ASN are left out: they have
    no percentage.
    """
    units = sorted((unit for unit in progress if unit.asn_total > 0),
                   key=lambda unit: (-unit.percent, unit.unit_name))
    columns = _columns(len(units))
    rows = max(1, math.ceil(len(units) / columns))
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, layout="constrained")
    figure.get_layout_engine().set(rect=(0.0, 0.0, 1.0, HEADER), w_pad=0.12, h_pad=0.04)
    highest = max((unit.percent for unit in units), default=0.0)
    right = min(112.0, max(highest, target_percent, overall_percent) * 1.18 + 6)
    # A row's height in points, and the font that fits it (names stay on one line).
    row_points = HEADER * HEIGHT_INCHES * 72 * 0.9 / rows
    font = max(6.5, min(14.0, row_points * 0.78))
    grid = figure.add_gridspec(1, columns)
    for column in range(columns):
        axes = figure.add_subplot(grid[0, column])
        chunk = units[column * rows:(column + 1) * rows]
        _bars(axes, chunk, rows, right, target_percent, overall_percent, font, words)
    _header(figure, words)
    return figure


def _bars(axes: Axes, units: list[UnitProgress], rows: int, right: float,
          target_percent: float, overall_percent: float, font: float,
          words: ChartWords) -> None:
    """One column of the ranking, top to bottom, on a shared scale."""
    positions = list(range(len(units)))
    axes.barh(positions, [unit.percent for unit in units], height=0.72,
              color=[_colour(unit, target_percent) for unit in units], zorder=2)
    axes.set_yticks(positions, [f"{unit.rank}. {unit.unit_name}" for unit in units],
                    fontsize=font)
    axes.tick_params(axis="y", length=0, pad=4)
    axes.set_ylim(rows - 0.5, -0.6)  # the best on top; every column has the same rows
    axes.set_xlim(0, right)
    for position, unit in zip(positions, units, strict=True):
        label = words.full if is_full(unit) else f"{number(round(unit.percent, 1))}%"
        # A white box keeps the number readable where it crosses a line.
        axes.text(unit.percent + right * 0.008, position, label, va="center",
                  fontsize=font * 0.92, zorder=4,
                  bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.4})
    axes.axvline(target_percent, color=TARGET_LINE, linestyle="--", linewidth=2.0, zorder=3)
    axes.axvline(overall_percent, color=OVERALL_LINE, linestyle=":", linewidth=2.0,
                 zorder=3)
    axes.set_xlabel(words.axis, fontsize=12)
    axes.tick_params(axis="x", labelsize=11)
    axes.grid(axis="x", color="#dddddd", linewidth=0.6, zorder=0)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _header(figure: Figure, words: ChartWords) -> None:
    """Title and date on the left, the region's percentage on the right, the key beneath."""
    figure.text(0.012, 0.975, words.title, fontsize=22, fontweight="bold", va="top")
    figure.text(0.012, 0.915, words.subtitle, fontsize=12.5, va="top", color="#333333")
    figure.text(0.988, 0.985, words.overall, fontsize=30, fontweight="bold", va="top",
                ha="right", color=OVERALL_LINE)
    figure.text(0.988, 0.915, words.overall_detail, fontsize=11.5, va="top", ha="right",
                color="#333333")
    key = [
        Patch(color=BELOW, label=words.below), Patch(color=AT_TARGET, label=words.reached),
        Patch(color=FULL, label=words.full),
        Line2D([], [], color=TARGET_LINE, linestyle="--", linewidth=2.0, label=words.target),
        Line2D([], [], color=OVERALL_LINE, linestyle=":", linewidth=2.0,
               label=words.overall_line),
    ]
    figure.legend(handles=key, loc="upper left", bbox_to_anchor=(0.004, 0.885), ncols=5,
                  fontsize=10.5, frameon=False)
