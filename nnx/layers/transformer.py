"""TransformerEncoderBlock: PyTorch's nn.TransformerEncoderLayer on (batch, time, features),
composed from nnx layers.

    post-norm (default):  h = norm1(x + drop(attention(x)));  y = norm2(h + drop(ff(h)))
    norm_first=True:      h = x + drop(attention(norm1(x)));  y = h + drop(ff(norm2(h)))
    ff(h) = ff2(drop(act(ff1(h))))   ff1: D -> ff_dim, ff2: ff_dim -> D

The parts' parameters appear in this layer's `params`/`grads` under flat prefixed keys
(`attention.W_q`, `norm1.gamma`, `ff1.W`, ...), the same arrays the parts compute with, so
the model file and the optimizers see them; the parts are rebound to the dicts before each
pass, so a replaced array (a cast) is used. Unlike PyTorch, dropout does not act on the
attention probabilities (MultiHeadAttention has no dropout), only on the three residual
branches as above. `layer.mask` ((N, T), nonzero = real step) is handed to the attention.

A batch large enough runs its forward and backward in parts side by side on the threads
(nnx/kernels/threads.py): the first part in this block, each other part in a twin, a block of
the same config that computes with this block's parameter dict into gradients and caches of
its own; after backward the twins' gradients are added to this block's. Each part runs all
of a block's kernels on its own thread (its products held to one BLAS thread), where the
serial path leaves a core idle in the attention's small products and the norms. A training
step with dropout runs whole: its masks are drawn from one stream for the whole batch.
"""

from collections import Counter

import numpy as np

from nnx import activations
from nnx.errors import NnxError
from nnx.kernels import lazy
from nnx.layers.attention import MultiHeadAttention
from nnx.layers.base import Layer, elements, fraction, positive_int
from nnx.layers.dense import Dense
from nnx.layers.dropout import Dropout
from nnx.layers.layer_norm import LayerNormalization

threads = lazy("threads")
# The forward's multiply-adds a part needs at the least to gain from a thread of its own.
# On 2 cores, a block's step (forward and backward) in two parts took, of the whole pass's
# time: T=40, D=64: 1.33x in parts of 1.4*2^23 and 0.80x in parts of 2.9*2^23; T=100,
# D=128: 1.33x in parts of 1.9*2^23 and 0.82x in parts of 3.7*2^23.
PART_WORK = 1 << 24


class TransformerEncoderBlock(Layer):
    takes_mask = True

    def __init__(self, num_heads, ff_dim, dropout=0.0, norm_first=False, activation="relu",
                 key_dim=None, causal=False, eps=1e-5, name=None):
        super().__init__(name)
        self.num_heads = positive_int(self.name, "num_heads", num_heads)
        self.ff_dim = positive_int(self.name, "ff_dim", ff_dim)
        self.dropout = fraction(self.name, "dropout", dropout)
        self.norm_first = bool(norm_first)
        if activations.code(activation) == activations.SOFTMAX:
            raise NnxError(f"{self.name}: activation must be element-wise, got 'softmax'")
        self.key_dim = None if key_dim is None else positive_int(self.name, "key_dim", key_dim)
        self.activation, self.causal = activation, bool(causal)
        self.attention = MultiHeadAttention(num_heads, key_dim=key_dim, causal=causal,
                                            name="attention")
        try:
            self.norm1 = LayerNormalization(eps, name="norm1")
        except NnxError as err:
            raise NnxError(str(err).replace("norm1", self.name, 1)) from None
        self.norm2 = LayerNormalization(eps, name="norm2")
        self.eps = self.norm1.eps
        self.ff1 = Dense(ff_dim, activation=activation, name="ff1")
        self.ff2 = None  # its width is the input's: made at build
        self.drop1, self.drop_ff, self.drop2 = (Dropout(dropout, name=f"dropout{i}")
                                                for i in (1, "_ff", 2))
        self.mask = None  # optional (N, T) padding mask for the next forwards
        self._twins = []  # made at the first parted pass: see the module doc
        self._bounds = None  # the parts of the last training forward; None: it ran whole

    def parts(self):
        """(prefix, layer) of every part with parameters, in parameter order."""
        return (("attention", self.attention), ("norm1", self.norm1), ("ff1", self.ff1),
                ("ff2", self.ff2), ("norm2", self.norm2))

    def output_shape_for(self, input_shape):
        try:
            return self.attention.output_shape_for(tuple(input_shape))
        except NnxError as err:
            raise NnxError(str(err).replace("'attention'", repr(self.name), 1)) from None

    def _sized_parts(self, input_shape):
        """(prefix, part, its input shape) of the parts with parameters, ff2 as `build`
        makes it: what the memory check counts before anything is built."""
        features = input_shape[1]
        return (("attention", self.attention, input_shape), ("norm1", self.norm1, input_shape),
                ("ff1", self.ff1, (features,)), ("ff2", Dense(features), (self.ff_dim,)),
                ("norm2", self.norm2, input_shape))

    def param_shapes(self, input_shape):
        return {f"{prefix}.{key}": shape for prefix, part, part_input in
                self._sized_parts(input_shape)
                for key, shape in part.param_shapes(part_input).items()}

    def memory_for(self, input_shape, batch):
        need = Counter(super().memory_for(input_shape, batch))  # the residual sums
        bounds = threads.part_bounds(batch, self._part_count(input_shape, batch, True))
        for start, stop in zip(bounds, bounds[1:]):  # each part's arrays (a thread's own)
            for _, part, part_input in self._sized_parts(input_shape):
                # the feed-forward parts see every step as a sample
                rows = stop - start
                rows *= 1 if len(part_input) == len(input_shape) else input_shape[0]
                need.update(part.memory_for(part_input, rows))
        if len(bounds) > 2:  # the parts' outputs and input gradients joined, twins' gradients
            need["the activations"] += 2 * batch * elements(input_shape)
            need["the twins' gradients"] = (len(bounds) - 2) * sum(
                elements(shape) for shape in self.param_shapes(input_shape).values())
        return dict(need)

    def _part_count(self, input_shape, batch, training):
        """How many parts a pass over `batch` samples runs in (see the module doc)."""
        if training and self.dropout > 0:
            return 1
        steps, features = input_shape
        inner = self.num_heads * (self.key_dim or features // self.num_heads)
        # per sample: the four projections, the two feed-forward layers, the heads' products
        work = steps * (4 * features * inner + 2 * features * self.ff_dim + 2 * steps * inner)
        return threads.part_count(batch, -(-PART_WORK // work))

    def create_params(self, input_shape, rng):
        features = input_shape[1]
        self.ff2 = Dense(features, name="ff2")
        builds = [(self.attention, input_shape), (self.norm1, input_shape),
                  (self.ff1, (features,)), (self.ff2, (self.ff_dim,)),
                  (self.norm2, input_shape), (self.drop1, input_shape),
                  (self.drop_ff, (self.ff_dim,)), (self.drop2, (features,))]
        for (part, shape), child in zip(builds, rng.spawn(len(builds))):
            part.dtype = self.dtype
            part.build(shape, child)
        for prefix, part in self.parts():
            for key in part.params:
                self.params[f"{prefix}.{key}"] = part.params[key]
                self.grads[f"{prefix}.{key}"] = part.grads[key]

    def bind(self):
        """Point the parts at this layer's arrays (the dicts are the source of truth)."""
        for prefix, part in self.parts():
            for key in part.params:
                part.params[key] = self.params[f"{prefix}.{key}"]
                part.grads[key] = self.grads[f"{prefix}.{key}"]

    def cast(self, dtype):
        super().cast(dtype)
        for _, part in self.parts():
            part.dtype = self.dtype
        self.bind()

    def check_input(self, x):
        features = self.input_shape[1]
        if x.ndim != 3 or x.shape[2] != features or x.shape[1] < 1:
            raise NnxError(f"layer {self.name!r} expects inputs of shape (batch, time, "
                           f"{features}), got {tuple(x.shape)}")

    def forward(self, x, training=False):
        x = self.take_input(x, training)
        count = self._part_count(x.shape[1:], x.shape[0], training)
        if count == 1:
            self._bounds = None
            return self._forward_whole(x, self.mask, training)
        bounds = threads.part_bounds(x.shape[0], count)
        blocks = self._blocks(count)
        outputs = [None] * count
        self.attention.mask = self.mask
        mask = None if self.mask is None else self.attention.padding_mask(x.shape)  # checked

        def run(i, start, stop):
            part_mask = None if mask is None else mask[start:stop]
            outputs[i] = blocks[i]._forward_whole(x[start:stop], part_mask, training)

        threads.run_over(run, bounds)
        self._bounds = bounds if training else None
        return np.concatenate(outputs)

    def _blocks(self, count):
        """This block and its first count - 1 twins, made when missing or out of date."""
        self._twins = [twin for twin in self._twins
                       if twin.dtype == self.dtype and twin.input_shape == self.input_shape]
        while len(self._twins) < count - 1:
            twin = type(self)(**self.get_config(), name=self.name)
            twin.dtype = self.dtype
            twin.build(self.input_shape, np.random.default_rng(0))  # its own params unused
            self._twins.append(twin)
        for twin in self._twins:
            twin.params = self.params  # the same dict: a replaced array is seen by all
            twin.needs_input_grad = self.needs_input_grad
        return [self, *self._twins[:count - 1]]

    def _forward_whole(self, x, mask, training):
        self.bind()
        self.attention.mask = mask
        if self.norm_first:
            h = x + self.drop1.forward(self.attention.forward(self.norm1.forward(x, training),
                                                              training), training)
            return h + self._feed_forward(self.norm2.forward(h, training), training)
        h = self.norm1.forward_sum(x, self.drop1.forward(self.attention.forward(x, training),
                                                         training), training)
        return self.norm2.forward_sum(h, self._feed_forward(h, training), training)

    def _feed_forward(self, h, training):
        n, steps, features = h.shape
        f = self.ff1.forward(h.reshape(n * steps, features), training)
        f = self.ff2.forward(self.drop_ff.forward(f, training), training)
        return self.drop2.forward(f, training).reshape(n, steps, features)

    def _feed_forward_backward(self, dy):
        n, steps, features = dy.shape
        d = self.drop2.backward(dy.reshape(n * steps, features))
        d = self.ff1.backward(self.drop_ff.backward(self.ff2.backward(d)))
        return d.reshape(n, steps, features)

    def _attention_backward(self, dy):
        return self.attention.backward(self.drop1.backward(dy))

    def backward(self, dy):
        dy = self.take_gradient(dy)
        if self._bounds is None:
            return self._backward_whole(dy)
        bounds = self._bounds
        blocks = [self, *self._twins[:len(bounds) - 2]]  # those of the forward
        dxs = [None] * (len(bounds) - 1)

        def run(i, start, stop):
            dxs[i] = blocks[i]._backward_whole(dy[start:stop])

        threads.run_over(run, bounds)
        for twin in blocks[1:]:
            for key, grad in self.grads.items():
                grad += twin.grads[key]
        return np.concatenate(dxs) if self.needs_input_grad else None

    def _backward_whole(self, dy):
        # Each sum goes into a gradient array just returned by a part (nothing else holds it).
        self.bind()
        if self.norm_first:
            dh = self.norm2.backward(self._feed_forward_backward(dy))
            dh += dy
            dx, d = self.norm1.backward(self._attention_backward(dh)), dh
        else:
            dh = self.norm2.backward(dy)
            d = self._feed_forward_backward(dh)
            d += dh
            d = self.norm1.backward(d)
            # Post-norm, the attention sees x itself: the lowest layer of a model needs no
            # dx, and then the attention skips its input product.
            self.attention.needs_input_grad = self.needs_input_grad
            dx = self._attention_backward(d)
        if not self.needs_input_grad:
            return None
        dx += d
        return dx
