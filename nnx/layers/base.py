"""The layer protocol: build -> forward -> backward, with params/grads/state dicts.

The dicts are the source of truth: a layer reads its arrays from them on every call, so a
model may replace an array (a cast) without telling the layer. Because kernels trust sizes,
a layer that calls them starts `forward` with `take_input` and `backward` with
`take_gradient`: they check the layer's arrays against the shapes recorded at build (again
only when one was replaced), and hand the kernels inputs of the right shape, dtype and layout.
"""

import inspect
import math

import numpy as np

from nnx import arrays, checks, initializers
from nnx.errors import NnxError
from nnx.nodes import call_layer

TABLES = ("params", "grads", "state")


class Layer:
    """Base of every layer. Subclasses implement `output_shape_for`, `create_params`,
    `forward` and `backward`, and take only keyword-able constructor arguments so that
    `get_config()` can rebuild them."""

    # -- capabilities: what a model or a callback may ask of a layer, declared by its class --
    multi_input = False  # forward takes a list of inputs (the merge layers)
    # A loss may fuse with the layer's `activation` (a name; None is linear): the model then
    # sets `keeps_preactivation`, reads `preactivation` (z, the input of the activation)
    # after a forward, and backpropagates dL/dz with `backward_preactivation(dz)`.
    fuses_with_loss = False
    keeps_preactivation = False
    takes_mask = False  # reads `mask`: an (N, T) padding mask (nonzero = real step) or None
    makes_mask = False  # sets `output_mask` at each forward: the padding mask of its output
    # Set by the model before each step: False where nothing below this layer needs dx, so
    # that a layer able to skip the input gradient may (its backward then returns None).
    needs_input_grad = True
    # Diagnostics may call `mark_fired_units(fired)` (units on axis 1 of the output) when the
    # layer's `activation` can leave units dead.
    reports_fired_units = False
    # What a forward leaves in place for later calls, not for its backward: the arrays and
    # the scratch buffers a layer reuses (`_buffers`). `save_cache` keeps everything else.
    LASTING = frozenset({"params", "grads", "state", "_buffers"})
    # True while a model runs this layer after checking its arrays: between its layers flow
    # the model's own arrays, so forward and backward skip their checks (BaseModel.checked).
    in_checked_model = False

    def __init__(self, name=None):
        self.name = name or snake_case(type(self).__name__)
        self.params = {}
        self.grads = {}
        self.state = {}
        self.dtype = np.dtype("float32")
        self.built = False
        self.input_shape = None
        self.output_shape = None
        self._built_shapes = None  # {table: {key: shape}} at build
        self._checked = None  # (dtype, arrays) at the last check that passed
        self._gradient_shape = None  # what backward takes after the last training forward

    # -- building ---------------------------------------------------------------------
    def build(self, input_shape, rng=None):
        """Check the input shape (without the batch axis) and create the parameters."""
        input_shape = tuple(int(d) for d in input_shape)
        self.output_shape = tuple(self.output_shape_for(input_shape))
        self.input_shape = input_shape
        self.create_params(input_shape, rng if rng is not None else np.random.default_rng())
        self._built_shapes = {name: {key: value.shape for key, value in table.items()}
                              for name, table in zip(TABLES, self._tables())}
        self._checked = self._gradient_shape = None
        self.built = True

    def output_shape_for(self, input_shape):
        """The output shape for an input shape; raise NnxError when the input does not fit."""
        return input_shape

    def param_shapes(self, input_shape):
        """{key: shape} of the parameters `create_params` makes for this input shape, from
        the shapes alone: the memory check (nnx.limits) reads it before anything exists."""
        return {}

    def memory_for(self, input_shape, batch):
        """{what: elements} that one training step on `batch` samples allocates in this
        layer besides its parameters, from the shapes alone (for nnx.limits). By default
        four arrays of the output's size and four of the input's (outputs, pre-activations,
        gradients, numpy's temporaries: what the simple layers use at most); a layer with
        large caches (columns, per-step states, attention scores) adds them."""
        output = elements(self.output_shape_for(input_shape))
        return {"the activations": 4 * batch * (output + elements(input_shape))}

    def create_params(self, input_shape, rng):
        """Fill `params` (and `state`) for this input shape; parameter-free layers do nothing."""

    def add_param(self, key, shape, init, fan_in, fan_out, rng):
        values = initializers.get(init)(tuple(shape), fan_in, fan_out, rng)
        self.params[key] = np.ascontiguousarray(values, dtype=self.dtype)
        self.grads[key] = np.zeros_like(self.params[key])

    def cast(self, dtype):
        """Compute in `dtype` from now on: params, grads and state are converted."""
        self.dtype = np.dtype(dtype)
        for table in (self.params, self.grads, self.state):
            for key, value in table.items():
                table[key] = np.ascontiguousarray(value, dtype=self.dtype)

    # -- graph building (the functional API) --------------------------------------------
    def __call__(self, inputs):
        """The node of this layer applied to `inputs`: a node (`nnx.Input` or another
        layer's), or a list of nodes for a merge layer. Calling a layer twice shares it."""
        return call_layer(self, inputs)

    # -- computing --------------------------------------------------------------------
    def forward(self, x, training=False):
        raise NotImplementedError

    def backward(self, dy):
        raise NotImplementedError

    def take_input(self, x, training=False):
        """`x` as the kernels need it, once the layer's arrays are checked: a C-contiguous
        array in the layer's dtype (a Fortran-ordered, strided, other-dtype or list input is
        copied, with the same answers) of the shape `check_input` accepts. A training forward
        remembers the shape of the gradient its backward must receive."""
        if self.in_checked_model:
            if training:  # the model's backward follows; a direct one needs its own forward
                self._gradient_shape = None
            return x
        self.check_arrays()
        x = arrays.c_array(x, self.dtype, f"layer {self.name!r}: inputs")
        self.check_input(x)
        if training:
            out = (self.output_shape if x.shape[1:] == self.input_shape
                   else tuple(self.output_shape_for(x.shape[1:])))
            self._gradient_shape = (x.shape[0],) + out
        return x

    def take_gradient(self, dy):
        """`dy` as backward needs it: the shape of the last training forward's output, in
        the layer's dtype, C-contiguous; the layer's arrays checked again (they may have been
        replaced since the forward)."""
        if self.in_checked_model:
            return dy
        if self._gradient_shape is None:
            raise NnxError(f"layer {self.name!r}: backward needs a forward(x, training=True) "
                           "first")
        self.check_arrays()
        dy = arrays.c_array(dy, self.dtype, f"layer {self.name!r}: the gradient")
        if dy.shape != self._gradient_shape:
            raise NnxError(f"layer {self.name!r}: backward expects a gradient of shape "
                           f"{self._gradient_shape} (the output of the last training forward), "
                           f"got {dy.shape}")
        return dy

    def check_arrays(self):
        """Raise NnxError unless params, grads and state hold arrays of the shapes recorded at
        build, in the layer's dtype, C-contiguous and writable; the full check runs only when
        an array was replaced (or the dtype changed) since the last one passed."""
        held = (*self.params.values(), *self.grads.values(), *self.state.values())
        last = self._checked
        if last is not None and last[0] == self.dtype and arrays.same_objects(held, last[1]):
            return
        if not self.built:
            raise NnxError(f"layer {self.name!r} is not built: call layer.build(input_shape) "
                           "or use it in a model")
        for name, table in zip(TABLES, self._tables()):
            expected = (self._built_shapes or {}).get(name, {})  # merge layers record none
            for key_name in table:
                if key_name not in expected:
                    raise NnxError(f"layer {self.name!r}: {name}[{key_name!r}] is not one of its "
                                   f"arrays ({', '.join(map(repr, expected)) or 'it has none'})")
            for key_name, shape in expected.items():
                if key_name not in table:
                    raise NnxError(f"layer {self.name!r}: {name}[{key_name!r}] is missing")
                wrong = arrays.problem(table[key_name], shape, (self.dtype,))
                if wrong is not None:
                    raise NnxError(f"layer {self.name!r}: {name}[{key_name!r}] {wrong}; to change "
                                   f"values, copy them into the array ({name}[{key_name!r}][...] = "
                                   "values) or use model.set_weights")
        self._checked = self.dtype, held

    def _tables(self):
        return self.params, self.grads, self.state

    def regularization_loss(self):
        """The penalty this layer adds to the loss (0 without a regularizer)."""
        return 0.0

    def add_regularization_gradient(self):
        """Add the gradient of `regularization_loss` to `grads`: the model does it once per
        step, after backward (a layer called several times adds its penalty once)."""

    def mark_fired_units(self, fired):
        """fired[u] |= whether unit u gave a positive output for some sample of the last
        training forward; `fired` is (units,) bool. Returns whether all have fired now.
        Only where `reports_fired_units`."""
        raise NotImplementedError(f"{type(self).__name__} does not report fired units")

    # -- a forward's cache (a layer called several times in one step) -----------------
    def save_cache(self):
        """What the last forward left for backward, for `restore_cache`: every attribute
        but the `LASTING` ones, arrays copied (a layer may compute into buffers it reuses at
        its next call), with the same for the layers it is made of."""
        cache, parts = {}, []
        for key, value in vars(self).items():
            if key in self.LASTING:
                continue
            subs = _sublayers(value)
            if subs:
                cache[key] = value
                parts += [(part, part.save_cache()) for part in subs]
            else:
                cache[key] = _copied(value)
        return cache, parts

    def restore_cache(self, saved):
        """Put back what `save_cache` returned, so that backward sees that forward's cache."""
        cache, parts = saved
        vars(self).update(cache)
        for part, part_saved in parts:
            part.restore_cache(part_saved)

    def check_input(self, x):
        """Raise NnxError when a batch does not have the shape the layer was built for."""
        if tuple(x.shape[1:]) != self.input_shape:
            raise NnxError(f"layer {self.name!r} expects inputs of shape (batch, "
                           f"{', '.join(map(str, self.input_shape))}), got {tuple(x.shape)}")

    # -- describing -------------------------------------------------------------------
    def get_config(self):
        """The constructor arguments that rebuild this layer (the YAML keys of its type)."""
        params = inspect.signature(type(self).__init__).parameters
        config = {k: getattr(self, k) for k in params if k not in ("self", "name")}
        if self.name != snake_case(type(self).__name__):
            config["name"] = self.name
        return config

    def count_params(self):
        return int(sum(p.size for p in self.params.values()))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _copied(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)) and any(isinstance(v, np.ndarray) for v in value):
        return type(value)(_copied(v) for v in value)
    return value


def _sublayers(value):
    if isinstance(value, Layer):
        return [value]
    if isinstance(value, dict):
        return [v for v in value.values() if isinstance(v, Layer)]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, Layer)]
    return []


def snake_case(class_name):
    """`MaxPool2D` -> `max_pool2d`, `SimpleRNN` -> `simple_rnn`: the YAML type of a layer."""
    out = []
    for i, ch in enumerate(class_name):
        prev = class_name[i - 1] if i else ""
        nxt = class_name[i + 1] if i + 1 < len(class_name) else ""
        if ch.isupper() and i and (prev.islower() or (prev.isupper() and nxt.islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def elements(shape):
    """The number of values of one sample of `shape`, or of several shapes (a merge's
    inputs) together; Python integers, so that an absurd size cannot overflow."""
    if shape and isinstance(shape[0], (list, tuple)):
        return sum(elements(s) for s in shape)
    return math.prod(int(d) for d in shape)


def positive_int(layer, field, value):
    """Validate a size argument such as `units` or `filters` at the edge."""
    return checks.integer(layer, field, value, minimum=1)


def fraction(layer, field, value):
    """Validate a rate in [0, 1)."""
    return checks.number(layer, field, value, minimum=0.0, below=1.0)
