"""Every metric against scikit-learn's function of the same name, in float64 to 1e-9: random
predictions of binary, multi-class and multi-label outputs, on probabilities and logits,
with ties, and with a single class present. Where scikit-learn warns, returns NaN or
refuses, the tests say what nnx does instead."""

import math
import warnings

import numpy as np
import pytest
from scipy.special import expit, softmax
from sklearn import metrics as sk
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.preprocessing import label_binarize

from nnx import metrics
from nnx.errors import NnxError

N = 300
CLASSES = 4
AVERAGES = [None, "micro", "macro", "weighted"]
MULTICLASS = ("argmax", "argmax_logits")


# -- predictions --------------------------------------------------------------------------
def binary(seed, ties=False, logits=False, positives=0.4):
    rng = np.random.default_rng(seed)
    target = (rng.random((N, 1)) < positives).astype(np.float64)
    if logits:
        return 3 * rng.standard_normal((N, 1)), target, 0.0
    pred = rng.random((N, 1))
    return (np.round(pred, 1) if ties else pred), target, 0.5


def multiclass(seed, ties=False, logits=False, one_hot=False, classes=CLASSES):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, N)
    target = np.eye(CLASSES)[labels] if one_hot else labels
    scores = 2 * rng.standard_normal((N, CLASSES))
    if logits:
        return scores, target, "argmax_logits"
    if ties:  # rows drawn from a few probability vectors: ties across samples and in rows
        rows = np.array([[0.25, 0.25, 0.25, 0.25], [0.4, 0.4, 0.1, 0.1], [0.1, 0.2, 0.3, 0.4],
                         [0.0, 0.5, 0.0, 0.5], [0.7, 0.1, 0.1, 0.1]])
        return rows[rng.integers(0, len(rows), N)], target, "argmax"
    return softmax(scores, axis=1), target, "argmax"


def multilabel(seed, ties=False, constant_column=False):
    rng = np.random.default_rng(seed)
    target = (rng.random((N, 3)) < 0.5).astype(np.float64)
    if constant_column:
        target[:, 1] = 0.0
    pred = rng.random((N, 3))
    return (np.round(pred, 1) if ties else pred), target, 0.5


CASES = {
    "binary": binary(1),
    "binary logits": binary(2, logits=True),
    "binary ties": binary(3, ties=True),
    "binary rare positives": binary(4, positives=0.03),
    "multiclass": multiclass(5),
    "multiclass one-hot": multiclass(6, one_hot=True),
    "multiclass logits": multiclass(7, logits=True),
    "multiclass ties": multiclass(8, ties=True),
    "multilabel": multilabel(9),
    "multilabel ties": multilabel(10, ties=True),
}


def kind(decision, pred):
    if decision in MULTICLASS:
        return "multiclass"
    return "binary" if pred.shape[1] == 1 else "multilabel"


def cases(*kinds):
    return [name for name, (pred, _, decision) in CASES.items() if kind(decision, pred) in kinds]


# -- scikit-learn's view of the same predictions (written apart from nnx's code) -------------
def sk_labels(pred, target, decision):
    """(y_true, y_pred) as scikit-learn takes them."""
    if decision in MULTICLASS:
        return (target if target.ndim == 1 else target.argmax(axis=1)), pred.argmax(axis=1)
    true, predicted = target.astype(int), (pred > decision).astype(int)
    return (true[:, 0], predicted[:, 0]) if pred.shape[1] == 1 else (true, predicted)


def sk_scores(pred, target, decision):
    """(y_true, probabilities) as scikit-learn takes them."""
    true, _ = sk_labels(pred, target, decision)
    if decision == "argmax_logits":
        return true, softmax(pred, axis=1)
    probs = expit(pred) if decision == 0.0 else pred
    return true, (probs[:, 0] if probs.shape[1] == 1 else probs)


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def assert_same(got, want):
    assert isinstance(got, float)
    if math.isnan(want):
        assert math.isnan(got)
    else:
        assert abs(got - want) <= 1e-9, (got, want)


def sk_average(average, pred, decision):
    if average is not None:
        return average
    return "binary" if kind(decision, pred) == "binary" else "macro"


# -- label metrics ------------------------------------------------------------------------
@pytest.mark.parametrize("name, reference", [
    ("precision", sk.precision_score), ("recall", sk.recall_score), ("f1", sk.f1_score)])
@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("case", list(CASES))
def test_precision_recall_f1(name, reference, average, case):
    pred, target, decision = CASES[case]
    got = metrics.get({"type": name, "average": average})(pred, target, decision)
    want = quiet(reference, *sk_labels(pred, target, decision),
                 average=sk_average(average, pred, decision))
    assert_same(got, want)


@pytest.mark.parametrize("case", cases("binary", "multiclass"))
def test_balanced_accuracy(case):
    pred, target, decision = CASES[case]
    want = quiet(sk.balanced_accuracy_score, *sk_labels(pred, target, decision))
    assert_same(metrics.balanced_accuracy(pred, target, decision), want)


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("case", cases("multiclass"))
def test_top_k_accuracy_breaks_ties_as_scikit_learn_does(case, k):
    pred, target, decision = CASES[case]
    true, probs = sk_scores(pred, target, decision)
    want = sk.top_k_accuracy_score(true, probs, k=k, labels=range(CLASSES))
    assert_same(metrics.get({"type": "top_k_accuracy", "k": k})(pred, target, decision), want)
    if k == 1 and case != "multiclass ties":  # top-1 is accuracy where no row ties
        assert_same(metrics.accuracy(pred, target, decision), want)


# -- score metrics ------------------------------------------------------------------------
def sk_roc_auc(true, probs, decision):
    multi = "ovr" if decision in MULTICLASS else "raise"
    return quiet(sk.roc_auc_score, true, probs, multi_class=multi)


@pytest.mark.parametrize("case", list(CASES))
def test_roc_auc(case):
    pred, target, decision = CASES[case]
    want = sk_roc_auc(*sk_scores(pred, target, decision), decision)
    assert_same(metrics.roc_auc(pred, target, decision), want)


@pytest.mark.parametrize("case", list(CASES))
def test_pr_auc_is_average_precision(case):
    pred, target, decision = CASES[case]
    want = sk.average_precision_score(*sk_scores(pred, target, decision))
    assert_same(metrics.pr_auc(pred, target, decision), want)


@pytest.mark.parametrize("case", cases("binary", "multiclass"))
def test_log_loss(case):
    pred, target, decision = CASES[case]
    true, probs = sk_scores(pred, target, decision)
    classes = 2 if kind(decision, pred) == "binary" else CLASSES
    want = sk.log_loss(true, probs, labels=range(classes))
    assert_same(metrics.log_loss(pred, target, decision), want)


def test_log_loss_clips_certain_mistakes_as_scikit_learn_does():
    pred = np.array([[0.0], [1.0], [1.0], [0.3]])
    target = np.array([[1.0], [0.0], [1.0], [0.0]])
    assert_same(metrics.log_loss(pred, target, 0.5), sk.log_loss(target[:, 0], pred[:, 0]))
    assert math.isfinite(metrics.log_loss(pred, target, 0.5))


# -- regression ---------------------------------------------------------------------------
@pytest.mark.parametrize("outputs", [1, 3])
def test_rmse_and_mape_average_per_output(outputs):
    rng = np.random.default_rng(outputs)
    target = rng.standard_normal((N, outputs)) * [10.0 ** i for i in range(outputs)]
    pred = target + rng.standard_normal((N, outputs))
    target[0] = 0.0  # mape divides by eps there, as scikit-learn does
    assert_same(metrics.rmse(pred, target, None), sk.root_mean_squared_error(target, pred))
    want = sk.mean_absolute_percentage_error(target, pred)
    assert want > 1e12
    assert abs(metrics.mape(pred, target, None) - want) <= 1e-9 * want


def test_regression_metrics_of_one_output_column_take_a_flat_target():
    rng = np.random.default_rng(3)
    target, pred = rng.standard_normal(N) + 3, rng.standard_normal((N, 1)) + 3
    assert_same(metrics.rmse(pred, target, None), sk.root_mean_squared_error(target, pred[:, 0]))
    assert_same(metrics.mape(pred, target, None),
                sk.mean_absolute_percentage_error(target, pred[:, 0]))


# -- a single class present: where scikit-learn warns, returns NaN or refuses ---------------
def one_class(value):
    pred, target, _ = binary(11)
    return pred, np.full_like(target, value), 0.5


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_one_class_binary_label_metrics_count_undefined_ratios_as_zero(value):
    """scikit-learn warns (UndefinedMetricWarning) and counts 0/0 as 0; so does nnx."""
    pred, target, decision = one_class(value)
    if value == 0.0:
        with pytest.warns(UndefinedMetricWarning):
            sk.recall_score(*sk_labels(pred, target, decision))
    for name, reference in (("precision", sk.precision_score), ("recall", sk.recall_score),
                            ("f1", sk.f1_score)):
        for average in AVERAGES:
            want = quiet(reference, *sk_labels(pred, target, decision),
                         average=average or "binary")
            assert_same(metrics.get({"type": name, "average": average})(pred, target, decision),
                        want)
    assert_same(metrics.balanced_accuracy(pred, target, decision),
                quiet(sk.balanced_accuracy_score, *sk_labels(pred, target, decision)))


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_one_class_binary_scores(value):
    """roc_auc is NaN (scikit-learn warns and returns NaN); pr_auc is 0 without positives
    (scikit-learn warns and returns 0) and 1 with only positives; log_loss needs no labels
    argument (scikit-learn refuses one class unless told the labels)."""
    pred, target, decision = one_class(value)
    true, probs = sk_scores(pred, target, decision)
    with pytest.warns(UndefinedMetricWarning):
        assert math.isnan(sk.roc_auc_score(true, probs))
    assert math.isnan(metrics.roc_auc(pred, target, decision))
    assert_same(metrics.pr_auc(pred, target, decision),
                quiet(sk.average_precision_score, true, probs))
    assert metrics.pr_auc(pred, target, decision) == value
    with pytest.raises(ValueError, match="only one label"):
        sk.log_loss(true, probs)
    assert_same(metrics.log_loss(pred, target, decision), sk.log_loss(true, probs, labels=[0, 1]))


def absent_class():
    """Multi-class predictions whose targets never hold class 3."""
    pred, _, decision = multiclass(12)
    return pred, np.random.default_rng(12).integers(0, CLASSES - 1, N), decision


def test_a_class_absent_from_the_targets_in_label_metrics():
    """Averages run over the classes seen in either labelling, as scikit-learn's do."""
    pred, target, decision = absent_class()
    labels = sk_labels(pred, target, decision)
    assert CLASSES - 1 in labels[1] and CLASSES - 1 not in labels[0]
    for name, reference in (("precision", sk.precision_score), ("recall", sk.recall_score),
                            ("f1", sk.f1_score)):
        for average in AVERAGES:
            assert_same(metrics.get({"type": name, "average": average})(pred, target, decision),
                        quiet(reference, *labels, average=average or "macro"))
    with pytest.warns(UserWarning, match="classes not in y_true"):
        want = sk.balanced_accuracy_score(*labels)
    assert_same(metrics.balanced_accuracy(pred, target, decision), want)
    for k in (1, 2, 3):
        assert_same(metrics.top_k_accuracy(pred, target, decision, k=k),
                    sk.top_k_accuracy_score(target, pred, k=k, labels=range(CLASSES)))
    assert_same(metrics.log_loss(pred, target, decision),
                sk.log_loss(target, pred, labels=range(CLASSES)))


def test_a_class_absent_from_the_targets_in_score_metrics():
    """roc_auc averages over the classes it is defined for (scikit-learn: NaN, or an error
    without `labels`); pr_auc scores the absent class 0 as scikit-learn's multi-label form
    does (its multi-class form refuses)."""
    pred, target, decision = absent_class()
    with pytest.raises(ValueError):
        sk.roc_auc_score(target, pred, multi_class="ovr")
    assert math.isnan(quiet(sk.roc_auc_score, target, pred, multi_class="ovr",
                            labels=range(CLASSES)))
    per_class = [sk.roc_auc_score(target == c, pred[:, c]) for c in range(CLASSES - 1)]
    assert_same(metrics.roc_auc(pred, target, decision), float(np.mean(per_class)))
    with pytest.raises(ValueError):
        sk.average_precision_score(target, pred)
    indicators = label_binarize(target, classes=range(CLASSES))
    assert_same(metrics.pr_auc(pred, target, decision),
                quiet(sk.average_precision_score, indicators, pred))


def test_a_constant_label_column_of_a_multilabel_output():
    pred, target, decision = multilabel(13, constant_column=True)
    assert math.isnan(quiet(sk.roc_auc_score, target, pred))
    per_label = [sk.roc_auc_score(target[:, j], pred[:, j]) for j in (0, 2)]
    assert_same(metrics.roc_auc(pred, target, decision), float(np.mean(per_label)))
    assert_same(metrics.pr_auc(pred, target, decision),
                quiet(sk.average_precision_score, target, pred))
    for average in AVERAGES:
        assert_same(metrics.get({"type": "f1", "average": average})(pred, target, decision),
                    quiet(sk.f1_score, target.astype(int), (pred > 0.5).astype(int),
                          average=average or "macro"))


# -- what scikit-learn accepts and nnx refuses, or cannot compute -------------------------
def test_top_k_with_k_at_least_the_classes_is_refused():
    """scikit-learn warns that the score is a meaningless 1.0; nnx refuses."""
    pred, target, decision = CASES["multiclass"]
    with pytest.warns(UndefinedMetricWarning):
        assert sk.top_k_accuracy_score(target, pred, k=CLASSES) == 1.0
    with pytest.raises(NnxError, match=r"k must be below the number of classes \(4\), got 4"):
        metrics.top_k_accuracy(pred, target, decision, k=CLASSES)


def test_non_finite_predictions_score_nan():
    pred, target, decision = CASES["binary"]
    pred = pred.copy()
    pred[3] = np.nan
    for fn in (metrics.roc_auc, metrics.pr_auc, metrics.log_loss):
        assert math.isnan(fn(pred, target, decision))


def test_float32_predictions_score_as_their_float64_values():
    """A float32 model's outputs: ranks and labels are those of the same values in float64."""
    pred, target, decision = CASES["multiclass ties"]
    low = pred.astype(np.float32)
    wide = low.astype(np.float64)
    for name in ("f1", "roc_auc", "pr_auc", "top_k_accuracy", "balanced_accuracy"):
        fn = metrics.get(name)
        assert fn(low, target, decision) == fn(wide, target, decision), name
