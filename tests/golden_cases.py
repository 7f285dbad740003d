"""Reading the PyTorch fixtures under tests/golden/ (made by `make crosscheck`): one npz per
family, arrays under `<case>/<name>`, the layer's nnx config as JSON bytes in `<case>/config`,
its weights under `<case>/param/<key>`, PyTorch's results under `y`, `dx`, `grad/<key>`."""

import json
from pathlib import Path

import numpy as np

from nnx import layers

FOLDER = Path(__file__).parent / "golden"


class Fixtures:
    def __init__(self, name):
        self.data = np.load(FOLDER / f"{name}.npz")
        self.cases = sorted({k.rsplit("/", 1)[0] for k in self.data.files
                             if k.endswith("/config")})

    def arrays(self, case):
        prefix = case + "/"
        return {k[len(prefix):]: self.data[k] for k in self.data.files if k.startswith(prefix)}

    def run_layer(self, case, dtype):
        """(arrays, y, dx, grads): nnx's layer on the fixture's config, weights and input,
        one forward in training mode and one backward of the fixture's `r`."""
        a = self.arrays(case)
        layer = layers.from_config(json.loads(a["config"].tobytes().decode()))
        layer.dtype = np.dtype(dtype)
        x = a["x"].astype(dtype)
        layer.build(x.shape[1:], np.random.default_rng(0))
        weights = {k[len("param/"):]: v for k, v in a.items() if k.startswith("param/")}
        assert set(weights) == set(layer.params)
        for key, value in weights.items():
            layer.params[key][...] = value
        if "mask" in a:
            layer.mask = a["mask"]
        y = layer.forward(x, training=True)
        dx = layer.backward(a["r"].astype(dtype))
        return a, y, dx, layer.grads
