"""The ratio chart as plain numbers for an inline SVG: no chart library, renders offline."""

from decimal import Decimal

from storedesk.gateways.ratios import MonthRatios

WIDTH = 600  # the bar area, in SVG user units
LABEL_WIDTH = 220
BAR_HEIGHT = 22
GAP = 10


def _x(value: Decimal, scale: Decimal) -> int:
    return int(value / scale * WIDTH) if scale else 0


def ratio_bars(result: MonthRatios) -> dict:
    """One bar per program and gateway: the projected ratio, with ticks at the early warning
    and the threshold, all on one scale (the largest of them, plus a margin)."""
    programs = [(row, program) for row in result.rows for program in row.programs]
    values = [
        value
        for _, program in programs
        for value in (program.projected_ratio or Decimal(0), program.threshold)
    ]
    scale = max(values, default=Decimal(0)) * Decimal("1.2")
    bars = []
    for index, (row, program) in enumerate(programs):
        projected = program.projected_ratio or Decimal(0)
        bars.append(
            {
                "y": index * (BAR_HEIGHT + GAP),
                "label": f"{program.label} · {row.gateway}",
                "width": max(_x(projected, scale), 1) if program.projected_ratio else 0,
                "early_x": _x(program.early_warning, scale),
                "threshold_x": _x(program.threshold, scale),
                "value": projected * 100,
                "level": program.level,
            }
        )
    return {
        "bars": bars,
        "height": max(len(bars), 1) * (BAR_HEIGHT + GAP),
        "width": LABEL_WIDTH + WIDTH + 80,
        "label_width": LABEL_WIDTH,
        "bar_height": BAR_HEIGHT,
    }
