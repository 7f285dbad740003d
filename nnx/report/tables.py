"""What the other commands print besides their progress: the diagnostics warnings of
`nnx train`, the summary of `nnx validate`, the tables of `nnx datasets` and `nnx studies`
(`nnx train` and `nnx evaluate` print `nnx.report.run.metrics_table`).

They are made of the report's parts (`nnx.report.view`) and printed by `print_sections`,
so that every table nnx shows reads alike and writes numbers one way (`nnx.format`).
"""

from nnx.format import fmt_metric
from nnx.report import report_console
from nnx.report.formats import renderable
from nnx.report.view import Column, Note, Table, cell
from nnx.results.studies import FINISHED_STATES


def print_sections(sections, console=None):
    """Print view parts (or rich renderables) as `nnx report` prints its views."""
    console = console or report_console()
    for section in sections:
        console.print(renderable(section, console.width))


def flag_notes(diagnostics):
    """The diagnostics flags of a run, one warning line each (none for a healthy run)."""
    notes = []
    for flag in (diagnostics or {}).get("flags", []):
        where = f" in layer {flag['layer']}" if flag["layer"] else ""
        notes.append(Note(f"warning: {flag['flag']}{where} at epoch {flag['epoch']}: "
                          f"{flag['detail']}", "yellow"))
    return notes


def validation_sections(experiment, config, data, sizes, layers, params):
    """`nnx validate`: the experiment's resolved settings and its model, layer by layer
    (`layers`: the model's summary rows with their index)."""
    train = config["train"]
    classes = f", {data.n_classes} classes" if data.n_classes else ""
    sections = [
        Note(f"{experiment} is valid: {config['name']}, seed {config['seed']}", "green"),
        Note(f"data: {data.name} ({data.task}{classes}), input {tuple(data.input_shape)}, "
             + " / ".join(f"{n} {s}" for s, n in sizes.items() if n)),
        _model_table(layers, params)]
    optimizer = ", ".join(f"{k}={v}" for k, v in train["optimizer"].items()
                          if k != "type" and v is not None)
    lines = [f"train: {train['loss']['type']}, {train['optimizer']['type']}({optimizer}), "
             f"batch {train['batch_size']}, up to {train['epochs']} epochs"
             + (f", metrics {', '.join(train['metrics'])}" if train["metrics"] else "")]
    if train["early_stopping"]:
        stop = train["early_stopping"]
        lines.append(f"early stopping: {stop['monitor']}, patience {stop['patience']}")
    if train["schedule"]:
        lines.append(f"schedule: {train['schedule']}")
    if config["search"]:
        search = config["search"]
        objectives = " and ".join(f"{o['direction']} {o['metric']}"
                                  for o in search["objectives"])
        lines.append(f"search: {search['method']}, {search['n_trials']} trials, "
                     f"{objectives}, {len(search['space'])} parameters")
    return sections + [Note(line) for line in lines]


def _model_table(layers, params):
    table = Table("model", [Column("#", "right"), Column("layer"), Column("type"),
                            Column("output shape"), Column("params", "right"),
                            Column("inputs", shrink=1)])
    for layer in layers:
        table.add([str(layer["index"]), layer["name"], layer["type"],
                   str(tuple(layer["output_shape"])), cell(layer["params"], f"{layer['params']:,}"),
                   ", ".join(layer["inputs"])])
    table.add(["", "total", "", "", cell(params, f"{params:,}"), ""], style="bold")
    return table


def datasets_table(rows):
    """`nnx datasets`: the built-in datasets. A rich Table rather than the report's: its
    descriptions are what the listing is read for, so they wrap instead of being cut."""
    from rich.table import Table as RichTable

    table = RichTable()
    for column, justify in (("name", "left"), ("task", "left"), ("shape", "left"),
                            ("samples", "right"), ("description", "left")):
        table.add_column(column, justify=justify)
    for row in rows:
        table.add_row(row["name"], row["task"], str(tuple(row["shape"])),
                      f"{row['n_samples']:,}", row["description"])
    return table


def studies_sections(rows):
    """`nnx studies`: one line per study (`rows` as `nnx studies --json` prints them)."""
    table = Table(None, [Column("study"), Column("status"), Column("method"), Column("metric"),
                         Column("trials", "right"), Column("c/p/d/f", "right"),
                         Column("best", "right"), Column("storage", shrink=1)])
    for row in rows:
        if "damaged" in row:
            table.add([row["study"], cell("damaged", style="red"), *["-"] * 5, row["storage"]])
            continue
        counts, best = row["counts"], row["best"]
        table.add([row["study"], row["status"], str(row["method"]),
                   f"{row['metric']} ({row['direction']})", str(sum(counts.values())),
                   "/".join(str(counts.get(s, 0)) for s in FINISHED_STATES),
                   "-" if best is None else f"{fmt_metric(best['value'])} (#{best['trial']})",
                   row["storage"]])
    return [table, Note("c/p/d/f: trials complete / pruned / diverged / failed", "dim")]
