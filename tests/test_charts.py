"""The participation chart: a valid PNG sized for a phone, the target line where the target
is, the OPD at 100% marked in gold, and no figure left behind."""

from __future__ import annotations

import gc
import io
from typing import Any

from matplotlib import image
from matplotlib.figure import Figure

from bot.charts import (
    DPI,
    FULL,
    NAME_LIMIT,
    TARGET_LINE,
    WIDTH_INCHES,
    _short,
    chart_title,
    participation_chart,
)
from storage.interfaces import UnitProgress
from storage.reports import unit_progress
from tests.test_reports import AT, seed_reports

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def units(*shares: tuple[int, int]) -> list[UnitProgress]:
    """Units from (participating, total), ranked as given."""
    return [UnitProgress(index, f"OPD {index}", total, part, part, part, index, len(shares))
            for index, (part, total) in enumerate(shares, start=1)]


def pixels(png: bytes) -> Any:
    """The image as rows x columns x RGB in 0..255 (a numpy array from matplotlib)."""
    return (image.imread(io.BytesIO(png), format="png")[:, :, :3] * 255).round()


def colour_mask(png: bytes, colour: str, tolerance: float = 12) -> Any:
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    return (abs(pixels(png) - rgb) <= tolerance).all(axis=2)


def target_column(png: bytes) -> float:
    """The mean x of the target line's pixels (the legend's sample sits far right, so use
    the column where most red pixels stack up)."""
    mask = colour_mask(png, TARGET_LINE)
    counts = mask.sum(axis=0)
    assert counts.max() > 50, "no vertical red line found"
    return float(counts.argmax())


def test_the_chart_is_a_png_a_phone_shows_whole():
    progress = units(*[(index, 40) for index in range(38)])

    png = participation_chart(progress, 20.0, "Partisipasi ASN per OPD")

    assert png.startswith(PNG_SIGNATURE)
    height, width, _ = image.imread(io.BytesIO(png), format="png").shape
    assert width == round(WIDTH_INCHES * DPI) == 1080
    # about 48 pixels a bar: every one of 38 OPD gets a readable row
    assert 38 * 45 < height < 38 * 60 + 300
    assert height / width < 20  # Telegram refuses photos more elongated than 1:20


def test_the_target_line_stands_where_the_target_is():
    progress = units((1, 10), (3, 10), (6, 10))

    at_twenty = target_column(participation_chart(progress, 20.0, "t"))
    at_fifty = target_column(participation_chart(progress, 50.0, "t"))

    assert at_fifty > at_twenty + 100


def test_an_opd_at_100_percent_is_marked_in_gold():
    without = participation_chart(units((9, 10), (3, 10)), 20.0, "t")
    with_full = participation_chart(units((10, 10), (3, 10)), 20.0, "t")

    assert colour_mask(without, FULL).sum() == 0
    assert colour_mask(with_full, FULL).sum() > 1_000


async def test_the_chart_of_the_report_fixture_has_its_units(app):
    await seed_reports(app)
    async with app.sessions() as session:
        opd = await unit_progress(session, "opd", AT)

    png = participation_chart(opd, 20.0, chart_title("Kabupaten Kendal", AT))

    assert png.startswith(PNG_SIGNATURE)
    height = image.imread(io.BytesIO(png), format="png").shape[0]
    assert height == round(3.5 * DPI)  # two OPD with ASN: the minimum height
    assert chart_title("Kabupaten Kendal", AT) == (
        "Partisipasi ASN per OPD\nKabupaten Kendal, per 1 September 2025")


def test_no_figure_outlives_the_call():
    gc.collect()
    before = sum(isinstance(thing, Figure) for thing in gc.get_objects())
    for _ in range(3):
        participation_chart(units((1, 4), (2, 4)), 20.0, "t")
    gc.collect()
    assert sum(isinstance(thing, Figure) for thing in gc.get_objects()) == before


def test_an_empty_region_still_gives_a_chart():
    png = participation_chart(units((0, 0)), 20.0, "t")
    assert png.startswith(PNG_SIGNATURE)
    target_column(png)


def test_long_opd_names_are_shortened_for_the_phone():
    name = "Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu Kabupaten"
    assert len(_short(name)) == NAME_LIMIT and _short(name).endswith("…")
    assert _short("Dinas Kesehatan") == "Dinas Kesehatan"
