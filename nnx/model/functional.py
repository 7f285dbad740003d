"""The functional model: `nnx.Model(inputs, outputs)`, a graph of layers.

    x = nnx.Input(shape=(64,), name="x")
    h = layers.Dense(64, activation="relu")(x)
    out = layers.Dense(10, activation="softmax")(layers.Add()([h, x]))
    model = nnx.Model(x, out)          # then compile / fit / evaluate / predict / save

`Model` collects the nodes (nnx.nodes) between its inputs and outputs in topological order,
names them, builds each layer once (a generator per layer, spawned from the seed) and runs
them: forward in that order, backward in reverse, summing the gradients that reach a node
from several consumers. A layer called more than once is shared: one set of parameters,
gradients summed over the calls (each call's forward cache is saved and put back for that
call's backward: `Layer.save_cache`).

Names: an input is named by `Input(name=...)` (else `input`, or `input_1`, `input_2`, ...
when there are several); a layer's first call is named after the layer, later calls
`<layer>_call2`, `<layer>_call3`, ... Layers with a default name (`dense`) are renamed
`dense_1`, ... when they clash, unless a model already uses them; other clashes are an
error. The training engine (compile, fit, evaluate, ...) is `nnx.model.engine.BaseModel`.
"""

import weakref

import numpy as np

from nnx import limits
from nnx.errors import NnxError, closest
from nnx.layers.base import snake_case
from nnx.model.engine import BaseModel
from nnx.nodes import Node

# Layers whose name is part of a graph model (it names their nodes): never renamed again.
_named_in_a_model = weakref.WeakSet()


class Model(BaseModel):
    """A graph of layers from `inputs` (nodes of `nnx.Input`) to `outputs` (nodes); one
    node or a list each. Same compile / fit / evaluate / predict / save as Sequential;
    with several inputs/outputs, arrays go in and come out as lists in the given order."""

    def __init__(self, inputs, outputs, name=None, seed=0, dtype="float32"):
        super().__init__(seed, dtype, name)
        self.inputs = _nodes(inputs, "inputs")
        self.outputs = _nodes(outputs, "outputs")
        for node in self.inputs:
            if node.layer is not None:
                raise NnxError(f"model inputs must be nnx.Input nodes; {node.label()!r} is the "
                               f"output of a {type(node.layer).__name__} layer")
        for what, nodes in (("input", self.inputs), ("output", self.outputs)):
            twice = [n for i, n in enumerate(nodes) if any(n is m for m in nodes[:i])]
            if twice:
                raise NnxError(f"the {what} {twice[0].label()!r} is listed twice")
        self._nodes = self._topological_order()
        self._calls = {}
        for node in self._nodes:
            self._calls.setdefault(node.layer, []).append(node)
        self.layers = list(self._calls)
        self._name_nodes()
        self._build_layers()
        self._link()
        self.built = True

    # -- structure --------------------------------------------------------------------
    def _topological_order(self):
        """The layer nodes the outputs need, in the order they were made (each after its
        inputs); NnxError when one needs an input the model was not given."""
        allowed = set(self.inputs)
        names = ", ".join(n.label() for n in self.inputs)
        needed = set()
        for output in self.outputs:
            stack = [(output, None)]
            while stack:
                node, consumer = stack.pop()
                if node.layer is None:
                    if node not in allowed:
                        via = (f"node {consumer.label()!r} takes" if consumer is not None
                               else "it is")
                        raise NnxError(f"output {output.label()!r} is not reachable from the "
                                       f"model's inputs ({names}): {via} the input "
                                       f"{node.label()!r}, which is not among them (a node "
                                       "from another graph?)")
                    continue
                if node not in needed:
                    needed.add(node)
                    stack.extend((i, node) for i in node.inputs)
        return sorted(needed, key=lambda node: node.number)

    def _name_nodes(self):
        taken, self._names = set(), {}

        def claim(node, name, explicit):
            if name in taken:
                if explicit:
                    raise NnxError(f"two nodes of the model are named {name!r}; give them "
                                   "distinct names")
                name = _unique(name, taken)
            taken.add(name)
            self._names[node] = name

        for i, node in enumerate(self.inputs):
            default = "input" if len(self.inputs) == 1 else f"input_{i + 1}"
            claim(node, node.name or default, node.name is not None)
        for layer in self.layers:
            if layer.name in taken:
                renamable = (layer.name == snake_case(type(layer).__name__)
                             and layer not in _named_in_a_model)
                if not renamable:
                    raise NnxError(f"two layers (or a layer and an input) of the model are "
                                   f"named {layer.name!r}; give them distinct names")
                layer.name = _unique(layer.name, taken)
            _named_in_a_model.add(layer)
            taken.add(layer.name)
            # A layer's first call is named after it (a config defines the layer there).
            self._names[self._calls[layer][0]] = layer.name
        for layer, calls in self._calls.items():
            for k, node in enumerate(calls[1:], start=2):
                claim(node, node.name or f"{layer.name}_call{k}", node.name is not None)
        self._by_name = {name: node for node, name in self._names.items()}
        self.input_names = [self._names[n] for n in self.inputs]
        self.output_names = [self._names[n] for n in self.outputs]
        self.input_shapes = [n.shape for n in self.inputs]
        self.output_shapes = [n.shape for n in self.outputs]

    def _build_layers(self):
        seeds = np.random.SeedSequence(self.seed).spawn(len(self.layers) + 1)
        limits.check_memory([(f"layer {i} ({layer.name})", layer, self._first_input(layer))
                             for i, layer in enumerate(self.layers) if not layer.built],
                            self.dtype)
        for i, (layer, seq) in enumerate(zip(self.layers, seeds)):
            if layer.built:  # shared with another model: keep its weights
                if layer.dtype != self.dtype:
                    raise NnxError(f"layer {layer.name!r} holds {layer.dtype} weights but the "
                                   f"model computes in {self.dtype}")
                continue
            layer.dtype = self.dtype
            try:
                layer.build(self._first_input(layer), np.random.default_rng(seq))
            except NnxError as err:
                raise NnxError(f"layer {i} ({layer.name}): {err}") from None
        self._shuffle_rng = np.random.default_rng(seeds[-1])
        self._record_layer_shapes()

    def _first_input(self, layer):
        """The input shape of a layer's first call (a list of shapes for a merge)."""
        first = self._calls[layer][0]
        shapes = [n.shape for n in first.inputs]
        return shapes if first.multi else shapes[0]

    def _link(self):
        """What backward needs: which nodes depend on parameters (only those need a
        gradient), which layers are shared, which nodes feed others."""
        self._requires = {node: False for node in self.inputs}
        flags, self._consumers = {}, {node: 0 for node in self.inputs}
        for node in self._nodes:
            layer = node.layer
            self._requires[node] = bool(layer.params) or any(self._requires[i]
                                                             for i in node.inputs)
            self._consumers[node] = 0
            for i in node.inputs:
                self._consumers[i] += 1
            flags[layer] = flags.get(layer, False) or any(self._requires[i] for i in node.inputs)
        self._flags = list(flags.items())
        self._shared = {layer for layer, calls in self._calls.items() if len(calls) > 1}
        # Backward runs in reverse: a shared layer's last call finds its own forward cache
        # in place; the earlier calls' caches are saved and put back.
        self._replayed = {node for calls in self._calls.values() for node in calls[:-1]}
        self._plan = [(node, node.layer, node.inputs, node.multi) for node in self._nodes]
        # Backward visits only the nodes that depend on parameters, and sends gradients only
        # to inputs that do (None in `targets` for the others).
        self._back_plan = [
            (node, node.layer, [i if self._requires[i] else None for i in node.inputs],
             node.multi, node.layer in self._shared)
            for node in reversed(self._nodes) if self._requires[node]]
        self._caches, self._submodels = {}, {}

    def _input_grad_flags(self):
        return self._flags

    def _build_for(self, input_shapes):
        raise AssertionError("a graph model is built when it is made")

    def _output_layer(self, k):
        """The layer whose activation may fuse with output k's loss: not when it is shared,
        merges, or its output also feeds other layers."""
        node = self.outputs[k]
        if (node.layer is None or node.layer in self._shared or node.multi
                or self._consumers[node]):
            return None
        return node.layer

    def node(self, name):
        """The node called `name` in this model."""
        if name not in self._by_name:
            hint = closest(name, list(self._by_name))
            raise NnxError(f"the model has no node {name!r}; its nodes: "
                           f"{', '.join(self._by_name)}"
                           + (f" (did you mean {hint!r}?)" if hint else ""))
        return self._by_name[name]

    def submodel(self, outputs):
        """A model with the same inputs (and layers: weights are shared) whose outputs are
        the named nodes, e.g. the encoder of an autoencoder: `model.submodel("code")`."""
        names = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        key = tuple(names)
        if key not in self._submodels:
            nodes = [self.node(n) for n in names]
            self._submodels[key] = Model(self.inputs, nodes, name=self.name, seed=self.seed,
                                         dtype=self.dtype.name)
        return self._submodels[key]

    # -- computing --------------------------------------------------------------------
    def _forward(self, xs, training):
        values = dict(zip(self.inputs, xs))
        keep = training and self._replayed
        for node, layer, inputs, multi in self._plan:
            x = [values[i] for i in inputs] if multi else values[inputs[0]]
            values[node] = layer.forward(x, training=training)
            if keep and node in self._replayed:
                self._caches[node] = layer.save_cache()
        return [values[node] for node in self.outputs]

    def _backward(self, grads):
        pending, at_logits = {}, {}
        for node, grad, head in zip(self.outputs, grads, self.heads):
            (at_logits if head.fused else pending)[node] = grad
        sums = {}
        for node, layer, targets, multi, shared in self._back_plan:
            grad, dz = pending.pop(node, None), at_logits.get(node)
            if grad is None and dz is None:
                continue
            if shared:
                dx = self._shared_backward(node, grad, sums)
            elif dz is not None:
                dx = layer.backward_preactivation(dz)
            else:
                dx = layer.backward(grad)
            for source, d in zip(targets, dx if multi else (dx,)):
                if source is not None and d is not None:
                    pending[source] = d if source not in pending else pending[source] + d
        for layer, total in sums.items():
            for key, value in total.items():
                layer.grads[key][...] = value
        self._caches.clear()

    def _shared_backward(self, node, grad, sums):
        """Backward of one call of a shared layer: its own forward cache, its gradients
        added to the other calls' (the engine adds the regularizer's gradient once)."""
        layer = node.layer
        if node in self._replayed:
            layer.restore_cache(self._caches[node])
        dx = layer.backward(grad)
        if layer.params:
            if layer in sums:
                for key, value in layer.grads.items():
                    sums[layer][key] += value
            else:
                sums[layer] = {key: value.copy() for key, value in layer.grads.items()}
        return dx

    def _forward_fn(self, output):
        model = self if output is None else self.submodel(output)
        return lambda xs: model._forward(xs, training=False)

    # -- description ------------------------------------------------------------------
    def summary_rows(self):
        """[{name, type, output_shape, params, inputs}] for every node, inputs first; a
        shared layer's parameters count at its first call."""
        rows = [{"name": self._names[n], "type": "input", "output_shape": list(n.shape),
                 "params": 0, "inputs": []} for n in self.inputs]
        for node in self._nodes:
            layer = node.layer
            first = self._calls[layer][0] is node
            rows.append({"name": self._names[node], "type": snake_case(type(layer).__name__),
                         "output_shape": list(node.shape),
                         "params": layer.count_params() if first else 0,
                         "shares": None if first else layer.name,
                         "inputs": [self._names[i] for i in node.inputs]})
        return rows

    def summary(self):
        """A text table of the graph: node, layer type, output shape, params, inputs."""
        table = [("node", "type", "output shape", "params", "inputs")]
        for row in self.summary_rows():
            kind = row["type"] + (f" (shares {row['shares']})" if row.get("shares") else "")
            table.append((row["name"], kind, str(tuple(row["output_shape"])), str(row["params"]),
                          ", ".join(row["inputs"])))
        widths = [max(len(r[c]) for r in table) for c in range(5)]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                 for row in table]
        lines.append(f"outputs: {', '.join(self.output_names)}")
        lines.append(f"total parameters: {self.count_params()}")
        return "\n".join(lines)

    def _structure_config(self):
        entries, seen = [], set()
        for node in self._nodes:
            layer, name = node.layer, self._names[node]
            inputs = [self._names[i] for i in node.inputs]
            if layer in seen:
                entries.append({"name": name, "share": layer.name, "inputs": inputs})
                continue
            seen.add(layer)
            args = {k: v for k, v in layer.get_config().items() if k != "name"}
            entries.append({"name": name, "type": snake_case(type(layer).__name__), **args,
                            "inputs": inputs})
        return {"class": "Model", "name": self.name, "seed": self.seed,
                "dtype": self.dtype.name,
                "inputs": [{"name": self._names[n], "shape": list(n.shape)}
                           for n in self.inputs],
                "layers": entries, "outputs": list(self.output_names)}


def _nodes(value, what):
    nodes = list(value) if isinstance(value, (list, tuple)) else [value]
    if not nodes:
        raise NnxError(f"a model needs at least one node in {what}")
    for node in nodes:
        if not isinstance(node, Node):
            raise NnxError(f"model {what} must be nodes (nnx.Input(...) or a layer called on "
                           f"a node), got {type(node).__name__}")
    return nodes


def _unique(name, taken):
    k = 1
    while f"{name}_{k}" in taken:
        k += 1
    return f"{name}_{k}"


__all__ = ["Model"]
