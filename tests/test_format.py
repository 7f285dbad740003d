"""One way to write numbers: a metric, a hyper-parameter, any other figure, a duration
(that train, search and report write a metric alike: tests/search/test_trials.py)."""

import math

import numpy as np
import pytest

from nnx.format import fmt_duration, fmt_logs, fmt_metric, fmt_number, fmt_param


@pytest.mark.parametrize("value, text", [
    (0.96123, "0.9612"), (1.0, "1.0000"), (0, "0.0000"), (12.345678, "12.3457"),
    (-0.5, "-0.5000"), (0.001, "0.0010"), (1.5e-05, "1.5e-05"), (9999.5, "9999.5000"),
    (12345.6, "1.235e+04"), (np.float32(0.25), "0.2500"), (np.int64(3), "3.0000"),
    (math.nan, "nan"), (math.inf, "inf"), (None, "-"), ("0.5", "-"), (True, "-"),
])
def test_a_metric_has_four_decimals_unless_they_would_hide_it(value, text):
    assert fmt_metric(value) == text


@pytest.mark.parametrize("value, text", [
    (0.001, "0.001"), (3e-05, "3e-05"), (0.123456, "0.1235"), (64, "64"), (True, "true"),
    (None, "-"), ("relu", "relu"), ([16, 0.5], "[16, 0.5]"),
    ({"type": "adam", "lr": 0.01, "amsgrad": False}, "{type: adam, lr: 0.01, amsgrad: false}"),
])
def test_a_parameter_reads_as_a_config_holds_it(value, text):
    assert fmt_param(value) == text


@pytest.mark.parametrize("value, text", [
    (3, "3"), (0.123456, "0.1235"), (1234567.0, "1.235e+06"), (False, "false"), (None, "-"),
    ("big", "-"),
])
def test_any_other_figure_has_four_significant_digits(value, text):
    assert fmt_number(value) == text


@pytest.mark.parametrize("seconds, text", [
    (0.004, "0.00 s"), (0.42, "0.42 s"), (12.34, "12.3 s"), (59.94, "59.9 s"), (245, "4m05s"),
    (7620, "2h07m"), (273600, "3d04h"), (None, "-"), (math.nan, "-"), ("1 s", "-"),
])
def test_a_duration(seconds, text):
    assert fmt_duration(seconds) == text


def test_epoch_logs_are_metrics_without_the_learning_rate():
    logs = {"loss": 0.1, "accuracy": 1, "lr": 0.01, "val_loss": 2e-05}
    assert fmt_logs(logs) == "loss 0.1000  accuracy 1.0000  val_loss 2e-05"
