"""`fit(verbose=...)` as Keras users expect: "auto" shows a live bar on a terminal and nothing
under a pipe or cron; 2 one line per epoch; 0 nothing."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nnx
from nnx import layers

EPOCHS = 3


def fitted(verbose):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4))
    y = (x[:, 0] > 0).astype(np.int64)
    model = nnx.Sequential([layers.Dense(2, activation="softmax")], input_shape=(4,), seed=0)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model.fit(x, y, epochs=EPOCHS, batch_size=16, verbose=verbose)


def test_auto_is_silent_when_the_output_is_not_a_terminal(capsys):
    history = fitted("auto")
    assert len(history.history["loss"]) == EPOCHS
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("verbose", [1, 2])
def test_without_a_terminal_each_epoch_is_one_line(capsys, verbose):
    history = fitted(verbose)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == EPOCHS
    for epoch, line in enumerate(lines, start=1):
        assert f"epoch {epoch}/{EPOCHS}" in line
        assert f"loss {history.history['loss'][epoch - 1]:.4f}" in line


def test_zero_prints_nothing(capsys):
    fitted(0)
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("verbose", ["yes", 3, True, -1])
def test_an_unknown_verbose_is_refused_before_training(verbose):
    with pytest.raises(nnx.NnxError, match="fit: verbose must be one of"):
        fitted(verbose)


def test_auto_on_a_terminal_draws_a_live_bar_per_epoch():
    """A real pseudo-terminal: the child's stdout is a tty, as in an interactive session."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from test_fit_progress import fitted
        fitted("auto")
    """)
    controller, terminal = os.openpty()
    child = subprocess.Popen([sys.executable, "-c", script], stdout=terminal,
                             stderr=subprocess.PIPE, env={**os.environ, "COLUMNS": "120"})
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    assert child.wait(timeout=120) == 0, child.stderr.read().decode()
    shown = b"".join(chunks).decode("utf-8", errors="replace")
    for epoch in range(1, EPOCHS + 1):
        assert f"epoch {epoch}/{EPOCHS}" in shown
    assert "━" in shown or "\x1b[" in shown  # the bar (drawn with escape codes)
