"""What `compile` gives each output of a model: an `OutputHead`.

A head holds the output's loss (as compiled, and the one computed per step), its weight in
the total loss, its metrics and their decision rule, and, where the loss fuses with the
output layer's activation (softmax + categorical cross-entropy, sigmoid + binary
cross-entropy), that layer: the loss then reads the layer's pre-activation and takes
logits, so the gradient at the logits is exact and finite for any logits.
"""

from nnx import checks, losses
from nnx import metrics as metrics_module
from nnx.errors import NnxError, closest


class OutputHead:
    """One output of a compiled model. `loss` is the loss as compiled (its config is what
    a model file keeps); `computed` is what each step computes: `loss`, or its logits twin
    reading `fused_layer.preactivation` when fused."""

    def __init__(self, name, loss, weight, metrics, layer):
        self.name, self.loss, self.weight = name, loss, weight
        self.metrics = metrics  # {name: fn}
        self.decision = loss.decision()
        fusable = bool(layer is not None and layer.fuses_with_loss and not loss.from_logits
                       and loss.fused_activation
                       and layer.activation == loss.fused_activation)
        if layer is not None:  # the fused loss reads it; other layers may skip storing it
            layer.keeps_preactivation = fusable
        self.fused_layer = layer if fusable else None
        self.computed = loss.with_logits() if fusable else loss

    @property
    def fused(self):
        return self.fused_layer is not None

    def value(self, out, target, weight=None):
        """The loss of a batch whose output is `out` (targets prepared; `weight` None or
        each sample's loss weight); its gradient is then `computed.backward()`, at the
        pre-activation when fused."""
        layer = self.fused_layer
        return self.computed.value(out if layer is None else layer.preactivation, target,
                                   weight)

    def scores(self, pred, target):
        """{metric: value} of this output's predictions against its targets."""
        return {metric: fn(pred, target, self.decision) for metric, fn in self.metrics.items()}


def make_heads(names, output_layers, loss, metrics, loss_weights):
    """(heads, metric_names, loss_weights as given) for compile's arguments; `output_layers`
    holds per output the layer whose activation may fuse with its loss, or None."""
    specs = per_output(names, "loss", loss)
    resolved = []
    for spec in specs:
        made = losses.get(spec)
        if any(made is other for other in resolved):  # a loss keeps its gradient buffer
            made = losses.get(made.get_config())
        resolved.append(made)
    if loss_weights is None:
        weights, given_weights = [1.0] * len(resolved), None
    else:
        weights = [checks.number("compile", "loss_weights", w, minimum=0.0)
                   for w in per_output(names, "loss_weights", loss_weights, missing=1.0)]
        given_weights = list(weights)
    if isinstance(metrics, dict):
        metric_lists = [metrics_module.log_names(m) for m in per_output(names, "metrics",
                                                                        metrics, missing=[])]
        metric_names = dict(zip(names, metric_lists))
    else:
        metric_names = metrics_module.log_names(metrics)
        metric_lists = [metric_names] * len(resolved)
    metric_fns = [{m: metrics_module.get(m) for m in listed} for listed in metric_lists]
    heads = [OutputHead(*parts) for parts in
             zip(names, resolved, weights, metric_fns, output_layers)]
    return heads, metric_names, given_weights


def per_output(names, field, value, missing=None):
    """One entry per output from a single value, a list or a dict by output name (a loss
    given as `{type: ...}` is a single value)."""
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
