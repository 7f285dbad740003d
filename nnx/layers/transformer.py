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
"""

from collections import Counter

from nnx import activations
from nnx.errors import NnxError
from nnx.layers.attention import MultiHeadAttention
from nnx.layers.base import Layer, fraction, positive_int
from nnx.layers.dense import Dense
from nnx.layers.dropout import Dropout
from nnx.layers.layer_norm import LayerNormalization


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
        for _, part, part_input in self._sized_parts(input_shape):
            # the feed-forward parts see every step as a sample
            rows = batch if len(part_input) == len(input_shape) else batch * input_shape[0]
            need.update(part.memory_for(part_input, rows))
        return dict(need)

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
        self.bind()
        self.attention.mask = self.mask
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
