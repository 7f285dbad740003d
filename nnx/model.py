"""The training engine and the two kinds of model: `Sequential` (a stack of layers) and the
functional `nnx.Model(inputs, outputs)` (a graph, in `nnx.graph`).

`BaseModel` owns what both share: compile, the fit loop, evaluate, predict, the input and
target checks, losses per output (fused softmax/sigmoid + cross-entropy), callbacks' view of
the model, weights and persistence. A subclass only says how data flow through its layers.
Python drives the loop (epochs, batches, callbacks); each layer pass is one kernel call.
One seed drives initialization, shuffling and dropout: the model spawns a generator per
layer and one for shuffling from it, so the same seed gives the same numbers.
"""

import math

import numpy as np

from nnx import arrays, checks, limits, losses, optimizers
from nnx import callbacks as callbacks_module
from nnx import layers as layers_module
from nnx import metrics as metrics_module
from nnx.errors import NnxError, closest

DTYPES = ("float32", "float64")


class History:
    """What `fit` returns: per-epoch values (`history`), and how training ended."""

    def __init__(self):
        self.history = {}
        self.epoch = []
        self.status = "completed"  # or "diverged" / "interrupted"
        self.stop_reason = None

    def record(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))


class BaseModel:
    """The engine shared by every model.

    A subclass sets, once built: `layers` (each layer once, in forward order), `input_names`,
    `input_shapes`, `output_names`, `output_shapes` (shapes without the batch axis),
    `built` and `_shuffle_rng`; and implements:

    - `_forward(xs, training) -> [output arrays]` (xs: one array per input);
    - `_backward(grads, fused)`: backpropagate one gradient per output; where `fused[k]`,
      `grads[k]` is the gradient at the pre-activation of the layer `_output_layer(k)`;
    - `_output_layer(k)`: the layer whose activation may fuse with output k's loss, or None;
    - `_forward_fn(output)`: a function xs -> [arrays] computing the named node(s);
    - `_build_for(input_shapes)` (models built at the first fit/predict), `_input_grad_flags()`
      ([(layer, needs_input_grad)], set before every step: layers may be shared by models),
      `_structure_config()`, `summary()` and `summary_rows()`.

    One training step: `_forward(training=True)` -> loss per output (from the output, or
    from the output layer's `preactivation` when fused) -> `_backward` -> optimizer step.
    """

    def __init__(self, seed=0, dtype="float32", name=None):
        if dtype not in DTYPES:
            raise NnxError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        checks.integer("model", "seed", seed)
        self.seed, self.dtype, self.name = int(seed), np.dtype(dtype), name
        self.optimizer = self.loss = self.loss_weights = None
        self.metric_names = []
        self._losses, self._fused, self._metric_fns, self._decisions = [], [], [], []
        self._heads, self._fused_flags = [], []
        self._weights = []
        self.built = False
        self.stop_training = False
        self.status, self.stop_reason = "completed", None
        self._last_losses = []
        self._arrays_checked = None  # (arrays, (params, grads)) at the last check
        self._layer_shapes = []  # (layer, input shape, output shape) at build

    # -- weights ----------------------------------------------------------------------
    def parameters(self):
        return [p for layer in self.layers for p in layer.params.values()]

    def gradients(self):
        return [layer.grads[k] for layer in self.layers for k in layer.params]

    def get_weights(self):
        """A copy of every parameter and state array, in layer order."""
        return [{k: v.copy() for k, v in {**layer.params, **layer.state}.items()}
                for layer in self.layers]

    def set_weights(self, weights):
        """Copy values into the layers' arrays (their identities, and so the optimizer's
        state, are kept): one dict per layer as `get_weights` gives; a dict may leave arrays
        out. Everything is checked before anything is copied."""
        if not isinstance(weights, (list, tuple)):
            raise NnxError(f"set_weights takes a list of one dict per layer (as get_weights "
                           f"gives), got {type(weights).__name__}")
        if len(weights) != len(self.layers):
            raise NnxError(f"set_weights got {len(weights)} entries for the {len(self.layers)} "
                           "layers of the model")
        copies = []
        for layer, given in zip(self.layers, weights):
            if not isinstance(given, dict):
                raise NnxError(f"set_weights: the entry of layer {layer.name!r} must be a dict "
                               f"of arrays, got {type(given).__name__}")
            held = {**layer.params, **layer.state}
            for key, value in given.items():
                if key not in held:
                    raise NnxError(f"set_weights: layer {layer.name!r} has no array {key!r} "
                                   f"(it has {', '.join(map(repr, held)) or 'none'})")
                value = np.asarray(value)
                if value.shape != held[key].shape or value.dtype.kind not in "fiub":
                    raise NnxError(f"set_weights: layer {layer.name!r} needs {key!r} as numbers "
                                   f"of shape {held[key].shape}, got {value.dtype} of shape "
                                   f"{value.shape}")
                copies.append((held[key], value))
        for target, value in copies:
            target[...] = value

    def count_params(self):
        return sum(layer.count_params() for layer in self.layers)

    @property
    def _fused_loss(self):
        """The fused loss of a single-output model (None when not fused)."""
        return self._fused[0] if len(self._fused) == 1 else None

    # -- compile ----------------------------------------------------------------------
    def compile(self, optimizer="adam", loss="mse", metrics=None, loss_weights=None):
        """`loss`, `metrics` and `loss_weights` may be given per output: as a list in output
        order or a dict by output name; a single loss or metric list applies to every
        output. The training loss is sum_k weight_k * loss_k (+ regularization)."""
        self.optimizer = optimizers.get(optimizer)
        if self.built:  # state for these arrays now (a reused optimizer keeps other models')
            self._check_layers()
            self.optimizer.build(self.parameters())
        specs = self._per_output("loss", loss)
        resolved = []
        for spec in specs:
            made = losses.get(spec)
            if any(made is other for other in resolved):  # a loss keeps its gradient buffer
                made = losses.get(made.get_config())
            resolved.append(made)
        self._losses = resolved
        self.loss = resolved[0] if len(resolved) == 1 else resolved
        if loss_weights is None:
            self._weights, self.loss_weights = [1.0] * len(resolved), None
        else:
            weights = self._per_output("loss_weights", loss_weights, missing=1.0)
            self._weights = [checks.number("compile", "loss_weights", w, minimum=0.0)
                             for w in weights]
            self.loss_weights = list(self._weights)
        if isinstance(metrics, dict):
            per_output = self._per_output("metrics", metrics, missing=[])
            self.metric_names = {name: list(m or []) for name, m in
                                 zip(self.output_names, per_output)}
        else:
            per_output = [metrics or []] * len(resolved)
            self.metric_names = list(metrics or [])
        self._metric_fns = [{m: metrics_module.get(m) for m in names} for names in per_output]
        self._fused, self._fused_flags, self._heads, self._decisions = [], [], [], []
        for k, made in enumerate(resolved):
            layer = self._output_layer(k)
            fusable = bool(layer is not None and not made.from_logits and made.fused_activation
                           and getattr(layer, "activation", None) == made.fused_activation
                           and hasattr(layer, "backward_preactivation"))
            if layer is not None:  # the fused loss reads it; other layers may skip storing it
                layer.keeps_preactivation = fusable
            self._fused.append(made.with_logits() if fusable else None)
            self._fused_flags.append(fusable)
            # (the loss to compute, the layer whose pre-activation it takes when fused)
            self._heads.append((self._fused[-1], layer) if fusable else (made, None))
            if isinstance(made, losses.CategoricalCrossentropy):
                self._decisions.append("argmax")
            elif isinstance(made, losses.BinaryCrossentropy):
                self._decisions.append(0.0 if made.from_logits else 0.5)
            else:
                self._decisions.append(None)
        return self

    def _per_output(self, field, value, missing=None):
        """One entry per output from a single value, a list or a dict by output name (a loss
        given as `{type: ...}` is a single value)."""
        names = self.output_names
        if isinstance(value, dict) and not (field == "loss" and "type" in value):
            unknown = [k for k in value if k not in names]
            if unknown:
                hint = closest(unknown[0], names)
                raise NnxError(f"compile: {field} names {unknown[0]!r}, which is not an output; "
                               f"the outputs are {', '.join(names)}"
                               + (f" (did you mean {hint!r}?)" if hint else ""))
            if missing is None and len(value) < len(names):
                absent = [n for n in names if n not in value]
                raise NnxError(f"compile: {field} gives nothing for output {absent[0]!r}")
            return [value.get(n, missing) for n in names]
        if isinstance(value, (list, tuple)) and field != "metrics":
            if len(value) != len(names):
                raise NnxError(f"compile: {field} has {len(value)} entries for {len(names)} "
                               f"output{'s' if len(names) != 1 else ''} ({', '.join(names)})")
            return list(value)
        return [value] * len(names)

    # -- training ---------------------------------------------------------------------
    def fit(self, x, y, epochs=1, batch_size=32, validation_data=None, validation_split=0.0,
            shuffle=True, callbacks=None, verbose=0):
        """Train; returns a History. `batch_size=None` or "full": one update per epoch.
        Several inputs or outputs: `x` and `y` are lists (or dicts by name) of arrays."""
        if self.optimizer is None:
            raise NnxError("compile the model before fit")
        checks.integer("fit", "epochs", epochs)
        xs, ys = self._prepare(x, y)
        n = len(xs[0])
        if validation_data is None and validation_split:
            if not 0.0 < validation_split < 1.0:
                raise NnxError(f"validation_split must be in (0, 1), got {validation_split!r}")
            cut = n - int(round(n * validation_split))
            if cut < 1 or cut == n:
                raise NnxError(f"validation_split {validation_split} of {n} samples leaves "
                               "an empty split")
            validation = ([a[cut:] for a in xs], [t[cut:] for t in ys])
            xs, ys = [a[:cut] for a in xs], [t[:cut] for t in ys]
        elif validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise NnxError("validation_data must be a pair (x, y)")
            validation = self._prepare(*validation_data)
        else:
            validation = None
        batch = _batch_size(batch_size, len(xs[0]))

        history = History()
        cbs = [callbacks_module.DivergenceGuard(), *(callbacks or [])]
        for cb in cbs:
            cb.set_model(self)
        batch_hooks = [cb for cb in cbs if callbacks_module.overrides(cb, "on_batch_end")]
        self.stop_training, self.status, self.stop_reason = False, "completed", None
        for cb in cbs:
            cb.on_train_begin()
        try:
            for epoch in range(epochs):
                for cb in cbs:
                    cb.on_epoch_begin(epoch)
                logs = self._train_epoch(xs, ys, batch, shuffle, batch_hooks)
                if validation is not None and not self.stop_training:
                    vbatch = _batch_size(batch_size, len(validation[0][0]))
                    logs.update({f"val_{k}": v for k, v in
                                 self._evaluate(*validation, vbatch).items()})
                logs["lr"] = self.optimizer.lr
                history.record(epoch, logs)
                for cb in cbs:
                    cb.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
        except KeyboardInterrupt:
            self.status = "interrupted"
            self.stop_reason = "interrupted by the user"
        finally:
            for cb in cbs:
                cb.on_train_end()
        history.status, history.stop_reason = self.status, self.stop_reason
        return history

    def _train_epoch(self, xs, ys, batch, shuffle, batch_hooks):
        n = len(xs[0])
        order = self._shuffle_rng.permutation(n) if shuffle else None
        preds = [np.empty((n,) + shape, dtype=self.dtype) if fns else None
                 for shape, fns in zip(self.output_shapes, self._metric_fns)]
        total, seen = 0.0, 0
        per_output = [0.0] * len(ys)
        for step, start in enumerate(range(0, n, batch)):
            stop = min(start + batch, n)
            if order is None:
                xb, yb = [a[start:stop] for a in xs], [t[start:stop] for t in ys]
            else:
                idx = order[start:stop]
                xb, yb = [a[idx] for a in xs], [t[idx] for t in ys]
            loss, out = self._train_step(xb, yb)
            outs = [out] if len(ys) == 1 else out
            for buffer, o in zip(preds, outs):
                if buffer is not None:
                    buffer[start:stop] = o
            total += loss * (stop - start)
            for k, value in enumerate(self._last_losses):
                per_output[k] += value * (stop - start)
            seen = stop
            for cb in batch_hooks:
                cb.on_batch_end(step, {"loss": loss})
            if self.stop_training:
                break
        logs = {"loss": total / max(seen, 1)}
        if len(ys) > 1:
            for name, value in zip(self.output_names, per_output):
                logs[f"{name}_loss"] = value / max(seen, 1)
        for k, fns in enumerate(self._metric_fns):
            targets = ys[k] if order is None else ys[k][order]
            for metric, fn in fns.items():
                logs[self._log_key(k, metric)] = fn(preds[k][:seen], targets[:seen],
                                                    self._decisions[k])
        return logs

    def train_step(self, xb, yb):
        """One forward, backward and update on a batch; returns (loss, output). Several
        inputs/outputs: lists of arrays in, a list of outputs back. The batch is checked and
        converted as fit's data is (dtype, shapes, class labels)."""
        if self.optimizer is None:
            raise NnxError("compile the model before train_step")
        return self._train_step(*self._prepare(xb, yb))

    def _train_step(self, xs, ys):
        """train_step on lists of prepared arrays: fit's inner loop."""
        params, grads = self._checked_arrays()
        for layer, flag in self._input_grad_flags():  # layers may be shared with a submodel
            layer.needs_input_grad = flag
        outs, loss = self.checked(self._forward_and_backward, xs, ys)
        if params:  # a model of parameter-free layers (merges only) has nothing to update
            self.optimizer.step(params, grads)
        return loss, self._unlist(outs)

    def _forward_and_backward(self, xs, ys):
        outs = self._forward(xs, training=True)
        loss, grads = self._losses_and_grads(outs, ys)
        self._backward(grads, self._fused_flags)
        return outs, loss

    def _losses_and_grads(self, outs, ys):
        """(weighted total + penalty, gradient per output); keeps the per-output values."""
        total, grads, values = 0.0, [], []
        for (loss, layer), weight, out, target in zip(self._heads, self._weights, outs, ys):
            value = loss.value(out if layer is None else layer.preactivation, target)
            grad = loss.backward()
            grads.append(grad if weight == 1.0 else grad * grad.dtype.type(weight))
            total += weight * value
            values.append(value)
        self._last_losses = values
        return total + self._penalty(), grads

    def _penalty(self):
        return sum(layer.regularization_loss() for layer in self.layers)

    # -- inference --------------------------------------------------------------------
    def predict(self, x, batch_size=None, output=None):
        """The outputs for `x` (one array, or a list for several outputs). `output` names a
        node (or a list of nodes) to compute instead, e.g. the code of an autoencoder."""
        xs = self._prepare_inputs(x)
        forward = self._forward_fn(output)
        n = len(xs[0])
        batch = _batch_size(batch_size, n)
        if batch >= n:
            outs = self.checked(forward, xs)
        else:
            chunks = [self.checked(forward, [a[s:s + batch] for a in xs])
                      for s in range(0, n, batch)]
            outs = [np.concatenate([c[k] for c in chunks]) for k in range(len(chunks[0]))]
        return outs if isinstance(output, (list, tuple)) else self._unlist(outs)

    def evaluate(self, x, y, batch_size=None):
        """{"loss": ..., metric: ...} over (x, y) in inference mode; with several outputs
        also `<output>_loss` (unweighted) and `<output>_<metric>`."""
        if self.loss is None:
            raise NnxError("compile the model before evaluate")
        xs, ys = self._prepare(x, y)
        return self._evaluate(xs, ys, _batch_size(batch_size, len(xs[0])))

    def _evaluate(self, xs, ys, batch):
        n = len(xs[0])
        preds = [np.empty((n,) + shape, dtype=self.dtype) if fns else None
                 for shape, fns in zip(self.output_shapes, self._metric_fns)]
        totals = [0.0] * len(ys)
        for start in range(0, n, batch):
            stop = min(start + batch, n)
            outs = self.checked(self._forward, [a[start:stop] for a in xs], False)
            for k, out in enumerate(outs):
                if preds[k] is not None:
                    preds[k][start:stop] = out
                loss, layer = self._heads[k]
                value = loss.value(out if layer is None else layer.preactivation,
                                   ys[k][start:stop])
                totals[k] += value * (stop - start)
        means = [t / n for t in totals]
        result = {"loss": sum(w * m for w, m in zip(self._weights, means)) + self._penalty()}
        if len(ys) > 1:
            result.update({f"{name}_loss": m for name, m in zip(self.output_names, means)})
        for k, fns in enumerate(self._metric_fns):
            for metric, fn in fns.items():
                result[self._log_key(k, metric)] = fn(preds[k], ys[k], self._decisions[k])
        return result

    def _log_key(self, k, metric):
        return metric if len(self._losses) == 1 else f"{self.output_names[k]}_{metric}"

    # -- input checks -----------------------------------------------------------------
    @staticmethod
    def _unlist(values):
        return values[0] if len(values) == 1 else values

    def _arrays_by_name(self, value, names, what):
        """One entry per name from a list/tuple or a dict by name (several inputs/outputs)."""
        if isinstance(value, dict):
            unknown = [k for k in value if k not in names]
            missing = [n for n in names if n not in value]
            if unknown or missing:
                raise NnxError(f"the model's {what}s are {', '.join(names)}; got arrays for "
                               f"{', '.join(map(str, value)) or 'none'}")
            return [value[n] for n in names]
        if len(names) == 1:
            return [value]
        if not isinstance(value, (list, tuple)) or len(value) != len(names):
            got = (f"a list of {len(value)}" if isinstance(value, (list, tuple))
                   else f"one {type(value).__name__}")
            raise NnxError(f"the model has {len(names)} {what}s ({', '.join(names)}): give a "
                           f"list of {len(names)} arrays or a dict by name, got {got}")
        return list(value)

    # -- what the kernels are handed ----------------------------------------------------
    def checked(self, compute, *args):
        """compute(*args) with the layers told that the model checked their arrays and feeds
        them its own (prepared inputs, its layers' outputs and gradients): their forward and
        backward then skip the checks a direct call gets."""
        for layer in self.layers:
            layer.in_checked_model = True
        try:
            return compute(*args)
        finally:
            for layer in self.layers:
                layer.in_checked_model = False

    def _checked_arrays(self):
        """(params, grads) as tuples for the optimizer, once every layer's arrays are checked.
        Per step this only compares the arrays (and each layer's input shape, a new tuple at
        every build) with those of the last check, by identity; the full check runs after
        one was replaced."""
        held = []
        for layer in self.layers:
            held += layer.params.values()
            held += layer.grads.values()
            held += layer.state.values()
            held.append(layer.input_shape)
        last = self._arrays_checked
        if last is not None and arrays.same_objects(held, last[0]):
            return last[1]
        self._check_layers()
        step_arrays = tuple(self.parameters()), tuple(self.gradients())
        self._arrays_checked = held, step_arrays
        return step_arrays

    def _record_layer_shapes(self):
        """Remember what each layer was built for, to notice a layer rebuilt since (by hand,
        or by another model sharing it)."""
        self._layer_shapes = [(layer, layer.input_shape, layer.output_shape)
                              for layer in self.layers]

    def _check_layers(self):
        """NnxError when a layer no longer computes in the model's dtype, was rebuilt for
        other shapes, or one of its arrays was replaced by one that does not fit it."""
        for layer, input_shape, output_shape in self._layer_shapes:
            if layer.dtype != self.dtype:
                raise NnxError(f"layer {layer.name!r} computes in {layer.dtype} but the model "
                               f"in {self.dtype}")
            if layer.input_shape != input_shape:
                raise NnxError(f"layer {layer.name!r} was rebuilt for inputs of shape "
                               f"{layer.input_shape}; this model gives it {input_shape}")
            if layer.output_shape != output_shape:
                raise NnxError(f"layer {layer.name!r} was rebuilt: its outputs now have shape "
                               f"{layer.output_shape}; this model was built for {output_shape}")
            layer.check_arrays()

    def _prepare_inputs(self, x):
        if self.built:
            self._check_layers()
        names = self.input_names
        given = self._arrays_by_name(x, names, "input")
        single = len(names) == 1
        xs = []
        for name, a in zip(names, given):
            what = "inputs" if single else f"input {name!r}"
            a = np.asarray(a)
            if a.dtype.kind not in "fiub":
                raise NnxError(f"{what} must be numeric, got dtype {a.dtype}")
            if a.ndim < 2 or len(a) == 0:
                raise NnxError(f"{what} must have a batch axis and at least one sample, got "
                               f"shape {a.shape}")
            a = np.ascontiguousarray(a, dtype=self.dtype)
            if not np.isfinite(a).all():
                raise NnxError(f"{what} contain NaN or infinite values" if single else
                               f"{what} contains NaN or infinite values")
            xs.append(a)
        if not self.built:
            self._build_for([a.shape[1:] for a in xs])
        for name, a, shape in zip(names, xs, self.input_shapes):
            if tuple(a.shape[1:]) != shape:
                what = "inputs" if single else f"input {name!r}"
                raise NnxError(f"the model expects {what} of shape (batch, "
                               f"{', '.join(map(str, shape))}), got {a.shape}")
        for name, a in zip(names[1:], xs[1:]):
            if len(a) != len(xs[0]):
                raise NnxError(f"input {name!r} has {len(a)} samples but input {names[0]!r} "
                               f"has {len(xs[0])}")
        return xs

    def _prepare(self, x, y):
        xs = self._prepare_inputs(x)
        names = self.output_names
        targets = self._arrays_by_name(y, names, "output")
        ys = [self._prepare_target(k, t, len(xs[0])) for k, t in enumerate(targets)]
        return xs, ys

    def _prepare_target(self, k, y, n):
        single = len(self._losses) == 1
        where = "" if single else f"output {self.output_names[k]!r}: "
        loss = self._losses[k]
        y = np.asarray(y)
        if y.ndim == 0:
            raise NnxError(f"{where}targets must be an array with one entry per sample, got "
                           f"{y.item()!r}")
        if len(y) != n:
            raise NnxError(f"{where}inputs have {n} samples but targets have {len(y)}")
        units = self.output_shapes[k]
        if isinstance(loss, losses.CategoricalCrossentropy) and y.ndim == 1:
            if y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
                raise NnxError(f"{where}class labels must be integers")
            labels = y.astype(np.int64)
            if labels.min() < 0 or labels.max() >= units[-1]:
                raise NnxError(f"{where}class labels must be in 0..{units[-1] - 1} for an "
                               f"output of {units[-1]} units, found {labels.min()}.."
                               f"{labels.max()}")
            return labels
        y = np.ascontiguousarray(y, dtype=self.dtype)
        if not np.isfinite(y).all():
            raise NnxError(f"{where}targets contain NaN or infinite values")
        if y.size != len(y) * math.prod(units):
            raise NnxError(f"{where}targets of shape {y.shape} do not match the model output "
                           f"(batch, {', '.join(map(str, units))})")
        y = y.reshape((len(y),) + units)
        if isinstance(loss, losses.BinaryCrossentropy) and not np.all((y >= 0) & (y <= 1)):
            raise NnxError(f"{where}binary_crossentropy targets must be in [0, 1]")
        return y

    # -- description and persistence ---------------------------------------------------
    def get_config(self):
        config = self._structure_config()
        if self.optimizer is not None:
            single = len(self._losses) == 1
            config["compile"] = {
                "optimizer": self.optimizer.get_config(),
                "loss": self._losses[0].get_config() if single else
                [loss.get_config() for loss in self._losses],
                "metrics": self.metric_names}
            if self.loss_weights is not None:
                config["compile"]["loss_weights"] = list(self.loss_weights)
        return config

    def save(self, path, preprocessing=None):
        from nnx.model_io import save_model

        save_model(self, path, preprocessing)


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
        self._flags = [(layer, i > self._lowest_trainable) for i, layer in enumerate(self.layers)
                       if hasattr(layer, "needs_input_grad")]
        for layer, flag in self._flags:
            layer.needs_input_grad = flag
        # An Embedding(mask_zero=True) hands its padding mask to the sequence layers above it.
        self._masking = any(getattr(layer, "mask_zero", False) for layer in self.layers)
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

    def _backward(self, grads, fused):
        layers, grad, top = self.layers, grads[0], len(self.layers)
        if fused[0]:
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


def from_config(config, input_shapes=None):
    """The built model a `get_config()` describes (uncompiled; `load_model` compiles it).

    A config with `inputs` (or `class: Model`) is a graph (`nnx.graph_config`);
    otherwise a Sequential of `layers`. `input_shapes` fills shapes the config leaves out
    (an experiment's data decide them): one per input, or a dict by input name.
    """
    if not isinstance(config, dict):
        raise NnxError(f"a model config must be a mapping, got {type(config).__name__}")
    seed, dtype = config.get("seed", 0), config.get("dtype", "float32")
    if config.get("class") == "Model" or "inputs" in config:
        from nnx.graph_config import graph_from_config

        return graph_from_config(config, seed=seed, dtype=dtype, name=config.get("name"),
                                 input_shapes=input_shapes)
    shape = config.get("input_shape")
    if shape is None and input_shapes:
        shape = input_shapes[0]
    return Sequential(config["layers"], input_shape=shape, seed=seed, dtype=dtype,
                      name=config.get("name"))


def _batch_size(batch_size, n):
    if batch_size is None or batch_size == "full":
        return max(n, 1)
    if isinstance(batch_size, str) or batch_size is None:
        raise NnxError(f"fit: batch_size must be a positive integer, None or 'full', got "
                       f"{batch_size!r}")
    return checks.integer("fit", "batch_size", batch_size, minimum=1)


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
    if hasattr(layer, "mask"):
        layer.mask = mask if mask is not None and mask.shape == x.shape[:2] else None


def _mask_after(layer, y, mask):
    """The mask of a layer's output: an Embedding with mask_zero starts one; it travels while
    the output keeps the time axis, and ends where the output is no longer that sequence."""
    started = getattr(layer, "output_mask", None)
    if started is not None:
        return started
    return mask if mask is not None and y.ndim >= 3 and y.shape[:2] == mask.shape else None
