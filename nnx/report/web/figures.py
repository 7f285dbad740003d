"""Plotly figures of the web report: from the chart descriptions the terminal draws
(`nnx.report.charts`, as `nnx.report.plot` draws them with matplotlib), a confusion
matrix heat map, and a study's Pareto front. Hover texts are written by `nnx.format`, as
everywhere else.

plotly is an optional extra (`pip install 'nnx[web]'`); `require_plotly` says so in one line.
"""

import html

from nnx.errors import NnxError
from nnx.format import fmt_number, fmt_objective, fmt_param
from nnx.report.charts import BarChart
from nnx.report.pareto import front_knee, log_axis

INSTALL = "pip install 'nnx[web]'  (or: pip install plotly)"
MARKER = {"*": "star", "x": "x", "+": "cross"}


def require_plotly():
    """plotly's graph objects, or an NnxError that says how to install it."""
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise NnxError(f"--html draws its charts with plotly, which is not installed; install "
                       f"it with: {INSTALL}") from None
    return go


def layout(figure, x_title=None, y_title=None, legend=True):
    """The look every figure of the site shares (the title is the caption above it); axis
    titles are set when given. No template: plotly.js's own look, and pages without a
    copy of plotly's Python template in every figure."""
    figure.update_layout(margin={"l": 60, "r": 20, "t": 20, "b": 50}, showlegend=legend,
                         hovermode="closest", autosize=True)
    if x_title is not None:
        figure.update_xaxes(title_text=x_title)
    if y_title is not None:
        figure.update_yaxes(title_text=y_title)
    return figure


def chart_figure(chart, fmt=fmt_number):
    """A Plotly figure of a terminal chart description (LineChart or BarChart); `fmt`
    writes the values in the hover text."""
    go = require_plotly()
    if isinstance(chart, BarChart):
        rows = chart.rows[::-1]  # the first row on top, as in the terminal
        figure = go.Figure(go.Bar(x=[r[1] for r in rows], y=[str(r[0]) for r in rows],
                                  orientation="h", text=[str(r[2]) for r in rows],
                                  hovertemplate="%{y}: %{text}<extra></extra>"))
        return layout(figure, legend=False)
    figure = go.Figure()
    for series in chart.series:
        pairs = [(x, y) for x, y in zip(series.x, series.y) if x is not None and y is not None]
        xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
        mode = "markers" if series.kind == "points" else (
            "lines+markers" if len(xs) <= 60 else "lines")
        figure.add_trace(go.Scatter(
            x=xs, y=ys, name=series.label, mode=mode, text=[fmt(y) for y in ys],
            line={"shape": "hv"} if series.kind == "step" else None,
            marker={"symbol": MARKER.get(series.marker, "circle"),
                    "size": 12 if series.marker == "*" else 6},
            hovertemplate=f"{series.label}<br>{chart.x_label} %{{x}}: %{{text}}<extra></extra>"))
    layout(figure, chart.x_label, chart.y_label, legend=len(chart.series) > 1)
    if chart.log_x:
        figure.update_xaxes(type="log")
    if chart.log_y:
        figure.update_yaxes(type="log")
    if chart.x_labels:
        figure.update_xaxes(tickvals=list(chart.x_labels),
                            ticktext=[str(v) for v in chart.x_labels.values()])
    elif _few_whole_numbers([x for series in chart.series for x in series.x]):
        figure.update_xaxes(dtick=1)  # epochs 1, 2, 3: no tick at 1.5
    return figure


def _few_whole_numbers(values):
    whole = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    return len(whole) == len(values) and whole and max(whole) - min(whole) <= 12


def figure_json(figure):
    """The figure as plotly.js takes it, without the template (see `layout`)."""
    from plotly.io.json import to_json_plotly

    spec = figure.to_plotly_json()
    spec["layout"].pop("template", None)
    return to_json_plotly(spec)


def confusion_figure(matrix):
    """Counts by true class (rows, from the top) and predicted class (columns)."""
    go = require_plotly()
    rows = [[int(v) if isinstance(v, (int, float)) else 0 for v in row] for row in matrix]
    labels = [str(i) for i in range(len(rows))]
    figure = go.Figure(go.Heatmap(
        z=rows, x=labels[:max(map(len, rows), default=0)], y=labels, colorscale="Blues",
        text=[[str(v) for v in row] for row in rows], texttemplate="%{text}",
        hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>", showscale=False))
    layout(figure, "predicted class", "true class", legend=False)
    figure.update_xaxes(type="category")
    figure.update_yaxes(type="category", autorange="reversed")
    return figure


def front_figure(data):
    """The Pareto front of `data` (`nnx.report.pareto.front_data`): every complete trial as
    a point, the first objective (y) against the second (x) as the terminal draws it, the
    front's members highlighted and the knee starred; a point's hover names its trial,
    every objective's value and its parameters. With two objectives the front is joined
    in order of x; with more it is not, since a path through a projection would draw a
    trade-off the front does not have."""
    go = require_plotly()
    objectives = data["objectives"]
    front = sorted((p for p in data["points"] if p["front"]), key=lambda p: p["values"][1])
    knee = front_knee(data)
    figure = go.Figure()
    for name, points, mode, marker in (
            ("trial", [p for p in data["points"] if not p["front"]], "markers",
             {"color": "#9aa5b1", "size": 7}),
            ("Pareto front", front, "lines+markers" if len(objectives) == 2 else "markers",
             {"color": "#1f77b4", "size": 9}),
            ("knee", [knee] if knee else [], "markers",
             {"color": "#d62728", "size": 16, "symbol": "star"})):
        figure.add_trace(go.Scatter(
            x=[p["values"][1] for p in points], y=[p["values"][0] for p in points],
            customdata=[p["trial"] for p in points], name=name, mode=mode, marker=marker,
            text=[_front_hover(p, objectives) for p in points],
            hovertemplate="%{text}<extra></extra>"))
    y_axis, x_axis = (f"{o['metric']} ({o['direction']})" for o in objectives[:2])
    layout(figure, x_axis, y_axis)
    if log_axis(data, 1):
        figure.update_xaxes(type="log")
    if log_axis(data, 0):
        figure.update_yaxes(type="log")
    return figure


def _front_hover(point, objectives):
    lines = [f"trial #{point['trial']}",
             *[f"{o['metric']} {fmt_objective(o['metric'], v)}"
               for o, v in zip(objectives, point["values"])],
             *[f"{name} {fmt_param(v)}" for name, v in point["params"].items()]]
    return "<br>".join(html.escape(line) for line in lines)
