"""The data a model is handed, checked and converted once at the edge: inputs as contiguous
arrays in the model's dtype, targets as each output's loss wants them (`Loss.prepare_target`),
one entry per named input or output, batch sizes and validation splits. The training loop
then trusts them.
"""

import numpy as np

from nnx import checks
from nnx import sample_weights as weights_module
from nnx.errors import NnxError


def arrays_by_name(value, names, what):
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


def input_arrays(x, names, dtype):
    """The inputs `x` (an array, or a list / dict by name for several) as C-contiguous
    finite arrays of `dtype` with a batch axis; their shapes are checked by `check_inputs`
    (a model not built yet learns them first).

    A row source (an object with `shape`, `dtype`, `epoch_order(rng)` and `[index]` giving
    a batch array, such as `nnx.data.MappedRows` over a memory-mapped file) is kept as it
    is: fit, evaluate and predict read it a batch at a time, its values checked by its
    maker."""
    single = len(names) == 1
    xs = []
    for name, a in zip(names, arrays_by_name(x, names, "input")):
        what = "inputs" if single else f"input {name!r}"
        if hasattr(a, "epoch_order"):
            if np.dtype(a.dtype) != np.dtype(dtype) or len(a.shape) < 2 or not len(a):
                raise NnxError(f"{what}: a row source of dtype {np.dtype(a.dtype).name} and "
                               f"shape {a.shape}; the model needs {np.dtype(dtype).name} and "
                               "at least one sample")
            xs.append(a)
            continue
        a = np.asarray(a)
        if a.dtype.kind not in "fiub":
            raise NnxError(f"{what} must be numeric, got dtype {a.dtype}")
        if a.ndim < 2 or len(a) == 0:
            raise NnxError(f"{what} must have a batch axis and at least one sample, got "
                           f"shape {a.shape}")
        a = np.ascontiguousarray(a, dtype=dtype)
        if not all_finite(a):
            raise NnxError(f"{what} contain NaN or infinite values" if single else
                           f"{what} contains NaN or infinite values")
        xs.append(a)
    return xs


def all_finite(a):
    """Whether every value of the float array `a` is finite. From a million values on, a sum
    says so faster than the elementwise check, whose boolean temporary that large is fresh
    memory at every call: NaN and infinities carry into any sum, and only a sum that
    overflowed (or found one) needs the elementwise check."""
    if a.size < 1 << 20:
        return bool(np.isfinite(a).all())
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(a, axis=None)
    return bool(np.isfinite(total)) or bool(np.isfinite(a).all())


def epoch_order(xs, rng):
    """The order of one training epoch: a permutation, or the row source's own (reads that
    stay close to sequential)."""
    source = xs[0]
    return source.epoch_order(rng) if hasattr(source, "epoch_order") else \
        rng.permutation(len(source))


def epoch_batches(groups, order, batch):
    """(start, stop, per group the batch of each of its arrays) for each batch of one epoch
    over `groups` (lists of arrays with as many rows, None entries kept): views when `order`
    is None, else the rows `order[start:stop]` gathered into one buffer per array that every
    batch reuses (no fresh array per batch), a row source reading its own. A batch lives
    until the next."""
    n = len(groups[0][0])
    if order is None:
        for start in range(0, n, batch):
            stop = min(start + batch, n)
            yield start, stop, [[None if a is None else a[start:stop] for a in group]
                                for group in groups]
        return
    buffered = [[(a, None if a is None or hasattr(a, "epoch_order") else
                  np.empty((min(batch, n),) + a.shape[1:], dtype=a.dtype)) for a in group]
                for group in groups]
    for start in range(0, n, batch):
        stop = min(start + batch, n)
        rows = order[start:stop]
        # mode="wrap": the rows are in range, and "raise" would gather through a temporary
        yield start, stop, [[a if a is None else a[rows] if buffer is None else
                             a.take(rows, axis=0, out=buffer[:stop - start], mode="wrap")
                             for a, buffer in group] for group in buffered]


def check_inputs(xs, names, shapes):
    """NnxError unless each input has the per-sample shape the model expects and all have
    as many samples."""
    single = len(names) == 1
    for name, a, shape in zip(names, xs, shapes):
        if tuple(a.shape[1:]) != shape:
            what = "inputs" if single else f"input {name!r}"
            raise NnxError(f"the model expects {what} of shape (batch, "
                           f"{', '.join(map(str, shape))}), got {a.shape}")
    for name, a in zip(names[1:], xs[1:]):
        if len(a) != len(xs[0]):
            raise NnxError(f"input {name!r} has {len(a)} samples but input {names[0]!r} "
                           f"has {len(xs[0])}")


def target_arrays(y, heads, shapes, n, dtype):
    """The targets `y` of `n` samples, one per output head, as its loss wants them for an
    output of per-sample shape `shapes[k]`."""
    single = len(heads) == 1
    targets = arrays_by_name(y, [head.name for head in heads], "output")
    prepared = []
    for head, shape, target in zip(heads, shapes, targets):
        where = "" if single else f"output {head.name!r}: "
        target = np.asarray(target)
        if target.ndim == 0:
            raise NnxError(f"{where}targets must be an array with one entry per sample, got "
                           f"{target.item()!r}")
        if len(target) != n:
            raise NnxError(f"{where}inputs have {n} samples but targets have {len(target)}")
        prepared.append(head.loss.prepare_target(target, shape, dtype, where))
    return prepared


def sample_weight_arrays(heads, sample_weight, n):
    """Per output, `sample_weight` checked as float64 (n,), or None: one array for every
    output, or (several outputs) a list / dict by output name with None for an output
    without."""
    names = [head.name for head in heads]
    several = len(names) > 1
    given = _per_output(sample_weight, names, lambda v: not several or isinstance(v, np.ndarray))
    return [None if w is None else weights_module.checked_sample_weight(
        w, n, f"output {name!r}: " if several else "") for name, w in zip(names, given)]


def loss_weights_per_sample(heads, ys, shapes, class_weight, sample_weights, dtype):
    """Per output, its samples' loss weights ((N,) in `dtype`), or None where unweighted:
    `sample_weights` (as `sample_weight_arrays` gives them) times the class weights.

    `class_weight`: a {class: weight} mapping or "balanced" for every output, or a list /
    dict by output name of them (a dict whose keys all name outputs). `shapes`: each
    output's per-sample shape (its classes are its last axis; a one-unit output has 0, 1).
    """
    names = [head.name for head in heads]
    classes = _per_output(class_weight, names, lambda v: not (
        isinstance(v, (list, tuple)) or isinstance(v, dict) and all(k in names for k in v)))
    weights = []
    for head, shape, target, weight, per_class in zip(heads, shapes, ys, sample_weights,
                                                      classes):
        where = f"output {head.name!r}: " if len(heads) > 1 else ""
        if per_class is not None:
            per_class = weights_module.check_class_weight(per_class, where)
            n_classes = max(shape[-1], 2) if shape else 2
            codes = weights_module.class_codes(target, head.decision, n_classes, where)
            by_class = weights_module.class_weights_of(codes, per_class, n_classes, where)
            weight = by_class if weight is None else weight * by_class
        weights.append(None if weight is None else weights_module.in_dtype(weight, dtype, where))
    return weights


def _per_output(value, names, is_single):
    """One entry per output: `value` for each when `is_single(value)`, else a list in
    output order or a dict by output name (outputs it leaves out get None)."""
    if value is None or is_single(value):
        return [value] * len(names)
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        if unknown:
            raise NnxError(f"weights are given for {unknown[0]!r}, which is not an output; "
                           f"the outputs are {', '.join(names)}")
        return [value.get(name) for name in names]
    if len(value) != len(names):
        raise NnxError(f"the model has {len(names)} outputs ({', '.join(names)}); give one "
                       f"weight entry per output, got {len(value)}")
    return list(value)


def split_validation(xs, ys, fraction):
    """((x, y) to train on, (x, y) to validate on): the last `fraction` of the samples
    validate, as Keras' validation_split does."""
    if not 0.0 < fraction < 1.0:
        raise NnxError(f"validation_split must be in (0, 1), got {fraction!r}")
    n = len(xs[0])
    cut = n - int(round(n * fraction))
    if cut < 1 or cut == n:
        raise NnxError(f"validation_split {fraction} of {n} samples leaves an empty split")
    return ([a[:cut] for a in xs], [t[:cut] for t in ys]), ([a[cut:] for a in xs],
                                                             [t[cut:] for t in ys])


def batch_size(value, n):
    """The batch size for `n` samples: `None` or "full" is all of them."""
    if value is None or value == "full":
        return max(n, 1)
    if isinstance(value, str):
        raise NnxError(f"fit: batch_size must be a positive integer, None or 'full', got "
                       f"{value!r}")
    return checks.integer("fit", "batch_size", value, minimum=1)
