"""Reference workloads (benchmarks/README.md): each builds an nnx model and its PyTorch twin
on the same random data and returns one-epoch (or one-pass) functions for the protocol."""

import numpy as np

import nnx
from nnx import layers, optimizers

# Enough batches per epoch that per-epoch costs (shuffle, metrics) count as they do in use.
BATCHES_PER_EPOCH = 40


def _classification_data(input_shape, classes, n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *input_shape)).astype(np.float32)
    return x, rng.integers(0, classes, n)


def _nnx_fit(model, x, y, batch):
    model.compile(optimizer=optimizers.Adam(lr=1e-3), loss="categorical_crossentropy")

    def epoch():
        model.fit(x, y, epochs=1, batch_size=batch, shuffle=True)
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


def _mlp_pair(torch, sizes, batch):
    hidden = [layers.Dense(s, activation="relu") for s in sizes[1:-1]]
    model = nnx.Sequential([*hidden, layers.Dense(sizes[-1], activation="softmax")],
                           input_shape=(sizes[0],), seed=0)
    modules = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        modules += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    return model, torch.nn.Sequential(*modules[:-1])


def mlp_training(sizes, batch):
    def make(torch):
        model, net = _mlp_pair(torch, sizes, batch)
        x, y = _classification_data((sizes[0],), sizes[-1], batch * BATCHES_PER_EPOCH)
        return _nnx_fit(model, x, y, batch), _torch_fit(torch, net, x, y, batch)
    return make


def mlp_inference(sizes, batch, batches=8):
    def make(torch):
        model, net = _mlp_pair(torch, sizes, batch)
        x, _ = _classification_data((sizes[0],), sizes[-1], batch * batches)
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


WORKLOADS = {
    "mlp_small": mlp_training([64, 64, 10], 32),
    "mlp": mlp_training([784, 256, 256, 10], 128),
    "mlp_infer": mlp_inference([784, 256, 256, 10], 1024),
}
