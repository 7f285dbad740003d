"""The timing protocol of benchmarks/README.md: nnx and its peer run alternately (A B A B
...) in one process after a warm-up; the figure is the median of the per-pair ratios
nnx / peer."""

import statistics
import time


def time_once(fn):
    start = time.perf_counter()
    units = fn()
    return (time.perf_counter() - start) / units


def compare(nnx_fn, peer_fn, pairs=7, warmup=1):
    """Each fn runs one timed unit of work and returns how many steps it did.

    Returns medians of the per-step seconds of both, and the median per-pair ratio."""
    for _ in range(warmup):
        nnx_fn()
        peer_fn()
    ours, theirs, ratios = [], [], []
    for _ in range(pairs):
        a = time_once(nnx_fn)
        b = time_once(peer_fn)
        ours.append(a)
        theirs.append(b)
        ratios.append(a / b)
    return {"nnx_s": statistics.median(ours), "peer_s": statistics.median(theirs),
            "ratio": statistics.median(ratios), "ratio_min": min(ratios),
            "ratio_max": max(ratios), "pairs": pairs}
