"""Write tests/golden/attention.npz: PyTorch's nn.MultiheadAttention, nn.LayerNorm and
nn.TransformerEncoderLayer outputs and gradients, read by tests/layers/test_attention_golden.py
(which needs no torch).

Run with `.venv/bin/python tests/golden/generate_attention.py`. Seeds are fixed; everything
is float64. Every case holds the input `x`, the output gradient `r` (the loss is
sum(output * r)), the output `y`, the input gradient `dx`, the weights under `param/<name>`
and their gradients under `grad/<name>` with nnx's names and layouts, `mask` ((N, T), 1 = real
step) for padded cases, and `config`, the nnx layer config as UTF-8 JSON. Keys are
`<case>/<array>`.

Weight mapping: nnx keeps (in, out) matrices. MultiheadAttention's in_proj_weight (3D, D)
stacks the rows of W_q^T, W_k^T, W_v^T (in_proj_bias likewise b_q, b_k, b_v) and
out_proj.weight = W_o^T; a Linear's weight is a Dense W^T; LayerNorm's weight/bias are
gamma/beta. PyTorch's key_padding_mask is True at padding (nnx's mask is True at real steps)
and its boolean attn_mask is True where attention is not allowed (the causal upper triangle).
"""

import json
from pathlib import Path

import numpy as np
import torch

N, T, D, H, FF = 3, 5, 8, 2, 12
LENGTHS = (5, 3, 4)  # right padding in the masked cases: every query sees key 0
OUT = Path(__file__).with_name("attention.npz")


def spread_(module):
    """Biases and norm weights away from PyTorch's zeros/ones init: a stronger mapping test."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("bias"):
                p.uniform_(-0.5, 0.5)
            elif name.startswith("norm") and name.endswith("weight"):
                p.uniform_(0.5, 1.5)


def attention_params(prefix, attn):
    """nnx's attention params from a torch MultiheadAttention (tensors, grads follow)."""
    w, b = attn.in_proj_weight, attn.in_proj_bias
    out = {}
    for i, key in enumerate("qkv"):
        out[f"{prefix}W_{key}"] = (w, lambda t, i=i: t[i * D:(i + 1) * D].T)
        out[f"{prefix}b_{key}"] = (b, lambda t, i=i: t[i * D:(i + 1) * D])
    out[f"{prefix}W_o"] = (attn.out_proj.weight, lambda t: t.T)
    out[f"{prefix}b_o"] = (attn.out_proj.bias, lambda t: t)
    return out


def masks(padded, causal):
    pad = torch.arange(T)[None, :] >= torch.tensor(LENGTHS)[:, None] if padded else None
    attn_mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1) if causal else None
    return pad, attn_mask


def mha_case(padded, causal):
    module = torch.nn.MultiheadAttention(D, H, batch_first=True).double()
    spread_(module)
    pad, attn_mask = masks(padded, causal)

    def run(x):
        return module(x, x, x, key_padding_mask=pad, attn_mask=attn_mask, need_weights=False)[0]

    config = {"type": "multi_head_attention", "num_heads": H, "causal": causal}
    return module, run, attention_params("", module), config, pad


def layer_norm_case(eps, shape):
    module = torch.nn.LayerNorm(shape[-1], eps=eps).double()
    with torch.no_grad():
        module.weight.uniform_(0.5, 1.5)
        module.bias.uniform_(-0.5, 0.5)
    params = {"gamma": (module.weight, lambda t: t), "beta": (module.bias, lambda t: t)}
    return module, module, params, {"type": "layer_normalization", "eps": eps}, None


def encoder_case(norm_first, activation, padded, causal):
    module = torch.nn.TransformerEncoderLayer(D, H, dim_feedforward=FF, dropout=0.0,
                                              activation=activation, batch_first=True,
                                              norm_first=norm_first).double()
    spread_(module)
    pad, attn_mask = masks(padded, causal)

    def run(x):
        return module(x, src_mask=attn_mask, src_key_padding_mask=pad)

    params = attention_params("attention.", module.self_attn)
    for name in ("linear1", "linear2"):
        lin = getattr(module, name)
        prefix = "ff1." if name == "linear1" else "ff2."
        params[prefix + "W"] = (lin.weight, lambda t: t.T)
        params[prefix + "b"] = (lin.bias, lambda t: t)
    for name in ("norm1", "norm2"):
        norm = getattr(module, name)
        params[name + ".gamma"] = (norm.weight, lambda t: t)
        params[name + ".beta"] = (norm.bias, lambda t: t)
    config = {"type": "transformer_encoder_block", "num_heads": H, "ff_dim": FF,
              "norm_first": norm_first, "activation": activation, "causal": causal}
    return module, run, params, config, pad


CASES = {
    "mha/plain": lambda: mha_case(False, False),
    "mha/causal": lambda: mha_case(False, True),
    "mha/padded": lambda: mha_case(True, False),
    "mha/causal_padded": lambda: mha_case(True, True),
    "layer_norm/sequence": lambda: layer_norm_case(1e-5, (N, T, D)),
    "layer_norm/flat_eps": lambda: layer_norm_case(1e-3, (N, D)),
    "encoder/post_norm_relu": lambda: encoder_case(False, "relu", False, False),
    "encoder/pre_norm_gelu": lambda: encoder_case(True, "gelu", False, False),
    "encoder/post_norm_padded": lambda: encoder_case(False, "relu", True, False),
    "encoder/pre_norm_causal_padded": lambda: encoder_case(True, "gelu", True, True),
}
SHAPES = {"layer_norm/flat_eps": (N, D)}


def main():
    fixtures = {}
    for seed, (case, make) in enumerate(CASES.items()):
        torch.manual_seed(seed)
        module, run, params, config, pad = make()
        module.train()  # dropout is 0; the training path is the one with gradients
        x = (torch.randn(SHAPES.get(case, (N, T, D)), dtype=torch.float64) * 1.5 + 0.3)
        x.requires_grad_()
        y = run(x)
        r = torch.randn(y.shape, dtype=torch.float64)
        (y * r).sum().backward()
        arrays = {"x": x, "r": r, "y": y, "dx": x.grad}
        for name, (tensor, view) in params.items():
            arrays["param/" + name] = view(tensor)
            arrays["grad/" + name] = view(tensor.grad)
        if pad is not None:
            arrays["mask"] = (~pad).to(torch.float64)
        for name, value in arrays.items():
            fixtures[f"{case}/{name}"] = value.detach().numpy().copy()
        fixtures[f"{case}/config"] = np.frombuffer(json.dumps(config).encode(), dtype=np.uint8)
    np.savez_compressed(OUT, **fixtures)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(fixtures)} arrays)")


if __name__ == "__main__":
    main()
