"""The timing protocol of benchmarks/README.md: the variants run in turn (A B A B ..., or
A B C A B C ...) in one process after a warm-up, so that load from elsewhere hits them
alike; a figure is the median of the per-round ratios."""

import statistics
import time

# Idle seconds before each timed side of an nnx/peer comparison. nnx (SciPy's OpenBLAS),
# numpy and PyTorch keep a thread pool each, whose threads spin for a while after a
# product; a side run straight after the other shared the cores with them. Without the
# pause PyTorch's mlp step took 4.5 ms instead of 2.1-2.7 and its mlp_infer batch 13-14 ms
# instead of 2.8-3.2 (right after nnx's), and GEMM ran at half speed on both sides.
IDLE = 0.3


def time_once(fn):
    start = time.perf_counter()
    units = fn()
    return (time.perf_counter() - start) / units


def alternate(fns, rounds=7, warmup=1, pause=0.0):
    """`fns` maps names to functions that each run one timed unit of work and return how
    many steps it did. Runs them in turn, `rounds` times after `warmup` untimed rounds,
    each timed unit after `pause` idle seconds.

    Returns {name: [seconds per step, one per round]}."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            time.sleep(pause)
            times[name].append(time_once(fn))
    return times


def ratios(times, name, base):
    """The median, min and max of the per-round ratios `name` / `base` of `alternate`'s
    times, with both medians."""
    pairs = [a / b for a, b in zip(times[name], times[base])]
    return {"s": statistics.median(times[name]), "base_s": statistics.median(times[base]),
            "ratio": statistics.median(pairs), "ratio_min": min(pairs),
            "ratio_max": max(pairs), "pairs": len(pairs)}


def compare(nnx_fn, peer_fn, pairs=7, warmup=1, pause=IDLE):
    """Each fn runs one timed unit of work and returns how many steps it did; `pause` idle
    seconds come before each timed unit (see alternate).

    Returns medians of the per-step seconds of both, and the median per-pair ratio."""
    result = ratios(alternate({"nnx": nnx_fn, "peer": peer_fn}, pairs, warmup, pause),
                    "nnx", "peer")
    return {"nnx_s": result["s"], "peer_s": result["base_s"], "ratio": result["ratio"],
            "ratio_min": result["ratio_min"], "ratio_max": result["ratio_max"], "pairs": pairs}
