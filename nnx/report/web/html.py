"""The sections of a report view (`nnx.report.view`: fields, tables, notes) and Plotly
figures as HTML, and the page around them.

The terminal, markdown and web reports show the same sections; here a table becomes a
sortable, filterable HTML table (its cells' raw values as sort keys), a run id or study
name in a cell a link to its page, and a rich style a CSS class. Every text is escaped
(`esc`); numbers arrive written by `nnx.format` (the cells' text).
"""

import html
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from nnx import __version__
from nnx.report.values import as_number
from nnx.report.view import Cell, Fields, Note, Table

FILTER_ROWS = 8  # tables longer than this get a filter box


class Markup(str):
    """Text that is HTML already."""


def esc(value):
    return value if isinstance(value, Markup) else Markup(html.escape(str(value)))


@dataclass
class Figure:
    """One chart of a page: a Plotly figure (with a line under it, if any), or the reason
    it cannot be drawn."""

    title: str
    figure: object = None  # a plotly.graph_objects.Figure
    note: str = ""
    wide: bool = False  # the whole width of the page (many subplots)


@dataclass
class Figures:
    """A titled group of figures, laid out side by side where the page is wide enough."""

    title: str | None
    items: list


@dataclass
class Links:
    """Where the pages of runs and studies are, as seen from a page `depth` folders deep."""

    runs: set = field(default_factory=set)
    studies: set = field(default_factory=set)
    depth: int = 0

    @property
    def root(self):
        return "../" * self.depth

    def run(self, run_id):
        return f"{self.root}runs/{quote(run_id)}.html" if run_id in self.runs else None

    def study(self, name):
        return f"{self.root}studies/{quote(name)}.html" if name in self.studies else None

    def of(self, text):
        """The page a cell's text names (a run id, else a study name), or None."""
        return self.run(text) or self.study(text)


def link(href, text, style=None):
    """`text` (styled) as a link to `href`, or as plain text when `href` is None."""
    inner = styled(text, style)
    return Markup(f'<a href="{esc(href)}">{inner}</a>') if href else inner


def styled(text, style):
    """`text` with a rich style ('bold green') as CSS classes (`s-bold s-green`)."""
    if not style:
        return esc(text)
    classes = " ".join(f"s-{word}" for word in style.split() if word.isalpha())
    return Markup(f'<span class="{classes}">{esc(text)}</span>')


# -- sections -----------------------------------------------------------------------------
class Renderer:
    """Turns sections into HTML for one page; numbers the page's tables and figures."""

    def __init__(self, links):
        self.links = links
        self.tables = 0
        self.figures = 0

    def section(self, section, optional_rows=None):
        if isinstance(section, Fields):
            return self.fields(section)
        if isinstance(section, Table):
            return self.table(section, optional_rows)
        if isinstance(section, Note):
            return Markup(f'<p class="note">{styled(section.text, section.style)}</p>')
        if isinstance(section, Figures):
            return self.figure_group(section)
        raise TypeError(f"no HTML for a {type(section).__name__}")

    def value(self, value):
        """A field's or cell's value: a link when it names a page, styled as the terminal."""
        text, style = (value.text, value.style) if isinstance(value, Cell) else (value, None)
        if isinstance(text, Markup):
            return text
        return link(self.links.of(str(text)), text, style)

    def fields(self, section):
        rows = []
        for label, value in section.items:
            shown = (Markup(f'<pre class="command">{esc(_text(value))}</pre>')
                     if label == "reproduce" else self.value(value))
            rows.append(f"<dt>{esc(label)}</dt><dd>{shown}</dd>")
        return Markup(_heading(section.title) + '<dl class="fields">' + "".join(rows) + "</dl>")

    def table(self, table, optional_rows=None):
        """A sortable table with a filter box (and a box that shows `optional_rows`, the
        indices of rows hidden at first, when given)."""
        self.tables += 1
        table_id = f"table-{self.tables}"
        out = [_heading(table.title)]
        if not table.rows:
            return Markup(out[0] + f'<p class="empty">{esc(table.empty)}</p>')
        optional_rows = optional_rows or set()
        if len(table.rows) > FILTER_ROWS or optional_rows:
            tools = ['<input type="search" placeholder="filter rows" aria-label="filter rows">']
            if optional_rows:
                tools.append(f'<label><input type="checkbox"> show the {len(optional_rows)} '
                             "runs of study trials</label>")
            tools.append('<span class="count"></span>')
            out.append(f'<div class="table-tools" data-table="{table_id}">{"".join(tools)}'
                       "</div>")
        head = "".join(f'<th{_align(c)}>{esc(c.name)}</th>' for c in table.columns)
        out.append(f'<div class="table-wrap"><table class="sortable" id="{table_id}">'
                   f"<thead><tr>{head}</tr></thead><tbody>")
        for index, (row, row_style) in enumerate(zip(table.rows, table.row_styles)):
            classes = " ".join(c for c in ("optional" if index in optional_rows else "",
                                           *(f"s-{w}" for w in (row_style or "").split()))
                               if c)
            out.append(f'<tr class="{classes}">' if classes else "<tr>")
            for column, cell in zip(table.columns, row):
                sort = _sort_key(cell.raw)
                data = f' data-sort="{esc(sort)}"' if sort is not None else ""
                out.append(f"<td{_cell_class(column, table.columns)}{data}>"
                           f"{self.value(cell)}</td>")
            out.append("</tr>")
        out.append("</tbody></table></div>")
        return Markup("".join(out))

    def figure_group(self, group):
        out = [_heading(group.title), '<div class="figures">']
        for figure in group.items:
            wide = " wide" if figure.wide else ""
            out.append(f'<figure class="chart{wide}"><figcaption>{esc(figure.title)}'
                       "</figcaption>")
            if figure.figure is None:
                out.append(f'<p class="note">{esc(figure.note)}</p></figure>')
                continue
            self.figures += 1
            figure_id = f"figure-{self.figures}"
            height = figure.figure.layout.height
            size = f' style="height:{int(height)}px"' if height else ""
            out.append(f'<div class="plot" data-figure="{figure_id}-data"{size}></div>'
                       f'<script type="application/json" id="{figure_id}-data">'
                       f"{_script_json(figure.figure)}</script>"
                       + (f'<p class="note">{esc(figure.note)}</p>' if figure.note else "")
                       + "</figure>")
        out.append("</div>")
        return Markup("".join(out))


def _text(value):
    return value.text if isinstance(value, Cell) else str(value)


def _heading(title):
    return f"<h2>{esc(title)}</h2>" if title else ""


def _align(column):
    return ' class="num"' if column.justify == "right" else ""


def _cell_class(column, columns):
    """Numbers right-aligned; a last column of free text (notes, errors) wraps."""
    if column.justify == "right":
        return ' class="num"'
    return ' class="wrap"' if column is columns[-1] and column.shrink else ""


def _sort_key(raw):
    """What a column sorts by: the number behind the text, a date as its ISO form, else
    the text itself (None)."""
    if isinstance(raw, datetime):
        return raw.isoformat()
    number = as_number(raw)
    return None if number is None else repr(number)


def _script_json(figure):
    """The figure as JSON that cannot end its <script> element early."""
    from nnx.report.web.figures import figure_json

    return figure_json(figure).replace("</", "<\\/")


# -- the page -----------------------------------------------------------------------------
def page(title, body, depth, subtitle="", crumbs=(), plotly=False):
    """A whole HTML document: `body` (HTML) under a header with the way back to the
    index; `plotly` loads the site's one copy of plotly.js (pages with figures)."""
    root = "../" * depth
    trail = [link(f"{root}index.html", "nnx report"), *crumbs]
    scripts = (f'<script src="{root}assets/plotly.min.js"></script>' if plotly else "") + \
        f'<script src="{root}assets/nnx.js"></script>'
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="nnx {esc(__version__)}">'
        f"<title>{esc(title)}</title>"
        f'<link rel="stylesheet" href="{root}assets/nnx.css"></head>\n<body>'
        f'<header><nav>{" / ".join(esc(c) for c in trail)}</nav><h1>{esc(title)}</h1>'
        + (f'<p class="subtitle">{esc(subtitle)}</p>' if subtitle else "")
        + f"</header>\n<main>{body}</main>\n"
        f"<footer>nnx {esc(__version__)}</footer>{scripts}</body></html>\n")
