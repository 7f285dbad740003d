"""The terminal charts: sparklines, bars, and line/scatter charts on a braille canvas."""

from nnx.report.charts import BarChart, LineChart, Series, bar, sparkline
from nnx.report.formats import plain_text


def test_sparkline_levels_gaps_and_resampling():
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([1.0, None, 3.0]) == "▁ █"
    assert sparkline([2, 2, 2]) == "▄▄▄"
    assert sparkline([None, float("nan")]) == "  "
    assert sparkline(list(range(100)), width=10) == "▁▂▃▃▄▅▆▆▇█"


def test_bar_in_eighths():
    assert bar(1.0, 4) == "████"
    assert bar(0.5, 4) == "██  "
    assert bar(1 / 32, 4) == "▏   "
    assert bar(float("nan"), 3) == "   "
    assert bar(2.0, 2) == "██"


def test_bar_chart_rows():
    text = plain_text(BarChart("importance", [("lr", 0.75, "0.750"), ("units", 0.25, "0.250")],
                               max_value=1.0), 60)
    lines = text.splitlines()
    assert lines[0] == "importance"
    assert lines[1].startswith("  lr    ███") and lines[1].endswith("0.750")
    assert lines[1].count("█") == 3 * lines[2].count("█")


def test_line_chart_axes_markers_and_legend():
    chart = LineChart("loss", [Series("train", [1, 2, 3], [3.0, 2.0, 1.0]),
                               Series("val", [1, 2, 3], [3.5, 2.5, 2.0])],
                      x_label="epoch", height=7)
    lines = plain_text(chart, 50).splitlines()
    assert lines[0] == "loss"
    assert [line[:6] for line in lines[1:8]] == [
        " 3.5 ┤", "     │", "     │", "2.25 ┤", "     │", "     │", "   1 ┤"]
    assert lines[8].startswith("     └" + "─" * 10)
    assert lines[9].split() == ["1", "2", "3"]
    assert lines[10].split() == ["o", "train", "x", "val", "x:", "epoch"]
    plot = "\n".join(line[6:] for line in lines[1:8])
    assert plot.count("o") == 3 and plot.count("x") == 3
    assert lines[1][6] == "x" and lines[7].endswith("o")  # val starts top left, train ends
    assert "o" in lines[5] and "o" not in lines[4]  # train's 2.0 just below the 2.25 row
    assert any("\u2800" < ch <= "\u28ff" for ch in plot)  # braille between the points
    assert max(len(line) for line in lines) <= 50


def test_points_log_axis_and_categorical_axis():
    chart = LineChart("lr", [Series("trial", [0.001, 0.01, 0.1], [0.5, 0.7, 0.6],
                                    kind="points", marker=".")], log_x=True, height=4)
    lines = plain_text(chart, 40).splitlines()
    assert lines[-2].split() == ["0.001", "0.01", "0.1"]  # equal steps on a log axis
    cat = LineChart("act", [Series("trial", [0, 1], [0.5, 0.7], kind="points")],
                    x_labels={0: "relu", 1: "tanh"}, height=4)
    axis = plain_text(cat, 40).splitlines()[-2]
    assert axis.split() == ["relu", "tanh"]


def test_nothing_to_draw():
    chart = LineChart("x", [Series("a", [1, 2], [None, float("inf")])])
    assert "(no finite values to draw)" in plain_text(chart, 40)


def test_flat_series_and_single_point():
    text = plain_text(LineChart("flat", [Series("a", [1, 2, 3], [5, 5, 5])], height=3), 30)
    assert "5.25 ┤" in text and "4.75 ┤" in text
    one = plain_text(LineChart("one", [Series("a", [1], [2.0])], height=3), 30)
    assert "o" in one
