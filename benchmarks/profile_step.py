"""Where one training step's time goes: `python -m benchmarks.profile_step [WORKLOAD ...]`.

Builds a training workload of benchmarks/workloads.py (default: transformer), wraps the
forward and backward of every layer (and of the parts inside a layer, such as a transformer
block's attention and norms) and every kernel the layers call with a timer, and runs
training steps as fit does (`_train_step` on one batch). Per part it prints the minimum
over the steps (a busy machine disturbs the minimum little) in microseconds and as a share
of the step, indented by nesting: `attention.forward` > `attention.attention_forward`.
First it times whole one-epoch fits, and how much of a fit step lies outside its train step.
`--threads` sets numba's and BLAS's threads (the benchmark uses 2).
"""

import argparse
import importlib
import statistics
import sys
import threading
import time
from collections import defaultdict

from threadpoolctl import threadpool_limits

from benchmarks.workloads import WORKLOADS
from nnx.kernels import lazy
from nnx.layers.base import Layer


class StepTimer:
    """Accumulates wall time per call path ("block/attention.forward/kernel") in a step."""

    def __init__(self):
        self.local, self.totals, self.lock = threading.local(), defaultdict(float), threading.Lock()

    def stack(self):
        """This thread's call path; a helper thread's (a transformer block's parts, run on
        the threads) is shown under "(helper threads)"."""
        if not hasattr(self.local, "stack"):
            main = threading.current_thread() is threading.main_thread()
            self.local.stack = [] if main else ["(helper threads)"]
        return self.local.stack

    def wrap(self, name, fn):
        def timed(*args, **kwargs):
            stack = self.stack()
            stack.append(name)
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                with self.lock:
                    self.totals[" > ".join(stack)] += time.perf_counter() - start
                stack.pop()
        return timed


def sublayers(layer):
    """The layers a layer holds as attributes (a transformer block's parts), recursively."""
    for value in vars(layer).values():
        if isinstance(value, Layer):
            yield value
            yield from sublayers(value)


def instrument_layers(model, timer):
    for top in model.layers:
        for layer in (top, *sublayers(top)):
            for method in ("forward", "forward_sum", "backward", "backward_preactivation"):
                if hasattr(layer, method):
                    setattr(layer, method,
                            timer.wrap(f"{layer.name}.{method}", getattr(layer, method)))
    step = model.optimizer.step
    model.optimizer.step = timer.wrap("optimizer.step", step)


def instrument_kernels(timer):
    """Wrap every kernel reached through a `lazy` handle of the layers, losses and
    optimizers: the handle's attribute is replaced, the kernel module stays as it is."""
    for name, module in list(sys.modules.items()):
        if not name.startswith("nnx.") or name.startswith("nnx.kernels"):
            continue
        for handle in vars(module).values():
            if not isinstance(handle, lazy):
                continue
            kernels = importlib.import_module(handle._name)
            short = handle._name.rsplit(".", 1)[1]
            for attr, fn in vars(kernels).items():
                if hasattr(fn, "py_func") and getattr(fn, "__module__", "") == kernels.__name__:
                    setattr(handle, attr, timer.wrap(f"{short}.{attr}", fn))


def fit_loop_cost(model, x, y, batch, epochs=5):
    """Medians over `epochs` one-epoch fits of (seconds a batch, of which outside the train
    steps: input checks, shuffled rows gathered, callbacks). Unlike the train steps timed
    below, fit's steps meet each batch's rows cold."""
    inside = [0.0]
    train_step = model._train_step

    def timed(*args):
        start = time.perf_counter()
        result = train_step(*args)
        inside[0] += time.perf_counter() - start
        return result

    model._train_step, batches, runs = timed, -(-len(x) // batch), []
    for _ in range(epochs):
        inside[0], start = 0.0, time.perf_counter()
        model.fit(x, y, epochs=1, batch_size=batch, verbose=0)
        whole = time.perf_counter() - start
        runs.append((whole / batches, (whole - inside[0]) / batches))
    del model._train_step  # the class's method again
    return tuple(statistics.median(r[k] for r in runs) for k in (0, 1))


def profile(name, steps):
    model, x, y, batch = WORKLOADS[name].nnx_setup()
    model.fit(x, y, epochs=1, batch_size=batch, verbose=0)  # compile, size the buffers
    xs, ys = model._prepare(x[:batch], y[:batch])
    fit_step, outside = fit_loop_cost(model, x, y, batch)
    timer = StepTimer()
    instrument_layers(model, timer)
    instrument_kernels(timer)
    best, whole = {}, []
    for _ in range(steps):
        timer.totals.clear()
        start = time.perf_counter()
        model._train_step(xs, ys)
        whole.append(time.perf_counter() - start)
        for path, seconds in timer.totals.items():
            best[path] = min(best.get(path, seconds), seconds)
    step = min(whole)
    top = sum(s for path, s in best.items() if " > " not in path)
    print(f"{name}: batch {batch}; a fit step {fit_step * 1e6:.0f} us (one epoch / batches, "
          f"{outside * 1e6:.0f} us of it outside the train steps); train_step "
          f"{step * 1e6:.0f} us (min of {steps}, timers included)")
    for path, seconds in best.items():
        depth = path.count(" > ")
        label = "  " * depth + path.rsplit(" > ", 1)[-1]
        print(f"  {label:<52} {seconds * 1e6:9.1f} us {100 * seconds / step:5.1f} %")
    print(f"  {'(between the layers: loss, lists, Python)':<52} {(step - top) * 1e6:9.1f} us "
          f"{100 * (step - top) / step:5.1f} %")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", default=["transformer"],
                        help=f"from: {', '.join(WORKLOADS)}")
    parser.add_argument("--steps", type=int, default=50, help="training steps to time")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    import numba
    import scipy.linalg.cython_blas  # noqa: F401 - the kernels' BLAS, loaded on first use

    # threadpool_limits covers only the BLAS libraries loaded when it starts: without the
    # import above, SciPy's OpenBLAS came later with all the cores, whatever --threads said.
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    with threadpool_limits(args.threads):
        for name in args.workloads:
            if name not in WORKLOADS or not hasattr(WORKLOADS[name], "nnx_setup"):
                parser.error(f"not a training workload: {name!r}")
            profile(name, args.steps)


if __name__ == "__main__":
    main()
