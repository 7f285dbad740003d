"""Experiments: one config becomes one run record, the same way for `nnx train` and for
every search trial.

- `build`: config + data -> a compiled model, with every check that needs the data
  (`prepare`, `build_model`, `check_task`, `expand_layers`);
- `run`: the run itself, fit -> evaluate -> run record (`run_experiment`);
- `runtime`: threads, the recorded environment, the stop after the current batch;
- `saved`: a finished run's model evaluated or predicting raw rows (`open_saved`,
  `evaluate_saved`, `predict_saved`).
"""

from nnx.experiment.build import Prepared, build_model, check_task, expand_layers, prepare
from nnx.experiment.run import evaluate_splits, run_experiment, training_callbacks
from nnx.experiment.runtime import environment, set_threads
from nnx.experiment.saved import (
    Saved,
    evaluate_saved,
    open_saved,
    predict_saved,
    preprocessor_of,
)

__all__ = ["Prepared", "Saved", "build_model", "check_task", "environment", "evaluate_saved",
           "evaluate_splits", "expand_layers", "open_saved", "predict_saved", "prepare",
           "preprocessor_of", "run_experiment", "set_threads", "training_callbacks"]
