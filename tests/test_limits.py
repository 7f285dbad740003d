"""nnx.limits: the memory this process may use, byte counts for people, nesting depth, and
the size check as the Python API and graph experiments meet it."""

import resource

import numpy as np
import pytest
import yaml
from errors_helper import raises
from experiment_configs import tiny_moons

import nnx
from nnx import layers, limits, memory, nesting
from nnx.config import load_experiment
from nnx.experiment import prepare

HUGE = 10**12


def test_the_physical_memory_bounds_the_check(monkeypatch, tmp_path):
    monkeypatch.setattr(memory, "CGROUP_LIMITS", (str(tmp_path / "absent"),))
    monkeypatch.setattr(resource, "getrlimit", lambda _: (resource.RLIM_INFINITY,) * 2)
    import os

    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert memory.machine_memory() == (
        physical, f"this machine has {memory.format_bytes(physical)} of memory")


@pytest.mark.parametrize("text, expected", [("2147483648\n", 2 << 30), ("max\n", None)])
def test_a_cgroup_limit_below_the_machine_bounds_it(monkeypatch, tmp_path, text, expected):
    path = tmp_path / "memory.max"
    path.write_text(text)
    monkeypatch.setattr(memory, "CGROUP_LIMITS", (str(path),))
    monkeypatch.setattr(resource, "getrlimit", lambda _: (resource.RLIM_INFINITY,) * 2)
    available, phrase = memory.machine_memory()
    if expected is None:
        assert phrase.startswith("this machine has")
    else:
        assert (available, phrase) == (expected, f"this process may use 2.0 GiB ({path})")


def test_an_address_space_limit_bounds_it(monkeypatch):
    monkeypatch.setattr(resource, "getrlimit", lambda _: (3 << 30, resource.RLIM_INFINITY))
    assert memory.machine_memory() == (3 << 30, "this process may use 3.0 GiB (ulimit -v)")


@pytest.mark.parametrize("count, text", [
    (512, "512 B"), (1536, "1.5 KiB"), (23 << 30, "23.0 GiB"), (16 * HUGE, "14.6 TiB"),
    (9999 * 1024**6, "9999.0 EiB"), (10**40, "8e21 EiB"), (10**4000, "8e3981 EiB")])
def test_byte_counts_read_as_people_write_them(count, text):
    assert memory.format_bytes(count) == text


def test_a_populated_array_is_an_ordinary_writable_array():
    x = memory.populated_empty((1000, 3), "float32")
    x[:] = 2.5
    assert (x.shape, x.dtype, x.flags.writeable, x.flags.c_contiguous) == \
        ((1000, 3), np.float32, True, True)
    assert x.sum() == 7500 and memory.populated_empty((0, 3), "float32").shape == (0, 3)


def test_depth_is_checked_without_recursion():
    deep = []
    for _ in range(100_000):
        deep = [deep]
    raises(lambda: nesting.check_depth({"a": deep}, "where"), "where: nested more than 100 deep")
    nesting.check_depth({"a": [[{"b": 1}]] * 3}, "where")


def test_the_python_api_refuses_a_model_before_building_it():
    model = nnx.Sequential([layers.Dense(HUGE), layers.Dense(1)])
    raises(lambda: model.build((4,)), "layer 0 (dense): needs 36.4 TiB for its parameters",
           "29.1 TiB for W (4, 1000000000000) with its gradient")
    assert not model.layers[0].params


def test_a_graph_model_is_refused_before_building_it():
    x = nnx.Input((4,))
    wide = layers.Dense(HUGE)
    raises(lambda: nnx.Model(x, layers.Dense(1)(wide(x))), "layer 0 (dense)", "TiB")
    assert not wide.params


def graph_experiment(tmp_path, **wide):
    config = tiny_moons()
    config["model"] = {"inputs": [{"name": "x"}],
                       "layers": [{"name": "h", "type": "dense", "units": 8, "inputs": "x"},
                                  {"name": "w", "inputs": "h", **wide},
                                  {"name": "y", "type": "dense", "units": 1,
                                   "activation": "sigmoid", "inputs": "w"}],
                       "outputs": ["y"]}
    path = tmp_path / "graph.yaml"
    path.write_text(yaml.safe_dump(config))
    return load_experiment(path)


def test_a_graph_experiment_names_the_layer_entry(tmp_path):
    config = graph_experiment(tmp_path, type="dense", units=HUGE)
    raises(lambda: prepare(config), "model.layers.1: needs", "TiB for W (8, 1000000000000)")


def test_a_graph_experiment_counts_the_batch(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "machine_memory",
                        lambda: (64 << 20, "this machine has 64.0 MiB of memory"))
    config = graph_experiment(tmp_path, type="dense", units=200_000, use_bias=False)
    raises(lambda: prepare(config), "model.layers.1: needs", "to train on batches of 16",
           "for the activations")


@pytest.mark.parametrize("layer, shape, part", [
    ({"type": "transformer_encoder_block", "num_heads": 1, "ff_dim": HUGE}, (4, 8),
     "ff1.W (8, 1000000000000)"),
    ({"type": "bidirectional", "layer": {"type": "lstm", "units": HUGE}}, (4, 8),
     "forward.W_hh (4000000000000, 1000000000000)"),
    ({"type": "conv2d", "filters": 2, "kernel_size": 3, "padding": HUGE}, (1, 8, 8),
     "the im2col columns"),
    ({"type": "embedding", "input_dim": HUGE, "output_dim": 8}, (4,),
     "W (1000000000000, 8)"),
])
def test_composite_and_cached_sizes_are_counted(layer, shape, part):
    model = nnx.Sequential([layers.from_config(layer)])
    if part.startswith("the "):  # a cache: counted for a training batch
        raises(lambda: limits.check_memory([("here", model.layers[0], shape)], "float32",
                                           batch=1), "here: needs", part)
    else:
        raises(lambda: model.build(shape), "layer 0", part)
