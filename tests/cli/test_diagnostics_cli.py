"""`nnx train` records diagnostics in the run JSON and prints their flags at the end."""

DEAD = {"type": "dense", "units": 16, "activation": "relu",
        "bias_init": {"type": "constant", "value": -30.0}}


def test_flags_are_printed_and_recorded(ws):
    layers = [DEAD, {"type": "dense", "units": 1, "activation": "sigmoid"}]
    result = ws.nnx("train", ws.experiment(model={"layers": layers}))
    assert result.exit_code == 0, result.output
    diagnostics = ws.record()["diagnostics"]
    assert diagnostics["level"] == "basic"
    assert diagnostics["per_epoch"]["0.dense"]["dead_fraction"] == [1.0, 1.0, 1.0]
    flags = {(f["flag"], f["layer"]) for f in diagnostics["flags"]}
    assert ("dead_units", "0.dense") in flags
    assert "warning: dead_units in layer 0.dense at epoch 1: 100% of the units never fired" \
        in result.stdout


def test_a_healthy_run_prints_no_warning(ws):
    result = ws.nnx("train", ws.experiment())
    assert result.exit_code == 0, result.output
    assert ws.record()["diagnostics"]["flags"] == []
    assert "warning:" not in result.stdout


def test_diagnostics_off_and_full(ws):
    assert ws.nnx("train", ws.experiment(), "--diagnostics", "off").exit_code == 0
    assert ws.record()["diagnostics"] is None
    (ws.results / "runs").rename(ws.root / "first")
    assert ws.nnx("train", ws.experiment(diagnostics="full")).exit_code == 0
    per_layer = ws.record()["diagnostics"]["per_epoch"]["1.dense"]
    assert {"grad_norm.W", "grad_norm.b", "update_ratio.W", "weight_norm.b"} <= set(per_layer)


def test_bad_diagnostics_level_is_a_usage_error(ws):
    result = ws.nnx("train", ws.experiment(), "--diagnostics", "verbose")
    assert result.exit_code == 2
    assert "diagnostics: must be one of off, basic, full, got 'verbose'" in result.output
    assert ws.runs() == []
