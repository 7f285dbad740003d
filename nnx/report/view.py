"""What a view is made of, independent of the output format: titled field lists, tables
of cells (the text shown and the raw value behind it), charts and notes.

A `View` also carries its JSON document (`data`, the raw values) and the table its CSV
export holds; `nnx.report.formats` turns a view into a terminal page, markdown, JSON or CSV.

Tables are drawn by `TextTable`, a plain column layout (header, rule, rows) rather than
rich's `Table`: rich measures every cell of every row, which took 1.8 s for 1,000 rows,
where this takes a tenth of that.
"""

from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.measure import Measurement
from rich.text import Text


@dataclass
class Cell:
    """`text` as shown, `raw` as exported (CSV/JSON), `style` a rich style or None."""

    text: str
    raw: object = None
    style: str | None = None


def cell(raw, text=None, style=None):
    return Cell(str(raw) if text is None else text, raw, style)


@dataclass
class Column:
    name: str
    justify: str = "left"  # left | right
    shrink: int = 0  # may be cut (with …) when the table is too wide: 1 first, then 2, ...
    min_width: int = 12  # ... down to this width (or the header's)


@dataclass
class Table:
    title: str | None
    columns: list
    rows: list = field(default_factory=list)  # lists of Cell
    row_styles: list = field(default_factory=list)  # per row: a style or None
    empty: str = "(none)"

    def add(self, cells, style=None):
        self.rows.append([c if isinstance(c, Cell) else cell(c) for c in cells])
        self.row_styles.append(style)


@dataclass
class Fields:
    """A titled list of `label: value` lines (value a str or a rich Text)."""

    title: str | None
    items: list


@dataclass
class Note:
    text: str
    style: str | None = None


@dataclass
class Charts:
    """Charts (from nnx.report.charts) drawn side by side when the screen is wide enough."""

    items: list
    title: str | None = None


@dataclass
class View:
    kind: str  # overview | run | study | compare
    title: str
    sections: list
    data: dict  # the JSON document of the view
    csv: Table | None = None  # what --format csv writes
    name: str = "report"  # base of the PNG file names (--plot)


class TextTable:
    """A fast table renderable: columns padded to their widest cell, two spaces apart."""

    GAP = 2

    def __init__(self, table):
        self.table = table

    def __rich_measure__(self, console, options):
        return Measurement(10, min(sum(self._widths()) + self.GAP * len(self.table.columns),
                                   options.max_width))

    def _widths(self):
        widths = [cell_len(c.name) for c in self.table.columns]
        for row in self.table.rows:
            for i, c in enumerate(row):
                length = cell_len(c.text)
                if length > widths[i]:
                    widths[i] = length
        return widths

    def _fit(self, widths, max_width):
        """Shrink the shrinkable columns, in their order, until the table fits."""
        over = sum(widths) + self.GAP * (len(widths) - 1) - max_width
        columns = self.table.columns
        for i in sorted((i for i, c in enumerate(columns) if c.shrink),
                        key=lambda i: columns[i].shrink):
            if over <= 0:
                break
            floor = max(cell_len(columns[i].name), columns[i].min_width)
            cut = min(over, max(widths[i] - floor, 0))
            widths[i] -= cut
            over -= cut
        return widths

    def __rich_console__(self, console, options):
        table = self.table
        if table.title:
            yield Text(table.title, style="bold")
        if not table.rows:
            yield Text(f"  {table.empty}", style="dim")
            return
        widths = self._fit(self._widths(), options.max_width)
        gap = " " * self.GAP
        out = Text(no_wrap=True, overflow="ellipsis")
        for i, column in enumerate(table.columns):
            last = i == len(widths) - 1 and column.justify == "left"
            out.append(column.name if last else _pad(column.name, widths[i], column.justify),
                       style="bold")
            out.append(gap if i < len(widths) - 1 else "\n")
        out.append(gap.join("─" * w for w in widths) + "\n", style="dim")
        for row, row_style in zip(table.rows, table.row_styles):
            for i, (column, c) in enumerate(zip(table.columns, row)):
                text = c.text
                if cell_len(text) > widths[i]:
                    text = _cut(text, widths[i])
                style = " ".join(s for s in (row_style, c.style) if s) or None
                last = i == len(widths) - 1 and column.justify == "left"
                out.append(text if last else _pad(text, widths[i], column.justify), style=style)
                out.append(gap if i < len(widths) - 1 else "\n")
        out.rstrip()
        yield out


def _pad(text, width, justify):
    space = " " * max(width - cell_len(text), 0)
    return space + text if justify == "right" else text + space


def _cut(text, width):
    while cell_len(text) > width - 1 and text:
        text = text[:-1]
    return text + "…"
