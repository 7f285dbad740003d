"""`nnx schema` against validation: every key the listing names is accepted by the validator,
and every key the validator accepts is listed (read from the validator's own refusals of an
unknown key, which name what it allows)."""

import copy
import json
import re

import pytest
from experiment_configs import tiny_moons
from typer.testing import CliRunner

from nnx.cli import app
from nnx.config import ConfigError, resolve_config, with_overrides
from nnx.config.reference import (
    GRAPH,
    LAYER,
    METRIC,
    OBJECTIVE,
    PARAMETER,
    REGISTRIES,
    aliases,
    fields,
    section_fields,
)
from nnx.costs import COSTS
from nnx.data.builtin import DATASETS

BASE = {**tiny_moons(), "search": {"metric": "val_loss", "space": {}}}
UNKNOWN = "zz_not_a_key"

# Values for keys without a default (required arguments) or whose default is null.
EXAMPLES = {
    "units": 2, "filters": 2, "kernel_size": 3, "pool_size": 2, "rate": 0.5, "stddev": 0.1,
    "activation": "relu", "layer": {"type": "lstm", "units": 2}, "input_dim": 10,
    "output_dim": 4, "num_heads": 2, "ff_dim": 8, "epochs": 5, "key_dim": 4, "max_length": 8,
    "stride": 2, "name": "a_name", "kernel_regularizer": "l2", "clipnorm": 1.0,
    "clipvalue": 1.0, "repeat": 2, "task": "binary", "direction": "minimize",
    "early_stopping": {"patience": 3}, "schedule": "constant", "threads": 1,
    "search": {"metric": "val_loss"}, "type": None, "folds": 3, "class_weight": "balanced",
    "objectives": [{"metric": "val_loss"}, {"metric": "params"}],
}


def present(config, path):
    for part in path.split("."):
        if not isinstance(config, dict) or part not in config:
            return False
        config = config[part]
    return True


def listed(predicate):
    return [f for f in fields() if predicate(f)]


def example(field):
    if not field.required and field.default is not None:
        return copy.deepcopy(field.default)
    return copy.deepcopy(EXAMPLES[field.key])


def spec_with(owner, variant, key, value):
    """A `{type: variant, ...}` mapping with the required arguments filled in and `key` set."""
    spec = {"type": variant}
    for f in listed(lambda f: f.variant == variant and f.path.startswith(owner + ".")):
        if f.required:
            spec[f.key] = example(f)
    if key != "type":
        spec[key] = value
    return spec


def experiment_setting(field):
    """BASE with `field` set to a value it accepts."""
    owner, _, key = field.path.rpartition(".")
    raw = copy.deepcopy(BASE)
    if field.required and present(BASE, field.path):
        return raw
    if owner in REGISTRIES and field.variant is not None:
        spec = spec_with(owner, field.variant, key, example(field))
        return with_overrides(raw, {owner if owner != LAYER else "model.layers": (
            [spec] if owner == LAYER else spec)})
    if owner in REGISTRIES:  # a `type`: each of its names
        return [with_overrides(raw, {owner if owner != LAYER else "model.layers": (
            [spec_with(owner, name, "type", None)] if owner == LAYER
            else spec_with(owner, name, "type", None))}) for name in field.allowed]
    if owner == "data" and field.variant is not None:
        return with_overrides(raw, {"data": {"dataset": field.variant, key: example(field)}})
    if owner == METRIC:  # a metric as a mapping: each type, then each argument's values
        if key == "type":
            return [with_overrides(raw, {"train.metrics": [{"type": name}]})
                    for name in field.allowed]
        return [with_overrides(raw, {"train.metrics": [{"type": field.variant, key: value}]})
                for value in field.allowed or (field.default,)]
    if owner == OBJECTIVE:  # the second of two objectives: each allowed value, each cost
        return [with_overrides(raw, {"search.objectives": [{"metric": "val_loss"}, {
            "metric": "params", key: value}]}) for value in field.allowed or COSTS.names()]
    if field.path == LAYER + ".repeat":
        raw["model"]["layers"][0]["repeat"] = 2
        return raw
    if field.path == "train.early_stopping" or owner == "train.early_stopping":
        raw["train"]["early_stopping"] = {} if owner == "train" else {key: example(field)}
        return raw
    if field.path == "data.path":
        return None  # a file: the CSV test below
    if owner == "data" and key in ("target", "categorical", "sample_weight"):
        return None
    return with_overrides(raw, {field.path: example(field)})


SETTABLE = [f for f in fields() if f.variant != GRAPH and not f.path.startswith(PARAMETER)]


@pytest.mark.parametrize("field", SETTABLE, ids=lambda f: f"{f.path}[{f.variant or ''}]")
def test_every_listed_key_is_accepted(field):
    made = experiment_setting(field)
    for raw in made if isinstance(made, list) else [made] if made is not None else []:
        resolve_config(raw)


def test_listed_csv_keys_are_accepted(tmp_path):
    (tmp_path / "t.csv").write_text("a,color,w,label\n1,red,1,0\n2,blue,2,1\n")
    csv_only = ("data.target", "data.categorical", "data.sample_weight")
    keys = {f.key for f in listed(lambda f: f.path in csv_only)}
    assert keys == {"target", "categorical", "sample_weight"}
    resolve_config({**BASE, "data": {"path": str(tmp_path / "t.csv"), "target": "label",
                                     "categorical": ["color"], "sample_weight": "w"}})


def test_listed_graph_keys_are_exactly_those_a_graph_model_uses():
    graph = {"inputs": [{"name": "x", "shape": [2]}],
             "layers": [{"name": "h", "type": "dense", "units": 1, "inputs": ["x"]},
                        {"name": "h2", "share": "h", "inputs": "h"}],
             "outputs": ["h2"], "dtype": "float32"}
    resolve_config({**BASE, "model": graph})
    used = {f"model.{k}" for k in graph} | {f"model.inputs.N.{k}" for k in graph["inputs"][0]} \
        | {f"{LAYER}.{k}" for node in graph["layers"] for k in node}
    graph_only = {f.path for f in listed(lambda f: f.variant == GRAPH)}
    assert graph_only <= used
    plain = {f.path for f in listed(lambda f: f.variant is None)}
    assert used - graph_only <= plain | {f"{LAYER}.type", f"{LAYER}.units"}


def test_graph_inputs_and_shared_nodes_refuse_what_is_not_listed():
    graph = {"inputs": [{"name": "x", UNKNOWN: 1}], "layers": [
        {"name": "h", "type": "dense", "units": 1, "inputs": "x"}], "outputs": ["h"]}
    with pytest.raises(ConfigError) as caught:
        resolve_config({**BASE, "model": graph})
    assert str(caught.value).endswith("unknown key; an input has name and shape")
    assert {f.key for f in listed(lambda f: f.path.startswith("model.inputs.N."))} == {
        "name", "shape"}
    graph["inputs"] = [{"name": "x"}]
    graph["layers"].append({"name": "h2", "share": "h", "inputs": "h", UNKNOWN: 1})
    with pytest.raises(ConfigError) as caught:
        resolve_config({**BASE, "model": graph})
    assert str(caught.value).endswith("a shared call takes only name, share and inputs")


def test_listed_space_keys_are_accepted():
    keys = {f.key for f in listed(lambda f: f.path.startswith(PARAMETER + "."))}
    space = {"train.optimizer.type": {"type": "categorical", "choices": ["adam", "sgd"]},
             "train.optimizer.lr": {"type": "float", "low": 1e-3, "high": 0.1, "log": True},
             "train.batch_size": {"type": "int", "low": 8, "high": 32, "step": 8,
                                  "when": {"train.optimizer.type": "sgd"}}}
    assert keys == {k for spec in space.values() for k in spec}
    resolve_config(with_overrides(BASE, {"search.space": space}))


# -- what validation accepts is listed -------------------------------------------------------
def allowed_by_validation(raw):
    """The keys the validator names as allowed when it refuses `UNKNOWN`."""
    with pytest.raises(ConfigError) as caught:
        resolve_config(raw)
    message = str(caught.value)
    assert UNKNOWN in message, message
    match = re.search(r"(?:allowed(?: keys)?|it takes): ([^()]*)", message)
    assert match, message
    return {k.strip() for k in match.group(1).split(",")} - {"no arguments"}


def keys_of(prefix, variant=None):
    return {f.key for f in fields() if f.path.rpartition(".")[0] == prefix
            and f.variant in (None, variant)}


def test_top_level_and_sections():
    assert allowed_by_validation({**BASE, UNKNOWN: 1}) == keys_of("")
    for section in ("model", "train", "search"):
        raw = copy.deepcopy(BASE)
        raw[section][UNKNOWN] = 1
        assert allowed_by_validation(raw) == keys_of(section) - {"inputs", "outputs"}, section


@pytest.mark.parametrize("dataset", DATASETS.names())
def test_data_keys_of_each_dataset(dataset):
    raw = with_overrides(BASE, {"data": {"dataset": dataset, UNKNOWN: 1}})
    expected = keys_of("data", dataset) - {"path", "target", "categorical", "sample_weight"}
    assert allowed_by_validation(raw) == expected


def test_data_keys_of_a_csv_file(tmp_path):
    (tmp_path / "t.csv").write_text("a,label\n1,0\n2,1\n")
    raw = with_overrides(BASE, {"data": {"path": str(tmp_path / "t.csv"), UNKNOWN: 1}})
    assert allowed_by_validation(raw) == keys_of("data") - {"dataset"}


@pytest.mark.parametrize("owner", list(REGISTRIES))
def test_arguments_of_each_registered_type(owner):
    for name in REGISTRIES[owner].names():
        spec = spec_with(owner, name, UNKNOWN, 1)
        raw = with_overrides(BASE, {"model.layers" if owner == LAYER else owner:
                                    [spec] if owner == LAYER else spec})
        variant = aliases(REGISTRIES[owner]).get(name, name)
        expected = {f.key for f in fields() if f.variant == variant
                    and f.path.startswith(owner + ".")}
        assert allowed_by_validation(raw) == expected, name


def test_objective_keys():
    raw = with_overrides(BASE, {"search.objectives": [{"metric": "val_loss", UNKNOWN: 1}]})
    assert allowed_by_validation(raw) == keys_of(OBJECTIVE)


def test_early_stopping_keys():
    raw = with_overrides(BASE, {"train.early_stopping": {UNKNOWN: 1}})
    assert allowed_by_validation(raw) == keys_of("train.early_stopping")


@pytest.mark.parametrize("kind", ["float", "int", "categorical"])
def test_space_keys_of_each_parameter_type(kind):
    spec = {"type": kind, UNKNOWN: 1}
    raw = with_overrides(BASE, {"search.space": {"train.epochs": spec}})
    allowed = allowed_by_validation(raw)
    listed_keys = keys_of(PARAMETER)
    assert allowed <= listed_keys and "type" in allowed and "when" in allowed
    assert ("choices" in allowed) == (kind == "categorical")


# -- the command ----------------------------------------------------------------------------
def nnx(*args):
    return CliRunner().invoke(app, list(args))


def test_schema_lists_the_top_level_keys():
    result = nnx("schema")
    assert result.exit_code == 0, result.output
    for key in ("name", "seed", "data", "model", "train", "search", "diagnostics"):
        assert re.search(rf"^{key}  ", result.stdout, re.M), key


def test_schema_of_a_section_lists_types_defaults_and_allowed_values():
    result = nnx("schema", "train")
    assert result.exit_code == 0, result.output
    assert "train.batch_size  integer >= 1, null or 'full'  default 32" in result.stdout
    assert re.search(r"^  adam +lr=0\.001, beta1=0\.9", result.stdout, re.M)
    assert "the same as binary_crossentropy" in result.stdout
    search = " ".join(nnx("schema", "search").stdout.split())
    for word in ("search.space.PATH.type", ".low", ".high", ".log", ".step", ".choices",
                 ".when", "model.layers.0.repeat", "one of: grid, random, bayes"):
        assert word in search, word


def test_schema_json_is_the_listing():
    result = nnx("schema", "model", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [f.to_json() for f in section_fields("model")]


def test_unknown_section_is_one_line_with_the_closest():
    result = nnx("schema", "trian")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: no experiment field 'trian'; sections: name, seed, data, model, train, "
        "search, diagnostics (did you mean 'train'?)"]


def test_the_help_teaches():
    top = nnx("--help").stdout
    lines = [line.strip() for line in top.splitlines() if line.strip()]
    start = lines.index("Neural-network experiments on the CPU: train, search, report.")
    assert [line.split("#")[0].split()[:2] for line in lines[start + 1:start + 4]] == [
        ["nnx", "init"], ["nnx", "train"], ["nnx", "search"]]
    search = " ".join(nnx("search", "--help").stdout.split())
    for words in ("search.space", "{type: float, low:", "when:", "repeat",
                  "nnx schema search"):
        assert words in search, words
