"""Sequential: whole-model gradients against finite differences of the evaluated loss,
reproducibility, float32 vs float64 training, update frequency, validation split, history,
metrics, and the digits example of the README."""

import math

import numpy as np
import pytest
from gradcheck import max_rel_error, numeric_grad
from sklearn.datasets import load_digits
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

import nnx
from nnx import layers, losses, metrics, optimizers

RNG = np.random.default_rng(0)
X = RNG.standard_normal((12, 3))
REG_Y = RNG.standard_normal((12, 2)) * 1.5
BITS = RNG.integers(0, 2, (12, 2)).astype(np.float64)
LABELS = np.arange(12) % 3
ONEHOT = np.eye(3)[LABELS]
BCE_LOGITS = {"type": "binary_crossentropy", "from_logits": True}
CCE_LOGITS = {"type": "categorical_crossentropy", "from_logits": True}
L1L2 = {"type": "l1_l2", "l1": 0.01, "l2": 0.02}


def D(units, activation=None, **kw):
    return layers.Dense(units, activation=activation, bias_init={"type": "random_normal",
                                                                 "stddev": 0.3}, **kw)


GRADIENT_CASES = {  # id: (layers, loss, x, y)
    "mse": (lambda: [D(5, "tanh"), D(2)], "mse", X, REG_Y),
    "mae": (lambda: [D(5, "tanh"), D(2)], "mae", X, REG_Y),
    "huber": (lambda: [D(5, "tanh"), D(2)], "huber", X, REG_Y),
    "bce_fused_sigmoid": (lambda: [D(5, "tanh"), D(2, "sigmoid")], "binary_crossentropy", X, BITS),
    "bce_probs_unfused": (lambda: [D(5, "tanh"), D(2, "sigmoid"), layers.Flatten()],
                          "binary_crossentropy", X, BITS),
    "bce_from_logits": (lambda: [D(5, "tanh"), D(2)], BCE_LOGITS, X, BITS),
    "cce_fused_dense_labels": (lambda: [D(5, "tanh"), D(3, "softmax")],
                               "categorical_crossentropy", X, LABELS),
    "cce_fused_activation_onehot": (lambda: [D(5, "elu"), D(3), layers.Activation("softmax")],
                                    "categorical_crossentropy", X, ONEHOT),
    "cce_probs_unfused": (lambda: [D(5, "tanh"), D(3, "softmax"), layers.Flatten()],
                          "categorical_crossentropy", X, LABELS),
    "cce_from_logits": (lambda: [D(5, "gelu"), D(3)], CCE_LOGITS, X, LABELS),
    "regularized": (lambda: [D(5, "tanh", kernel_regularizer=L1L2), D(4, "sigmoid"),
                             D(3, "softmax", kernel_regularizer="l2")],
                    "categorical_crossentropy", X, ONEHOT),
    "flatten_first": (lambda: [layers.Flatten(), D(4, "leaky_relu"), D(2)], "huber",
                      X.reshape(12, 3, 1), REG_Y),
}


def gradient_model(case, seed=1):
    make, loss, x, y = GRADIENT_CASES[case]
    model = nnx.Sequential(make(), input_shape=x.shape[1:], seed=seed, dtype="float64")
    model.compile(optimizer=optimizers.SGD(lr=0.0), loss=loss)  # train_step keeps the weights
    return model, x, y


@pytest.mark.parametrize("case", GRADIENT_CASES)
def test_model_gradients_match_finite_differences_of_the_loss(case):
    model, x, y = gradient_model(case)
    before = [p.copy() for p in model.parameters()]
    loss, _ = model.train_step(x, y)
    for p, b in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p, b)
    assert loss == pytest.approx(model.evaluate(x, y)["loss"], rel=1e-13)
    analytic = [g.copy() for g in model.gradients()]
    assert [g.shape for g in analytic] == [p.shape for p in model.parameters()]
    for g, p in zip(analytic, model.parameters(), strict=True):
        numeric = numeric_grad(lambda: model.evaluate(x, y)["loss"], p)
        assert max_rel_error(g, numeric) < 1e-6


@pytest.mark.parametrize("fused,unfused", [
    ("bce_fused_sigmoid", "bce_probs_unfused"),
    ("cce_fused_dense_labels", "cce_probs_unfused"),
])
def test_fused_output_and_loss_agree_with_the_unfused_path(fused, unfused):
    a, x, y = gradient_model(fused)
    b, _, _ = gradient_model(unfused)
    assert a.heads[0].fused and not b.heads[0].fused  # the paths really differ
    la, _ = a.train_step(x, y)
    lb, _ = b.train_step(x, y)
    assert la == pytest.approx(lb, rel=1e-12)
    for ga, gb in zip(a.gradients(), b.gradients(), strict=True):
        np.testing.assert_allclose(ga, gb, rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_softmax_cross_entropy_stays_finite_for_huge_logits(dtype):
    model = nnx.Sequential([layers.Dense(3, activation="softmax")], input_shape=(3,), dtype=dtype)
    model.compile(optimizer=optimizers.SGD(lr=0.0), loss="categorical_crossentropy")
    model.layers[0].params["W"][...] = 1e4 * np.array([[1, -1, 0], [0, 1, -1], [-1, 0, 1]])
    x, labels = np.eye(3, dtype=dtype), np.array([1, 2, 0])  # logits +-1e4, wrong class on top
    loss, _ = model.train_step(x, labels)
    assert math.isfinite(loss) and loss == pytest.approx(2e4, rel=1e-6)
    grad = model.layers[0].grads["W"]  # x = I: dW = softmax - onehot, over N
    assert np.all(np.isfinite(grad))
    want = (np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]]) - np.eye(3)[labels]) / 3
    np.testing.assert_allclose(grad, want, atol=1e-6)


def small_mlp(seed, dtype="float32", rate=0.2):
    model = nnx.Sequential([layers.Dense(8, activation="relu"), layers.Dropout(rate),
                            layers.Dense(3, activation="softmax")], input_shape=(4,), seed=seed,
                           dtype=dtype)
    model.compile(optimizer=optimizers.Adam(lr=0.01), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


CLS_X = np.random.default_rng(5).standard_normal((40, 4))
CLS_Y = (CLS_X[:, 0] > 0).astype(int) + (CLS_X[:, 1] > 0.5)


def flat_weights(model):
    return np.concatenate([p.ravel() for p in model.parameters()])


def test_a_sequential_compiled_before_it_is_built_learns_its_shapes_at_the_first_fit():
    late = nnx.Sequential([layers.Dense(8, activation="relu"), layers.Dropout(0.2),
                           layers.Dense(3, activation="softmax")], seed=4)
    late.compile(optimizer=optimizers.Adam(lr=0.01), loss="categorical_crossentropy",
                 metrics=["accuracy"])
    assert not late.built
    history = late.fit(CLS_X, CLS_Y, epochs=2, batch_size=8)
    early = small_mlp(4)
    assert history.history == early.fit(CLS_X, CLS_Y, epochs=2, batch_size=8).history
    assert late.heads[0].fused and late.output_shape == (3,)


def test_same_seed_gives_bit_identical_runs_different_seed_differs():
    runs = []
    for seed in (3, 3, 4):
        model = small_mlp(seed)
        hist = model.fit(CLS_X, CLS_Y, epochs=3, batch_size=8, shuffle=True,
                         validation_split=0.25)
        runs.append((flat_weights(model), hist.history))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
    assert not np.array_equal(runs[0][0], runs[2][0])
    assert runs[0][1]["loss"] != runs[2][1]["loss"]


def test_fit_trains_on_the_shuffled_rows_of_each_batch_as_train_step_does():
    """fit gathers shuffled batches into reused buffers: the same numbers as train_step on
    freshly indexed rows, the last batch short."""
    fitted, stepped = small_mlp(6), small_mlp(6)
    losses_fit = [fitted.fit(CLS_X, CLS_Y, epochs=1, batch_size=7).history["loss"][0]
                  for _ in range(2)]
    losses_step = []
    for _ in range(2):
        order = stepped._shuffle_rng.permutation(len(CLS_X))
        batches = [order[s:s + 7] for s in range(0, len(CLS_X), 7)]
        losses = [stepped.train_step(CLS_X[rows], CLS_Y[rows])[0] * len(rows)
                  for rows in batches]
        losses_step.append(sum(losses) / len(CLS_X))
    np.testing.assert_array_equal(flat_weights(fitted), flat_weights(stepped))
    assert losses_fit == losses_step


def test_seed_drives_dropout_and_shuffle_not_only_init():
    """Same initial weights, different model seeds: dropout masks and order differ."""
    a, b = small_mlp(3), small_mlp(4)
    b.set_weights(a.get_weights())
    a.fit(CLS_X, CLS_Y, epochs=1, batch_size=8)
    b.fit(CLS_X, CLS_Y, epochs=1, batch_size=8)
    assert not np.array_equal(flat_weights(a), flat_weights(b))


def test_float32_training_follows_float64():
    m64 = small_mlp(0, "float64", rate=0.0)
    m32 = small_mlp(0, "float32", rate=0.0)
    m32.compile(optimizer=optimizers.SGD(lr=0.1), loss="categorical_crossentropy")
    m64.compile(optimizer=optimizers.SGD(lr=0.1), loss="categorical_crossentropy")
    m32.set_weights(m64.get_weights())
    start = flat_weights(m64)
    for m in (m32, m64):
        m.fit(CLS_X, CLS_Y, epochs=20, batch_size=None, shuffle=False)
        assert m.optimizer.iterations == 20
    w32, w64 = flat_weights(m32), flat_weights(m64)
    assert w32.dtype == np.float32 and w64.dtype == np.float64
    assert np.abs(w64 - start).max() > 0.05  # the weights really moved
    np.testing.assert_allclose(w32, w64, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("batch_size,updates_per_epoch", [
    (None, 1), ("full", 1), (1, 10), (3, 4), (5, 2), (10, 1), (64, 1)])
def test_update_frequency(batch_size, updates_per_epoch):
    model = nnx.Sequential([layers.Dense(1)], input_shape=(3,), seed=0)
    model.compile(optimizer=optimizers.SGD(lr=0.01), loss="mse")
    model.fit(X[:10], REG_Y[:10, :1], epochs=3, batch_size=batch_size)
    assert model.optimizer.iterations == 3 * updates_per_epoch


def test_full_batch_is_plain_gradient_descent():
    model = nnx.Sequential([layers.Dense(1, init="zeros")], input_shape=(3,), dtype="float64")
    model.compile(optimizer=optimizers.SGD(lr=0.1), loss="mse")
    model.fit(X, REG_Y[:, :1], epochs=2, batch_size=None, shuffle=True)
    w, b = np.zeros((3, 1)), np.zeros(1)
    for _ in range(2):
        d = 2 * (X @ w + b - REG_Y[:, :1]) / len(X)
        w, b = w - 0.1 * X.T @ d, b - 0.1 * d.sum(0)
    np.testing.assert_allclose(model.layers[0].params["W"], w, rtol=1e-13)
    np.testing.assert_allclose(model.layers[0].params["b"], b, rtol=1e-13)


def test_validation_split_takes_the_last_rows():
    a, b = small_mlp(1), small_mlp(1)
    ha = a.fit(CLS_X, CLS_Y, epochs=2, batch_size=6, validation_split=0.3)
    cut = 40 - 12
    hb = b.fit(CLS_X[:cut], CLS_Y[:cut], epochs=2, batch_size=6,
               validation_data=(CLS_X[cut:], CLS_Y[cut:]))
    assert ha.history == hb.history
    np.testing.assert_array_equal(flat_weights(a), flat_weights(b))
    assert ha.history["val_loss"][-1] == pytest.approx(
        a.evaluate(CLS_X[cut:], CLS_Y[cut:])["loss"], rel=1e-6)


def test_history_keys_lengths_and_types():
    model = small_mlp(0)
    model.compile(optimizer="sgd", loss="categorical_crossentropy",
                  metrics=["accuracy", "subset_accuracy"])
    hist = model.fit(CLS_X, CLS_Y, epochs=4, batch_size=16, validation_split=0.25)
    assert set(hist.history) == {"loss", "accuracy", "subset_accuracy", "val_loss",
                                 "val_accuracy", "val_subset_accuracy", "lr"}
    assert all(len(v) == 4 for v in hist.history.values())
    assert all(type(v) is float for vs in hist.history.values() for v in vs)
    assert hist.epoch == [0, 1, 2, 3] and hist.status == "completed"
    no_val = small_mlp(0).fit(CLS_X, CLS_Y, epochs=2)
    assert set(no_val.history) == {"loss", "accuracy", "lr"}


def test_epoch_loss_is_the_sample_weighted_mean_of_batch_losses():
    model = nnx.Sequential([layers.Dense(1)], input_shape=(3,), dtype="float64")
    model.compile(optimizer=optimizers.SGD(lr=0.05), loss="mse")
    batch_losses = []
    orig = model._train_step

    def spy(xs, ys, ws=None):
        loss, out = orig(xs, ys, ws)
        batch_losses.append((loss, len(xs[0])))
        return loss, out

    model._train_step = spy
    hist = model.fit(X[:10], REG_Y[:10, :1], epochs=1, batch_size=4)
    want = sum(l * n for l, n in batch_losses) / 10
    assert [n for _, n in batch_losses] == [4, 4, 2]
    assert hist.history["loss"][0] == pytest.approx(want, rel=1e-14)


def test_predict_and_evaluate_batched_equal_full():
    model = small_mlp(2)
    model.fit(CLS_X, CLS_Y, epochs=1)
    np.testing.assert_array_equal(model.predict(CLS_X, batch_size=7), model.predict(CLS_X))
    full, batched = model.evaluate(CLS_X, CLS_Y), model.evaluate(CLS_X, CLS_Y, batch_size=7)
    assert batched["loss"] == pytest.approx(full["loss"], rel=1e-6)
    assert batched["accuracy"] == full["accuracy"]


# -- metrics ------------------------------------------------------------------------------

def test_accuracy_argmax_for_several_classes():
    pred = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    labels = np.array([1, 0, 1, 2])
    assert metrics.accuracy(pred, labels, "argmax") == 0.5
    assert metrics.accuracy(pred, np.eye(3)[labels], "argmax") == 0.5


def test_binary_accuracy_thresholds_one_column():
    pred = np.array([[0.9], [0.4], [0.6], [0.51], [0.2]])
    target = np.array([[1.0], [1.0], [0.0], [1.0], [0.0]])
    assert metrics.accuracy(pred, target, 0.5) == pytest.approx(3 / 5)
    assert metrics.accuracy(pred - 0.5, target, 0.0) == pytest.approx(3 / 5)  # logits


def test_multilabel_accuracy_is_elementwise_and_subset_accuracy_exact_match():
    pred = np.array([[0.9, 0.2, 0.7], [0.1, 0.8, 0.3], [0.6, 0.6, 0.6]])
    target = np.array([[1, 0, 1], [0, 0, 0], [1, 1, 0]], dtype=float)
    assert metrics.accuracy(pred, target, 0.5) == pytest.approx(7 / 9)
    assert metrics.subset_accuracy(pred, target, 0.5) == pytest.approx(1 / 3)


def test_regression_metrics_against_numpy_and_sklearn():
    rng = np.random.default_rng(7)
    target = rng.standard_normal((20, 3))
    pred = target + 0.5 * rng.standard_normal((20, 3))
    assert metrics.mae(pred, target, None) == pytest.approx(np.mean(np.abs(pred - target)))
    assert metrics.mse(pred, target, None) == pytest.approx(np.mean((pred - target) ** 2))
    assert metrics.r2(pred, target, None) == pytest.approx(r2_score(target, pred), rel=1e-12)
    assert metrics.r2(pred[:, :1], target[:, 0], None) == pytest.approx(
        r2_score(target[:, 0], pred[:, 0]), rel=1e-12)


def test_each_loss_says_how_its_predictions_become_labels():
    assert losses.get("categorical_crossentropy").decision() == "argmax"
    assert losses.get({"type": "categorical_crossentropy", "from_logits": True}).decision() \
        == "argmax_logits"  # labels by argmax; scores through the softmax
    assert losses.get("binary_crossentropy").decision() == 0.5
    assert losses.get(BCE_LOGITS).decision() == 0.0  # a logit of 0 is a probability of 0.5
    assert [losses.get(name).decision() for name in ("mse", "mae", "huber")] == [None] * 3


def test_metrics_through_evaluate():
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((30, 3)), rng.standard_normal((30, 2))
    reg = nnx.Sequential([layers.Dense(2)], input_shape=(3,), dtype="float64")
    reg.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse", "r2"])
    result, pred = reg.evaluate(x, y), reg.predict(x)
    assert result["loss"] == pytest.approx(np.mean((pred - y) ** 2), rel=1e-13)
    assert result["mse"] == pytest.approx(result["loss"], rel=1e-13)
    assert result["mae"] == pytest.approx(np.mean(np.abs(pred - y)), rel=1e-13)
    assert result["r2"] == pytest.approx(r2_score(y, pred), rel=1e-12)

    bits = (x[:, :1] > 0).astype(float)
    for out, loss, threshold in (("sigmoid", "binary_crossentropy", 0.5),
                                 (None, BCE_LOGITS, 0.0)):
        clf = nnx.Sequential([layers.Dense(1, activation=out)], input_shape=(3,), seed=1,
                             dtype="float64")
        clf.compile(optimizer="sgd", loss=loss, metrics=["accuracy"])
        want = np.mean((clf.predict(x) > threshold) == bits)
        assert 0 < want < 1
        assert clf.evaluate(x, bits)["accuracy"] == pytest.approx(want)


def test_digits_example_of_the_readme():
    """The README's digits MLP, as printed there: seed 1 reaches 0.9722 on this split. (Over
    seeds 0-9 the recipe averages 0.9717 in nnx and 0.9733 in PyTorch; without dropout and
    shuffling nnx's run matches PyTorch's to 1e-15.)"""
    x, y = load_digits(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    mean, std = xtr.mean(axis=0), xtr.std(axis=0)
    std[std == 0] = 1.0
    xtr, xte = (xtr - mean) / std, (xte - mean) / std
    model = nnx.Sequential([
        layers.Dense(64, activation="relu", init="he_normal"),
        layers.Dropout(0.1),
        layers.Dense(10, activation="softmax"),
    ], input_shape=(64,), seed=1, dtype="float32")
    model.compile(optimizer=optimizers.Adam(lr=1e-3), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    hist = model.fit(xtr, ytr, epochs=30, batch_size=32, verbose=0)
    accuracy = model.evaluate(xte, yte)["accuracy"]
    print(f"digits test accuracy: {accuracy:.4f}")
    assert hist.history["accuracy"][-1] > 0.99
    assert accuracy >= 0.97
