import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from nnx.data import load_data

ROOT = Path(__file__).resolve().parents[2]


def _python(code, data_dir):
    env = {**os.environ, "NNX_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                          timeout=60)


def test_warm_load_never_imports_sklearn(tmp_path, monkeypatch):
    monkeypatch.setenv("NNX_DATA_DIR", str(tmp_path))
    cold = load_data({"dataset": "digits_images"}, 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digits.npz"]  # no temp file left
    code = ("import sys, numpy as np\n"
            "from nnx.data import load_data, describe_datasets\n"
            "assert 'sklearn' not in sys.modules, 'imported by nnx.data'\n"
            "describe_datasets()\n"
            "s = load_data({'dataset': 'digits_images'}, 0)\n"
            "assert 'sklearn' not in sys.modules, 'imported on a warm load'\n"
            "np.save(sys.stdout.buffer, s.x_train)\n")
    warm = _python(code, tmp_path)
    assert warm.returncode == 0, warm.stderr.decode()
    np.testing.assert_array_equal(np.load(io.BytesIO(warm.stdout)), cold.x_train)


def test_warm_load_gives_the_same_arrays(tmp_path, monkeypatch):
    monkeypatch.setenv("NNX_DATA_DIR", str(tmp_path))
    cold = load_data({"dataset": "wine"}, 2)
    warm = load_data({"dataset": "wine"}, 2)
    np.testing.assert_array_equal(cold.x_train, warm.x_train)
    np.testing.assert_array_equal(cold.y_test, warm.y_test)


def test_damaged_cache_is_read_again(tmp_path, monkeypatch):
    monkeypatch.setenv("NNX_DATA_DIR", str(tmp_path / "nested" / "cache"))
    (tmp_path / "nested" / "cache").mkdir(parents=True)
    (tmp_path / "nested" / "cache" / "iris.npz").write_bytes(b"half a file")
    s = load_data({"dataset": "iris"}, 0)
    assert len(s.x_train) == 90
    with np.load(tmp_path / "nested" / "cache" / "iris.npz") as arrays:
        assert arrays["x"].shape == (150, 4)
