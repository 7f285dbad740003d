"""A Deferred block: a stop signal inside it is counted, not raised, except in its
interruptible part; a run started inside still decides for itself."""

import os
import signal

import pytest

from nnx import stop_signals


def ctrl_c():
    os.kill(os.getpid(), signal.SIGINT)


def test_a_signal_in_a_deferred_block_is_counted_not_raised():
    with stop_signals.handled():
        with stop_signals.deferred():
            ctrl_c()
            ctrl_c()
        assert stop_signals.count() == 2
        with pytest.raises(KeyboardInterrupt):  # outside the block: raised as usual
            ctrl_c()


def test_the_interruptible_part_raises_also_for_a_signal_counted_before_it():
    with stop_signals.handled():
        with stop_signals.deferred() as block:
            with pytest.raises(KeyboardInterrupt):
                with block.interruptible():
                    ctrl_c()
            ctrl_c()  # after the interruptible part: counted again
        with stop_signals.deferred() as block:
            ctrl_c()
            with pytest.raises(KeyboardInterrupt):
                with block.interruptible():
                    pytest.fail("entered although a signal came before")
        assert stop_signals.count() == 3


def test_a_run_inside_an_interruptible_part_decides_for_itself():
    with stop_signals.handled():
        with stop_signals.deferred() as block, block.interruptible():
            stop = stop_signals.RunStop()
            with stop.installed():
                ctrl_c()  # the run's first signal: a request to stop after the batch
            assert stop.requested
