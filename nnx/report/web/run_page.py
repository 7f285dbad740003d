"""The page of one run: what `nnx report RUN` shows (facts, config, final metrics, the
confusion matrix, diagnostics flags and per-layer figures), with every learning curve,
the learning rate, the confusion matrix and each per-layer figure as Plotly charts."""

from nnx.format import fmt_metric
from nnx.report.charts import LineChart, Series
from nnx.report.run import (
    DIAGNOSTIC_NAMES,
    DIAGNOSTIC_ORDER,
    config_summary,
    confusion_table,
    cv_metrics_table,
    flags_table,
    folds_table,
    history_of,
    layer_chart,
    layer_table,
    learning_chart,
    run_facts,
    validation_rows,
)
from nnx.report.values import as_dict, as_list, as_text
from nnx.report.view import Fields
from nnx.report.web.figures import chart_figure, confusion_figure
from nnx.report.web.html import Figure, Figures, Renderer, link, page


def learning_figures(history):
    """One figure per loss or metric (train vs validation), then the learning rate when a
    schedule changed it."""
    names = [n for n in history if n != "lr" and not n.startswith("val_")]
    names += [n[4:] for n in history if n.startswith("val_") and n[4:] not in names]
    figures = []
    for name in names:
        chart = learning_chart(history, name)
        if chart is not None:
            figures.append(Figure(name, chart_figure(chart, fmt_metric)))
    rates = [v for v in history.get("lr", []) if v is not None]
    if len(set(rates)) > 1:
        chart = LineChart("learning rate", [Series("lr", list(range(1, len(rates) + 1)),
                                                   rates)], x_label="epoch", y_label="lr")
        figures.append(Figure("learning rate", chart_figure(chart)))
    return figures


def layer_figures(per_epoch):
    names = [n for n in DIAGNOSTIC_ORDER if any(n in as_dict(f) for f in per_epoch.values())]
    names += sorted({n for f in per_epoch.values() for n in as_dict(f)} - set(names))
    figures = []
    for name in names:
        chart = layer_chart(per_epoch, name)
        if chart is not None:
            figures.append(Figure(f"{DIAGNOSTIC_NAMES.get(name, name)} by layer",
                                  chart_figure(chart)))
    return figures


def run_page(record, path, links, trial_of=None):
    """The HTML of a run's page; `trial_of` is (study, trial number) for a trial's run."""
    renderer = Renderer(links)
    history = history_of(record)
    facts = run_facts(record, path)
    if trial_of is not None:
        study, number = trial_of
        facts.insert(0, ("study", link(links.study(study), f"{study}, trial #{number}")))
    sections = [Fields(None, facts), Fields("config", config_summary(record.get("config"))),
                cv_metrics_table(record)]
    if as_dict(record.get("cv")):
        sections.append(folds_table(record["cv"]))
    figures = learning_figures(history) or [
        Figure("learning curves", note="fewer than two finite epochs to draw")]
    sections.append(Figures("learning curves", figures))
    diagnostics = as_dict(record.get("diagnostics"))
    matrix = as_list(diagnostics.get("confusion_matrix"))
    if matrix:
        where = validation_rows(record)
        sections.append(Figures(None, [Figure(f"confusion matrix on {where}",
                                              confusion_figure(matrix))]))
        sections.append(confusion_table(matrix, where))
    if diagnostics:
        sections.append(flags_table(as_list(diagnostics.get("flags"))))
    per_epoch = {k: v for k, v in as_dict(diagnostics.get("per_epoch")).items()
                 if isinstance(v, dict)}
    if per_epoch:
        figures = layer_figures(per_epoch)
        if figures:
            sections.append(Figures("per-layer diagnostics", figures))
        sections.append(layer_table(per_epoch, as_text(diagnostics.get("level"), "basic")))
    body = "".join(renderer.section(s) for s in sections)
    crumbs = [link(links.study(trial_of[0]), trial_of[0])] if trial_of else []
    return page(f"run {record['run_id']}", body, links.depth,
                subtitle=as_text(record.get("name")), crumbs=crumbs,
                plotly=renderer.figures > 0)
