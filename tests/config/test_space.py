"""The space syntax: parameter types, `when:` conditions, `repeat` depth, grid points, and
each bad space refused with the field path (no training involved)."""

import copy

import pytest
from search_helpers import BASE

from nnx.config import ConfigError, resolve_config
from nnx.config.space import parse_space
from nnx.config.space_check import check_paths
from nnx.search.suggest import sample


class FakeTrial:
    """Answers suggest_* with the first choice / the low end, and records the calls."""

    def __init__(self, answers=None):
        self.answers = answers or {}
        self.asked = []

    def _answer(self, name, default):
        self.asked.append(name)
        return self.answers.get(name, default)

    def suggest_categorical(self, name, choices):
        return self._answer(name, choices[0])

    def suggest_int(self, name, low, high, step=1, log=False):
        return self._answer(name, low)

    def suggest_float(self, name, low, high, step=None, log=False):
        return self._answer(name, low)


OPTIMIZER_SPACE = {
    "train.optimizer.type": {"type": "categorical", "choices": ["adam", "sgd"]},
    "train.optimizer.momentum": {"type": "float", "low": 0.0, "high": 0.9, "step": 0.3,
                                 "when": {"train.optimizer.type": "sgd"}},
    "train.optimizer.nesterov": {"type": "categorical", "choices": [False, True],
                                 "when": {"train.optimizer.type": "sgd"}},
    "train.batch_size": {"type": "int", "low": 16, "high": 48, "step": 16},
}


def raw_base():
    return {k: copy.deepcopy(v) for k, v in BASE.items() if k != "search"}


def bad(space, *fragments, where="search.space"):
    with pytest.raises(ConfigError) as err:
        check_paths(parse_space(space, where), raw_base(), where)
    message = str(err.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def test_conditional_parameters_come_after_their_condition_and_sample_only_when_active():
    space = parse_space({  # written with the dependent first
        "train.optimizer.momentum": OPTIMIZER_SPACE["train.optimizer.momentum"],
        "train.optimizer.type": OPTIMIZER_SPACE["train.optimizer.type"]})
    assert space.paths == ["train.optimizer.type", "train.optimizer.momentum"]
    adam = FakeTrial({"train.optimizer.type": "adam"})
    assert sample(space, adam) == {"train.optimizer.type": "adam"}
    assert adam.asked == ["train.optimizer.type"]
    sgd = FakeTrial({"train.optimizer.type": "sgd", "train.optimizer.momentum": 0.6})
    assert sample(space, sgd) == {"train.optimizer.type": "sgd", "train.optimizer.momentum": 0.6}


def test_when_accepts_a_list_of_values():
    space = parse_space({
        "train.optimizer.type": {"type": "categorical", "choices": ["adam", "sgd", "rmsprop"]},
        "train.optimizer.lr": {"type": "float", "low": 0.01, "high": 0.1,
                               "when": {"train.optimizer.type": ["sgd", "rmsprop"]}}})
    assert "train.optimizer.lr" in sample(space, FakeTrial({"train.optimizer.type": "rmsprop"}))
    assert "train.optimizer.lr" not in sample(space, FakeTrial({"train.optimizer.type": "adam"}))


def test_grid_expands_conditions_without_duplicate_effective_configs():
    points = parse_space(OPTIMIZER_SPACE).grid_points()
    # adam: 1, sgd: 4 momenta x 2 nesterov = 8; times 3 batch sizes
    assert len(points) == (1 + 4 * 2) * 3
    unique = {tuple(sorted(p.items())) for p in points}
    assert len(unique) == len(points)
    assert all("train.optimizer.momentum" not in p for p in points
               if p["train.optimizer.type"] == "adam")
    assert sorted({p["train.batch_size"] for p in points}) == [16, 32, 48]
    assert sorted({p.get("train.optimizer.momentum") for p in points
                   if p["train.optimizer.type"] == "sgd"}) == [0.0, 0.3, 0.6, 0.9]


def test_float_grid_values_have_no_rounding_noise():
    space = parse_space({"train.optimizer.lr": {"type": "float", "low": 0.1, "high": 0.3,
                                                "step": 0.1}})
    assert [p["train.optimizer.lr"] for p in space.grid_points()] == [0.1, 0.2, 0.3]


def test_repeat_searches_the_depth_and_every_value_resolves():
    space = parse_space({"model.layers.0.repeat": {"type": "int", "low": 1, "high": 3},
                         "model.layers.0.units": {"type": "int", "low": 4, "high": 32,
                                                  "log": True}})
    check_paths(space, raw_base())
    config = resolve_config(space.apply(raw_base(), {"model.layers.0.repeat": 3,
                                                     "model.layers.0.units": 5}))
    assert config["model"]["layers"][0]["repeat"] == 3
    assert config["model"]["layers"][0]["units"] == 5
    assert len(space.grid_points()) == 3 * 29


def test_a_new_optimizer_type_drops_the_old_ones_arguments():
    space = parse_space(OPTIMIZER_SPACE)
    check_paths(space, raw_base())  # sgd with momentum/nesterov resolves from {type: adam, lr}
    config = resolve_config(space.apply(raw_base(), {"train.optimizer.type": "sgd",
                                                     "train.optimizer.momentum": 0.9}))
    assert config["train"]["optimizer"]["type"] == "sgd"
    assert config["train"]["optimizer"]["lr"] == 0.01


def test_effective_keeps_only_active_values_inside_the_space():
    space = parse_space(OPTIMIZER_SPACE)
    assert space.effective({"train.optimizer.type": "adam", "train.optimizer.momentum": 0.3,
                            "train.batch_size": 999, "other.path": 1}) == {
        "train.optimizer.type": "adam"}


# -- bad spaces: one message naming the field ---------------------------------------------
def test_unknown_path_names_the_closest_field():
    bad({"train.optimizer.lrr": {"type": "float", "low": 0.001, "high": 0.1}},
        "search.space.train.optimizer.lrr", "'lr'")


def test_unknown_top_level_path():
    bad({"trian.epochs": {"type": "int", "low": 1, "high": 3}}, "search.space.trian.epochs",
        "train")


def test_layer_index_out_of_range():
    bad({"model.layers.5.units": {"type": "int", "low": 1, "high": 3}},
        "search.space.model.layers.5.units", "out of range")


def test_a_value_the_field_rejects():
    bad({"model.layers.0.activation": {"type": "categorical", "choices": ["relu", "relux"]}},
        "search.space.model.layers.0.activation", "'relux'")


def test_repeat_below_one():
    bad({"model.layers.0.repeat": {"type": "int", "low": 0, "high": 2}},
        "search.space.model.layers.0.repeat", "repeat")


def test_low_greater_than_high():
    bad({"train.optimizer.lr": {"type": "float", "low": 0.1, "high": 0.001}},
        "search.space.train.optimizer.lr.low", "greater than high")


def test_log_with_low_not_positive():
    bad({"train.optimizer.lr": {"type": "float", "low": 0.0, "high": 0.1, "log": True}},
        "search.space.train.optimizer.lr.low", "log range needs low > 0")


def test_empty_choices():
    bad({"train.batch_size": {"type": "categorical", "choices": []}},
        "search.space.train.batch_size.choices", "empty")


def test_when_on_a_parameter_not_in_the_space():
    bad({"train.optimizer.momentum": {"type": "float", "low": 0, "high": 0.9,
                                      "when": {"train.optimizer.type": "sgd"}}},
        "search.space.train.optimizer.momentum.when.train.optimizer.type",
        "not in the search space")


def test_when_on_a_value_the_parameter_never_takes():
    bad({"train.optimizer.type": {"type": "categorical", "choices": ["adam"]},
         "train.optimizer.momentum": {"type": "float", "low": 0, "high": 0.9,
                                      "when": {"train.optimizer.type": "sgd"}}},
        "never takes 'sgd'")


def test_cyclic_conditions():
    bad({"train.batch_size": {"type": "categorical", "choices": [16, 32],
                              "when": {"train.epochs": 2}},
         "train.epochs": {"type": "categorical", "choices": [2, 3],
                          "when": {"train.batch_size": 16}}}, "cycle")


def test_grid_over_a_continuous_range_needs_a_step():
    with pytest.raises(ConfigError, match="a grid needs a step"):
        parse_space({"train.optimizer.lr": {"type": "float", "low": 0.001,
                                            "high": 0.1}}).grid_points()


@pytest.mark.parametrize("spec, fragment", [
    ({"type": "floot", "low": 0, "high": 1}, "did you mean 'float'"),
    ({"type": "float", "low": 0}, "needs low and high"),
    ({"type": "int", "low": 0.5, "high": 2}, "must be an integer"),
    ({"type": "float", "low": 0.1, "high": 1, "log": True, "step": 0.1}, "cannot be combined"),
    ({"type": "float", "low": 0, "high": 1, "step": 0}, "> 0"),
    ({"type": "categorical", "choices": [1, 1]}, "listed twice"),
    ({"type": "categorical", "choices": [[1, 2]]}, "a choice must be"),
    ({"type": "float", "low": 0, "high": 1, "choices": [1]}, "unknown key"),
])
def test_malformed_parameters(spec, fragment):
    bad({"train.optimizer.lr": spec}, fragment)


def test_search_section_is_checked_when_the_experiment_resolves():
    raw = copy.deepcopy(BASE)
    raw["search"]["metric"] = "val_r2"
    with pytest.raises(ConfigError, match="add 'r2' to train.metrics"):
        resolve_config(raw)
    raw = copy.deepcopy(BASE)
    raw["search"]["method"] = "bayse"
    with pytest.raises(ConfigError, match="did you mean 'bayes'"):
        resolve_config(raw)
    raw = copy.deepcopy(BASE)
    raw["search"]["space"]["train.optimizer.lr"]["low"] = -1
    with pytest.raises(ConfigError, match="search.space.train.optimizer.lr.low"):
        resolve_config(raw)


def test_direction_follows_the_metric():
    raw = copy.deepcopy(BASE)
    assert resolve_config(raw)["search"]["direction"] == "maximize"
    raw["search"]["metric"] = "val_loss"
    assert resolve_config(raw)["search"]["direction"] == "minimize"
    assert resolve_config(raw)["search"]["pruner"] == "median"
