"""`nnx warmup`: compile the float32 kernels once, so that no run waits for numba.

A kernel is compiled on its first call for the types it is called with, then kept in the
disk cache (nnx/kernels/cache.py). Warming up runs tiny experiments through the same code
as `nnx train` (one epoch of each, evaluation and prediction included, diagnostics on and
off) over every layer type, loss, optimizer and activation, in float32: afterwards `make run`
and the shipped experiments load every kernel they call from the cache. float64 (gradient
checks) compiles on first use.
"""

import multiprocessing
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

LAYERS_DENSE = [
    {"type": "dense", "units": 16, "activation": "relu"},
    {"type": "dropout", "rate": 0.2},
]


def _experiment(name, dataset, layers, loss, metrics, *, data=None, optimizer="adam",
                diagnostics="basic", graph=None, batch_size=16):
    """A one-epoch experiment mapping (the YAML's shape) on a built-in dataset; graph =
    (inputs, outputs) for a graph model."""
    model = {"layers": layers}
    if graph is not None:
        model.update(inputs=graph[0], outputs=graph[1])
    return {"name": f"warmup-{name}", "seed": 0, "diagnostics": diagnostics,
            "data": {"dataset": dataset, **(data or {})}, "model": model,
            "train": {"loss": loss, "optimizer": optimizer, "batch_size": batch_size, "epochs": 1,
                      "metrics": metrics}}


def _hidden(activation):
    return {"type": "dense", "units": 8, "activation": activation}


def _same_conv(kind, filters, kernel_size=3):
    return {"type": kind, "filters": filters, "kernel_size": kernel_size, "padding": "same",
            "activation": "relu"}


def _softmax(classes):
    return {"type": "dense", "units": classes, "activation": "softmax"}


def curriculum():
    """(description, experiment mapping) of every warm-up run, in order."""
    from nnx.layers.recurrent import MIN_PART

    small = {"n_samples": 64}
    sequences = {"n_samples": 64, "length": 6}
    classes = ["accuracy"]
    return [
        ("dense layers, softmax, cross-entropy, adam (make run)",
         _experiment("mlp", "digits", [*LAYERS_DENSE, _softmax(10)], "categorical_crossentropy",
             classes, data={"validation_split": 0.2, "test_split": 0.2})),
        ("the same without diagnostics",
         _experiment("mlp-quiet", "digits", [*LAYERS_DENSE, _softmax(10)],
                     "categorical_crossentropy",
             classes, diagnostics="off")),
        ("activations, sigmoid output, binary cross-entropy",
         _experiment("activations", "moons", [
             _hidden("tanh"), _hidden("sigmoid"), _hidden("gelu"), _hidden("elu"),
             _hidden("leaky_relu"), _hidden("linear"), {"type": "activation",
                                                          "activation": "relu"},
             {"type": "gaussian_noise", "stddev": 0.1},
             {"type": "dense", "units": 1, "activation": "sigmoid"}], "binary_crossentropy",
             classes, data=small)),
        ("regression losses, batch normalization, other optimizers",
         _experiment("regression", "sine", [
             {"type": "dense", "units": 8, "activation": "tanh"},
             {"type": "batch_normalization"}, {"type": "dense", "units": 1}], "mse",
             ["mae", "r2"], data=small, optimizer={"type": "sgd", "momentum": 0.9,
                                                   "nesterov": True, "clipnorm": 1.0})),
        *[(f"optimizer {kind} and loss {loss}",
           _experiment(f"{kind}-{loss}", "sine", [_hidden("relu"), {"type": "dense", "units": 1}],
                       loss, ["mae"], data=small, optimizer={"type": kind, "clipvalue": 1.0}))
          for kind, loss in (("momentum", "mae"), ("rmsprop", "huber"), ("adagrad", "mse"),
                             ("adamw", "mse"))],
        ("multi-label sigmoid outputs",
         _experiment("multilabel", "multilabel", [_hidden("relu"), {
             "type": "dense", "units": 5, "activation": "sigmoid"}], "binary_crossentropy",
             ["subset_accuracy", "accuracy"], data=small)),
        ("2-D convolutions (im2col), pooling, upsampling",
         _experiment("cnn", "digits_images", [
             _same_conv("conv2d", 4),
             {"type": "max_pool2d", "pool_size": 2},
             {"type": "up_sampling2d", "size": 2},
             {"type": "conv2d", "filters": 4, "kernel_size": 3, "stride": 2, "activation": "gelu"},
             {"type": "batch_normalization"},
             {"type": "avg_pool2d", "pool_size": 1},
             {"type": "global_average_pooling2d"}, _softmax(10)],
             "categorical_crossentropy", classes, data={"validation_split": 0.2})),
        ("2-D convolutions with many channels (Winograd)",
         _experiment("wide-cnn", "digits_images", [
             _same_conv("conv2d", 32), _same_conv("conv2d", 32),
             {"type": "flatten"}, {"type": "dropout", "rate": 0.3}, _softmax(10)],
             "categorical_crossentropy", classes, data={"validation_split": 0.2})),
        ("1-D convolutions and pooling",
         _experiment("cnn1d", "signal", [
             _same_conv("conv1d", 4, kernel_size=5),
             {"type": "max_pool1d", "pool_size": 2},
             {"type": "conv1d", "filters": 4, "kernel_size": 3, "stride": 2},
             {"type": "avg_pool1d", "pool_size": 2},
             {"type": "global_average_pooling1d"}, _softmax(3)],
             "categorical_crossentropy", classes, data=small)),
        ("LSTM",
         _experiment("lstm", "digits_rows", [
             {"type": "lstm", "units": 8}, _softmax(10)],
             "categorical_crossentropy", classes,
             optimizer={"type": "adam", "clipnorm": 1.0},
             # two parts of MIN_PART samples on two threads: their gradient shares are added
             batch_size=2 * MIN_PART)),
        ("GRU, simple RNN, bidirectional, sequences",
         _experiment("rnn", "noisy_sine_next", [
             {"type": "gru", "units": 8, "return_sequences": True},
             {"type": "simple_rnn", "units": 8, "return_sequences": True},
             {"type": "simple_rnn", "units": 8, "activation": "relu", "return_sequences": True},
             {"type": "bidirectional", "layer": {"type": "lstm", "units": 4,
                                                 "return_sequences": True}},
             {"type": "gru", "units": 8, "go_backwards": True},
             {"type": "dense", "units": 1}], "mse", ["mae"], data=sequences)),
        ("embedding, masks, transformer blocks, attention",
         _experiment("transformer", "min_max_order", [
             {"type": "embedding", "input_dim": 10, "output_dim": 8, "mask_zero": True},
             {"type": "positional_embedding"},
             {"type": "transformer_encoder_block", "num_heads": 2, "ff_dim": 16},
             {"type": "positional_encoding"},
             {"type": "transformer_encoder_block", "num_heads": 2, "ff_dim": 16,
              "norm_first": True, "causal": True, "activation": "gelu"},
             {"type": "multi_head_attention", "num_heads": 2},
             {"type": "layer_normalization"},
             {"type": "sequence_pooling", "mode": "mean"},
             {"type": "dense", "units": 1, "activation": "sigmoid"}], "binary_crossentropy",
             classes, data={"n_samples": 64, "length": 12, "vocab": 10,
                            "standardize": False})),
        ("graph models: add, concatenate, multiply",
         _experiment("graph", "digits", [
             {"name": "h", "type": "dense", "units": 8, "activation": "relu", "inputs": ["x"]},
             {"name": "g", "type": "dense", "units": 8, "activation": "sigmoid", "inputs": ["x"]},
             {"name": "sum", "type": "add", "inputs": ["h", "g"]},
             {"name": "gate", "type": "multiply", "inputs": ["sum", "g"]},
             {"name": "both", "type": "concatenate", "inputs": ["gate", "x"]},
             {"name": "out", "type": "dense", "units": 10, "activation": "softmax",
              "inputs": ["both"]}], "categorical_crossentropy", classes,
             graph=([{"name": "x"}], ["out"]))),
    ]


def remove_stale_caches():
    """Delete the cache folders of other nnx versions or kernel sources; returns how many."""
    from nnx.kernels.cache import stale_folders

    folders = stale_folders()
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    return len(folders)


def run_step(index):
    """Run warm-up experiment `index` of the curriculum (in a fresh results folder)."""
    from nnx.config import resolve_config
    from nnx.experiment import run_experiment

    raw = curriculum()[index][1]
    with tempfile.TemporaryDirectory(prefix="nnx-warmup-") as results:
        record = run_experiment(resolve_config(raw), results, save_model=False)
    if record["status"] != "completed":
        raise RuntimeError(f"warm-up run {raw['name']!r} {record['status']}: {record['error']}")


def warm_up(jobs=1, on_done=None):
    """Run the curriculum on `jobs` processes (the kernels compile in each; numba's cache
    takes concurrent writers); `on_done(description)` after each run. Returns the seconds
    taken; a run that does not complete raises RuntimeError."""
    steps = curriculum()
    started = time.perf_counter()
    if jobs <= 1:
        for index, (description, _) in enumerate(steps):
            run_step(index)
            if on_done is not None:
                on_done(description)
        return time.perf_counter() - started
    context = multiprocessing.get_context("spawn")  # no fork after numba's threads started
    with ProcessPoolExecutor(min(jobs, len(steps)), mp_context=context) as pool:
        futures = {pool.submit(run_step, index): description
                   for index, (description, _) in enumerate(steps)}
        for future in as_completed(futures):
            future.result()
            if on_done is not None:
                on_done(futures[future])
    return time.perf_counter() - started
