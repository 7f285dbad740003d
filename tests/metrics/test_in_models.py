"""The metrics a model computes in `evaluate` and `fit` logs: by log name, on the model's own
predictions (probabilities also for a model that outputs logits), equal to scikit-learn's."""

import numpy as np
import pytest
from scipy.special import softmax
from sklearn import metrics as sk

import nnx
from nnx import layers

SPECS = ["f1", {"type": "f1", "average": "weighted"}, "roc_auc", "pr_auc", "log_loss",
         "balanced_accuracy", {"type": "top_k_accuracy", "k": 2}]


def three_classes(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((120, 5))
    y = np.argmax(x[:, :3] + 0.8 * rng.standard_normal((120, 3)), axis=1)
    return x, y


@pytest.mark.parametrize("logits", [False, True])
def test_evaluate_scores_multiclass_predictions_as_scikit_learn(logits):
    x, y = three_classes()
    model = nnx.Sequential([layers.Dense(3, activation=None if logits else "softmax")],
                           input_shape=(5,), seed=3, dtype="float64")
    loss = {"type": "categorical_crossentropy", "from_logits": logits}
    model.compile(optimizer="adam", loss=loss, metrics=SPECS)
    assert model.metric_names == ["f1", "f1_weighted", "roc_auc", "pr_auc", "log_loss",
                                  "balanced_accuracy", "top_2_accuracy"]
    model.fit(x, y, epochs=2, batch_size=16)
    result = model.evaluate(x, y)
    probs = model.predict(x)
    if logits:
        probs = softmax(probs, axis=1)
    labels = probs.argmax(axis=1)
    want = {"f1": sk.f1_score(y, labels, average="macro"),
            "f1_weighted": sk.f1_score(y, labels, average="weighted"),
            "roc_auc": sk.roc_auc_score(y, probs, multi_class="ovr"),
            "pr_auc": sk.average_precision_score(y, probs),
            "log_loss": sk.log_loss(y, probs),
            "balanced_accuracy": sk.balanced_accuracy_score(y, labels),
            "top_2_accuracy": sk.top_k_accuracy_score(y, probs, k=2)}
    for name, value in want.items():
        assert abs(result[name] - value) <= 1e-9, name


def test_fit_logs_training_and_validation_metrics_by_log_name():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((200, 4))
    y = (x[:, 0] + 0.5 * rng.standard_normal(200) > 0.8).astype(float)
    model = nnx.Sequential([layers.Dense(1, activation="sigmoid")], input_shape=(4,), seed=0)
    model.compile(loss="binary_crossentropy", metrics=["f1", "f1_macro", "roc_auc", "recall"])
    history = model.fit(x, y, epochs=3, validation_split=0.25)
    for name in ("f1", "f1_macro", "roc_auc", "recall"):
        assert len(history.history[name]) == len(history.history[f"val_{name}"]) == 3
    x_val, y_val = x[150:], y[150:]
    probs = model.predict(x_val)[:, 0]
    val = model.evaluate(x_val, y_val)
    assert abs(val["roc_auc"] - sk.roc_auc_score(y_val, probs)) <= 1e-9
    assert abs(val["f1"] - sk.f1_score(y_val, probs > 0.5)) <= 1e-9
    assert abs(val["f1_macro"] - sk.f1_score(y_val, probs > 0.5, average="macro")) <= 1e-9


def test_a_saved_model_keeps_its_metrics(tmp_path):
    x, y = three_classes(2)
    model = nnx.Sequential([layers.Dense(3, activation="softmax")], input_shape=(5,), seed=1)
    model.compile(loss="categorical_crossentropy",
                  metrics=[{"type": "precision", "average": "micro"}, "top_k_accuracy"])
    model.save(tmp_path / "m.npz")
    loaded = nnx.load_model(tmp_path / "m.npz")
    assert loaded.metric_names == ["precision_micro", "top_2_accuracy"]
    assert loaded.evaluate(x, y) == model.evaluate(x, y)
