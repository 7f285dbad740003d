"""Terminal charts drawn with rich Text: line and scatter charts on a braille canvas, bar
charts in eighth blocks, and sparklines.

A chart is a small description (the series and axes) that draws itself at the width rich
gives it, so one chart serves the terminal, the text captures in docs/ and, through
`nnx.report.plot`, a PNG. Each series has a colour and a marker: without colour (pipes,
cron logs, markdown) the markers still tell the series apart.

Braille cells hold 2 x 4 dots, so a chart of C x R characters has 2C x 4R dots of
resolution; a cell touched by one series takes its colour, one touched by several is left
uncoloured.
"""

import math
from dataclasses import dataclass, field

from rich.measure import Measurement
from rich.text import Text

from nnx.format import fmt_number

PALETTE = ("cyan", "magenta", "green", "yellow", "blue", "red")
MARKERS = ("o", "x", "+", "*", "#", "@")
SPARKS = "▁▂▃▄▅▆▇█"
EIGHTHS = " ▏▎▍▌▋▊▉█"
# Braille dot bits by (column, row) inside a cell, rows counted from the top.
_DOT = {(0, 0): 0x01, (0, 1): 0x02, (0, 2): 0x04, (0, 3): 0x40,
        (1, 0): 0x08, (1, 1): 0x10, (1, 2): 0x20, (1, 3): 0x80}


def _finite(value):
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def fmt_axis(value):
    """An axis label: integers as such, other values as any figure is written."""
    if float(value).is_integer() and abs(value) < 1e6:
        return str(int(value))
    return fmt_number(float(value))


# -- sparklines and bars ----------------------------------------------------------------
def sparkline(values, width=None):
    """One character per value (▁ lowest ... █ highest); a gap for a missing value. With
    `width` shorter than the values, each character stands for the mean of a run of them."""
    values = list(values)
    if width is not None and 0 < width < len(values):
        step = len(values) / width
        bins = [values[int(i * step):max(int((i + 1) * step), int(i * step) + 1)]
                for i in range(width)]
        values = [_mean([v for v in b if _finite(v)]) for b in bins]
    finite = [v for v in values if _finite(v)]
    if not finite:
        return " " * len(values)
    low, high = min(finite), max(finite)
    top = len(SPARKS) - 1
    return "".join(" " if not _finite(v) else SPARKS[top // 2] if high == low
                   else SPARKS[round((v - low) / (high - low) * top)] for v in values)


def _mean(values):
    return sum(values) / len(values) if values else None


def bar(fraction, width):
    """A horizontal bar of `fraction` (0..1) of `width` characters, in eighths of a cell."""
    fraction = min(max(fraction if _finite(fraction) else 0.0, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (EIGHTHS[part] if part else "")).ljust(width)


@dataclass
class BarChart:
    """Labelled horizontal bars: `rows` of (label, value >= 0, text written after the bar)."""

    title: str
    rows: list
    style: str = "cyan"
    max_value: float | None = None

    def render(self, width):
        lines = [Text(self.title, style="bold")] if self.title else []
        if not self.rows:
            return [*lines, Text("  (nothing to show)", style="dim")]
        label_w = min(max(len(str(r[0])) for r in self.rows), max(width // 3, 8))
        text_w = max(len(str(r[2])) for r in self.rows)
        bar_w = min(max(width - label_w - text_w - 4, 5), 40)
        top = self.max_value or max((r[1] for r in self.rows if _finite(r[1])), default=0) or 1
        for label, value, text in self.rows:
            line = Text("  " + _fit(str(label), label_w).ljust(label_w) + " ")
            line.append(bar(value / top if _finite(value) else 0, bar_w), style=self.style)
            line.append(" " + str(text))
            lines.append(line)
        return lines

    def __rich_console__(self, console, options):
        yield from self.render(options.max_width)

    def __rich_measure__(self, console, options):
        return Measurement(30, options.max_width)


def _fit(text, width):
    return text if len(text) <= width else text[:max(width - 1, 0)] + "…"


# -- line and scatter charts ------------------------------------------------------------
@dataclass
class Series:
    """One series: `kind` line (joined points), step (best-so-far staircase) or points."""

    label: str
    x: list
    y: list
    kind: str = "line"
    marker: str | None = None
    style: str | None = None


@dataclass
class LineChart:
    """Series over a shared x axis; `log_x` for log-scaled parameters; `x_labels` maps x
    positions to words for a categorical axis."""

    title: str
    series: list
    x_label: str = ""
    y_label: str = ""
    log_x: bool = False
    log_y: bool = False
    height: int = 9
    max_width: int = 100
    x_labels: dict = field(default_factory=dict)

    def __rich_console__(self, console, options):
        yield from self.render(min(options.max_width, self.max_width))

    def __rich_measure__(self, console, options):
        return Measurement(30, min(options.max_width, self.max_width))

    def _points(self, series):
        out = []
        for x, y in zip(series.x, series.y):
            if (not (_finite(x) and _finite(y)) or (self.log_x and x <= 0)
                    or (self.log_y and y <= 0)):
                out.append(None)
                continue
            out.append((math.log10(x) if self.log_x else float(x),
                        math.log10(y) if self.log_y else float(y)))
        return out

    def render(self, width):
        header = [Text(self.title, style="bold")] if self.title else []
        styled = [(s, s.style or PALETTE[i % len(PALETTE)], s.marker or MARKERS[i % len(MARKERS)])
                  for i, s in enumerate(self.series)]
        points = [self._points(s) for s, _, _ in styled]
        flat = [p for ps in points for p in ps if p is not None]
        if not flat:
            return [*header, Text("  (no finite values to draw)", style="dim")]
        x0, x1 = _span([p[0] for p in flat])
        y0, y1 = _span([p[1] for p in flat])
        rows = max(self.height, 3)
        middle = rows // 2  # the value at the middle row's centre (exact for odd heights)
        y_ticks = [y1, y0 + (4 * (rows - 1 - middle) + 1.5) / (4 * rows - 1) * (y1 - y0), y0]
        labels = [fmt_axis(10 ** v if self.log_y else v) for v in y_ticks]
        label_w = max(len(t) for t in labels)
        cols = max(width - label_w - 2, 10)
        canvas = _Canvas(cols, rows)

        def to_dot(p):
            return (round((p[0] - x0) / (x1 - x0) * (2 * cols - 1)),
                    round((p[1] - y0) / (y1 - y0) * (4 * rows - 1)))

        for index, ((series, _, marker), pts) in enumerate(zip(styled, points)):
            dots = [None if p is None else to_dot(p) for p in pts]
            present = [d for d in dots if d is not None]
            if series.kind in ("line", "step"):
                for a, b in zip(dots, dots[1:]):
                    if a is None or b is None:
                        continue
                    if series.kind == "step":
                        canvas.line(a, (b[0], a[1]), index)
                        canvas.line((b[0], a[1]), b, index)
                    else:
                        canvas.line(a, b, index)
                if len(present) == 1:
                    canvas.dot(*present[0], index)
            sparse = len(present) <= max(cols // 3, 1)
            if series.kind == "points" or sparse:
                for d in present:
                    canvas.mark(d, marker, index)
        tick_rows = {0: labels[0], middle: labels[1], rows - 1: labels[2]}
        lines = list(header)
        for r, cells in enumerate(canvas.rows([s for _, s, _ in styled])):
            line = Text(tick_rows[r].rjust(label_w) + " ┤" if r in tick_rows
                        else " " * label_w + " │", style="dim")
            line.append_text(cells)
            lines.append(line)
        lines.append(Text(" " * label_w + " └" + "─" * cols, style="dim"))
        integers = all(float(p[0]).is_integer() for p in flat) and not self.log_x
        lines.append(Text(" " * (label_w + 2) + self._x_axis(x0, x1, cols, integers),
                          style="dim"))
        entries = [(f"{marker} ", style, f"{series.label}   ") for series, style, marker in styled]
        if self.x_label and self.x_label != self.title:
            entries.append(("", None, f"x: {self.x_label}"))
        if self.log_y:
            entries.append(("", None, "  (log scale)"))
        lines += _flow(entries, width)
        return lines

    def _x_axis(self, x0, x1, cols, integers=False):
        def word(x):
            if self.x_labels:
                return str(self.x_labels.get(round(x), ""))
            return fmt_axis(10 ** x if self.log_x else x)

        if self.x_labels:  # one label under each category position
            axis = [" "] * cols
            for x, name in self.x_labels.items():
                at = round((x - x0) / (x1 - x0) * (cols - 1))
                start = min(max(at - len(str(name)) // 2, 0), max(cols - len(str(name)), 0))
                if all(c == " " for c in axis[max(start - 1, 0):start + len(str(name)) + 1]):
                    axis[start:start + len(str(name))] = str(name)
            return "".join(axis)[:cols]
        middle = (x0 + x1) / 2
        left, middle, right = word(x0), word(round(middle) if integers else middle), word(x1)
        axis = left.ljust(cols)
        mid_at = cols // 2 - len(middle) // 2
        if mid_at > len(left) + 1 and mid_at + len(middle) < cols - len(right) - 1:
            axis = axis[:mid_at] + middle + axis[mid_at + len(middle):]
        return axis[:cols - len(right)] + right


def _flow(entries, width):
    """Legend entries (marker, style, label) on as few lines as fit, never split inside."""
    lines, line = [], Text("  ")
    for marker, style, label in entries:
        if len(line) > 2 and len(line) + len(marker) + len(label) > width:
            lines.append(line)
            line = Text("  ")
        line.append(marker, style=style)
        line.append(label, style=None if marker else "dim")
    lines.append(line)
    return lines


def _span(values):
    low, high = min(values), max(values)
    if high == low:
        pad = abs(low) * 0.05 or 0.5
        return low - pad, high + pad
    return low, high


class _Canvas:
    """A braille dot grid with per-cell series ownership and marker characters."""

    def __init__(self, cols, rows):
        self.cols, self.rows_n = cols, rows
        self.bits = [[0] * cols for _ in range(rows)]
        self.owner = [[None] * cols for _ in range(rows)]  # series index, or -1 when mixed
        self.marks = {}

    def _cell(self, x, y):
        """(row, col, bit) of dot (x, y), y counted from the bottom."""
        top_y = 4 * self.rows_n - 1 - y
        return top_y // 4, x // 2, _DOT[(x % 2, top_y % 4)]

    def _own(self, r, c, series):
        current = self.owner[r][c]
        self.owner[r][c] = series if current in (None, series) else -1

    def dot(self, x, y, series):
        if not (0 <= x < 2 * self.cols and 0 <= y < 4 * self.rows_n):
            return
        r, c, bit = self._cell(x, y)
        self.bits[r][c] |= bit
        self._own(r, c, series)

    def line(self, a, b, series):
        """Bresenham's line between two dots."""
        (x, y), (x1, y1) = a, b
        dx, dy = abs(x1 - x), -abs(y1 - y)
        sx, sy = (1 if x1 > x else -1), (1 if y1 > y else -1)
        err = dx + dy
        while True:
            self.dot(x, y, series)
            if (x, y) == (x1, y1):
                return
            twice = 2 * err
            if twice >= dy:
                err += dy
                x += sx
            if twice <= dx:
                err += dx
                y += sy

    def mark(self, d, char, series):
        r, c, _ = self._cell(min(max(d[0], 0), 2 * self.cols - 1),
                             min(max(d[1], 0), 4 * self.rows_n - 1))
        self.marks[(r, c)] = (char, series)

    def rows(self, styles):
        for r in range(self.rows_n):
            line = Text()
            for c in range(self.cols):
                if (r, c) in self.marks:
                    char, series = self.marks[(r, c)]
                    line.append(char, style=f"bold {styles[series]}")
                elif self.bits[r][c]:
                    owner = self.owner[r][c]
                    line.append(chr(0x2800 + self.bits[r][c]),
                                style=styles[owner] if owner not in (None, -1) else None)
                else:
                    line.append(" ")
            yield line
