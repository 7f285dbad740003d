"""The training engine shared by `Sequential` and the functional `Model`: compile, the fit
loop, evaluate, predict, weights, and what the kernels are handed.

Python drives the loop (epochs, batches, callbacks); each layer pass is one kernel call.
One seed drives initialization, shuffling and dropout: the model spawns a generator per
layer and one for shuffling from it, so the same seed gives the same numbers.
"""

import numpy as np

from nnx import arrays, checks, optimizers, progress, sample_weights
from nnx import callbacks as callbacks_module
from nnx.errors import NnxError
from nnx.model import inputs
from nnx.model import weights as weights_module
from nnx.model.heads import make_heads
from nnx.model.io import save_model

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
    - `_backward(grads)`: backpropagate one gradient per output; where `heads[k].fused`,
      `grads[k]` is the gradient at the pre-activation of the layer `_output_layer(k)`;
    - `_output_layer(k)`: the layer whose activation may fuse with output k's loss, or None;
    - `_forward_fn(output)`: a function xs -> [arrays] computing the named node(s);
    - `_build_for(input_shapes)` (models built at the first fit/predict), `_input_grad_flags()`
      ([(layer, needs_input_grad)], set before every step: layers may be shared by models),
      `_structure_config()`, `summary()` and `summary_rows()`.

    One training step: `_forward(training=True)` -> each head's loss (from the output, or
    from the output layer's `preactivation` when fused) -> `_backward` -> the layers'
    regularization gradients -> optimizer step.
    """

    def __init__(self, seed=0, dtype="float32", name=None):
        if dtype not in DTYPES:
            raise NnxError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        checks.integer("model", "seed", seed)
        self.seed, self.dtype, self.name = int(seed), np.dtype(dtype), name
        self.optimizer = self.loss = self.loss_weights = None
        self.metric_names = []
        self.heads = []  # an OutputHead per output, made by compile
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
        weights_module.copy_into(self.layers, weights)

    def count_params(self):
        return sum(layer.count_params() for layer in self.layers)

    # -- compile ----------------------------------------------------------------------
    def compile(self, optimizer="adam", loss="mse", metrics=None, loss_weights=None):
        """`loss`, `metrics` and `loss_weights` may be given per output: as a list in output
        order or a dict by output name; a single loss or metric list applies to every
        output. The training loss is sum_k weight_k * loss_k (+ regularization)."""
        self.optimizer = optimizers.get(optimizer)
        if self.built:  # state for these arrays now (a reused optimizer keeps other models')
            self._check_layers()
            self.optimizer.build(self.parameters())
        output_layers = [self._output_layer(k) for k in range(len(self.output_names))]
        self.heads, self.metric_names, self.loss_weights = make_heads(
            self.output_names, output_layers, loss, metrics, loss_weights)
        compiled = [head.loss for head in self.heads]
        self.loss = compiled[0] if len(compiled) == 1 else compiled
        return self

    # -- training ---------------------------------------------------------------------
    def fit(self, x, y, epochs=1, batch_size=32, validation_data=None, validation_split=0.0,
            shuffle=True, callbacks=None, verbose="auto", class_weight=None, sample_weight=None):
        """Train; returns a History. `batch_size=None` or "full": one update per epoch.
        Several inputs or outputs: `x` and `y` are lists (or dicts by name) of arrays.
        `verbose`: "auto" (a progress bar on a terminal, nothing under a pipe or cron), 0,
        1 (a bar) or 2 (a line per epoch), as in Keras.

        `sample_weight` (N,) and `class_weight` ({class: weight} or "balanced", computed on
        the training samples) weight each training sample's loss and gradient, as in Keras
        (per output with several: `nnx.model.inputs.loss_weights_per_sample`); the logged
        `loss` is then the weighted one. Validation losses and all metrics stay unweighted.
        """
        if self.optimizer is None:
            raise NnxError("compile the model before fit")
        checks.integer("fit", "epochs", epochs)
        reporter = progress.fit_reporter(verbose)
        xs, ys = self._prepare(x, y)
        given = inputs.sample_weight_arrays(self.heads, sample_weight, len(xs[0]))
        validation = None
        if validation_data is None and validation_split:
            (xs, ys), validation = inputs.split_validation(xs, ys, validation_split)
            given = [None if w is None else w[:len(xs[0])] for w in given]
        elif validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise NnxError("validation_data must be a pair (x, y)")
            validation = self._prepare(*validation_data)
        batch = inputs.batch_size(batch_size, len(xs[0]))
        ws = inputs.loss_weights_per_sample(self.heads, ys, self.output_shapes, class_weight,
                                            given, self.dtype)

        history = History()
        cbs = [callbacks_module.DivergenceGuard(), *(callbacks or [])]
        if reporter is not None:
            steps = -(-len(xs[0]) // batch)
            cbs.append(callbacks_module.ProgressReport(reporter, {"epochs": epochs,
                                                                   "steps": steps}))
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
                logs = self._train_epoch(xs, ys, ws, batch, shuffle, batch_hooks)
                if validation is not None and not self.stop_training:
                    vbatch = inputs.batch_size(batch_size, len(validation[0][0]))
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

    def _train_epoch(self, xs, ys, ws, batch, shuffle, batch_hooks):
        n = len(xs[0])
        order = inputs.epoch_order(xs, self._shuffle_rng) if shuffle else None
        preds = self._prediction_buffers(n)
        total, seen = 0.0, 0
        per_output = [0.0] * len(ys)
        batches = inputs.epoch_batches((xs, ys, ws), order, batch)
        for step, (start, stop, (xb, yb, wb)) in enumerate(batches):
            loss, out = self._train_step(xb, yb, wb)
            outs = [out] if len(ys) == 1 else out
            for buffer, o in zip(preds, outs):
                if buffer is not None:
                    buffer[start:stop] = o
            total += loss * (stop - start)
            for k, value in enumerate(self._last_losses):
                per_output[k] += value * (stop - start)
            seen = stop
            for cb in batch_hooks:  # rebinding leaves this loop on the list it started with
                if cb.on_batch_end(step, {"loss": loss}) is callbacks_module.SKIP_REST_OF_EPOCH:
                    batch_hooks = [hook for hook in batch_hooks if hook is not cb]
            if self.stop_training:
                break
        targets = [None if p is None else (t if order is None else t[order])[:seen]
                   for p, t in zip(preds, ys)]
        return self._logs(total / max(seen, 1), [v / max(seen, 1) for v in per_output],
                          [p if p is None else p[:seen] for p in preds], targets)

    def _prediction_buffers(self, n):
        """Per output, room for `n` predictions where a metric needs them (else None)."""
        return [np.empty((n,) + shape, dtype=self.dtype) if head.metrics else None
                for head, shape in zip(self.heads, self.output_shapes)]

    def _logs(self, loss, per_output, preds, targets):
        """{"loss", and with several outputs `<output>_loss`, then every metric}."""
        logs = {"loss": loss}
        single = len(self.heads) == 1
        if not single:
            logs.update({f"{head.name}_loss": value
                         for head, value in zip(self.heads, per_output)})
        for head, pred, target in zip(self.heads, preds, targets):
            if pred is not None:
                for metric, value in head.scores(pred, target).items():
                    logs[metric if single else f"{head.name}_{metric}"] = value
        return logs

    def train_step(self, xb, yb):
        """One forward, backward and update on a batch; returns (loss, output). Several
        inputs/outputs: lists of arrays in, a list of outputs back. The batch is checked and
        converted as fit's data is (dtype, shapes, class labels)."""
        if self.optimizer is None:
            raise NnxError("compile the model before train_step")
        return self._train_step(*self._prepare(xb, yb))

    def _train_step(self, xs, ys, ws=None):
        """train_step on lists of prepared arrays (`ws`: per output, loss weights or None):
        fit's inner loop."""
        params, grads = self._checked_arrays()
        for layer, flag in self._input_grad_flags():  # layers may be shared with a submodel
            layer.needs_input_grad = flag
        outs, loss = self.checked(self._forward_and_backward, xs, ys, ws or [None] * len(ys))
        if params:  # a model of parameter-free layers (merges only) has nothing to update
            self.optimizer.step(params, grads)
        return loss, self._unlist(outs)

    def _forward_and_backward(self, xs, ys, ws):
        outs = self._forward(xs, training=True)
        loss, grads = self._losses_and_grads(outs, ys, ws)
        self._backward(grads)
        for layer in self.layers:
            layer.add_regularization_gradient()
        return outs, loss

    def _losses_and_grads(self, outs, ys, ws):
        """(weighted total + penalty, gradient per output); keeps the per-output values."""
        total, grads, values = 0.0, [], []
        for head, out, target, row_weights in zip(self.heads, outs, ys, ws):
            value = head.value(out, target, row_weights)
            grad = head.computed.backward()
            weight = head.weight
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
        batch = inputs.batch_size(batch_size, n)
        if batch >= n:
            outs = self.checked(forward, [a[:n] for a in xs])  # a row source reads its rows
        else:
            chunks = [self.checked(forward, [a[s:s + batch] for a in xs])
                      for s in range(0, n, batch)]
            outs = [np.concatenate([c[k] for c in chunks]) for k in range(len(chunks[0]))]
        return outs if isinstance(output, (list, tuple)) else self._unlist(outs)

    def evaluate(self, x, y, batch_size=None, sample_weight=None):
        """{"loss": ..., metric: ...} over (x, y) in inference mode; with several outputs
        also `<output>_loss` (not multiplied by its loss weight) and `<output>_<metric>`.
        `sample_weight` weights the losses as in fit (as in Keras); metrics stay unweighted."""
        if self.loss is None:
            raise NnxError("compile the model before evaluate")
        xs, ys = self._prepare(x, y)
        given = inputs.sample_weight_arrays(self.heads, sample_weight, len(xs[0]))
        ws = [None if w is None else sample_weights.in_dtype(w, self.dtype) for w in given]
        return self._evaluate(xs, ys, inputs.batch_size(batch_size, len(xs[0])), ws)

    def _evaluate(self, xs, ys, batch, ws=None):
        n = len(xs[0])
        ws = ws or [None] * len(ys)
        preds = self._prediction_buffers(n)
        totals = [0.0] * len(ys)
        for start in range(0, n, batch):
            stop = min(start + batch, n)
            outs = self.checked(self._forward, [a[start:stop] for a in xs], False)
            for k, (head, out) in enumerate(zip(self.heads, outs)):
                if preds[k] is not None:
                    preds[k][start:stop] = out
                weight = None if ws[k] is None else ws[k][start:stop]
                totals[k] += head.value(out, ys[k][start:stop], weight) * (stop - start)
        means = [t / n for t in totals]
        loss = sum(head.weight * m for head, m in zip(self.heads, means)) + self._penalty()
        return self._logs(loss, means, preds, ys)

    @staticmethod
    def _unlist(values):
        return values[0] if len(values) == 1 else values

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
        self._layer_shapes = weights_module.built_shapes(self.layers)

    def _check_layers(self):
        weights_module.check_layers(self._layer_shapes, self.dtype)

    def _prepare_inputs(self, x):
        if self.built:
            self._check_layers()
        xs = inputs.input_arrays(x, self.input_names, self.dtype)
        if not self.built:
            self._build_for([a.shape[1:] for a in xs])
        inputs.check_inputs(xs, self.input_names, self.input_shapes)
        return xs

    def _prepare(self, x, y):
        xs = self._prepare_inputs(x)
        return xs, inputs.target_arrays(y, self.heads, self.output_shapes, len(xs[0]),
                                        self.dtype)

    # -- description and persistence ---------------------------------------------------
    def get_config(self):
        config = self._structure_config()
        if self.optimizer is not None:
            compiled = [head.loss.get_config() for head in self.heads]
            config["compile"] = {
                "optimizer": self.optimizer.get_config(),
                "loss": compiled[0] if len(compiled) == 1 else compiled,
                "metrics": self.metric_names}
            if self.loss_weights is not None:
                config["compile"]["loss_weights"] = list(self.loss_weights)
        return config

    def save(self, path, preprocessing=None):
        """Write the model file (nnx.model.io): its config, compile state and arrays."""
        save_model(self, path, preprocessing)
