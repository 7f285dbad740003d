"""`nnx init` (a starter experiment from a built-in dataset or a user's file) and `nnx
examples` (the shipped experiment files): what they write validates and trains, bad input
is one line and exit 2, and nothing existing is overwritten without --force."""

import json
import os

import numpy as np
import pytest
import yaml

from nnx.data.builtin import DATASETS
from nnx.examples import FOLDER, shipped


def init(ws, *args):
    return ws.nnx("init", *args, results=False)


def written_config(path):
    text = path.read_text()
    assert text.startswith("# A starter experiment for ")
    return yaml.safe_load(text)


@pytest.mark.parametrize("dataset", DATASETS.names())
def test_every_builtin_dataset_gives_a_file_that_validates(ws, dataset):
    path = ws.root / f"{dataset}.yaml"
    result = init(ws, "--dataset", dataset, "-o", path)
    assert result.exit_code == 0, result.output
    assert f"wrote {path}" in result.stdout
    config = written_config(path)
    info = DATASETS.get(dataset)
    assert config["data"]["dataset"] == dataset and config["search"]["space"]
    checked = ws.nnx("validate", path, "--json", results=False)
    assert checked.exit_code == 0, checked.output
    report = json.loads(checked.stdout)
    assert report["data"]["task"] == info.task
    assert report["model"]["layers"][-1]["output_shape"][-1] == report["data"]["output_units"]


TRAINED = {  # a table, a binary task, channels (Conv2D), a sequence (GRU), labels, values
    "digits": ("categorical_crossentropy", "accuracy"),
    "moons": ("binary_crossentropy", "accuracy"),
    "digits_images": ("categorical_crossentropy", "accuracy"),
    "noisy_sine_next": ("mse", "r2"),
    "multilabel": ("binary_crossentropy", "subset_accuracy"),
}


@pytest.mark.parametrize("dataset", list(TRAINED))
def test_starters_train(ws, dataset):
    path = ws.root / "s.yaml"
    assert init(ws, "--dataset", dataset, "-o", path).exit_code == 0
    result = ws.nnx("train", path, "-q", "--json", "--set", "train.epochs=1")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    loss, metric = TRAINED[dataset]
    assert record["status"] == "completed"
    assert record["config"]["train"]["loss"]["type"] == loss
    assert metric in record["metrics"]["test"]


CSV = "age,plan,region,monthly,churn\n" + "".join(
    f"{20 + i % 50},{['basic', 'pro', 'max'][i % 3]},{'ns'[i % 2]},{10 + (i * 7) % 80}.5,"
    f"{'yes' if (i * 7) % 80 > 40 else 'no'}\n" for i in range(120))


def test_a_csv_file_gives_categorical_columns_and_a_binary_head(ws):
    (ws.root / "table.csv").write_text(CSV)
    (ws.root / "exp").mkdir()
    result = init(ws, "--data", ws.root / "table.csv", "--target", "churn",
                  "-o", ws.root / "exp" / "churn.yaml")
    assert result.exit_code == 0, result.output
    config = written_config(ws.root / "exp" / "churn.yaml")
    assert config["name"] == "churn"
    assert config["data"] == {"path": os.path.join("..", "table.csv"), "target": "churn",
                              "categorical": ["plan", "region"], "validation_split": 0.2,
                              "test_split": 0.2}
    assert config["model"]["layers"][-1] == {"type": "dense", "units": 1,
                                             "activation": "sigmoid"}
    assert config["train"]["loss"] == "binary_crossentropy"
    trained = ws.nnx("train", ws.root / "exp" / "churn.yaml", "-q", "--json",
                     "--set", "train.epochs=1")
    assert trained.exit_code == 0, trained.output
    assert json.loads(trained.stdout)["status"] == "completed"


def test_a_numeric_target_regresses(ws):
    rows = "".join(f"{i},{i % 7},{i * 0.37 + (i % 7) * 1.5:.3f}\n" for i in range(80))
    (ws.root / "prices.csv").write_text("area,rooms,target\n" + rows)
    path = ws.root / "prices.yaml"
    assert init(ws, "--data", ws.root / "prices.csv", "-o", path).exit_code == 0
    config = written_config(path)
    assert config["data"]["target"] == "target" and config["data"]["categorical"] == []
    assert config["model"]["layers"][-1] == {"type": "dense", "units": 1}
    assert config["train"]["loss"] == "mse" and config["train"]["metrics"] == ["mae", "r2"]
    assert config["search"]["metric"] == "val_loss"
    assert ws.nnx("validate", path, results=False).exit_code == 0


def test_an_npz_of_sequences_gets_a_recurrent_layer(ws):
    rng = np.random.default_rng(0)
    np.savez(ws.root / "seq.npz", x=rng.normal(size=(60, 12, 3)), y=rng.integers(0, 3, 60))
    path = ws.root / "seq.yaml"
    assert init(ws, "--data", ws.root / "seq.npz", "-o", path).exit_code == 0
    layers = written_config(path)["model"]["layers"]
    assert layers[0]["type"] == "gru"
    assert layers[-1] == {"type": "dense", "units": 3, "activation": "softmax"}
    assert ws.nnx("validate", path, results=False).exit_code == 0


def test_an_existing_file_is_kept_unless_force(ws):
    path = ws.root / "d.yaml"
    path.write_text("mine\n")
    result = init(ws, "--dataset", "iris", "-o", path)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {path} exists; pass --force to overwrite it"
    assert path.read_text() == "mine\n"
    assert init(ws, "--dataset", "iris", "-o", path, "--force").exit_code == 0
    assert written_config(path)["data"]["dataset"] == "iris"


BAD = {
    "target not a column": (lambda ws: ["--data", ws.csv(), "--target", "chrun"],
                            ["target column 'chrun' not found", "did you mean 'churn'?"]),
    "no target given": (lambda ws: ["--data", ws.csv()], ["--target", "columns: age, plan"]),
    "a missing file": (lambda ws: ["--data", ws.root / "nope.csv"], ["nope.csv", "not exist"]),
    "a folder": (lambda ws: ["--data", ws.folder("d.csv")], ["d.csv", "a folder"]),
    "not text": (lambda ws: ["--data", ws.binary("b.csv"), "--target", "y"], ["not UTF-8"]),
    "not a data file": (lambda ws: ["--data", ws.csv("t.txt")], ["expected a .csv or .npz"]),
    "unknown dataset": (lambda ws: ["--dataset", "digts"], ["'digits'"]),
    "neither source": (lambda ws: [], ["--dataset", "--data"]),
    "both sources": (lambda ws: ["--dataset", "iris", "--data", ws.csv()], ["--dataset"]),
    "target of a dataset": (lambda ws: ["--dataset", "iris", "--target", "y"], ["--target"]),
    "a one-class target": (lambda ws: ["--data", ws.csv(text="a,y\n1,k\n2,k\n3,k\n"),
                                       "--target", "y"], ["single value"]),
}


class Files:
    def __init__(self, root):
        self.root = root

    def csv(self, name="t.csv", text=CSV):
        (self.root / name).write_text(text)
        return self.root / name

    def folder(self, name):
        (self.root / name).mkdir()
        return self.root / name

    def binary(self, name):
        (self.root / name).write_bytes(b"\xff\xfe\x00bad")
        return self.root / name


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_and_nothing_written(ws, case):
    make_args, words = BAD[case]
    args = make_args(Files(ws.root))
    before = sorted(ws.root.iterdir())
    result = init(ws, *args, "-o", ws.root / "out.yaml")
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert message.startswith("error: ") and len(message.splitlines()) == 1, message
    for word in words:
        assert word in message, message
    assert sorted(ws.root.iterdir()) == before  # no file, no leftover


def test_examples_lists_and_copies_the_shipped_files(ws):
    files = shipped()
    assert "digits_mlp" in files and files["digits_mlp"] == FOLDER / "digits_mlp.yaml"
    listing = ws.nnx("examples", results=False)
    assert listing.exit_code == 0, listing.output
    lines = listing.stdout.splitlines()
    assert len(lines) == len(files)
    assert any(line.startswith("digits_mlp ") and "MLP" in line for line in lines)
    copied = ws.nnx("examples", "digits_mlp", "-o", ws.root, results=False)
    assert copied.exit_code == 0, copied.output
    target = ws.root / "digits_mlp.yaml"
    assert target.read_bytes() == files["digits_mlp"].read_bytes()
    again = ws.nnx("examples", "digits_mlp", "-o", ws.root, results=False)
    assert again.exit_code == 2 and "--force" in again.stderr
    assert ws.nnx("examples", "digits_mlp", "-o", ws.root, "--force",
                  results=False).exit_code == 0
    unknown = ws.nnx("examples", "digits_mpl", results=False)
    assert unknown.exit_code == 2 and "did you mean 'digits_mlp'?" in unknown.stderr


def test_every_experiment_file_is_shipped():
    """The wheel carries nnx/experiments/ (package data): it must be the repository's
    experiments/ folder, so that no experiment file is left out of the wheel."""
    repository = FOLDER.parents[1] / "experiments"
    assert FOLDER.resolve() == repository.resolve()
