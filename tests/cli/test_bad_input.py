"""Bad input: every case exits 2 with one message that names the field, shows no
traceback, and writes nothing to the results folder."""

import copy
from pathlib import Path

import pytest

from nnx.results import RUN_SCHEMA, write_run

MNIST1D_MLP = Path(__file__).resolve().parents[2] / "experiments" / "mnist1d_mlp.yaml"


def exp(ws, change=None, filename="exp.yaml"):
    """TINY with `change(config)` applied, written to a file."""
    config = copy.deepcopy(ws.TINY)
    if change is not None:
        change(config)
    return ws.experiment(config, filename=filename)


def layer(i, **values):
    return lambda c: c["model"]["layers"][i].update(values)


def train(**values):
    return lambda c: c["train"].update(values)


def data(**values):
    return lambda c: c["data"].update(values)


def csv_data(ws, text, **keys):
    (ws.root / "d.csv").write_text(text)
    return exp(ws, lambda c: c.update(data={"path": "d.csv", "target": "label", **keys}))


def a_run(ws):
    """A finished run in the results folder; returns its id."""
    result = ws.nnx("train", exp(ws, filename="good.yaml"), "-q")
    assert result.exit_code == 0, result.output
    return ws.runs()[0].stem


CASES = {
    # the experiment file
    "missing file": (lambda ws: ["train", ws.root / "nope.yaml"], ["nope.yaml", "does not exist"]),
    "not yaml": (lambda ws: ["train", ws.text("name: [oops\n")], ["not valid YAML", "line"]),
    "not a mapping": (lambda ws: ["train", ws.text("- a\n- b\n")], ["mapping", "got a list"]),
    "empty file": (lambda ws: ["train", ws.text("")], ["empty"]),
    "duplicate key": (lambda ws: ["train", ws.text("name: a\nname: b\n")], ["'name'", "twice"]),
    "unknown top-level key": (lambda ws: ["train", exp(ws, lambda c: c.update(trian={}))],
                              ["trian", "'train'"]),
    "missing name": (lambda ws: ["train", exp(ws, lambda c: c.pop("name"))], ["name: missing"]),
    "bad name": (lambda ws: ["train", exp(ws, lambda c: c.update(name="a b"))], ["name:", "'a b'"]),
    "name '.'": (lambda ws: ["train", exp(ws, lambda c: c.update(name="."))], ["name:", "'.'"]),
    "name '..'": (lambda ws: ["train", exp(ws, lambda c: c.update(name=".."))],
                  ["name:", "'..'"]),
    "name '.hidden'": (lambda ws: ["search", exp(ws, lambda c: c.update(name=".hidden"))],
                       ["name:", "'.hidden'", "must not start with '.'"]),
    "negative seed": (lambda ws: ["train", exp(ws, lambda c: c.update(seed=-1))], ["seed:"]),
    # the model
    "unknown layer type": (lambda ws: ["train", exp(ws, layer(0, type="dens"))],
                           ["model.layers.0.type", "'dense'"]),
    "misspelt activation": (lambda ws: ["train", exp(ws, layer(0, activation="rleu"))],
                            ["model.layers.0.activation", "'relu'"]),
    "zero units": (lambda ws: ["train", exp(ws, layer(0, units=0))], ["model.layers.0.units"]),
    "negative units": (lambda ws: ["train", exp(ws, layer(1, units=-3))],
                       ["model.layers.1.units", "-3"]),
    "text units": (lambda ws: ["train", exp(ws, layer(0, units="many"))],
                   ["model.layers.0.units", "'many'"]),
    "unknown layer argument": (lambda ws: ["train", exp(ws, layer(0, unitz=3))],
                               ["model.layers.0.unitz", "'units'"]),
    "dropout 1.5": (lambda ws: ["train", exp(ws, lambda c: c["model"]["layers"].insert(
        1, {"type": "dropout", "rate": 1.5}))], ["model.layers.1.rate", "1.5"]),
    "empty model": (lambda ws: ["train", exp(ws, lambda c: c["model"].update(layers=[]))],
                    ["model.layers", "no layers"]),
    "output units mismatch": (lambda ws: ["train", exp(ws, layer(1, units=3))],
                              ["model.layers.1.units", "3", "need 1"]),
    "class count mismatch": (lambda ws: ["train", exp(ws, lambda c: c.update(
        data={"dataset": "iris"}, train={"loss": "categorical_crossentropy"},
        model={"layers": [{"type": "dense", "units": 4, "activation": "softmax"}]}))],
        ["model.layers.0.units", "3 classes"]),
    "softmax missing": (lambda ws: ["train", exp(ws, layer(1, activation=None))],
                        ["model.layers.1.activation", "'sigmoid'"]),
    # training
    "unknown optimizer": (lambda ws: ["train", exp(ws, train(optimizer="adamm"))],
                          ["train.optimizer", "'adam'"]),
    "lr: fast": (lambda ws: ["train", exp(ws, train(optimizer={"type": "adam", "lr": "fast"}))],
                 ["train.optimizer.lr", "'fast'"]),
    "negative lr": (lambda ws: ["train", exp(ws, train(optimizer={"type": "sgd", "lr": -1}))],
                    ["train.optimizer.lr"]),
    "unknown loss": (lambda ws: ["train", exp(ws, train(loss="binary_crossentropyy"))],
                     ["train.loss", "'binary_crossentropy'"]),
    "loss does not fit the task": (lambda ws: ["train", exp(ws, lambda c: c.update(
        data={"dataset": "iris"}, train={"loss": "mse"},
        model={"layers": [{"type": "dense", "units": 3, "activation": "softmax"}]}))],
        ["train.loss", "multiclass"]),
    "epochs -1": (lambda ws: ["train", exp(ws, train(epochs=-1))], ["train.epochs", "-1"]),
    "batch_size 0": (lambda ws: ["train", exp(ws, train(batch_size=0))], ["train.batch_size"]),
    "unknown metric": (lambda ws: ["train", exp(ws, train(metrics=["acuracy"]))],
                       ["train.metrics.0", "'accuracy'"]),
    "metric does not fit the task": (lambda ws: ["train", exp(ws, train(metrics=["r2"]))],
                                     ["train.metrics.0", "binary"]),
    "unknown train key": (lambda ws: ["train", exp(ws, train(epocs=3))],
                          ["train.epocs", "'epochs'"]),
    "unknown monitor": (lambda ws: ["train", exp(ws, train(early_stopping={"monitor": "val_acc"}))],
                        ["train.early_stopping.monitor", "'val_accuracy'"]),
    "unknown schedule": (lambda ws: ["train", exp(ws, train(schedule={"type": "cosin"}))],
                         ["train.schedule.type", "'cosine'"]),
    "bad search method": (lambda ws: ["train", exp(ws, lambda c: c.update(
        search={"method": "bayse"}))], ["search.method", "'bayes'"]),
    # data
    "unknown dataset": (lambda ws: ["train", exp(ws, data(dataset="moonz"))],
                        ["data.dataset", "'moons'"]),
    "dataset and path": (lambda ws: ["train", exp(ws, data(path="x.csv"))],
                         ["data", "exactly one"]),
    "validation_split 1.5": (lambda ws: ["train", exp(ws, data(validation_split=1.5))],
                             ["data.validation_split", "1.5"]),
    "unknown data option": (lambda ws: ["train", exp(ws, data(nois=0.2))],
                            ["data.nois", "'noise'"]),
    "mnist1d 9 samples": (lambda ws: ["train", MNIST1D_MLP, "--set", "data.n_samples=9"],
                          ["data.n_samples", "[10, 1000000]", "got 9"]),
    "mnist1d seed 1.5": (lambda ws: ["train", MNIST1D_MLP, "--set", "data.seed=1.5"],
                         ["data.seed", "an integer", "1.5"]),
    "mnist1d unknown option": (lambda ws: ["train", MNIST1D_MLP, "--set", "data.noise=0.1"],
                               ["data.noise", "not an option of dataset 'mnist1d'"]),
    "missing csv": (lambda ws: ["train", exp(ws, lambda c: c.update(
        data={"path": "absent.csv"}))], ["data.path", "does not exist"]),
    "csv without target": (lambda ws: ["train", csv_data(ws, "a,b\n1,2\n3,4\n")],
                           ["'label'", "not found"]),
    "csv text in numeric column": (lambda ws: ["train", csv_data(
        ws, "a,label\n1,x\n2,y\nabc,x\n4,y\n")], ["column 'a'", "line 4", "'abc'"]),
    "csv NaN": (lambda ws: ["train", csv_data(ws, "a,label\n1,x\nnan,y\n3,x\n4,y\n")],
                ["column 'a'", "line 3", "'nan'"]),
    "csv empty cell": (lambda ws: ["train", csv_data(ws, "a,label\n1,x\n,y\n3,x\n4,y\n")],
                       ["column 'a'", "empty cell"]),
    # command line
    "--set unknown path": (lambda ws: ["train", exp(ws), "--set", "train.epocs=3"],
                           ["train.epocs", "'epochs'", "--set train.epocs=3"]),
    "--set malformed": (lambda ws: ["train", exp(ws), "--set", "train.epochs"],
                        ["--set", "PATH=VALUE"]),
    "--set bad value": (lambda ws: ["train", exp(ws), "--set", "train.epochs=-2"],
                        ["train.epochs", "-2"]),
    "--set index out of range": (lambda ws: ["train", exp(ws), "--set", "model.layers.7.units=2"],
                                 ["model.layers.7", "out of range", "from --set"]),
    "validate bad file": (lambda ws: ["validate", exp(ws, layer(0, units=0))],
                          ["model.layers.0.units"]),
    "report --results-dir FILE": (lambda ws: ["report", "--results-dir", ws.text("", "afile")],
                                  ["afile", "not a folder"]),
    "studies --results-dir FILE": (lambda ws: ["studies", "--results-dir",
                                               ws.text("", "afile")], ["afile", "not a folder"]),
    # finished runs
    "damaged run json": (lambda ws: ["evaluate", damaged_run(ws)], ["damaged"]),
    "unknown run": (lambda ws: ["evaluate", "no-such-run"], ["no-such-run"]),
    "evaluate bad split": (lambda ws: ["evaluate", a_run(ws), "--split", "tset"],
                           ["--split", "'tset'"]),
    "predict not a model": (lambda ws: ["predict", ws.text("just text", "m.npz"),
                                        ws.text("a\n1\n", "in.csv")],
                            ["m.npz", "not an nnx model file"]),
    "predict missing column": (lambda ws: ["predict", a_run(ws), ws.text("x0\n1\n", "in.csv")],
                               ["in.csv", "'x1'"]),
    "predict text in a feature": (lambda ws: ["predict", a_run(ws),
                                              ws.text("x0,x1\n1,abc\n", "in.csv")],
                                  ["column 'x1'", "'abc'"]),
}


def damaged_run(ws):
    path = write_run(ws.results, {"schema": RUN_SCHEMA, "run_id": "bad", "status": "completed",
                                  "config": {}})
    path.write_text(path.read_text()[:40])
    return "bad"


def snapshot(ws):
    if not ws.results.exists():
        return None
    return {p: p.read_bytes() for p in ws.results.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_with_one_message(ws, case):
    make_args, words = CASES[case]
    args = make_args(ws)
    before = snapshot(ws)
    result = ws.nnx(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    message = result.stderr.strip()
    assert message.startswith("error: ") and len(message.splitlines()) == 1, message
    for word in words:
        assert word in message, message
    assert result.stdout == ""
    assert snapshot(ws) == before  # nothing written to the results folder


@pytest.mark.parametrize("value", ["0", "abc", "-2"])
def test_bad_threads_is_a_usage_error(ws, value):
    result = ws.nnx("train", exp(ws), "--threads", value)
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "--threads" in result.output
    assert not ws.results.exists()


def test_unwritable_results_folder_is_refused_before_training(ws):
    blocker = ws.root / "file"
    blocker.write_text("")
    result = ws.nnx("train", exp(ws), "--results-dir", blocker / "sub", results=False)
    assert result.exit_code == 2 and "not writable" in result.stderr


def test_binary_experiment_file(ws):
    path = ws.root / "exp.yaml"
    path.write_bytes(b"\xff\xfe\x00\x01")
    result = ws.nnx("train", path)
    assert result.exit_code == 2 and "not a text file" in result.stderr
