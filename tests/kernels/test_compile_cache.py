"""Compile cost is paid once: a second process loads every kernel from numba's disk cache."""

import json
import os
import subprocess
import sys
import textwrap

FIT_AND_REPORT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import nnx
    from nnx import layers
    model = nnx.Sequential([layers.Dense(8, activation="gelu"), layers.Dropout(0.1),
                            layers.Dense(3, activation="softmax")], input_shape=(4,), seed=0)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 4)), rng.integers(0, 3, 40)
    model.fit(x, y, epochs=2, batch_size=16, validation_data=(x, y))
    stats = {}
    for name, module in sys.modules.items():
        if name.startswith("nnx.kernels."):
            for attr, obj in vars(module).items():
                if hasattr(obj, "stats") and hasattr(obj, "signatures") and obj.signatures:
                    stats[f"{name}.{attr}"] = [sum(obj.stats.cache_hits.values()),
                                               sum(obj.stats.cache_misses.values())]
    print(json.dumps(stats))
""")


def _run_fit(cache_dir):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    done = subprocess.run([sys.executable, "-c", FIT_AND_REPORT], env=env, capture_output=True,
                          text=True, check=True, timeout=300)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_second_process_compiles_nothing(tmp_path):
    first = _run_fit(tmp_path)
    assert first, "no kernel ran"
    assert sum(misses for _, misses in first.values()) > 0  # a cold cache compiles
    second = _run_fit(tmp_path)
    # A cached kernel carries the kernels it calls, so those are not loaded on their own.
    assert set(second) <= set(first) and "nnx.kernels.optim.adam" in second
    compiled = {name: misses for name, (hits, misses) in second.items() if misses}
    assert not compiled, f"kernels compiled again in a warm process: {compiled}"
    assert all(hits > 0 for hits, _ in second.values())
