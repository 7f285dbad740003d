"""Writes tests/golden/core.npz: PyTorch's numbers for the core library (needs torch).

Run: `.venv/bin/python tests/golden/generate_core.py` (or `make crosscheck`). The test
`tests/test_core_golden.py` reads the file without torch. Fixed seeds; every case is
written in float64 and float32. nnx's Dense kernel W is torch's `nn.Linear.weight.T`.

Contents (keys are `<group>/<case>/<dtype>/<array>`):
- `linear/<activation>/...`: x, W, b, upstream r, y = act(x W + b), dx, dW, db for
  L = sum(y * r).
- `loss/<case>/...`: pred, target, value, grad (dL/dpred).
- `sgd_step/<case>/...`: x, y, W, b before and W1, b1 after one full-batch SGD step
  (lr 0.1) of a Linear model (with its output activation) under that loss; value = loss.
- `optim/<case>/...`: p0_0, p1_0 (two parameters), g (5 steps of gradients for each),
  traj_0, traj_1 (the parameters after each of the 5 steps).
- `__meta__`: UTF-8 JSON (uint8) with the nnx configuration of every case.
"""

import json
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "core.npz")
DTYPES = {"float64": torch.float64, "float32": torch.float32}

ACTIVATIONS = {
    "linear": lambda z: z,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
    "elu": lambda z: F.elu(z, 1.0),
    "gelu": lambda z: F.gelu(z, approximate="none"),
    "tanh": torch.tanh,
    "softmax": lambda z: torch.softmax(z, dim=-1),
}


def onehot(labels, c):
    return F.one_hot(labels, c).to(torch.float64)


# name: (nnx loss config, output activation of the SGD-step model, units, target kind, torch fn)
LOSSES = {
    "mse": ("mse", None, 2, "real", lambda p, t: F.mse_loss(p, t)),
    "mae": ("mae", None, 2, "real", lambda p, t: F.l1_loss(p, t)),
    "huber": ("huber", None, 2, "real", lambda p, t: F.huber_loss(p, t, delta=1.0)),
    "bce_probs": ("binary_crossentropy", "sigmoid", 2, "bits",
                  lambda p, t: F.binary_cross_entropy(p, t)),
    "bce_logits": ({"type": "binary_crossentropy", "from_logits": True}, None, 2, "bits",
                   lambda z, t: F.binary_cross_entropy_with_logits(z, t)),
    "cce_probs_labels": ("categorical_crossentropy", "softmax", 3, "labels",
                         lambda p, t: F.nll_loss(torch.log(p), t)),
    "cce_probs_onehot": ("categorical_crossentropy", "softmax", 3, "onehot",
                         lambda p, t: -(t * torch.log(p)).sum(dim=1).mean()),
    "cce_logits_labels": ({"type": "categorical_crossentropy", "from_logits": True}, None, 3,
                          "labels", lambda z, t: F.cross_entropy(z, t)),
    "cce_logits_onehot": ({"type": "categorical_crossentropy", "from_logits": True}, None, 3,
                          "onehot", lambda z, t: F.cross_entropy(z, t)),
}

# name: (torch optimizer factory, nnx optimizer config, clip)
OPTIMIZERS = {
    "sgd": (lambda p: torch.optim.SGD(p, lr=0.1), {"type": "sgd", "lr": 0.1}, None),
    "sgd_momentum": (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
                     {"type": "sgd", "lr": 0.1, "momentum": 0.9}, None),
    "sgd_nesterov": (lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True),
                     {"type": "sgd", "lr": 0.05, "momentum": 0.8, "nesterov": True}, None),
    "sgd_weight_decay": (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.5, weight_decay=0.05),
                         {"type": "sgd", "lr": 0.1, "momentum": 0.5, "weight_decay": 0.05}, None),
    "rmsprop": (lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.95, eps=1e-8),
                {"type": "rmsprop", "lr": 0.01, "rho": 0.95, "eps": 1e-8}, None),
    "adagrad": (lambda p: torch.optim.Adagrad(p, lr=0.1, eps=1e-10),
                {"type": "adagrad", "lr": 0.1, "eps": 1e-10}, None),
    "adam": (lambda p: torch.optim.Adam(p, lr=0.01), {"type": "adam", "lr": 0.01}, None),
    "adam_weight_decay": (lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1),
                          {"type": "adam", "lr": 0.01, "weight_decay": 0.1}, None),
    "adamw": (lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.05),
              {"type": "adamw", "lr": 0.01, "weight_decay": 0.05}, None),
    "adam_clipnorm": (lambda p: torch.optim.Adam(p, lr=0.01),
                      {"type": "adam", "lr": 0.01, "clipnorm": 0.5}, ("norm", 0.5)),
    "sgd_momentum_clipvalue": (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
                               {"type": "sgd", "lr": 0.1, "momentum": 0.9, "clipvalue": 0.3},
                               ("value", 0.3)),
}


def npy(t):
    return t.detach().cpu().numpy().copy()


def linear_cases(out, tdtype, tag):
    rng = np.random.default_rng(10)
    x = torch.tensor(rng.uniform(-2, 2, (4, 3)), dtype=tdtype)
    r = torch.tensor(rng.standard_normal((4, 5)), dtype=tdtype)
    for name, act in ACTIVATIONS.items():
        torch.manual_seed(1)
        lin = torch.nn.Linear(3, 5).to(tdtype)
        xx = x.clone().requires_grad_(True)
        y = act(lin(xx))
        (y * r).sum().backward()
        key = f"linear/{name}/{tag}"
        out.update({f"{key}/x": npy(x), f"{key}/W": npy(lin.weight.T), f"{key}/b": npy(lin.bias),
                    f"{key}/r": npy(r), f"{key}/y": npy(y), f"{key}/dx": npy(xx.grad),
                    f"{key}/dW": npy(lin.weight.grad.T), f"{key}/db": npy(lin.bias.grad)})


def targets(kind, units, rng, tdtype):
    if kind == "real":
        return torch.tensor(rng.standard_normal((6, units)) * 1.5, dtype=tdtype)
    if kind == "bits":
        return torch.tensor(rng.integers(0, 2, (6, units)), dtype=tdtype)
    labels = torch.tensor(np.arange(6) % units, dtype=torch.int64)
    return labels if kind == "labels" else onehot(labels, units).to(tdtype)


def loss_cases(out, tdtype, tag):
    for name, (_, activation, units, kind, fn) in LOSSES.items():
        rng = np.random.default_rng(20)
        z = torch.tensor(rng.standard_normal((6, units)) * 1.5, dtype=tdtype)
        pred = {"sigmoid": torch.sigmoid, "softmax": lambda v: torch.softmax(v, 1),
                None: lambda v: v}[activation](z).detach().requires_grad_(True)
        t = targets(kind, units, rng, tdtype)
        value = fn(pred, t)
        value.backward()
        key = f"loss/{name}/{tag}"
        out.update({f"{key}/pred": npy(pred), f"{key}/target": npy(t),
                    f"{key}/value": npy(value), f"{key}/grad": npy(pred.grad)})


def sgd_step_cases(out, tdtype, tag):
    for name, (_, activation, units, kind, fn) in LOSSES.items():
        rng = np.random.default_rng(30)
        x = torch.tensor(rng.standard_normal((6, 3)), dtype=tdtype)
        t = targets(kind, units, rng, tdtype)
        torch.manual_seed(2)
        lin = torch.nn.Linear(3, units).to(tdtype)
        W, b = npy(lin.weight.T), npy(lin.bias)
        opt = torch.optim.SGD(lin.parameters(), lr=0.1)
        z = lin(x)
        pred = {"sigmoid": torch.sigmoid, "softmax": lambda v: torch.softmax(v, 1),
                None: lambda v: v}[activation](z)
        value = fn(pred, t)
        opt.zero_grad()
        value.backward()
        opt.step()
        key = f"sgd_step/{name}/{tag}"
        out.update({f"{key}/x": npy(x), f"{key}/y": npy(t), f"{key}/W": W, f"{key}/b": b,
                    f"{key}/value": npy(value), f"{key}/W1": npy(lin.weight.T),
                    f"{key}/b1": npy(lin.bias)})


def optim_cases(out, tdtype, tag):
    rng = np.random.default_rng(40)
    p0 = [rng.standard_normal((3, 2)), rng.standard_normal(2)]
    grads = [[rng.standard_normal((3, 2)) * 2 for _ in range(5)],
             [rng.standard_normal(2) * 2 for _ in range(5)]]
    for name, (make, _, clip) in OPTIMIZERS.items():
        params = [torch.tensor(p, dtype=tdtype, requires_grad=True) for p in p0]
        opt = make(params)
        traj = [[], []]
        for step in range(5):
            for p, g in zip(params, grads, strict=True):
                p.grad = torch.tensor(g[step], dtype=tdtype)
            if clip and clip[0] == "norm":
                torch.nn.utils.clip_grad_norm_(params, clip[1])
            elif clip:
                torch.nn.utils.clip_grad_value_(params, clip[1])
            opt.step()
            for i, p in enumerate(params):
                traj[i].append(npy(p))
        key = f"optim/{name}/{tag}"
        for i in range(2):
            out[f"{key}/p{i}_0"] = p0[i].astype(np.dtype(tag))
            out[f"{key}/g{i}"] = np.stack(grads[i]).astype(np.dtype(tag))
            out[f"{key}/traj_{i}"] = np.stack(traj[i])


def main():
    torch.use_deterministic_algorithms(True)
    out = {}
    for tag, tdtype in DTYPES.items():
        linear_cases(out, tdtype, tag)
        loss_cases(out, tdtype, tag)
        sgd_step_cases(out, tdtype, tag)
        optim_cases(out, tdtype, tag)
    meta = {"torch": torch.__version__, "dtypes": list(DTYPES),
            "activations": list(ACTIVATIONS),
            "losses": {name: {"loss": spec[0], "activation": spec[1]} for name, spec in
                       LOSSES.items()},
            "optimizers": {name: spec[1] for name, spec in OPTIMIZERS.items()}}
    out["__meta__"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT}: {len(out)} arrays, {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
