"""A view in each output format: `table` (the terminal page), `markdown` (for pasting;
charts in text blocks), `json` (the views' documents, raw values) and `csv` (the view's
main table, raw values). Only `table` may carry colour, and only on a terminal."""

import csv
import io
import json
from datetime import datetime

from rich.console import Console, Group
from rich.table import Table as RichTable
from rich.text import Text

from nnx.errors import NnxError
from nnx.report.charts import BarChart, LineChart
from nnx.report.view import Cell, Charts, Fields, Note, Table, TextTable

FORMATS = ("table", "json", "markdown", "csv")
CHART_COLUMN = 50  # narrowest column a chart gets when charts share a line


def check_format(name):
    if name not in FORMATS:
        raise NnxError(f"--format must be one of {', '.join(FORMATS)}, got {name!r}")
    return name


# -- terminal -----------------------------------------------------------------------------
def renderable(section, width):
    """A rich renderable for one section, laid out for a screen `width` wide."""
    if isinstance(section, Table):
        return TextTable(section)
    if isinstance(section, Fields):
        grid = RichTable.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        for label, value in section.items:
            grid.add_row(label, _text(value))
        return Group(Text(section.title, style="bold"), grid) if section.title else grid
    if isinstance(section, Note):
        return Text(section.text, style=section.style)
    if isinstance(section, Charts):
        per_line = max(1, min(len(section.items), width // CHART_COLUMN, 3))
        parts = [Text(section.title, style="bold")] if section.title else []
        if per_line == 1:
            return Group(*parts, *_spaced(section.items))
        grid = RichTable.grid(padding=(0, 3))
        for _ in range(per_line):
            grid.add_column(ratio=1)
        for start in range(0, len(section.items), per_line):
            row = section.items[start:start + per_line]
            grid.add_row(*row, *[""] * (per_line - len(row)))
            if start + per_line < len(section.items):
                grid.add_row(*[""] * per_line)
        return Group(*parts, grid)
    return section  # a chart draws itself


def _spaced(items):
    for i, item in enumerate(items):
        if i:
            yield Text("")
        yield item


def _text(value):
    if isinstance(value, Cell):
        return Text(value.text, style=value.style or "")
    return value if isinstance(value, Text) else Text(str(value))


def print_views(views, console):
    for i, view in enumerate(views):
        if i:
            console.print()
        console.print(Text(view.title, style="bold underline"))
        for section in view.sections:
            console.print()
            console.print(renderable(section, console.width))


# -- markdown -----------------------------------------------------------------------------
def plain_text(renderable_, width):
    """What a renderable prints on a colourless screen `width` wide."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False,
                      highlight=False, emoji=False)
    console.print(renderable_)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())


def _md_escape(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(views, width=100):
    out = []
    for view in views:
        out.append(f"## {view.title}\n")
        for section in view.sections:
            out.append(_markdown_section(section, width))
    return "\n".join(out).rstrip() + "\n"


def _markdown_section(section, width):
    if isinstance(section, Table):
        lines = [f"**{section.title}**\n"] if section.title else []
        if not section.rows:
            return "\n".join([*lines, f"_{section.empty}_", ""])
        lines.append("| " + " | ".join(_md_escape(c.name) or " " for c in section.columns) + " |")
        lines.append("|" + "|".join("---:" if c.justify == "right" else "---"
                                    for c in section.columns) + "|")
        for row in section.rows:
            lines.append("| " + " | ".join(_md_escape(c.text) for c in row) + " |")
        return "\n".join(lines) + "\n"
    if isinstance(section, Fields):
        lines = [f"**{section.title}**\n"] if section.title else []
        for label, value in section.items:
            text = value.text if isinstance(value, Cell) else str(value)
            text = f"`{text}`" if label == "reproduce" else _md_escape(text)
            lines.append(f"- {label}: {text}")
        return "\n".join(lines) + "\n"
    if isinstance(section, Note):
        return f"_{_md_escape(section.text)}_\n"
    if isinstance(section, Charts):
        title = [f"**{section.title}**\n"] if section.title else []
        return "\n".join([*title, *[_chart_block(c, width) for c in section.items]])
    if isinstance(section, (LineChart, BarChart)):
        return _chart_block(section, width)
    raise TypeError(f"unknown section {type(section).__name__}")


def _chart_block(chart, width):
    return "```text\n" + plain_text(chart, width) + "\n```\n"


# -- json and csv -------------------------------------------------------------------------
def to_json_text(views):
    from nnx.results import to_json

    document = views[0].data if len(views) == 1 else {"views": [v.data for v in views]}
    return json.dumps(to_json(document), indent=2, default=_json_default) + "\n"


def _json_default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def csv_text(views):
    if len(views) != 1 or views[0].csv is None:
        raise NnxError("--format csv writes one table: give one run or study, or --compare")
    table = views[0].csv
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.name for c in table.columns])
    for row in table.rows:
        writer.writerow([_csv_value(c.raw) for c in row])
    return buffer.getvalue()


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return value
