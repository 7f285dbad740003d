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
    # Too wide even with its columns shrunk: the other columns go into blocks one below
    # the other, each beside the first column again (which is never cut then).
    split: bool = False

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
        blocks = self._blocks(widths, options.max_width) if table.split else \
            [list(range(len(widths)))]
        for n, block in enumerate(blocks):
            if n:
                yield Text("")
            yield self._block(block, widths)

    def _blocks(self, widths, max_width):
        """Column indices of each block: the first column, then as many others as fit."""
        blocks, block, used = [], [0], widths[0]
        for i in range(1, len(widths)):
            if len(block) > 1 and used + self.GAP + widths[i] > max_width:
                blocks.append(block)
                block, used = [0], widths[0]
            block.append(i)
            used += self.GAP + widths[i]
        return [*blocks, block]

    def _block(self, indices, widths):
        table, gap = self.table, " " * self.GAP
        out = Text(no_wrap=True, overflow="ellipsis")
        for k, i in enumerate(indices):
            column = table.columns[i]
            last = k == len(indices) - 1
            out.append(column.name if last and column.justify == "left"
                       else _pad(column.name, widths[i], column.justify), style="bold")
            out.append("\n" if last else gap)
        out.append(gap.join("─" * widths[i] for i in indices) + "\n", style="dim")
        for row, row_style in zip(table.rows, table.row_styles):
            for k, i in enumerate(indices):
                column, c = table.columns[i], row[i]
                text = c.text
                if cell_len(text) > widths[i]:
                    text = _cut(text, widths[i])
                style = " ".join(s for s in (row_style, c.style) if s) or None
                last = k == len(indices) - 1
                out.append(text if last and column.justify == "left"
                           else _pad(text, widths[i], column.justify), style=style)
                out.append("\n" if last else gap)
        out.rstrip()
        return out


def _pad(text, width, justify):
    space = " " * max(width - cell_len(text), 0)
    return space + text if justify == "right" else text + space


def _cut(text, width):
    while cell_len(text) > width - 1 and text:
        text = text[:-1]
    return text + "…"
