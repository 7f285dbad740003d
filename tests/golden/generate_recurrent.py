"""Write tests/golden/recurrent.npz: PyTorch's nn.RNN / nn.LSTM / nn.GRU outputs and gradients.

Run with `.venv/bin/python tests/golden/generate_recurrent.py` (needs torch; the tests that
read the file do not). Every case holds, in float64: the input `x`, the output gradient `r`
(the loss is sum(output * r)), the output `y`, the input gradient `dx`, the weights under
`param/<name>` and their gradients under `grad/<name>` (PyTorch's names mapped to nnx's:
weight_ih_l0 -> W_ih, ...; bidirectional: forward.W_ih, ..., and `*_reverse` ->
backward.*), `mask` for masked cases, and `config`, the nnx layer config as UTF-8 JSON.
Keys are `<kind>/<mode>/<array>`.
"""

import json
from pathlib import Path

import numpy as np
import torch

N, T, F, H = 3, 5, 3, 4
OUT = Path(__file__).with_name("recurrent.npz")

KINDS = {  # case prefix -> (torch constructor, nnx layer config)
    "rnn_tanh": (lambda **kw: torch.nn.RNN(F, H, nonlinearity="tanh", **kw),
                 {"type": "simple_rnn", "units": H, "activation": "tanh"}),
    "rnn_relu": (lambda **kw: torch.nn.RNN(F, H, nonlinearity="relu", **kw),
                 {"type": "simple_rnn", "units": H, "activation": "relu"}),
    "lstm": (lambda **kw: torch.nn.LSTM(F, H, **kw), {"type": "lstm", "units": H}),
    "gru": (lambda **kw: torch.nn.GRU(F, H, **kw), {"type": "gru", "units": H}),
}


def last_hidden(state):
    return state[0] if isinstance(state, tuple) else state  # LSTM returns (h_n, c_n)


def run_case(kind, mode, seed):
    make, layer_config = KINDS[kind]
    torch.manual_seed(seed)
    bidirectional = mode.startswith("bidirectional")
    module = make(batch_first=True, bidirectional=bidirectional).double()
    with torch.no_grad():  # biases away from PyTorch's small uniform init: a stronger test
        for name, p in module.named_parameters():
            if name.startswith("bias"):
                p.uniform_(-0.5, 0.5)
    x = torch.randn(N, T, F, dtype=torch.float64, requires_grad=True)
    config = dict(layer_config)
    lengths = None
    if mode == "seq":
        y, _ = module(x)
        config["return_sequences"] = True
    elif mode == "last":
        _, state = module(x)
        y = last_hidden(state)[0]
    elif mode == "backwards_seq":  # Keras: the reversed sequence, outputs in that order
        y, _ = module(x.flip(1))
        config.update(return_sequences=True, go_backwards=True)
    elif mode == "masked_last":  # padding after each sequence's end: state at its last step
        lengths = torch.tensor([T, 2, 4])
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                                         enforce_sorted=False)
        _, state = module(packed)
        y = last_hidden(state)[0]
    elif mode == "bidirectional_seq":
        y, _ = module(x)
        config = {"type": "bidirectional", "layer": {**config, "return_sequences": True},
                  "merge_mode": "concat"}
    elif mode == "bidirectional_sum_seq":
        out, _ = module(x)
        y = out[..., :H] + out[..., H:]
        config = {"type": "bidirectional", "layer": {**config, "return_sequences": True},
                  "merge_mode": "sum"}
    elif mode == "bidirectional_last":
        _, state = module(x)
        h_n = last_hidden(state)
        y = torch.cat([h_n[0], h_n[1]], dim=1)
        config = {"type": "bidirectional", "layer": config, "merge_mode": "concat"}
    else:
        raise ValueError(mode)
    r = torch.randn(y.shape, dtype=torch.float64)
    (y * r).sum().backward()

    arrays = {"x": x, "r": r, "y": y, "dx": x.grad}
    for name, p in module.named_parameters():
        key = nnx_name(name, bidirectional)
        arrays["param/" + key] = p
        arrays["grad/" + key] = p.grad
    if lengths is not None:
        arrays["mask"] = (torch.arange(T)[None, :] < lengths[:, None]).to(torch.float64)
    out = {k: v.detach().numpy().copy() for k, v in arrays.items()}
    out["config"] = np.frombuffer(json.dumps(config).encode(), dtype=np.uint8)
    return out


def nnx_name(torch_name, bidirectional):
    """weight_ih_l0 -> W_ih; bidirectional: forward.W_ih, and *_reverse -> backward.*"""
    base = torch_name.replace("_l0", "")
    prefix = "forward." if bidirectional else ""
    if base.endswith("_reverse"):
        base, prefix = base[: -len("_reverse")], "backward."
    name = {"weight_ih": "W_ih", "weight_hh": "W_hh", "bias_ih": "b_ih", "bias_hh": "b_hh"}[base]
    return prefix + name


MODES = ("seq", "last", "backwards_seq", "masked_last", "bidirectional_seq",
         "bidirectional_sum_seq", "bidirectional_last")
SKIP = {  # kept under 200 KB: each merge mode and option once is enough for the rest
    "rnn_tanh": {"bidirectional_sum_seq"},
    "rnn_relu": {"backwards_seq", "bidirectional_seq", "bidirectional_sum_seq",
                 "bidirectional_last"},
    "lstm": {"bidirectional_sum_seq"},
    "gru": set(),
}


def main():
    fixtures = {}
    for k, kind in enumerate(KINDS):
        for m, mode in enumerate(MODES):
            if mode in SKIP[kind]:
                continue
            case = f"{kind}/{mode}"
            arrays = run_case(kind, mode, seed=100 * k + m)
            for name, value in arrays.items():
                fixtures[f"{case}/{name}"] = value
    np.savez_compressed(OUT, **fixtures)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(fixtures)} arrays)")


if __name__ == "__main__":
    main()
