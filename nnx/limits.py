"""Size limits, checked before anything is allocated.

A model too big for the machine must be refused in one line when it is validated, not
found out by a MemoryError (or the kernel's out-of-memory killer) after minutes of
building; a layer repeated absurdly must not exhaust the interpreter either (a file nested
absurdly deep is refused by `nnx.nesting`, below every reader).

The memory check estimates from shapes alone: each layer says which parameters it would
make (`Layer.param_shapes`) and what a training step on a batch keeps (`Layer.memory_for`);
every parameter also has a gradient and the optimizer's state arrays. The estimate is
meant to be of the right size, not exact, and is compared with all the memory the process
could ever get (not with what is free now), so that only what can never fit is refused.
"""

from dataclasses import dataclass

import numpy as np

from nnx.errors import NnxError
from nnx.layers.base import elements
from nnx.memory import format_bytes, integer_text, machine_memory

# One layer spec repeated more than this is a slip (an extra zero or two), not a model:
# the deepest published networks stack about a thousand layers, and each copy costs
# Python work to build and a kernel call per step.
MAX_REPEAT = 1000
# The layers of a model after `repeat`: ten times the deepest published networks, yet few
# enough that building them (a Python object each) stays quick and small.
MAX_LAYERS = 10_000


class TooBig(NnxError):
    """A model that would not fit in memory. `path` names the layer (or the model), as the
    caller labelled it; `layer` is that layer (None for the whole model)."""

    def __init__(self, path, problem, layer=None):
        super().__init__(f"{path}: {problem}")
        self.path, self.problem, self.layer = path, problem, layer


@dataclass
class _LayerNeed:
    path: str
    layer: object
    parts: list  # (bytes, what), largest first

    @property
    def total(self):
        return sum(size for size, _ in self.parts)


def check_memory(entries, dtype, batch=None, optimizer=None, model_path="model"):
    """Raise TooBig when a model would not fit in the memory this process may use.

    `entries` are (path, layer, input shape) per layer, not yet built; without `batch`
    only what building makes is counted (parameters and their gradients); with it, also
    the arrays of one training step on `batch` samples and the `optimizer`'s state.
    """
    available, machine = machine_memory()
    if available is None:
        return
    itemsize = np.dtype(dtype).itemsize
    slots = tuple(getattr(optimizer, "slots", ())) if batch is not None else ()
    copies = _copies(optimizer, slots)
    needs = []
    for path, layer, input_shape in entries:
        parts = [(itemsize * (2 + len(slots)) * elements(shape), f"{key} {_shape(shape)}{copies}")
                 for key, shape in layer.param_shapes(input_shape).items()]
        if batch is not None:
            parts += [(itemsize * count, what)
                      for what, count in layer.memory_for(input_shape, batch).items()]
        needs.append(_LayerNeed(path, layer, sorted(parts, key=lambda p: -p[0])))
    purpose = f"to train on batches of {batch}" if batch is not None else "for its parameters"
    largest = max(needs, key=lambda need: need.total, default=None)
    if largest is not None and largest.total > available:
        named = ", ".join(f"{format_bytes(size)} for {what}" for size, what in largest.parts[:2])
        raise TooBig(largest.path, f"needs {format_bytes(largest.total)} {purpose} ({named}); "
                                   f"{machine}", largest.layer)
    by_path = {}
    for need in needs:  # the copies of a repeated layer spec share their path
        by_path[need.path] = by_path.get(need.path, 0) + need.total
    total = sum(by_path.values())
    if total > available:
        top = sorted(by_path.items(), key=lambda item: -item[1])[:2]
        named = ", ".join(f"{path} {format_bytes(size)}" for path, size in top)
        raise TooBig(model_path, f"needs {format_bytes(total)} in all {purpose} (the most: "
                                 f"{named}); {machine}")


def _copies(optimizer, slots):
    if not slots:
        return " with its gradient"
    names = " and ".join(slots)
    return f" with its gradient and {getattr(optimizer, 'name', 'the optimizer')}'s {names}"


def _shape(shape):
    return f"({', '.join(integer_text(int(d)) for d in shape)}{',' if len(shape) == 1 else ''})"


def check_arrays(sizes, where):
    """Raise TooBig when arrays of `sizes` ({name: bytes}, e.g. read from a file's headers)
    could not all be held in memory at once."""
    available, machine = machine_memory()
    total = sum(sizes.values())
    if available is not None and total > available:
        name = max(sizes, key=sizes.get)
        raise TooBig(where, f"its arrays need {format_bytes(total)} ({name}: "
                            f"{format_bytes(sizes[name])}); {machine}")
