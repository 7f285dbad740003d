"""The experiment schema: defaults, registry-driven validation, field paths, --set overrides."""

import copy

import pytest
import yaml

from nnx.config import ConfigError, load_experiment, resolve_config, with_overrides
from nnx.config.overrides import parse_override
from nnx.config.yaml_io import parse_value

BASE = {
    "name": "tiny",
    "data": {"dataset": "moons", "n_samples": 200},
    "model": {"layers": [{"type": "dense", "units": 8, "activation": "relu"},
                         {"type": "dense", "units": 1, "activation": "sigmoid"}]},
    "train": {"loss": "binary_crossentropy", "epochs": 2, "metrics": ["accuracy"]},
}


def config(**sections):
    raw = copy.deepcopy(BASE)
    raw.update(sections)
    return raw


def error_of(raw):
    with pytest.raises(ConfigError) as info:
        resolve_config(raw)
    return info.value


def write(tmp_path, raw, name="exp.yaml"):
    path = tmp_path / name
    path.write_text(raw if isinstance(raw, str) else yaml.safe_dump(raw, sort_keys=False))
    return path


# -- resolution -------------------------------------------------------------------------
def test_defaults_are_filled_in():
    resolved = resolve_config(config())
    assert resolved["seed"] == 0 and resolved["diagnostics"] == "basic"
    assert resolved["search"] is None
    train = resolved["train"]
    assert train["optimizer"] == {"type": "adam", "lr": 0.001, "beta1": 0.9, "beta2": 0.999,
                                  "eps": 1e-8, "weight_decay": 0.0, "clipnorm": None,
                                  "clipvalue": None}
    assert train["loss"] == {"type": "binary_crossentropy", "from_logits": False}
    assert train["batch_size"] == 32 and train["shuffle"] is True
    assert train["early_stopping"] is None and train["schedule"] is None
    assert resolved["data"]["validation_split"] == 0.2 and resolved["data"]["noise"] == 0.1
    assert resolved["model"]["layers"][0]["init"] == "glorot_uniform"
    assert resolved["model"]["dtype"] == "float32"


def test_resolution_is_idempotent():
    resolved = resolve_config(config(train={**BASE["train"], "early_stopping": True,
                                            "schedule": {"type": "cosine", "epochs": 2}}))
    assert resolve_config(copy.deepcopy(resolved)) == resolved
    assert resolved["train"]["early_stopping"]["patience"] == 5


def test_aliases_resolve_to_canonical_names():
    raw = config(train={**BASE["train"], "loss": "bce", "optimizer": "sgd"})
    resolved = resolve_config(raw)
    assert resolved["train"]["loss"]["type"] == "binary_crossentropy"
    assert resolved["train"]["optimizer"]["type"] == "sgd"


def test_repeat_is_kept_and_checked():
    layers = [{"type": "dense", "units": 8, "activation": "relu", "repeat": 3},
              {"type": "dense", "units": 1, "activation": "sigmoid"}]
    resolved = resolve_config(config(model={"layers": layers}))
    assert resolved["model"]["layers"][0]["repeat"] == 3
    layers[0]["repeat"] = 0
    assert error_of(config(model={"layers": layers})).path == "model.layers.0.repeat"


def test_diagnostics_accepts_yaml_off():
    assert resolve_config(config(diagnostics=False))["diagnostics"] == "off"
    assert error_of(config(diagnostics="most")).path == "diagnostics"


# -- errors name the field ----------------------------------------------------------------
@pytest.mark.parametrize("change, path, words", [
    (lambda c: c.update(trian={}), "trian", ["did you mean 'train'"]),
    (lambda c: c["model"]["layers"][0].update(type="dens"), "model.layers.0.type", ["'dense'"]),
    (lambda c: c["model"]["layers"][0].update(activation="rleu"), "model.layers.0.activation",
     ["'relu'"]),
    (lambda c: c["model"]["layers"][0].update(units=0), "model.layers.0.units", ["0"]),
    (lambda c: c["model"]["layers"][0].update(unitz=3), "model.layers.0.unitz", ["'units'"]),
    (lambda c: c["model"]["layers"].insert(1, {"type": "dropout", "rate": 1.5}),
     "model.layers.1.rate", ["1.5"]),
    (lambda c: c["train"].update(optimizer={"type": "adam", "lr": "fast"}), "train.optimizer.lr",
     ["'fast'"]),
    (lambda c: c["train"].update(optimizer="adamm"), "train.optimizer", ["'adam'"]),
    (lambda c: c["train"].update(optimizer={"type": "adam", "momentum": 0.9}),
     "train.optimizer.momentum", ["takes no argument"]),
    (lambda c: c["train"].update(loss="mse2"), "train.loss", ["unknown loss"]),
    (lambda c: c["train"].update(epochs=-1), "train.epochs", ["-1"]),
    (lambda c: c["train"].update(batch_size=0), "train.batch_size", ["'full'"]),
    (lambda c: c["train"].update(metrics=["acuracy"]), "train.metrics.0", ["'accuracy'"]),
    (lambda c: c["train"].update(early_stopping={"monitor": "val_acc"}),
     "train.early_stopping.monitor", ["'val_accuracy'"]),
    (lambda c: c["train"].update(early_stopping={"patience": -2}),
     "train.early_stopping.patience", ["-2"]),
    (lambda c: c["train"].update(schedule={"type": "cosine"}), "train.schedule.epochs",
     ["missing"]),
    (lambda c: c["data"].update(validation_split=1.5), "data.validation_split", ["1.5"]),
    (lambda c: c["data"].update(dataset="moonz"), "data.dataset", ["'moons'"]),
    (lambda c: c["data"].update(path="x.csv"), "data", ["exactly one"]),
    (lambda c: c.pop("name"), "name", ["required"]),
    (lambda c: c.update(name="has space"), "name", ["'has space'"]),
    (lambda c: c.update(seed=-1), "seed", ["-1"]),
    (lambda c: c["model"].update(layers=[]), "model.layers", ["no layers"]),
    (lambda c: c["model"].update(dtype="float16"), "model.dtype", ["float32"]),
    (lambda c: c.update(search={"method": "bayes", "space": {"a": 1}}), "search.space.a",
     ["mapping"]),
    (lambda c: c.update(search={"methd": "grid"}), "search.methd", ["'method'"]),
])
def test_errors_name_the_field(change, path, words):
    raw = config()
    change(raw)
    err = error_of(raw)
    assert err.path == path, str(err)
    for word in words:
        assert word in str(err)


def test_early_stopping_on_validation_needs_a_validation_split():
    raw = config(train={**BASE["train"], "early_stopping": {"monitor": "val_loss"}})
    raw["data"]["validation_split"] = 0.0
    assert "validation_split" in str(error_of(raw))


# -- files --------------------------------------------------------------------------------
def test_file_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_experiment(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not valid YAML: line 2"):
        load_experiment(write(tmp_path, "name: [unclosed\n"))
    with pytest.raises(ConfigError, match="got a list"):
        load_experiment(write(tmp_path, "- 1\n- 2\n"))
    with pytest.raises(ConfigError, match="empty"):
        load_experiment(write(tmp_path, ""))
    with pytest.raises(ConfigError, match="appears twice"):
        load_experiment(write(tmp_path, "name: a\nname: b\n"))
    path = write(tmp_path, config(trian={}))
    with pytest.raises(ConfigError, match=f"^{path}: trian: "):
        load_experiment(path)


def test_exponent_floats_without_a_dot():
    assert parse_value("1e-3") == 0.001 and parse_value("5E+2") == 500.0
    assert parse_value("1_000") == 1000 and parse_value("relu") == "relu"
    assert parse_value("") is None and parse_value("[16, 32]") == [16, 32]


def test_relative_data_path_is_relative_to_the_file(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "d.csv").write_text("a,target\n1,0\n2,1\n3,0\n4,1\n5,0\n6,1\n")
    raw = config(data={"path": "d.csv", "validation_split": 0.0, "test_split": 0.0})
    resolved = load_experiment(write(folder, raw))
    assert resolved["data"]["path"] == str(folder / "d.csv")
    assert resolved["data"]["target"] == ["target"] and resolved["data"]["categorical"] == []


def test_data_path_from_set_is_relative_to_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "here.csv").write_text("a,target\n1,0\n2,1\n3,0\n4,1\n5,0\n6,1\n")
    elsewhere = tmp_path / "experiments"
    elsewhere.mkdir()
    monkeypatch.chdir(tmp_path)
    path = write(elsewhere, config())
    resolved = load_experiment(path, ["data={path: here.csv, test_split: 0}"])
    assert resolved["data"]["path"] == str(tmp_path / "here.csv")


# -- --set ----------------------------------------------------------------------------------
def test_overrides_set_known_paths_also_missing_ones(tmp_path):
    path = write(tmp_path, config())
    resolved = load_experiment(path, ["train.epochs=5", "train.optimizer.lr=1e-2",
                                      "train.early_stopping.patience=3",
                                      "model.layers.0.units=16", "data.noise=0.3",
                                      "train.metrics=[accuracy]", "seed=7"])
    assert resolved["train"]["epochs"] == 5
    assert resolved["train"]["optimizer"]["lr"] == 0.01
    assert resolved["train"]["early_stopping"]["patience"] == 3
    assert resolved["train"]["early_stopping"]["monitor"] == "val_loss"
    assert resolved["model"]["layers"][0]["units"] == 16
    assert resolved["data"]["noise"] == 0.3 and resolved["seed"] == 7


@pytest.mark.parametrize("override, path, words", [
    ("train.epocs=5", "train.epocs", ["'epochs'", "from --set train.epocs=5"]),
    ("model.layers.0.unitz=5", "model.layers.0.unitz", ["'units'"]),
    ("model.layers.9.units=5", "model.layers.9", ["out of range"]),
    ("model.layers.x.units=5", "model.layers.x", ["index"]),
    ("train.epochs=many", "train.epochs", ["'many'"]),
    ("train.epochs", "--set", ["PATH=VALUE"]),
    ("=5", "--set", ["dotted"]),
    ("train..epochs=5", "--set", ["dotted"]),
    ("seed.x=1", "seed", ["integer", "from --set seed.x=1"]),
    ("name.x=1", "name", ["got a mapping", "from --set name.x=1"]),
])
def test_bad_overrides(tmp_path, override, path, words):
    with pytest.raises(ConfigError) as info:
        load_experiment(write(tmp_path, config()), [override])
    assert info.value.path == path, str(info.value)
    for word in words:
        assert word in str(info.value)


def test_parse_override_keeps_equals_in_the_value():
    assert parse_override("name=a=b") == ("name", "a=b")


def test_with_overrides_copies():
    raw = config()
    changed = with_overrides(raw, {"train.optimizer.lr": 0.5, "model.layers.0.units": 4})
    assert raw["train"].get("optimizer") is None and raw["model"]["layers"][0]["units"] == 8
    assert changed["train"]["optimizer"] == {"lr": 0.5}
    assert resolve_config(changed)["train"]["optimizer"]["type"] == "adam"
    assert resolve_config(changed)["model"]["layers"][0]["units"] == 4
