"""Small helpers every view shares: tolerant getters over JSON values, metric names, and
how dates are written (numbers and durations: `nnx.format`, as train and search write them).

A results file may come from an older or newer nnx, or be half-damaged; the getters return
a neutral value (None, {}, []) for anything of the wrong type, so a view never fails on it.
"""

import math
import re
from datetime import UTC, datetime, timedelta

from nnx.errors import NnxError

SPLITS = ("train", "val", "test")


# -- tolerant getters -------------------------------------------------------------------
def as_dict(value):
    return value if isinstance(value, dict) else {}


def as_list(value):
    return value if isinstance(value, list) else []


def as_number(value, keep_int=False):
    """A finite float, or None (also for bools, strings, NaN, infinities and integers too
    large for a float); with `keep_int` an int stays an int, which `nnx.format` writes as a
    count (`3,910`)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    if not math.isfinite(number):
        return None
    return value if keep_int and isinstance(value, int) else number


def as_int(value):
    """An int (a trial number), or None (also for bools, floats and strings)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_text(value, default=""):
    return value if isinstance(value, str) else default


# -- metrics ----------------------------------------------------------------------------
def split_metric(name):
    """('val', 'accuracy') for 'val_accuracy'; a bare name is the training split (Keras)."""
    for split in SPLITS:
        if name.startswith(f"{split}_"):
            return split, name[len(split) + 1:]
    return "train", name


def run_metric(record, name):
    """The final model's value of `name` (`val_accuracy`, `test_loss`, `accuracy`) in a run."""
    split, base = split_metric(name)
    return as_number(as_dict(as_dict(record.get("metrics")).get(split)).get(base))


def main_metric(record):
    """The metric a run is judged by: its search metric, else `val_` (or `test_`, `train_`)
    of its first metric, else of the loss, taking the first split the run has."""
    config = as_dict(record.get("config"))
    search_metric = as_dict(config.get("search")).get("metric")
    if isinstance(search_metric, str) and run_metric(record, search_metric) is not None:
        return search_metric
    metrics = as_dict(record.get("metrics"))
    names = [m for m in as_list(as_dict(config.get("train")).get("metrics"))
             if isinstance(m, str)]
    for base in [*names, "loss"]:
        for split in ("val", "test", "train"):
            if as_number(as_dict(metrics.get(split)).get(base)) is not None:
                return base if split == "train" else f"{split}_{base}"
    return f"val_{names[0]}" if names else "val_loss"


def better(a, b, maximize):
    """Whether value `a` beats `b` (None never beats anything)."""
    if a is None:
        return False
    if b is None:
        return True
    return a > b if maximize else a < b


# -- writing values (numbers: nnx.format) ----------------------------------------------
def fmt_date(moment, year=True):
    """`2026-01-31 08:00` (UTC); without the year (`01-31 08:00`) when it goes without saying."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M" if year else "%m-%d %H:%M")


# -- times ------------------------------------------------------------------------------
def parse_time(text):
    """An aware datetime from ISO 8601 ('...Z', an offset, or naive = local time as Optuna
    writes it); None when absent or unreadable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC)  # a naive time is taken as local time


_AGO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text, now=None):
    """`--since`: an age (`90m`, `12h`, `3d`, `2w`) or an ISO date/time (UTC unless given)."""
    now = now or datetime.now(UTC)
    match = _AGO.match(text)
    if match:
        return now - timedelta(**{_UNIT[match.group(2)]: float(match.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise NnxError(f"--since: {text!r} is neither an age (90m, 12h, 3d, 2w) nor a date "
                       "(2026-01-31 or 2026-01-31T08:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def slug(text):
    """A file-name-safe version of `text`."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(text)).strip("-") or "chart"
