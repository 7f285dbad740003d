"""`--plot DIR`: every chart of the views as a PNG, drawn by matplotlib from the same chart
descriptions the terminal draws. matplotlib is an optional extra: `pip install 'nnx[plot]'`.
"""

from pathlib import Path

from nnx.errors import NnxError
from nnx.report.charts import BarChart, LineChart
from nnx.report.values import slug
from nnx.report.view import Charts

INSTALL = "pip install 'nnx[plot]'  (or: pip install matplotlib)"


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise NnxError(f"--plot draws PNGs with matplotlib, which is not installed; "
                       f"install it with: {INSTALL}") from None
    matplotlib.use("Agg")  # files only: no display needed (cron, ssh)
    import matplotlib.pyplot as plt

    return plt


def charts_of(view):
    for section in view.sections:
        if isinstance(section, Charts):
            yield from section.items
        elif isinstance(section, (LineChart, BarChart)):
            yield section


def write_plots(views, folder):
    """Write one PNG per chart into `folder`; returns the paths."""
    plt = _pyplot()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written, used = [], set()
    for view in views:
        for chart in charts_of(view):
            name = f"{slug(view.name)}-{slug(chart.title)}"
            stem, n = name, 2
            while name in used:
                name, n = f"{stem}-{n}", n + 1
            used.add(name)
            figure = _draw(plt, chart)
            path = folder / f"{name}.png"
            figure.savefig(path, dpi=110, bbox_inches="tight")
            plt.close(figure)
            written.append(path)
    return written


def _draw(plt, chart):
    if isinstance(chart, BarChart):
        figure, axes = plt.subplots(figsize=(6, 0.4 * len(chart.rows) + 1))
        labels = [str(r[0]) for r in chart.rows][::-1]
        axes.barh(labels, [r[1] for r in chart.rows][::-1], color="tab:blue")
        axes.set_title(chart.title)
        return figure
    figure, axes = plt.subplots(figsize=(6.4, 4))
    for index, series in enumerate(chart.series):
        color = f"C{index}"
        pairs = [(x, y) for x, y in zip(series.x, series.y) if x is not None and y is not None]
        xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
        if series.kind == "points":
            axes.scatter(xs, ys, label=series.label, s=18, color=color,
                         marker="*" if series.marker == "*" else "o")
        elif series.kind == "step":
            axes.step(xs, ys, where="post", label=series.label, color=color)
        else:
            axes.plot(xs, ys, marker="o" if len(xs) <= 30 else None, markersize=3,
                      label=series.label, color=color)
    if chart.log_x:
        axes.set_xscale("log")
    if chart.log_y:
        axes.set_yscale("log")
    if chart.x_labels:
        axes.set_xticks(list(chart.x_labels), [str(v) for v in chart.x_labels.values()])
    elif all(isinstance(x, int) for series in chart.series for x in series.x):
        from matplotlib.ticker import MaxNLocator

        axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs, trial numbers
    axes.set_xlabel(chart.x_label)
    axes.set_ylabel(chart.y_label)
    axes.set_title(chart.title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    return figure
