"""Sequential: a stack of layers with Keras' compile / fit / evaluate / predict / save.

Python drives the loop (epochs, batches, callbacks); each layer pass is one kernel call.
One seed drives initialization, shuffling and dropout: the model spawns a generator per
layer and one for shuffling from it, so the same seed gives the same numbers.
"""

import math

import numpy as np

from nnx import callbacks as callbacks_module
from nnx import checks, losses, optimizers
from nnx import layers as layers_module
from nnx import metrics as metrics_module
from nnx.errors import NnxError

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


class Sequential:
    def __init__(self, layers=None, input_shape=None, seed=0, dtype="float32", name=None):
        if dtype not in DTYPES:
            raise NnxError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        checks.integer("model", "seed", seed)
        self.layers = [layers_module.from_config(l) if isinstance(l, dict) else l
                       for l in (layers or [])]
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, layers_module.Layer):
                raise NnxError(f"model layer {i} is not a layer: {layer!r}")
        self.seed, self.dtype, self.name = int(seed), np.dtype(dtype), name
        self.optimizer = self.loss = None
        self.metric_names = []
        self.built = False
        self.input_shape = self.output_shape = None
        self.stop_training = False
        self.status, self.stop_reason = "completed", None
        if input_shape is not None:
            self.build(input_shape)

    # -- structure --------------------------------------------------------------------
    def build(self, input_shape):
        if not self.layers:
            raise NnxError("the model has no layers")
        seeds = np.random.SeedSequence(self.seed).spawn(len(self.layers) + 1)
        shape = tuple(int(d) for d in input_shape)
        self.input_shape = shape
        for i, (layer, seq) in enumerate(zip(self.layers, seeds)):
            layer.dtype = self.dtype
            try:
                layer.build(shape, np.random.default_rng(seq))
            except NnxError as err:
                raise NnxError(f"layer {i} ({layer.name}): {err}") from None
            shape = layer.output_shape
        self.output_shape = shape
        self._shuffle_rng = np.random.default_rng(seeds[-1])
        # Backward can stop at the lowest layer with parameters: nothing below needs dx.
        with_params = [i for i, layer in enumerate(self.layers) if layer.params]
        self._lowest_trainable = with_params[0] if with_params else len(self.layers)
        for i, layer in enumerate(self.layers):
            if hasattr(layer, "needs_input_grad"):
                layer.needs_input_grad = i > self._lowest_trainable
        self.built = True

    def parameters(self):
        return [p for layer in self.layers for p in layer.params.values()]

    def gradients(self):
        return [layer.grads[k] for layer in self.layers for k in layer.params]

    def get_weights(self):
        """A copy of every parameter and state array, in layer order."""
        return [{k: v.copy() for k, v in {**layer.params, **layer.state}.items()}
                for layer in self.layers]

    def set_weights(self, weights):
        for layer, arrays in zip(self.layers, weights):
            for key, value in arrays.items():
                table = layer.params if key in layer.params else layer.state
                table[key][...] = value

    def count_params(self):
        return sum(layer.count_params() for layer in self.layers)

    # -- training ---------------------------------------------------------------------
    def compile(self, optimizer="adam", loss="mse", metrics=None):
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        self.metric_names = list(metrics or [])
        self._metric_fns = {name: metrics_module.get(name) for name in self.metric_names}
        self._fused_loss = None
        last = self.layers[-1] if self.layers else None
        if (last is not None and not self.loss.from_logits and self.loss.fused_activation
                and getattr(last, "activation", None) == self.loss.fused_activation):
            self._fused_loss = self.loss.with_logits()
        if isinstance(self.loss, losses.CategoricalCrossentropy):
            self._decision = "argmax"
        elif isinstance(self.loss, losses.BinaryCrossentropy):
            self._decision = 0.0 if self.loss.from_logits else 0.5
        else:
            self._decision = None
        return self

    def fit(self, x, y, epochs=1, batch_size=32, validation_data=None, validation_split=0.0,
            shuffle=True, callbacks=None, verbose=0):
        """Train; returns a History. `batch_size=None` or "full": one update per epoch."""
        if self.optimizer is None:
            raise NnxError("compile the model before fit")
        checks.integer("fit", "epochs", epochs)
        x, y = self._prepare(x, y)
        if validation_data is None and validation_split:
            if not 0.0 < validation_split < 1.0:
                raise NnxError(f"validation_split must be in (0, 1), got {validation_split!r}")
            cut = len(x) - int(round(len(x) * validation_split))
            if cut < 1 or cut == len(x):
                raise NnxError(f"validation_split {validation_split} of {len(x)} samples leaves "
                               "an empty split")
            validation_data = (x[cut:], y[cut:])
            x, y = x[:cut], y[:cut]
        if validation_data is not None:
            validation_data = self._prepare(*validation_data)
        batch = _batch_size(batch_size, len(x))

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
                logs = self._train_epoch(x, y, batch, shuffle, batch_hooks)
                if validation_data is not None and not self.stop_training:
                    logs.update({f"val_{k}": v for k, v in
                                 self.evaluate(*validation_data, batch_size=batch_size).items()})
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

    def _train_epoch(self, x, y, batch, shuffle, batch_hooks):
        n = len(x)
        order = self._shuffle_rng.permutation(n) if shuffle else None
        preds = np.empty((n,) + self.output_shape, dtype=self.dtype)
        total, seen = 0.0, 0
        for step, start in enumerate(range(0, n, batch)):
            stop = min(start + batch, n)
            if order is None:
                xb, yb = x[start:stop], y[start:stop]
            else:
                idx = order[start:stop]
                xb, yb = x[idx], y[idx]
            loss, out = self.train_step(xb, yb)
            preds[start:stop] = out
            total += loss * (stop - start)
            seen = stop
            for cb in batch_hooks:
                cb.on_batch_end(step, {"loss": loss})
            if self.stop_training:
                break
        logs = {"loss": total / max(seen, 1)}
        targets = y if order is None else y[order]
        for name, fn in self._metric_fns.items():
            logs[name] = fn(preds[:seen], targets[:seen], self._decision)
        return logs

    def train_step(self, xb, yb):
        """One forward, backward and update on a batch; returns (loss, output)."""
        out = xb
        for layer in self.layers:
            out = layer.forward(out, training=True)
        loss = self._backward_from_loss(out, yb)
        params, grads = self.parameters(), self.gradients()
        self.optimizer.step(params, grads)
        return loss, out

    def _backward_from_loss(self, out, target):
        layers = self.layers
        if self._fused_loss is not None:
            last = layers[-1]
            loss = self._fused_loss.forward(last.preactivation, target)
            grad = last.backward_preactivation(self._fused_loss.backward())
            below = len(layers) - 1
        else:
            loss = self.loss.forward(out, target)
            grad, below = self.loss.backward(), len(layers)
        for i in range(below - 1, self._lowest_trainable - 1, -1):
            grad = layers[i].backward(grad)
        return loss + self._penalty()

    def _penalty(self):
        return sum(layer.regularization_loss() for layer in self.layers)

    # -- inference --------------------------------------------------------------------
    def predict(self, x, batch_size=None):
        x = self._prepare_x(x)
        if not self.built:
            self.build(x.shape[1:])
        batch = _batch_size(batch_size, len(x))
        if batch >= len(x):
            return self._forward(x)
        return np.concatenate([self._forward(x[s:s + batch]) for s in range(0, len(x), batch)])

    def _forward(self, x):
        for layer in self.layers:
            x = layer.forward(x, training=False)
        return x

    def evaluate(self, x, y, batch_size=None):
        """{"loss": ..., metric: ...} over (x, y) in inference mode."""
        if self.loss is None:
            raise NnxError("compile the model before evaluate")
        x, y = self._prepare(x, y)
        batch = _batch_size(batch_size, len(x))
        preds = np.empty((len(x),) + self.output_shape, dtype=self.dtype)
        total = 0.0
        for start in range(0, len(x), batch):
            stop = min(start + batch, len(x))
            out = self._forward(x[start:stop])
            preds[start:stop] = out
            if self._fused_loss is not None:
                value = self._fused_loss.forward(self.layers[-1].preactivation, y[start:stop])
            else:
                value = self.loss.forward(out, y[start:stop])
            total += value * (stop - start)
        result = {"loss": total / len(x) + self._penalty()}
        for name, fn in self._metric_fns.items():
            result[name] = fn(preds, y, self._decision)
        return result

    # -- input checks -----------------------------------------------------------------
    def _prepare_x(self, x):
        x = np.asarray(x)
        if x.dtype.kind not in "fiub":
            raise NnxError(f"inputs must be numeric, got dtype {x.dtype}")
        if x.ndim < 2 or len(x) == 0:
            raise NnxError(f"inputs must have a batch axis and at least one sample, got shape "
                           f"{x.shape}")
        x = np.ascontiguousarray(x, dtype=self.dtype)
        if not np.isfinite(x).all():
            raise NnxError("inputs contain NaN or infinite values")
        if self.built and tuple(x.shape[1:]) != self.input_shape:
            raise NnxError(f"the model expects inputs of shape (batch, "
                           f"{', '.join(map(str, self.input_shape))}), got {x.shape}")
        return x

    def _prepare(self, x, y):
        x = self._prepare_x(x)
        if not self.built:
            self.build(x.shape[1:])
        y = np.asarray(y)
        if len(y) != len(x):
            raise NnxError(f"inputs have {len(x)} samples but targets have {len(y)}")
        units = self.output_shape
        if isinstance(self.loss, losses.CategoricalCrossentropy) and y.ndim == 1:
            if y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
                raise NnxError("class labels must be integers")
            labels = y.astype(np.int64)
            if labels.min() < 0 or labels.max() >= units[-1]:
                raise NnxError(f"class labels must be in 0..{units[-1] - 1} for an output of "
                               f"{units[-1]} units, found {labels.min()}..{labels.max()}")
            return x, labels
        y = np.ascontiguousarray(y, dtype=self.dtype)
        if not np.isfinite(y).all():
            raise NnxError("targets contain NaN or infinite values")
        if y.size != len(y) * math.prod(units):
            raise NnxError(f"targets of shape {y.shape} do not match the model output "
                           f"(batch, {', '.join(map(str, units))})")
        y = y.reshape((len(y),) + units)
        if isinstance(self.loss, losses.BinaryCrossentropy) and not np.all((y >= 0) & (y <= 1)):
            raise NnxError("binary_crossentropy targets must be in [0, 1]")
        return x, y

    # -- description and persistence ---------------------------------------------------
    def get_config(self):
        config = {"class": "Sequential", "seed": self.seed, "dtype": self.dtype.name,
                  "input_shape": list(self.input_shape) if self.input_shape else None,
                  "layers": [{"type": layers_module.snake_case(type(l).__name__),
                              **l.get_config()} for l in self.layers]}
        if self.optimizer is not None:
            config["compile"] = {"optimizer": self.optimizer.get_config(),
                                 "loss": self.loss.get_config(), "metrics": self.metric_names}
        return config

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

    def save(self, path, preprocessing=None):
        from nnx.model_io import save_model

        save_model(self, path, preprocessing)


def _batch_size(batch_size, n):
    if batch_size is None or batch_size == "full":
        return max(n, 1)
    if isinstance(batch_size, str) or batch_size is None:
        raise NnxError(f"fit: batch_size must be a positive integer, None or 'full', got "
                       f"{batch_size!r}")
    return checks.integer("fit", "batch_size", batch_size, minimum=1)
