"""Reference workloads (benchmarks/README.md): each builds an nnx model and its PyTorch twin
on the same random data and returns one-epoch (or one-pass) functions for the protocol."""

import numpy as np

import nnx
from nnx import layers, optimizers

# Enough batches per epoch that per-epoch costs (shuffle, metrics) count as they do in use.
BATCHES_PER_EPOCH = 40
CLASSES = 10


def _classification_data(input_shape, n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *input_shape)).astype(np.float32)
    return x, rng.integers(0, CLASSES, n)


def _nnx_fit(model, x, y, batch):
    def epoch():
        model.fit(x, y, epochs=1, batch_size=batch, shuffle=True, verbose=0)
        return -(-len(x) // batch)

    return epoch


def _torch_fit(torch, net, x, y, batch):
    """PyTorch's usual loop: shuffle, index, forward, loss, backward, step."""
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def epoch():
        perm = torch.randperm(len(xt))
        for start in range(0, len(xt), batch):
            idx = perm[start:start + batch]
            opt.zero_grad()
            loss_fn(net(xt[idx]), yt[idx]).backward()
            opt.step()
        return -(-len(xt) // batch)

    return epoch


class training:  # noqa: N801 - used like a function in the table below
    """A training workload: `nnx_layers()` -> list of layers (softmax output),
    `torch_net(torch)` -> the same network as an nn.Module ending in logits. Called with
    torch: the two one-epoch functions; `nnx_setup()` gives the compiled nnx model and its
    data (the step profiler times its parts)."""

    def __init__(self, input_shape, batch, nnx_layers, torch_net):
        self.input_shape, self.batch = input_shape, batch
        self.nnx_layers, self.torch_net = nnx_layers, torch_net

    def nnx_setup(self):
        """(model compiled as the benchmark compiles it, x, y, batch size)."""
        model = nnx.Sequential(self.nnx_layers(), input_shape=self.input_shape, seed=0)
        model.compile(optimizer=optimizers.Adam(lr=1e-3), loss="categorical_crossentropy")
        x, y = _classification_data(self.input_shape, self.batch * BATCHES_PER_EPOCH)
        return model, x, y, self.batch

    def __call__(self, torch):
        model, x, y, batch = self.nnx_setup()
        return _nnx_fit(model, x, y, batch), _torch_fit(torch, self.torch_net(torch), x, y,
                                                        batch)


# -- the networks ------------------------------------------------------------------------
def _mlp_layers(sizes):
    hidden = [layers.Dense(s, activation="relu") for s in sizes[1:-1]]
    return lambda: [*hidden, layers.Dense(sizes[-1], activation="softmax")]


def _mlp_torch(sizes):
    def make(torch):
        modules = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            modules += [torch.nn.Linear(a, b), torch.nn.ReLU()]
        return torch.nn.Sequential(*modules[:-1])
    return make


def _cnn2d_layers(filters):
    """Conv2D 3x3 pad 1 relu, MaxPool 2, twice, then Dense: `filters` = (first, second)."""
    return lambda: [layers.Conv2D(filters[0], 3, padding=1, activation="relu"),
                    layers.MaxPool2D(2),
                    layers.Conv2D(filters[1], 3, padding=1, activation="relu"),
                    layers.MaxPool2D(2),
                    layers.Flatten(), layers.Dense(CLASSES, activation="softmax")]


def _cnn2d_torch(input_shape, filters):
    channels, height, width = input_shape

    def make(torch):
        nn = torch.nn
        return nn.Sequential(nn.Conv2d(channels, filters[0], 3, padding=1), nn.ReLU(),
                             nn.MaxPool2d(2),
                             nn.Conv2d(filters[0], filters[1], 3, padding=1), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(filters[1] * (height // 4) * (width // 4), CLASSES))
    return make


def _cnn1d_layers():
    return [layers.Conv1D(32, 5, stride=2, activation="relu"),
            layers.Conv1D(32, 3, stride=2, activation="relu"),
            layers.Conv1D(32, 3, stride=2, activation="relu"),
            layers.Flatten(), layers.Dense(CLASSES, activation="softmax")]


def _cnn1d_torch(torch):
    nn = torch.nn
    return nn.Sequential(nn.Conv1d(1, 32, 5, stride=2), nn.ReLU(),
                         nn.Conv1d(32, 32, 3, stride=2), nn.ReLU(),
                         nn.Conv1d(32, 32, 3, stride=2), nn.ReLU(),
                         nn.Flatten(), nn.Linear(32 * 3, CLASSES))


def _recurrent_layers(cell):
    return lambda: [getattr(layers, cell)(64), layers.Dense(CLASSES, activation="softmax")]


def _recurrent_torch(cell):
    def make(torch):
        class LastState(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = getattr(torch.nn, cell)(1, 64, batch_first=True)
                self.out = torch.nn.Linear(64, CLASSES)

            def forward(self, x):
                return self.out(self.rnn(x)[0][:, -1])

        return LastState()
    return make


TRANSFORMER = {"length": 40, "d_model": 64, "heads": 4, "blocks": 2, "ff_dim": 128}


def _transformer_layers():
    t = TRANSFORMER
    blocks = [layers.TransformerEncoderBlock(t["heads"], t["ff_dim"]) for _ in range(t["blocks"])]
    return [*blocks, layers.SequencePooling("mean"), layers.Dense(CLASSES, activation="softmax")]


def _transformer_torch(torch):
    t, nn = TRANSFORMER, torch.nn

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            block = nn.TransformerEncoderLayer(t["d_model"], t["heads"], t["ff_dim"], dropout=0.0,
                                               batch_first=True)
            self.encoder = nn.TransformerEncoder(block, t["blocks"], enable_nested_tensor=False)
            self.out = nn.Linear(t["d_model"], CLASSES)

        def forward(self, x):
            return self.out(self.encoder(x).mean(dim=1))

    return Encoder()


def mlp_inference(sizes, batch, batches=8):
    def make(torch):
        model = nnx.Sequential(_mlp_layers(sizes)(), input_shape=(sizes[0],), seed=0)
        net = _mlp_torch(sizes)(torch)
        x, _ = _classification_data((sizes[0],), batch * batches)
        xt = torch.from_numpy(x)

        def ours():
            model.predict(x, batch_size=batch)
            return batches

        def theirs():
            with torch.no_grad():
                for start in range(0, len(xt), batch):
                    torch.softmax(net(xt[start:start + batch]), dim=1)
            return batches

        return ours, theirs
    return make


MLP = [784, 256, 256, 10]
WORKLOADS = {
    "mlp_small": training((64,), 32, _mlp_layers([64, 64, 10]), _mlp_torch([64, 64, 10])),
    "mlp": training((784,), 128, _mlp_layers(MLP), _mlp_torch(MLP)),
    "mlp_infer": mlp_inference(MLP, 1024),
    "cnn1d": training((1, 40), 100, _cnn1d_layers, _cnn1d_torch),
    "cnn2d": training((1, 28, 28), 64, _cnn2d_layers((16, 32)),
                      _cnn2d_torch((1, 28, 28), (16, 32))),
    "cnn2d_wide": training((3, 32, 32), 64, _cnn2d_layers((32, 64)),
                           _cnn2d_torch((3, 32, 32), (32, 64))),
    "gru": training((40, 1), 64, _recurrent_layers("GRU"), _recurrent_torch("GRU")),
    "lstm": training((40, 1), 64, _recurrent_layers("LSTM"), _recurrent_torch("LSTM")),
    "transformer": training((TRANSFORMER["length"], TRANSFORMER["d_model"]), 64,
                            _transformer_layers, _transformer_torch),
}
