"""How nnx writes numbers for people: one rule for a metric or loss, one for a
hyper-parameter, one for any other figure and one for a duration (and a search objective's
value by the first or the third).

Training lines, the `nnx train` table, search lines and tables and every report view write
through these, so that a value reads the same wherever it is shown. Missing or non-numeric
values (a damaged results file) are written "-"; nothing here raises.
"""

import math


def fmt_metric(value):
    """A metric or loss: 4 decimals, as Keras shows them ('0.9612', '12.3457'), or 4
    significant digits where decimals would hide the value (below 0.001: '1.234e-05') or
    drown it (from 10,000 up: '1.235e+04')."""
    value = _real(value)
    if value is None:
        return "-"
    if not math.isfinite(value):
        return str(value)
    if value == 0 or 1e-3 <= abs(value) < 1e4:
        return f"{value:.4f}"
    return f"{value:.4g}"


def fmt_objective(name, value):
    """A search objective's value: a validation metric as `fmt_metric`, a count (`params`,
    `model_bytes`) with thousands separators, any other cost as `fmt_number`."""
    if isinstance(name, str) and name.startswith("val_"):
        return fmt_metric(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return fmt_number(value)


def fmt_param(value):
    """A hyper-parameter value as a config would hold it: floats in 4 significant digits,
    booleans as YAML writes them, lists and mappings item by item, the rest as written."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {fmt_param(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(fmt_param(v) for v in value) + "]"
    return str(value)


def fmt_number(value):
    """Any other figure (gradient norms, ratios, counts): integers whole, the rest in 4
    significant digits."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    value = _real(value)
    return "-" if value is None else f"{value:.4g}"


def fmt_duration(seconds):
    """'0.42 s', '12.3 s', '4m05s', '2h07m', '3d04h'."""
    seconds = _real(seconds)
    if seconds is None or not math.isfinite(seconds):
        return "-"
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def fmt_logs(logs, skip=("lr",)):
    """'loss 0.1234  accuracy 0.9612  val_loss ...': an epoch's logs, one metric each."""
    return "  ".join(f"{key} {fmt_metric(value)}" for key, value in logs.items()
                     if key not in skip)


def _real(value):
    """`value` as a float, or None for anything that is not a number (bools included)."""
    if isinstance(value, bool) or not hasattr(value, "__float__"):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
