"""The monthly participation chart: one horizontal bar per OPD, the target as a line.

Drawn with matplotlib's object API (a bare `Figure`, never pyplot): no display is needed, no
global figure registry keeps figures alive between calls, and the figure is freed as soon as
the PNG bytes are out. Sized for a phone: 1080 pixels wide, a bar about 48 pixels high, so the
38 OPD of Kendal read without zooming in a Telegram or WhatsApp photo.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from matplotlib.figure import Figure

from messages.formatting import number
from messages.renderer import Renderer
from storage.interfaces import UnitProgress
from storage.reports import is_full

WIDTH_INCHES = 7.2
DPI = 150
BAR_INCHES = 0.32
MARGIN_INCHES = 1.7
NAME_LIMIT = 34  # characters of an OPD name shown before "…"

BELOW = "#90caf9"  # under the target
AT_TARGET = "#2e7d32"  # the target reached
FULL = "#f9a825"  # every ASN of the OPD participates
TARGET_LINE = "#c62828"


def chart_title(region: str, at: datetime) -> str:
    """The title the monthly push uses: what, where, and as of when."""
    return Renderer().text("report/chart_title", {"region": region, "report_at": at})


def _short(name: str) -> str:
    return name if len(name) <= NAME_LIMIT else name[:NAME_LIMIT - 1].rstrip() + "…"


def participation_chart(progress: list[UnitProgress], target_percent: float, title: str
                        ) -> bytes:
    """A PNG of every unit with ASN, the best at the top, and the target line.

    Bars under the target are light blue, at or over it green, and a unit where every ASN
    participates is gold and labelled "100% ★".
    """
    renderer = Renderer()
    words: dict[str, Any] = {"report_target": round(target_percent, 1)}
    units = sorted((unit for unit in progress if unit.asn_total > 0),
                   key=lambda unit: (unit.percent, unit.unit_name), reverse=True)
    units.reverse()  # barh draws from the bottom up: the best ends on top
    height = max(3.5, BAR_INCHES * len(units) + MARGIN_INCHES)
    figure = Figure(figsize=(WIDTH_INCHES, height), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    positions = list(range(len(units)))
    colours = [FULL if is_full(unit) else AT_TARGET if unit.percent >= target_percent
               else BELOW for unit in units]
    axes.barh(positions, [unit.percent for unit in units], color=colours, height=0.7)
    axes.set_yticks(positions, [_short(unit.unit_name) for unit in units], fontsize=9)
    axes.set_ylim(-0.6, max(len(units), 1) - 0.4)
    highest = max((unit.percent for unit in units), default=0.0)
    right = min(112.0, max(highest, target_percent) * 1.2 + 6)
    axes.set_xlim(0, right)
    full_label = renderer.text("report/chart_full", words)
    for position, unit in zip(positions, units, strict=True):
        label = full_label if is_full(unit) else f"{number(round(unit.percent, 1))}%"
        # A white box keeps the number readable where it crosses the target line.
        axes.text(unit.percent + right * 0.01, position, label, va="center", fontsize=8.5,
                  zorder=4, bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6})
    axes.axvline(target_percent, color=TARGET_LINE, linestyle="--", linewidth=1.6,
                 zorder=3, label=renderer.text("report/chart_target", words))
    axes.legend(loc="lower right", fontsize=9, framealpha=0.9)
    axes.set_xlabel(renderer.text("report/chart_axis", words), fontsize=9)
    axes.set_title(title, loc="left", fontsize=11, fontweight="bold")
    axes.grid(axis="x", color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    figure.clear()
    return buffer.getvalue()
