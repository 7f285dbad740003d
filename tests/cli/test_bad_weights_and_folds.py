"""Bad class weights, sample-weight columns and folds: `nnx train` and `nnx search` exit 2
with one line naming the field, and write nothing."""

import copy

import pytest

CSV = "a,b,w,label\n" + "".join(f"{i % 7},{i % 3},{1 + i % 2},{'yes' if i % 4 else 'no'}\n"
                                for i in range(40))


def experiment(ws, data=None, train=None, search=False):
    config = copy.deepcopy(ws.TINY)
    config["data"].update(data or {})
    config["train"].update(train or {})
    if search:
        config["search"] = {"metric": "val_accuracy", "n_trials": 2, "space": {
            "train.optimizer.lr": {"type": "float", "low": 0.001, "high": 0.1}}}
    return ws.experiment(config)


def csv_experiment(ws, text=CSV, **data):
    (ws.root / "d.csv").write_text(text)
    return ws.experiment(copy.deepcopy(ws.TINY), data={"path": "d.csv", "target": "label",
                                                       **data})


CASES = {
    "class not in the data": (lambda ws: ["train", experiment(ws, train={
        "class_weight": {0: 1.0, 5: 2.0}})],
        ["train.class_weight", "names class 5", "'moons'", "classes: 0, 1"]),
    "class label not in a csv": (lambda ws: ["train", csv_experiment(ws), "--set",
                                             "train.class_weight={'yes': 1, maybe: 3}"],
                                 ["train.class_weight", "'maybe'", "classes: 'no', 'yes'"]),
    "class label read as a YAML boolean": (lambda ws: ["train", csv_experiment(ws), "--set",
                                                       "train.class_weight={yes: 3}"],
                                           ["names class True", "quote the label"]),
    "negative class weight": (lambda ws: ["train", experiment(ws, train={
        "class_weight": {1: -2}})],
        ["train.class_weight", "the weight of class 1", ">= 0", "-2"]),
    "NaN class weight": (lambda ws: ["train", experiment(ws), "--set",
                                     "train.class_weight={1: .nan}"],
                         ["train.class_weight", "finite", "nan"]),
    "infinite class weight": (lambda ws: ["train", experiment(ws), "--set",
                                          "train.class_weight={0: .inf}"],
                              ["train.class_weight", "finite", "inf"]),
    "class_weight misspelt": (lambda ws: ["train", experiment(ws), "--set",
                                          "train.class_weight=balance"],
                              ["train.class_weight", "'balanced'", "'balance'"]),
    "class_weight on regression": (lambda ws: ["train", experiment(ws, data={
        "dataset": "sine", "n_samples": 200}, train={"loss": "mse", "metrics": [],
                                                     "class_weight": "balanced"})],
        ["train.class_weight", "binary and multiclass", "regression"]),
    "sample_weight column missing": (lambda ws: ["train", csv_experiment(
        ws, sample_weight="weight")], ["sample_weight column 'weight' not found", "a, b, w"]),
    "sample_weight column not numeric": (lambda ws: ["train", csv_experiment(
        ws, CSV.replace("\n3,0,2,yes", "\n3,0,heavy,yes"), sample_weight="w")],
        ["sample_weight column 'w'", "line 5", "'heavy' is not a number"]),
    "sample_weight negative": (lambda ws: ["train", csv_experiment(
        ws, CSV.replace("\n3,0,2,yes", "\n3,0,-2,yes"), sample_weight="w")],
        ["sample_weight column 'w'", "line 5", "negative"]),
    "sample_weight empty cell": (lambda ws: ["train", csv_experiment(
        ws, CSV.replace("\n3,0,2,yes", "\n3,0,,yes"), sample_weight="w")],
        ["column 'w'", "line 5", "empty cell"]),
    "sample_weight is the target": (lambda ws: ["train", csv_experiment(
        ws, sample_weight="label")], ["data.sample_weight", "also a target column"]),
    "sample_weight on a built-in set": (lambda ws: ["train", experiment(
        ws, data={"sample_weight": "w"})], ["data.sample_weight", "CSV files only"]),
    "one fold": (lambda ws: ["train", experiment(ws), "--set", "data.folds=1"],
                 ["data.folds", "integer >= 2", "got 1"]),
    "fold count not an integer": (lambda ws: ["train", experiment(ws, data={"folds": 2.5})],
                                  ["data.folds", "integer >= 2", "2.5"]),
    "fold count true": (lambda ws: ["train", experiment(ws, data={"folds": True})],
                        ["data.folds", "integer >= 2", "True"]),
    "more folds than the smallest class": (
        lambda ws: ["train", experiment(ws), "--set", "data.folds=81"],
        ["data.folds", "81 folds", "the 80 rows of the smallest class", "at most 80 folds"]),
    "more folds than a csv class": (lambda ws: ["train", csv_experiment(ws), "--set",
                                                "data.folds=9"],
                                    ["data.folds", "the 8 rows of the smallest class ('no')"]),
    "search with too many folds": (lambda ws: ["search", experiment(ws, search=True), "--set",
                                               "data.folds=500"],
                                   ["data.folds", "500 folds"]),
}


def files_under(folder):
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.mark.parametrize("case", list(CASES))
def test_bad_weights_or_folds_exit_2_with_one_line(ws, case):
    make_args, words = CASES[case]
    args = make_args(ws)
    if args[0] == "search":
        args += ["--results-dir", ws.results]
    result = ws.nnx(*args)
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert message.startswith("error: ") and len(message.splitlines()) == 1, message
    assert "Traceback" not in result.output
    for word in words:
        assert word in message, message
    assert files_under(ws.results) == []
