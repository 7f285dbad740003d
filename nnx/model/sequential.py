"""Sequential: a stack of layers, each feeding the next, on the shared training engine.

An Embedding with `mask_zero` starts a padding mask that travels up the stack with the
sequence: each layer that takes a mask gets the one of its input.
"""

import numpy as np

from nnx import layers as layers_module
from nnx import limits
from nnx.errors import NnxError, closest
from nnx.model.engine import BaseModel


class Sequential(BaseModel):
    """A stack of layers, each feeding the next."""

    def __init__(self, layers=None, input_shape=None, seed=0, dtype="float32", name=None):
        super().__init__(seed, dtype, name)
        self.layers = [layers_module.from_config(l) if isinstance(l, dict) else l
                       for l in (layers or [])]
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, layers_module.Layer):
                raise NnxError(f"model layer {i} is not a layer: {layer!r}")
        self.input_shape = self.output_shape = None
        if input_shape is not None:
            self.build(input_shape)

    # -- structure --------------------------------------------------------------------
    def build(self, input_shape):
        if not self.layers:
            raise NnxError("the model has no layers")
        seeds = np.random.SeedSequence(self.seed).spawn(len(self.layers) + 1)
        shape = tuple(int(d) for d in input_shape)
        entries = []  # (label, layer, its input shape): every shape first, nothing made yet
        for i, layer in enumerate(self.layers):
            entries.append((f"layer {i} ({layer.name})", layer, shape))
            try:
                shape = tuple(layer.output_shape_for(shape))
            except NnxError as err:
                raise NnxError(f"layer {i} ({layer.name}): {err}") from None
        limits.check_memory(entries, self.dtype)
        for (label, layer, layer_input), seq in zip(entries, seeds):
            if layer.built:  # shared with another model: keep its weights
                _check_shared(layer, layer_input, self.dtype)
                continue
            layer.dtype = self.dtype
            try:
                layer.build(layer_input, np.random.default_rng(seq))
            except NnxError as err:
                raise NnxError(f"{label}: {err}") from None
        self.input_shape, self.output_shape = entries[0][2], shape
        self._shuffle_rng = np.random.default_rng(seeds[-1])
        # Backward can stop at the lowest layer with parameters: nothing below needs dx.
        with_params = [i for i, layer in enumerate(self.layers) if layer.params]
        self._lowest_trainable = with_params[0] if with_params else len(self.layers)
        self._flags = [(layer, i > self._lowest_trainable) for i, layer in enumerate(self.layers)]
        for layer, flag in self._flags:
            layer.needs_input_grad = flag
        # An Embedding(mask_zero=True) hands its padding mask to the sequence layers above it.
        self._masking = any(layer.makes_mask for layer in self.layers)
        self._record_layer_shapes()
        self.built = True

    def _build_for(self, input_shapes):
        self.build(input_shapes[0])

    def _input_grad_flags(self):
        return self._flags

    @property
    def input_names(self):
        return ["input"]

    @property
    def output_names(self):
        return [self.layers[-1].name if self.layers else "output"]

    @property
    def input_shapes(self):
        return [self.input_shape]

    @property
    def output_shapes(self):
        return [self.output_shape]

    def _output_layer(self, k):
        return self.layers[-1] if self.layers else None

    # -- computing --------------------------------------------------------------------
    def _forward(self, xs, training):
        x, mask = xs[0], None
        for layer in self.layers:
            if self._masking:
                _give_mask(layer, x, mask)
            x = layer.forward(x, training=training)
            if self._masking:
                mask = _mask_after(layer, x, mask)
        return [x]

    def _backward(self, grads):
        layers, grad, top = self.layers, grads[0], len(self.layers)
        if self.heads[0].fused:
            grad = layers[-1].backward_preactivation(grad)
            top -= 1
        for i in range(top - 1, self._lowest_trainable - 1, -1):
            grad = layers[i].backward(grad)

    def _forward_fn(self, output):
        if output is None:
            return lambda xs: self._forward(xs, training=False)
        names = output if isinstance(output, (list, tuple)) else [output]
        stops = [self._layer_index(name) for name in names]

        def forward(xs):
            x, found, mask = xs[0], {}, None
            for i, layer in enumerate(self.layers[:max(stops) + 1]):
                if self._masking:
                    _give_mask(layer, x, mask)
                x = layer.forward(x, training=False)
                if self._masking:
                    mask = _mask_after(layer, x, mask)
                found[i] = x
            return [found[i] for i in stops]

        return forward

    def _layer_index(self, output):
        """A layer given by index, by `<index>.<name>` (as in the model file) or by name."""
        labels = [f"{i}.{layer.name}" for i, layer in enumerate(self.layers)]
        if isinstance(output, str) and output.lstrip("-").isdigit():  # "2" from the CLI
            output = int(output)
        if isinstance(output, (int, np.integer)) and not isinstance(output, bool):
            if -len(self.layers) <= output < len(self.layers):
                return int(output) % len(self.layers)
        elif output in labels:
            return labels.index(output)
        else:
            matches = [i for i, layer in enumerate(self.layers) if layer.name == output]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise NnxError(f"several layers are named {output!r}: give one of "
                               f"{', '.join(labels[i] for i in matches)}")
        hint = closest(output, labels + [layer.name for layer in self.layers])
        raise NnxError(f"the model has no layer {output!r}; its layers: {', '.join(labels)}"
                       + (f" (did you mean {hint!r}?)" if hint else ""))

    # -- description ------------------------------------------------------------------
    def _structure_config(self):
        return {"class": "Sequential", "seed": self.seed, "dtype": self.dtype.name,
                "input_shape": list(self.input_shape) if self.input_shape else None,
                "layers": [{"type": layers_module.snake_case(type(l).__name__),
                            **l.get_config()} for l in self.layers]}

    def summary_rows(self):
        """[{name, type, output_shape, params, inputs}] per layer, as a graph model gives
        them (each layer takes the one before; the first takes the input)."""
        rows, previous = [], "input"
        for i, layer in enumerate(self.layers):
            rows.append({"name": f"{i}.{layer.name}",
                         "type": layers_module.snake_case(type(layer).__name__),
                         "output_shape": list(layer.output_shape) if layer.built else None,
                         "params": layer.count_params(), "inputs": [previous]})
            previous = rows[-1]["name"]
        return rows

    def summary(self):
        """A text table of layers, output shapes and parameter counts."""
        rows = [("layer", "output shape", "params")]
        for i, layer in enumerate(self.layers):
            shape = layer.output_shape if layer.built else "?"
            rows.append((f"{i}: {layer.name}", str(shape), str(layer.count_params())))
        widths = [max(len(r[c]) for r in rows) for c in range(3)]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
        lines.append(f"total parameters: {self.count_params()}")
        return "\n".join(lines)


def _check_shared(layer, input_shape, dtype):
    """A layer built before (for another model, or this one) fits only the same inputs and
    dtype: its weights are kept, not made again."""
    if layer.input_shape != input_shape:
        raise NnxError(f"layer {layer.name!r} was built for inputs of shape {layer.input_shape} "
                       f"and here gets {input_shape}; a built layer (shared with another model) "
                       "keeps its input shape")
    if layer.dtype != dtype:
        raise NnxError(f"layer {layer.name!r} holds {layer.dtype} weights but this model "
                       f"computes in {dtype}")


def _give_mask(layer, x, mask):
    """Hand a sequence layer the padding mask of its (N, T, ...) input (None: no padding)."""
    if layer.takes_mask:
        layer.mask = mask if mask is not None and mask.shape == x.shape[:2] else None


def _mask_after(layer, y, mask):
    """The mask of a layer's output: an Embedding with mask_zero starts one; it travels while
    the output keeps the time axis, and ends where the output is no longer that sequence."""
    if layer.makes_mask:
        return layer.output_mask
    return mask if mask is not None and y.ndim >= 3 and y.shape[:2] == mask.shape else None
