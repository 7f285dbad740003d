"""MultiHeadAttention: self-attention over (batch, time, features), Keras' weight layout.

    q, k, v = x @ W_q + b_q, x @ W_k + b_k, x @ W_v + b_v     W_* (D, H * key_dim)
    head_h  = softmax(q_h k_h^T / sqrt(key_dim) + masks) v_h
    y       = concat(head_1 .. head_H) @ W_o + b_o            W_o (H * key_dim, D)

PyTorch's nn.MultiheadAttention stores the transposes: in_proj_weight = [W_q; W_k; W_v]^T
stacked by rows, out_proj.weight = W_o^T. The three input projections run as one GEMM with
the weights side by side; forward and backward are one kernel each (nnx/kernels/attention.py).

Masks: `causal=True` hides later steps. `layer.mask`, when set to an (N, T) array (nonzero =
real step, e.g. the `output_mask` of an Embedding with `mask_zero=True`), hides padded keys
for the next forwards, as for the recurrent layers. A query that sees no key outputs b_o.

Backward needs the attention probabilities: they are kept from the training forward when
N * H * T * T <= `max_cached_probs` elements, and recomputed from q, k and the kept row
log-sum-exps otherwise (one (T, T) block per head at a time).
"""

import math

import numpy as np

from nnx import initializers
from nnx.errors import NnxError
from nnx.kernels import lazy
from nnx.layers.base import Layer, positive_int

kernels = lazy("attention")
threads = lazy("threads")


class MultiHeadAttention(Layer):
    takes_mask = True
    max_cached_probs = 1 << 24  # elements (64 MiB of float32): beyond, backward recomputes

    def __init__(self, num_heads, key_dim=None, causal=False, init="glorot_uniform",
                 bias_init="zeros", name=None):
        super().__init__(name)
        self.num_heads = positive_int(self.name, "num_heads", num_heads)
        self.key_dim = None if key_dim is None else positive_int(self.name, "key_dim", key_dim)
        self.causal = bool(causal)
        self.init, self.bias_init = init, bias_init
        initializers.get(init), initializers.get(bias_init)  # fail at construction, not build
        self.needs_input_grad = True
        self.mask = None  # optional (N, T) padding mask for the next forwards: see module doc

    def output_shape_for(self, input_shape):
        if len(input_shape) != 2:
            raise NnxError(f"layer {self.name!r} expects inputs of shape (batch, time, "
                           f"features), got (batch, {', '.join(map(str, input_shape))})")
        features = input_shape[1]
        if self.key_dim is None and features % self.num_heads:
            raise NnxError(f"layer {self.name!r}: features {features} of input shape (batch, "
                           f"{input_shape[0]}, {features}) are not divisible by num_heads="
                           f"{self.num_heads}; set key_dim")
        return input_shape

    def param_shapes(self, input_shape):
        features = input_shape[1]
        inner = self.num_heads * (self.key_dim or features // self.num_heads)
        return {**{f"W_{key}": (features, inner) for key in "qkv"}, "W_o": (inner, features),
                **{f"b_{key}": (inner,) for key in "qkv"}, "b_o": (features,)}

    def memory_for(self, input_shape, batch):
        steps, features = input_shape
        inner = self.num_heads * (self.key_dim or features // self.num_heads)
        need = super().memory_for(input_shape, batch)
        # q, k, v and the mixed heads with their gradients, the projections' input and output
        need["the activations"] += 2 * batch * steps * (4 * inner + features)
        # The probabilities kept for backward (when small enough), the (T, T) blocks the
        # kernels work in, and the row log-sum-exps.
        probs = batch * self.num_heads * steps * steps
        need["the attention scores"] = ((probs if probs <= self.max_cached_probs else 0)
                                        + 2 * steps * steps + batch * self.num_heads * steps)
        return need

    def create_params(self, input_shape, rng):
        features = input_shape[1]
        self.head_dim = self.key_dim or features // self.num_heads
        inner = self.num_heads * self.head_dim
        for key in ("q", "k", "v"):
            self.add_param(f"W_{key}", (features, inner), self.init, features, inner, rng)
        self.add_param("W_o", (inner, features), self.init, inner, features, rng)
        for key in ("q", "k", "v"):
            self.add_param(f"b_{key}", (inner,), self.bias_init, features, inner, rng)
        self.add_param("b_o", (features,), self.bias_init, inner, features, rng)

    def check_input(self, x):
        """Any number of steps; the feature axis must match the build."""
        features = self.input_shape[1]
        if x.ndim != 3 or x.shape[2] != features or x.shape[1] < 1:
            raise NnxError(f"layer {self.name!r} expects inputs of shape (batch, time, "
                           f"{features}), got {tuple(x.shape)}")

    def padding_mask(self, shape):
        """`self.mask` as a contiguous (N, T) bool array, or an empty one when unset."""
        if self.mask is None:
            return np.zeros((0, 0), dtype=np.bool_)
        mask = np.asarray(self.mask)
        if mask.shape != tuple(shape[:2]):
            raise NnxError(f"layer {self.name!r}: mask of shape {mask.shape} does not fit "
                           f"inputs of shape {tuple(shape)}; it must be (batch, time)")
        return np.ascontiguousarray(mask != 0)

    def forward(self, x, training=False):
        x = self.take_input(x, training)
        p = self.params
        dtype = p["W_q"].dtype
        n, steps, features = x.shape
        heads, inner = self.num_heads, self.num_heads * self.head_dim
        scale = dtype.type(1.0 / math.sqrt(self.head_dim))
        x2 = x.reshape(n * steps, features)
        # The query scale is folded into its weights: the kernels see scaled queries.
        W = np.concatenate((p["W_q"] * scale, p["W_k"], p["W_v"]), axis=1)
        b = np.concatenate((p["b_q"] * scale, p["b_k"], p["b_v"]))
        mask = self.padding_mask(x.shape)
        keep = training and n * heads * steps * steps <= self.max_cached_probs
        qkv = np.empty((n * steps, 3 * inner), dtype)
        saved = (np.empty((n, heads, steps, steps) if keep else (0, 0, 0, 0), dtype),
                 np.empty((n, heads, steps), dtype), np.empty((n * steps, inner), dtype))
        kernels.project(x2, W, b, qkv)
        threads.run_parts(lambda first, stop: kernels.heads_forward(
            qkv, heads, steps, self.causal, mask, saved, first, stop, threads.start_mark()),
            n, self._min_part(steps), marks_start=True)
        y = np.empty((n * steps, features), dtype)
        kernels.project(saved[2], p["W_o"], p["b_o"], y)
        if training:
            self._cache = (x2, W, qkv, mask, scale, saved)
        return y.reshape(n, steps, features)

    def _min_part(self, steps):
        """Samples per thread at the least: a part of ~1 ms is worth a thread's hand-over."""
        return max(1, 64_000 // (self.num_heads * steps * steps))

    def backward(self, dy):
        dy = self.take_gradient(dy)
        x2, W, qkv, mask, scale, saved = self._cache
        g = self.grads
        dtype = W.dtype
        n, steps, features = dy.shape
        inner = self.num_heads * self.head_dim
        dy2 = dy.reshape(n * steps, features)
        dmixed = np.empty((n * steps, inner), dtype)
        kernels.output_backward(saved[2], self.params["W_o"], dy2, g["W_o"], g["b_o"], dmixed)
        dqkv = np.empty((n * steps, 3 * inner), dtype)
        threads.run_parts(lambda first, stop: kernels.heads_backward(
            qkv, dmixed, self.num_heads, steps, self.causal, mask, saved, dqkv, first, stop,
            threads.start_mark()), n, self._min_part(steps), marks_start=True)
        dW, db = np.empty_like(W), np.empty(3 * inner, dtype)
        dx = np.empty_like(x2) if self.needs_input_grad else np.empty((0, 0), dtype)
        kernels.input_backward(x2, W, dqkv, dW, db, dx)
        for i, key in enumerate(("q", "k", "v")):
            rescale = scale if key == "q" else 1  # back to the unscaled query weights
            np.multiply(dW[:, i * inner:(i + 1) * inner], rescale, out=g[f"W_{key}"])
            np.multiply(db[i * inner:(i + 1) * inner], rescale, out=g[f"b_{key}"])
        return dx.reshape(n, steps, features) if self.needs_input_grad else None
