"""Loss classes: `forward(pred, target, sample_weight=None) -> float` (mean over the batch),
`backward() -> dpred`.

Sample weights scale each sample's loss and its gradient; the mean stays over the batch's
samples, sum_i w_i l_i / N, as in Keras (nnx.kernels.losses).

A softmax (sigmoid) output followed by categorical (binary) cross-entropy is fused by the
model: it asks the loss for `with_logits()` and feeds the output layer's pre-activation, so
the gradient at the logits is exact and finite for any logits.
"""

import inspect
import math

import numpy as np

from nnx import arrays, checks, sample_weights
from nnx.errors import NnxError
from nnx.kernels import lazy
from nnx.registry import Registry

kernels = lazy("losses")


class Loss:
    name = ""
    fused_activation = None  # the output activation this loss can be fused with
    tasks = ()  # the tasks (the data decide the task) this loss fits

    def __init__(self, from_logits=False):
        self.from_logits = bool(from_logits)
        self._grad = None
        self._unweighted = None  # the empty weight array the kernels read as "1 each"

    def forward(self, pred, target, sample_weight=None):
        """The mean loss over the batch, each sample's loss times its `sample_weight` (N,)
        when given. The arrays are checked and converted first (the kernels trust their
        shapes and labels); a model calls `value` with its data already checked."""
        pred = np.asarray(pred)
        dtype = pred.dtype if pred.dtype in arrays.FLOATS else np.dtype("float64")
        pred = arrays.c_array(pred, dtype, f"{self.name}: predictions")
        if pred.ndim == 0 or len(pred) == 0:
            raise NnxError(f"{self.name}: predictions need a batch axis and at least one "
                           f"sample, got shape {pred.shape}")
        weight = None
        if sample_weight is not None:
            where = f"{self.name}: "
            weight = sample_weights.in_dtype(sample_weights.checked_sample_weight(
                sample_weight, len(pred), where), pred.dtype, where)
        return self.value(pred, self.checked_target(np.asarray(target), pred), weight)

    def value(self, pred, target, weight=None):
        """`forward` on arrays already checked: pred C-contiguous float, target as
        `checked_target` returns it, weight None or C-contiguous (N,) in pred's dtype."""
        pred2 = pred.reshape(pred.shape[0], -1)
        if self._grad is None or self._grad.shape != pred2.shape or self._grad.dtype != pred.dtype:
            self._grad = np.empty_like(pred2)
            self._unweighted = np.empty(0, dtype=pred.dtype)
        self._shape = pred.shape
        if weight is None:
            weight = self._unweighted
        return float(self.compute(pred2, self.flat_target(target, pred2), weight, self._grad))

    def backward(self):
        if self._grad is None:
            raise NnxError(f"{self.name}: backward needs a forward first")
        return self._grad.reshape(self._shape)

    def checked_target(self, target, pred):
        """Targets of as many numbers as the predictions, in their dtype."""
        target = arrays.c_array(target, pred.dtype, f"{self.name}: targets")
        if target.size != pred.size or target.shape[:1] != pred.shape[:1]:
            raise NnxError(f"{self.name}: targets of shape {target.shape} do not match "
                           f"predictions of shape {pred.shape}")
        return target

    def flat_target(self, target, pred2):
        return target.reshape(pred2.shape)

    def compute(self, pred, target, weight, grad):
        """The kernel call: mean weighted loss of (n, m) `pred`, gradient into `grad`."""
        raise NotImplementedError

    def decision(self):
        """What metrics read this loss's predictions as: "argmax" (class probabilities) or
        "argmax_logits", the threshold of a binary or multi-label output (0.5 on
        probabilities, 0.0 on logits), or None (regression); see nnx.metrics."""
        return None

    def prepare_target(self, y, units, dtype, where=""):
        """A model's targets `y` for an output of per-sample shape `units`, checked once
        for a whole fit: (N, *units) in `dtype`. NnxError says what is wrong, after
        `where` ("output 'cls': " with several outputs)."""
        y = np.ascontiguousarray(y, dtype=dtype)
        if not np.isfinite(y).all():
            raise NnxError(f"{where}targets contain NaN or infinite values")
        if y.size != len(y) * math.prod(units):
            raise NnxError(f"{where}targets of shape {y.shape} do not match the model output "
                           f"(batch, {', '.join(map(str, units))})")
        return y.reshape((len(y),) + tuple(units))

    def with_logits(self):
        """The same loss taking logits (for fusion with `fused_activation`)."""
        config = self.get_config()
        config["from_logits"] = True
        return type(self)(**{k: v for k, v in config.items() if k != "type"})

    def get_config(self):
        params = inspect.signature(type(self).__init__).parameters
        return {"type": self.name, **{k: getattr(self, k) for k in params if k != "self"}}


class MeanSquaredError(Loss):
    name = "mse"
    tasks = ("regression", "binary", "multilabel")

    def __init__(self):
        super().__init__()

    def compute(self, pred, target, weight, grad):
        return kernels.mse(pred, target, weight, grad)


class MeanAbsoluteError(Loss):
    name = "mae"
    tasks = ("regression", "binary", "multilabel")

    def __init__(self):
        super().__init__()

    def compute(self, pred, target, weight, grad):
        return kernels.mae(pred, target, weight, grad)


class Huber(Loss):
    name = "huber"
    tasks = ("regression", "binary", "multilabel")

    def __init__(self, delta=1.0):
        super().__init__()
        self.delta = checks.number("huber", "delta", delta, above=0.0)

    def compute(self, pred, target, weight, grad):
        return kernels.huber(pred, target, self.delta, weight, grad)


class BinaryCrossentropy(Loss):
    """Targets 0/1; several columns are independent labels (multi-label)."""

    name = "binary_crossentropy"
    fused_activation = "sigmoid"
    tasks = ("binary", "multilabel")

    def compute(self, pred, target, weight, grad):
        if self.from_logits:
            return kernels.bce_logits(pred, target, weight, grad)
        return kernels.bce(pred, target, weight, grad)

    def decision(self):
        return 0.0 if self.from_logits else 0.5

    def prepare_target(self, y, units, dtype, where=""):
        y = super().prepare_target(y, units, dtype, where)
        if not np.all((y >= 0) & (y <= 1)):
            raise NnxError(f"{where}binary_crossentropy targets must be in [0, 1]")
        return y


class CategoricalCrossentropy(Loss):
    """Targets as int labels (N,) or one-hot / soft (N, C)."""

    name = "categorical_crossentropy"
    fused_activation = "softmax"
    tasks = ("multiclass",)

    def checked_target(self, target, pred):
        """(N,) integer class labels within the predictions' columns, or one-hot rows."""
        if target.ndim != 1:
            return super().checked_target(target, pred)
        classes = pred.size // len(pred)
        if (len(target) != len(pred) or target.dtype.kind not in "fiub"
                or not np.all(np.mod(target, 1) == 0)):
            raise NnxError(f"{self.name}: class labels must be {len(pred)} integers, got "
                           f"{target.dtype} of shape {target.shape}")
        if target.min() < 0 or target.max() >= classes:
            raise NnxError(f"{self.name}: class labels must be in 0..{classes - 1} for "
                           f"predictions of {classes} classes, found {target.min()}.."
                           f"{target.max()}")
        return np.ascontiguousarray(target, dtype=np.int64)

    def flat_target(self, target, pred2):
        return target if target.ndim == 1 else target.reshape(pred2.shape)

    def decision(self):
        return "argmax_logits" if self.from_logits else "argmax"

    def prepare_target(self, y, units, dtype, where=""):
        """Integer class labels (N,) stay labels (int64), checked against the classes;
        one-hot or soft rows are checked as numbers."""
        if y.ndim != 1:
            return super().prepare_target(y, units, dtype, where)
        if y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
            raise NnxError(f"{where}class labels must be integers")
        labels = y.astype(np.int64)
        if labels.min() < 0 or labels.max() >= units[-1]:
            raise NnxError(f"{where}class labels must be in 0..{units[-1] - 1} for an "
                           f"output of {units[-1]} units, found {labels.min()}.."
                           f"{labels.max()}")
        return labels

    def compute(self, pred, target, weight, grad):
        if self.from_logits:
            return kernels.cce_logits(pred, target, weight, grad)
        return kernels.cce(pred, target, weight, grad)


LOSSES = Registry("loss", {cls.name: cls for cls in (
    MeanSquaredError, MeanAbsoluteError, Huber, BinaryCrossentropy, CategoricalCrossentropy)})
for _alias, _name in {"mean_squared_error": "mse", "mean_absolute_error": "mae",
                      "bce": "binary_crossentropy", "crossentropy": "categorical_crossentropy",
                      "sparse_categorical_crossentropy": "categorical_crossentropy"}.items():
    LOSSES.register(_alias, LOSSES.get(_name))


def get(spec):
    """A Loss from a name, a `{type: NAME, ...}` mapping, or a Loss."""
    return spec if isinstance(spec, Loss) else LOSSES.create(spec)
