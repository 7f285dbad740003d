"""`nnx report RUN`: one run in depth — its config, final metrics, learning curves, the
confusion matrix, and the diagnostics `nnx train` recorded (flags, per-layer figures)."""

from nnx.format import fmt_duration, fmt_metric, fmt_number, fmt_param
from nnx.report.charts import LineChart, Series, sparkline
from nnx.report.overview import STATUS_STYLE
from nnx.report.values import (
    SPLITS,
    as_dict,
    as_list,
    as_number,
    as_text,
    fmt_date,
    main_metric,
    parse_time,
    split_metric,
)
from nnx.report.view import Charts, Column, Fields, Note, Table, View, cell

LAYER_ARGS = ("units", "filters", "kernel_size", "stride", "rate", "pool_size", "num_heads",
              "ff_dim", "activation", "return_sequences", "repeat")
DIAGNOSTIC_ORDER = ("grad_norm", "weight_norm", "update_ratio", "dead_fraction")
DIAGNOSTIC_NAMES = {"grad_norm": "gradient norm", "weight_norm": "weight norm",
                    "update_ratio": "update-to-weight ratio", "dead_fraction": "dead-unit fraction"}


def layer_summary(spec):
    """`dense(8, relu)`, `dropout(0.1)`, `conv2d(16, kernel_size=3, relu)`."""
    spec = as_dict(spec)
    args = []
    for key in LAYER_ARGS:
        value = spec.get(key)
        if value is None or value is False or (key == "repeat" and value == 1):
            continue
        if key in ("units", "filters", "rate", "activation", "num_heads"):
            args.append(fmt_param(value))
        else:
            args.append(f"{key}={fmt_param(value)}")
    return f"{as_text(spec.get('type'), '?')}({', '.join(args)})"


def config_summary(config):
    """The settings a reader needs to place a run, as (label, value) pairs."""
    config = as_dict(config)
    data, model, train = (as_dict(config.get(k)) for k in ("data", "model", "train"))
    source = data.get("dataset") or data.get("path") or "?"
    splits = ", ".join(f"{k.removesuffix('_split')} {fmt_param(data[k])}"
                       for k in ("validation_split", "test_split") if data.get(k) is not None)
    optimizer = as_dict(train.get("optimizer"))
    opt_args = ", ".join(f"{k}={fmt_param(v)}" for k, v in optimizer.items()
                         if k != "type" and v is not None and v is not False)
    loss = train.get("loss")
    loss = as_text(as_dict(loss).get("type")) if isinstance(loss, dict) else as_text(loss)
    extras = [f"{fmt_param(data['folds'])} folds" if data.get("folds") else None,
              f"sample_weight {fmt_param(data['sample_weight'])}"
              if data.get("sample_weight") else None]
    splits = ", ".join(part for part in (splits, *extras) if part)
    items = [("data", f"{source}" + (f" ({splits})" if splits else "")),
             ("model", " → ".join(layer_summary(s) for s in as_list(model.get("layers")))),
             ("optimizer", f"{as_text(optimizer.get('type'), '?')}({opt_args})"),
             ("train", f"loss {loss or '?'}, batch {fmt_param(train.get('batch_size'))}, "
                       f"up to {fmt_param(train.get('epochs'))} epochs, seed "
                       f"{fmt_param(config.get('seed'))}")]
    if train.get("class_weight") is not None:
        weights = train["class_weight"]
        items.append(("class weight", fmt_param(weights) if not isinstance(weights, dict) else
                      ", ".join(f"{k}: {fmt_param(v)}" for k, v in weights.items())))
    stopping = as_dict(train.get("early_stopping"))
    if stopping:
        items.append(("early stopping", ", ".join(f"{k} {fmt_param(v)}"
                                                  for k, v in stopping.items())))
    schedule = as_dict(train.get("schedule"))
    if schedule:
        items.append(("schedule", ", ".join(f"{k} {fmt_param(v)}" for k, v in schedule.items())))
    return items


def history_of(record):
    """{metric: [floats or None]} of the run's epochs."""
    return {k: [as_number(v) for v in as_list(vs)]
            for k, vs in as_dict(record.get("history")).items() if isinstance(vs, list)}


def epochs_run(history):
    return max((len(v) for v in history.values()), default=0)


def learning_chart(history, name):
    """`name` (a loss or metric) per epoch, train vs validation; None with fewer than two
    finite epochs of either."""
    series = [Series(label, list(range(1, len(history[key]) + 1)), history[key])
              for label, key in (("train", name), ("validation", f"val_{name}"))
              if sum(v is not None for v in history.get(key, [])) >= 2]
    return LineChart(name, series, x_label="epoch", y_label=name, height=9) if series else None


def learning_charts(history, metric):
    """Loss and the main metric, train vs validation, per epoch."""
    charts = [learning_chart(history, name)
              for name in dict.fromkeys(("loss", split_metric(metric)[1]))]
    return [chart for chart in charts if chart is not None]


def metrics_table(metrics, title="final metrics", deviations=None):
    """One row per metric, one column per split (also `nnx train`'s and `nnx evaluate`'s);
    with `deviations` ({split: {metric: std}}, a cross-validated run's) as `mean ± std`."""
    metrics, deviations = as_dict(metrics), as_dict(deviations)
    splits = [s for s in SPLITS if as_dict(metrics.get(s))]
    splits += [s for s in metrics if s not in splits and as_dict(metrics.get(s))]
    table = Table(title, [Column("metric"), *[Column(s, "right") for s in splits]],
                  empty="no metrics (the run stopped before its first evaluation)")
    names = dict.fromkeys(k for s in splits for k in as_dict(metrics[s]))
    for name in names:
        values = [as_number(as_dict(metrics[s]).get(name)) for s in splits]
        spreads = [as_number(as_dict(deviations.get(s)).get(name)) for s in splits]
        table.add([name, *[cell(v, fmt_metric(v) + ("" if sd is None else f" ± {fmt_metric(sd)}"))
                           for v, sd in zip(values, spreads)]])
    return table


def cv_metrics_table(record, title="final metrics"):
    """The run's metrics, `mean ± std` over the folds when it was cross-validated."""
    cv = as_dict(record.get("cv"))
    if not cv:
        return metrics_table(record.get("metrics"), title)
    return metrics_table(record.get("metrics"), deviations=cv.get("metrics_std"),
                         title=f"{title}: mean ± std over {fmt_param(cv.get('folds'))} folds")


def validation_rows(record):
    """Which rows the run's confusion matrix counts."""
    return ("the folds' validation splits together" if as_dict(record.get("cv"))
            else "the validation split")


def folds_table(cv):
    """One row per fold of a cross-validated run: its rows, how it ended, its metrics."""
    folds = [as_dict(f) for f in as_list(as_dict(cv).get("per_fold"))]
    splits = [s for s in ("val", "test") if any(as_dict(as_dict(f.get("metrics")).get(s))
                                                for f in folds)]
    names = [(s, n) for s in splits for n in dict.fromkeys(
        n for f in folds for n in as_dict(as_dict(f.get("metrics")).get(s)))]
    table = Table("folds", [Column("fold", "right"), Column("train", "right"),
                            Column("val", "right"), Column("status"), Column("epochs", "right"),
                            *[Column(f"{s}_{n}", "right") for s, n in names]])
    for fold in folds:
        metrics = as_dict(fold.get("metrics"))
        status = as_text(fold.get("status"), "?")
        table.add([cell(fold.get("fold"), fmt_param(fold.get("fold"))),
                   cell(fold.get("n_train"), fmt_param(fold.get("n_train"))),
                   cell(fold.get("n_val"), fmt_param(fold.get("n_val"))),
                   cell(status, style=STATUS_STYLE.get(status)),
                   cell(epochs_run(history_of(fold))),
                   *[cell(v, fmt_metric(v)) for v in (
                       as_number(as_dict(metrics.get(s)).get(n)) for s, n in names)]])
    return table


def confusion_table(matrix, where="the validation split"):
    """Rows: true class, columns: predicted class; the diagonal in bold."""
    size = len(matrix)
    table = Table(f"confusion matrix on {where} (rows: true class, columns: predicted)",
                  [Column("true \\ pred"), *[Column(str(j), "right") for j in range(size)],
                   Column("total", "right"), Column("recall", "right")])
    for i, row in enumerate(matrix):
        row = [int(v) if isinstance(v, (int, float)) else 0 for v in as_list(row)]
        total = sum(row)
        recall = row[i] / total if total and i < len(row) else None
        table.add([str(i), *[cell(v, str(v), style="bold green" if i == j else
                                  ("red" if v else "dim")) for j, v in enumerate(row)],
                   cell(total), cell(recall, fmt_metric(recall))])
    return table


def flags_table(flags):
    table = Table("diagnostics flags", [Column("flag"), Column("layer"),
                                         Column("epoch", "right"), Column("detail", shrink=1)],
                  empty="no flags: no dead units, vanishing or exploding gradients, "
                        "overfitting or divergence seen")
    for flag in flags:
        flag = as_dict(flag)
        table.add([cell(as_text(flag.get("flag"), "?"), style="red"),
                   as_text(flag.get("layer"), "-"), cell(flag.get("epoch"),
                                                         fmt_param(flag.get("epoch"))),
                   as_text(flag.get("detail"))])
    return table


def layer_table(per_epoch, level):
    """One line per (layer, figure): a sparkline over the epochs, first, last, min, max."""
    table = Table(f"per-layer diagnostics ({level}), over the epochs",
                  [Column("layer"), Column("figure"), Column("epochs"),
                   Column("first", "right"), Column("last", "right"), Column("min", "right"),
                   Column("max", "right")])
    for layer, figures in per_epoch.items():
        figures = as_dict(figures)
        names = [n for n in DIAGNOSTIC_ORDER if n in figures]
        names += sorted(n for n in figures if n not in names)
        for name in names:
            values = [as_number(v) for v in as_list(figures[name])]
            finite = [v for v in values if v is not None]
            table.add([layer, name, sparkline(values, width=40),
                       *[cell(v, fmt_number(v)) for v in (
                           values[0] if values else None, values[-1] if values else None,
                           min(finite, default=None), max(finite, default=None))]])
    return table


def layer_chart(per_epoch, figure="grad_norm"):
    """One diagnostic figure over the epochs, a line per layer (log scale when all are
    positive); None when no layer has two epochs of it."""
    series = []
    for layer, figures in per_epoch.items():
        values = [as_number(v) for v in as_list(as_dict(figures).get(figure))]
        if sum(v is not None for v in values) >= 2:
            series.append(Series(layer, list(range(1, len(values) + 1)), values))
    if not series:
        return None
    positive = all(v is None or v > 0 for s in series for v in s.y)
    return LineChart(f"{DIAGNOSTIC_NAMES.get(figure, figure)} by layer", series,
                     x_label="epoch", y_label=figure, log_y=positive, height=9)


def run_facts(record, path=""):
    """Status, times, error, environment and files of a run, as (label, value) pairs."""
    history = history_of(record)
    status = record["status"]
    environment = as_dict(record.get("environment"))
    facts = [("status", cell(status, style=STATUS_STYLE.get(status))),
             ("created", fmt_date(parse_time(record.get("created")))),
             ("duration", fmt_duration(record.get("duration_s"))),
             ("epochs", str(epochs_run(history)))]
    for key in ("error", "stop_reason"):
        if as_text(record.get(key)) and (key == "error" or record[key] != record.get("error")):
            facts.append((key.replace("_", " "), cell(record[key], style="red"
                                                      if key == "error" else None)))
    if environment:
        facts.append(("environment", f"nnx {environment.get('nnx', '?')}, "
                                     f"{environment.get('threads', '?')} threads, "
                                     f"host {environment.get('host', '?')}"))
    cv = as_dict(record.get("cv"))
    if cv:
        facts.append(("cross-validation", f"{fmt_param(cv.get('folds'))} folds; the curves "
                                          "are their mean, no model is kept"))
    facts.append(("model file", as_text(record.get("model_path")) or "none kept"))
    facts.append(("record", str(path)))
    return facts


def run_view(record, path=""):
    history = history_of(record)
    metric = main_metric(record)
    cv = as_dict(record.get("cv"))
    sections = [Fields(None, run_facts(record, path)),
                Fields("config", config_summary(record.get("config"))),
                cv_metrics_table(record)]
    if cv:
        sections.append(folds_table(cv))
    charts = learning_charts(history, metric)
    if charts:
        sections.append(Charts(charts, "learning curves"))
    else:
        sections.append(Note("learning curves: fewer than two finite epochs to draw",
                             style="dim"))
    diagnostics = as_dict(record.get("diagnostics"))
    matrix = as_list(diagnostics.get("confusion_matrix"))
    if matrix:
        sections.append(confusion_table(matrix, validation_rows(record)))
    per_epoch = {k: v for k, v in as_dict(diagnostics.get("per_epoch")).items()
                 if isinstance(v, dict)}
    if diagnostics:
        sections.append(flags_table(as_list(diagnostics.get("flags"))))
    if per_epoch:
        sections.append(layer_table(per_epoch, as_text(diagnostics.get("level"), "basic")))
        chart = layer_chart(per_epoch)
        if chart is not None:
            sections.append(Charts([chart]))
    return View("run", f"run {record['run_id']}", sections,
                run_document(record, history, metric, diagnostics, path),
                history_csv(history), name=record["run_id"])


def run_document(record, history, metric, diagnostics, path):
    return {"view": "run", "run_id": record["run_id"], "name": record.get("name"),
            "status": record["status"], "created": record.get("created"),
            "duration_s": as_number(record.get("duration_s")), "epochs": epochs_run(history),
            "main_metric": metric, "config": dict(config_summary(record.get("config"))),
            "metrics": as_dict(record.get("metrics")), "history": history,
            "flags": as_list(diagnostics.get("flags")),
            "per_epoch": as_dict(diagnostics.get("per_epoch")),
            "confusion_matrix": diagnostics.get("confusion_matrix"),
            "cv": as_dict(record.get("cv")) or None,
            "error": record.get("error"), "model_path": record.get("model_path"),
            "path": str(path)}


def history_csv(history):
    """One line per epoch: the run's history."""
    names = list(history)
    table = Table(None, [Column("epoch"), *[Column(n) for n in names]])
    for epoch in range(epochs_run(history)):
        table.add([epoch + 1, *[cell(history[n][epoch] if epoch < len(history[n]) else None)
                                for n in names]])
    return table
