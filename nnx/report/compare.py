"""`nnx report --compare A B ...`: runs or studies side by side, the settings that differ
highlighted, the best value of each row in bold, and their curves on one chart.

A study compared with runs stands for its best trial's run."""

from nnx.errors import NnxError
from nnx.format import fmt_duration, fmt_metric, fmt_param
from nnx.metrics import higher_is_better
from nnx.report.charts import LineChart, Series
from nnx.report.index import Item
from nnx.report.overview import counts_text, study_counts
from nnx.report.run import epochs_run, history_of
from nnx.report.study import convergence
from nnx.report.values import (
    SPLITS,
    as_dict,
    as_number,
    as_text,
    better,
    main_metric,
)
from nnx.report.view import Cell, Charts, Column, Note, Table, View, cell

DIFF_STYLE = "bold yellow"
# Settings that differ between any two runs and say nothing about the model.
IGNORED = ("name",)


def flatten(value, prefix=""):
    """{dotted.path: leaf} of a config; lists of mappings are indexed like the YAML paths."""
    out = {}
    if isinstance(value, dict) and value:
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}{key}."))
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}{i}."))
    else:
        out[prefix[:-1]] = value
    return out


def lookup(config, path):
    """The value at a dotted path (list indices as numbers); None when absent."""
    node = config
    for part in path.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def flat_configs(configs):
    """The configs flattened to the same keys: where one holds a leaf and another a mapping
    at the same path (`bias_init: zeros` against `{type: constant, value: -3}`), the path
    stays whole."""
    flats = [flatten(c) for c in configs]
    keys = list(dict.fromkeys(k for f in flats for k in f))
    whole = [k for k in keys if any(other.startswith(k + ".") for other in keys)]
    for key in whole:
        for config, flat in zip(configs, flats):
            for inner in [k for k in flat if k.startswith(key + ".")]:
                del flat[inner]
            flat[key] = lookup(config, key)
    return flats


def as_runs(items, results):
    """Mixed runs and studies: each study stands for its best trial's run."""
    if all(i.kind == item.kind for i in items for item in items[:1]):
        return items
    out = []
    for item in items:
        if item.kind == "run":
            out.append(item)
            continue
        best = as_dict(item.document.get("best"))
        record = results.run(best.get("run_id")) if best.get("run_id") else None
        if record is None:
            raise NnxError(f"study {item.name!r}: the run of its best trial is not in "
                           f"{results.root} (compare studies with studies instead)")
        out.append(Item("run", record, item.path))
    return out


def compare_view(items, results):
    if len(items) < 2:
        raise NnxError("--compare needs at least two runs or studies")
    items = as_runs(items, results)
    if items[0].kind == "run":
        return _compare_runs(items)
    return _compare_studies(items)


def _table(items):
    """The field names, never cut, then a column per item; a screen too narrow for them all
    shows the items in blocks, each beside the field names."""
    return Table(None, [Column(""), *[Column(i.name, "right", shrink=1) for i in items]],
                 split=True)


def _add(table, rows, field, values, texts=None, maximize=None, highlight=False, key=None):
    """A comparison row; `maximize` (True/False) puts the best value in bold; `key` names
    the row in the CSV when the label is not a dotted name."""
    texts = texts or [fmt_param(v) for v in values]
    best = None
    if maximize is not None:
        for i, value in enumerate(values):
            if value is not None and (best is None or better(value, values[best], maximize)):
                best = i
    cells = [Cell(t, v, "bold green" if i == best and len(values) > 1 else None)
             for i, (t, v) in enumerate(zip(texts, values))]
    table.add([cell(field, style=DIFF_STYLE if highlight else None), *cells],
              style=None)
    rows.append({"field": field, "values": values, "differs": highlight,
                 **({"key": key} if key else {})})


def _compare_runs(items):
    records = [i.document for i in items]
    table, rows = _table(items), []
    _add(table, rows, "status", [r["status"] for r in records])
    _add(table, rows, "duration", [as_number(r.get("duration_s")) for r in records],
         [fmt_duration(r.get("duration_s")) for r in records])
    histories = [history_of(r) for r in records]
    _add(table, rows, "epochs", [epochs_run(h) for h in histories])
    names = {}
    for record in records:
        for split in SPLITS:
            for base in as_dict(as_dict(record.get("metrics")).get(split)):
                names.setdefault(base if split == "train" else f"{split}_{base}", (split, base))
    for name, (split, base) in names.items():
        values = [as_number(as_dict(as_dict(r.get("metrics")).get(split)).get(base))
                  for r in records]
        _add(table, rows, name, values, [fmt_metric(v) for v in values],
             maximize=higher_is_better(name))
    configs = flat_configs([as_dict(r.get("config")) for r in records])
    keys = list(dict.fromkeys(k for c in configs for k in c))
    missing = object()
    differing = [k for k in keys if k not in IGNORED
                 and len({repr(c.get(k, missing)) for c in configs}) > 1]
    for key in differing:
        values = [c.get(key) for c in configs]
        _add(table, rows, key, values, [fmt_param(v) if key in c else "(absent)"
                                        for v, c in zip(values, configs)], highlight=True)
    same = len([k for k in keys if k not in IGNORED]) - len(differing)
    sections = [table, Note(f"{len(differing)} setting{'s' * (len(differing) != 1)} differ "
                            f"(highlighted); {same} are the same", style="dim")]
    charts = []
    metric = main_metric(records[0])
    for key in dict.fromkeys(("val_loss", metric)):
        series = [Series(i.name, list(range(1, len(h[key]) + 1)), h[key])
                  for i, h in zip(items, histories) if h.get(key)]
        if series:
            charts.append(LineChart(key, series, x_label="epoch", y_label=key, height=9))
    if charts:
        sections.append(Charts(charts, "learning curves"))
    return View("compare", "compare " + ", ".join(i.name for i in items), sections,
                {"view": "compare", "kind": "runs", "items": [i.name for i in items],
                 "rows": rows}, _csv(items, rows), name="compare")


def _compare_studies(items):
    documents = [i.document for i in items]
    table, rows = _table(items), []
    for key in ("method", "metric", "direction"):
        values = [d.get(key) for d in documents]
        _add(table, rows, key, values, highlight=len({repr(v) for v in values}) > 1)
    counts = [study_counts(d) for d in documents]
    _add(table, rows, "trials c/p/d/f", counts, [counts_text(c) for c in counts], key="trials")
    bests = [as_dict(d.get("best")) for d in documents]
    maximize = {d.get("direction") for d in documents}
    values = [as_number(b.get("value")) for b in bests]
    _add(table, rows, "best value", values, [fmt_metric(v) for v in values],
         maximize=(maximize == {"maximize"}) if len(maximize) == 1 else None)
    _add(table, rows, "best trial", [b.get("trial") for b in bests],
         [f"#{b['trial']}" if isinstance(b.get("trial"), int) else "-" for b in bests])
    params = list(dict.fromkeys(k for b in bests for k in as_dict(b.get("params"))))
    for name in params:
        values = [as_dict(b.get("params")).get(name) for b in bests]
        _add(table, rows, f"best {name}", values)
    spaces = [as_dict(d.get("space")) for d in documents]
    for key in dict.fromkeys(k for s in spaces for k in s):
        values = [s.get(key) for s in spaces]
        _add(table, rows, f"space {key}", values, [space_text(v) for v in values],
             highlight=len({repr(v) for v in values}) > 1, key=f"space.{key}")
    for key in ("experiment", "fingerprint"):
        values = [as_text(d.get(key)) or None for d in documents]
        _add(table, rows, key, values, highlight=len(set(values)) > 1)
    series = []
    for item in items:
        points = convergence(item.document)
        if points:
            series.append(Series(item.name, [p[0] for p in points], [p[2] for p in points],
                                 kind="step"))
    sections = [table, Note("highlighted: settings that differ", style="dim")]
    if series:
        metrics = {d.get("metric") for d in documents}
        sections.append(Charts([LineChart("best value so far", series, x_label="trial",
                                          y_label=" / ".join(str(m) for m in metrics),
                                          height=9)]))
    return View("compare", "compare " + ", ".join(i.name for i in items), sections,
                {"view": "compare", "kind": "studies", "items": [i.name for i in items],
                 "rows": rows}, _csv(items, rows), name="compare")


def space_text(spec):
    """`float 0.001..0.3 log`, `int 2..32 step 2`, `choice of [relu, tanh]`; `-` if absent."""
    if not isinstance(spec, dict):
        return "-"
    when = f" when {fmt_param(spec['when'])}" if spec.get("when") else ""
    if spec.get("type") == "categorical":
        return f"choice of {fmt_param(list(spec.get('choices') or []))}{when}"
    text = f"{spec.get('type', '?')} {fmt_param(spec.get('low'))}..{fmt_param(spec.get('high'))}"
    if spec.get("log"):
        text += " log"
    if spec.get("step") is not None:
        text += f" step {fmt_param(spec['step'])}"
    return text + when


def _csv(items, rows):
    """A CSV row per field and a column per item; a field holding mappings becomes a row per
    key (`trials.complete`, `space.train.optimizer.lr.low`): no JSON in a cell."""
    table = Table(None, [Column("field"), *[Column(i.name) for i in items]])
    for row in rows:
        for field, values in _flat_rows(row.get("key", row["field"]), row["values"]):
            table.add([field, *[cell(v) for v in values]])
    return table


def _flat_rows(field, values):
    """[(field, values)]: one row, or for mappings one per dotted key (a plain value beside
    them keeps the field's own row)."""
    if not any(isinstance(v, dict) and v for v in values):
        return [(field, values)]
    flats = [flatten(v) if isinstance(v, dict) and v else {} for v in values]
    out = []
    if any(v is not None and not isinstance(v, dict) for v in values):
        out.append((field, [None if isinstance(v, dict) else v for v in values]))
    for key in dict.fromkeys(k for flat in flats for k in flat):
        out.append((f"{field}.{key}", [flat.get(key) for flat in flats]))
    return out
