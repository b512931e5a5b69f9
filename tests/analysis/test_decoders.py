"""Batched linear-SVM decoders against scikit-learn's libsvm on the same folds.

The protocol is that of Lei et al. 2024 (appendix): one-vs-rest linear ``SVC`` on raw
activations, outer cross-validation and an inner grid search over ``C``.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.estimator_checks import parametrize_with_checks

from wmgeom.analysis.decoders import (
    LinearDecoder,
    cross_validated_decoding,
    decision_values,
)
from wmgeom.errors import ArgumentError, WmgeomError

CS = (0.001, 0.01, 1.0, 10.0)


def _data(kind: str, seed: int = 0, n: int = 240, D: int = 16):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    if kind == "separable":
        means = rng.normal(size=(4, D)) * 1.0
    elif kind == "noisy":
        means = rng.normal(size=(4, D)) * 0.45
    elif kind == "unbalanced":
        y = rng.choice(4, n, p=[0.55, 0.25, 0.15, 0.05])
        means = rng.normal(size=(4, D)) * 0.35
    elif kind == "high_dimensional":
        D = 2 * n
        means = rng.normal(size=(4, D)) * 0.15
    A = rng.normal(size=(D, D)) / np.sqrt(D) + np.eye(D)
    X = (means[y] + rng.normal(size=(n, D))) @ A * 1.5 + 5.0  # correlated, off-centre
    return X, y


def _sklearn_oof(X, y, folds, inner_splits, standardize=False):
    """libsvm one-vs-rest with an inner grid search, on the given outer and inner folds.

    Plain ``SVC`` on the raw inputs (the protocol of Lei et al. 2024), or with ``standardize`` a
    ``StandardScaler`` fitted inside every training fold. Returns the out-of-fold decision
    values and the fitted models of the folds.
    """
    k = len(np.unique(y))
    dec = np.zeros((len(y), k))
    models = []
    for tr, te in folds:
        inner = list(StratifiedKFold(inner_splits).split(X[tr], y[tr]))
        if standardize:
            svc, grid = make_pipeline(StandardScaler(), SVC(kernel="linear")), "svc__C"
        else:
            svc, grid = SVC(kernel="linear"), "C"
        model = OneVsRestClassifier(GridSearchCV(svc, {grid: list(CS)}, cv=inner))
        dec[te] = model.fit(X[tr], y[tr]).decision_function(X[te])
        models.append(model)
    return dec, models


def _compare(res, dec, y, tol_multi=0.01):
    ours_multi = res.features["accuracy"].iloc[0]
    ref_multi = (dec.argmax(1) == y).mean()
    assert abs(ours_multi - ref_multi) <= tol_multi + 1e-9
    ref_k = ((dec > 0) == (y[:, None] == np.arange(dec.shape[1]))).mean(0)
    diff = res.decoders["accuracy"].to_numpy() - ref_k
    assert np.abs(diff).mean() <= 0.01
    assert np.abs(diff).max() <= 0.02  # at most a handful of trials on one decoder


@pytest.mark.parametrize("kind", ["separable", "noisy", "unbalanced", "high_dimensional"])
def test_matches_libsvm_within_one_point(kind):
    X, y = _data(kind)
    res = cross_validated_decoding(X, y, cv=5, inner_cv=3, seed=0, device="cpu")
    dec, _ = _sklearn_oof(X, y, res.folds, 3)
    _compare(res, dec, y)


def test_standardized_option_matches_scaled_libsvm():
    X, y = _data("noisy", seed=2)
    res = cross_validated_decoding(X, y, cv=5, inner_cv=3, seed=0, device="cpu",
                                   standardize=True)
    dec, _ = _sklearn_oof(X, y, res.folds, 3, standardize=True)
    _compare(res, dec, y)


def test_estimator_contract_and_original_coordinates():
    X, y = _data("separable", n=150)
    est = LinearDecoder(inner_cv=3, device="cpu")
    assert clone(est).get_params() == est.get_params()
    est.fit(X, y)
    assert est.coef_.shape == (4, X.shape[1])
    assert est.intercept_.shape == (4,) and est.best_C_.shape == (4,)
    assert est.cv_scores_.shape == (len(CS), 4)
    np.testing.assert_allclose(est.decision_function(X), X @ est.coef_.T + est.intercept_)
    assert est.score(X, y) > 0.95
    assert not est.get_params()["standardize"]  # raw inputs by default, as in Lei et al. 2024
    # raw fit: shifting the inputs moves only the intercepts
    est_shift = clone(est).fit(X + 4.0, y)
    np.testing.assert_array_equal(est.predict(X), est_shift.predict(X + 4.0))
    np.testing.assert_allclose(est_shift.coef_, est.coef_, rtol=2e-2, atol=2e-3)
    # standardised fit: an affine change of one input unit changes only that unit's weight
    std = LinearDecoder(inner_cv=3, device="cpu", standardize=True).fit(X, y)
    X2 = X.copy()
    X2[:, 0] = X2[:, 0] * 7.0 - 3.0
    std2 = clone(std).fit(X2, y)
    np.testing.assert_array_equal(std.predict(X), std2.predict(X2))
    np.testing.assert_allclose(std2.coef_[:, 0] * 7.0, std.coef_[:, 0], rtol=2e-2, atol=1e-3)
    # composes with scikit-learn model selection
    scores = cross_validate(LinearDecoder(inner_cv=3, Cs=(0.01, 1.0)), X, y, cv=3)
    assert scores["test_score"].mean() > 0.9
    grid = GridSearchCV(LinearDecoder(inner_cv=3), {"Cs": [(0.01,), (1.0,)]}, cv=3).fit(X, y)
    assert grid.best_score_ > 0.9


def test_binary_labels_give_one_decoder_like_sklearn():
    X, y = _data("separable", n=120)
    yb = np.where(y == 2, "two", "other")
    est = LinearDecoder(inner_cv=3).fit(X, yb)
    assert list(est.classes_) == ["other", "two"]
    assert est.coef_.shape == (1, X.shape[1]) and est.decision_function(X).shape == (120,)
    assert set(est.predict(X)) <= {"other", "two"}
    assert est.score(X, yb) > 0.95


def _frames_with_quiet_units(seed=0, n=300, D=10, n_quiet=3):
    """Two frames of the same trials, as a trained RNN gives them (planted nuisances).

    Classes of 10 % / 30 % / 60 % of the trials are coded in ``D`` informative units; a few
    near-constant units (std ~1e-4) carry a faint trace of the class too, and their mean
    moves between the two frames (the informative code does not).
    """
    rng = np.random.default_rng(seed)
    y = rng.choice(3, n, p=[0.1, 0.3, 0.6])
    code = rng.normal(size=(3, D)) * 1.2
    quiet_code = rng.normal(size=(3, n_quiet)) * 2.0
    frames = []
    for mean in (0.2, 0.6):
        informative = code[y] + rng.normal(size=(n, D))
        quiet = mean + 1e-4 * (quiet_code[y] + rng.normal(size=(n, n_quiet)))
        frames.append(np.hstack([informative, quiet]))
    return np.stack(frames), y


def _transfer_accuracy(decision_fn, folds, X_other, y):
    """Multi-class accuracy of each fold's decoders on the other frame's held-out trials."""
    pred = np.zeros(len(y), dtype=int)
    for o, (_, te) in enumerate(folds):
        pred[te] = decision_fn(o, X_other[te]).argmax(1)
    return (pred == y).mean()


def test_quiet_units_and_unequal_classes_raw_matches_svc_and_transfers():
    X, y = _frames_with_quiet_units()
    res = cross_validated_decoding(X[0], y, cv=5, inner_cv=3, seed=0, device="cpu")
    dec, models = _sklearn_oof(X[0], y, res.folds, 3)
    _compare(res, dec, y)
    assert res.features["accuracy"].iloc[0] > 0.8
    # decoders of frame 0 read on frame 1 (where the quiet units' mean moved)
    ours = _transfer_accuracy(
        lambda o, Xo: decision_values(Xo, res.coef[0, o], res.intercept[0, o]),
        res.folds, X[1], y)
    ref = _transfer_accuracy(lambda o, Xo: models[o].decision_function(Xo), res.folds,
                             X[1], y)
    assert ref > 0.75
    assert ours >= ref - 0.01
    # the raw normals barely read the quiet units: their mean moving by 0.4 shifts the
    # decision values by far less than the margin
    assert (np.abs(res.coef[0, :, :, -3:]).sum(-1) * 0.4).max() < 0.05


def test_quiet_units_break_standardised_decoders_across_frames():
    X, y = _frames_with_quiet_units()
    raw = cross_validated_decoding(X, y, cv=5, inner_cv=3, seed=0, device="cpu")
    std = cross_validated_decoding(X, y, cv=5, inner_cv=3, seed=0, device="cpu",
                                   standardize=True)

    def transfer(res):
        return _transfer_accuracy(
            lambda o, Xo: decision_values(Xo, res.coef[0, o], res.intercept[0, o]),
            res.folds, X[1], y)

    # within a frame both decode; across frames the standardised normals, with weights of
    # ~1e4 on the quiet units, are thrown off by the moved mean, the raw ones are not
    assert (std.features["accuracy"] > 0.8).all() and (raw.features["accuracy"] > 0.8).all()
    assert transfer(raw) > 0.75
    assert transfer(std) < transfer(raw) - 0.2
    assert np.abs(std.coef[0, :, :, -3:]).max() > 10 * np.abs(std.coef[0, :, :, :-3]).max()


def test_conditions_batch_equals_separate_calls():
    Xa, ya = _data("noisy", seed=3, n=160)
    Xb, _ = _data("separable", seed=4, n=160)
    folds = list(StratifiedKFold(4, shuffle=True, random_state=0).split(Xa, ya))
    both = cross_validated_decoding(np.stack([Xa, Xb]), ya, cv=folds, inner_cv=3,
                                    conditions=["a", "b"], dtype="float64")
    one = cross_validated_decoding(Xb, ya, cv=folds, inner_cv=3, dtype="float64")
    np.testing.assert_allclose(both.decision[1], one.decision[0], rtol=1e-3, atol=1e-3)
    assert list(both.features["condition"]) == ["a", "b"]


def test_multiple_features_and_tables():
    rng = np.random.default_rng(5)
    n = 160
    loc, cat = rng.integers(0, 4, n), rng.integers(0, 3, n)
    X = np.concatenate([np.eye(4)[loc] * 3, np.eye(3)[cat] * 3, rng.normal(size=(n, 4))], 1)
    X = X + rng.normal(size=X.shape) * 0.5
    res = cross_validated_decoding(X, {"location": loc, "category": cat}, cv=4, inner_cv=3)
    assert set(res.decoders.columns) >= {"condition", "feature", "class", "accuracy",
                                         "balanced_accuracy", "best_C"}
    assert len(res.decoders) == 7 and len(res.features) == 2
    feats = res.features.set_index("feature")
    assert feats.loc["category", "chance"] == pytest.approx(1 / 3)
    assert (feats["accuracy"] > 0.9).all()
    assert res.coef.shape == (1, 4, 7, X.shape[1])
    assert res.feature_slice("category") == slice(4, 7)
    d = decision_values(X, res.coef[0, 0], res.intercept[0, 0])
    assert d.shape == (n, 7)


def test_per_condition_labels():
    rng = np.random.default_rng(6)
    n = 120
    lab = rng.integers(0, 3, size=(2, n))  # a different stimulus in each condition
    X = np.stack([np.eye(3)[lab[c]] * 4 + rng.normal(size=(n, 3)) for c in range(2)])
    res = cross_validated_decoding(X, lab, cv=4, inner_cv=3)
    assert (res.features["accuracy"] > 0.9).all()
    # the decoders of condition 0 do not read condition 1's labels
    shuffled = cross_validated_decoding(X, lab[::-1], cv=4, inner_cv=3)
    assert (shuffled.features["accuracy"] < 0.6).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"X": np.zeros((4, 5, 6, 7))}, "must be"),
        ({"X": np.full((30, 3), np.nan)}, "NaN"),
        ({"y": np.zeros(30)}, "single value"),
        ({"y": np.zeros(29)}, "shape"),
        ({"cv": 1}, "at least 2 folds"),
        ({"cv": 31}, "only 30 samples"),
        ({"Cs": ()}, "positive"),
        ({"Cs": (0.0, 1.0)}, "positive"),
        ({"dtype": "float16"}, "dtype"),
        ({"cv": "ten"}, "splitter"),
        ({"conditions": ["a", "b"]}, "condition names"),
    ],
)
def test_user_errors(kwargs, message):
    rng = np.random.default_rng(0)
    args = {"X": rng.normal(size=(30, 3)), "y": np.arange(30) % 3, "cv": 3, "inner_cv": 2}
    args.update(kwargs)
    with pytest.raises(WmgeomError, match=message):
        cross_validated_decoding(args.pop("X"), args.pop("y"), **args)


def test_estimator_errors_and_devices():
    X, y = _data("separable", n=60)
    est = LinearDecoder(inner_cv=2).fit(X, y)
    with pytest.raises(WmgeomError, match="features"):
        est.decision_function(X[:, :3])
    with pytest.raises(WmgeomError, match="positive"):
        LinearDecoder(Cs=(-1.0,)).fit(X, y)


def _small_problem(n: int = 30):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 3)), np.arange(n) % 3


BAD_OPTIONS = [
    ({"Cs": (float("nan"),)}, r"Cs=\(nan,\) must be a non-empty list of finite positive"),
    ({"Cs": (1.0, float("inf"))}, r"Cs=\(1.0, inf\) must be .* finite positive"),
    ({"Cs": (0.0,)}, "Cs=.* finite positive"),
    ({"Cs": (-1.0, 1.0)}, "Cs=.* finite positive"),
    ({"Cs": ()}, "Cs=.* non-empty"),
    ({"Cs": ("big",)}, "Cs=.* finite positive"),
    ({"Cs": 1.0}, "Cs=1.0 must be a non-empty list"),
    ({"solver": "admm"}, "solver='admm'"),
    ({"max_iter": 0}, "max_iter=0 must be a positive integer"),
    ({"max_iter": 2.5}, "max_iter=2.5 must be a positive integer"),
    ({"tol": -0.1}, "tol=-0.1 must be a finite positive number"),
    ({"intercept_scaling": float("nan")}, "intercept_scaling=nan must be a finite positive"),
    ({"standardize": "yes"}, "standardize='yes' must be True or False"),
    ({"dtype": "float16"}, "dtype='float16' is not supported"),
    ({"device": "tpu"}, "unknown device 'tpu'"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD_OPTIONS)
def test_bad_options_are_value_errors_naming_the_option(kwargs, message):
    X, y = _small_problem()
    with pytest.raises(ArgumentError, match=message) as info:
        cross_validated_decoding(X, y, cv=3, inner_cv=2, **kwargs)
    assert isinstance(info.value, ValueError) and isinstance(info.value, WmgeomError)
    with pytest.raises(ArgumentError, match=message):
        LinearDecoder(inner_cv=2, **kwargs).fit(X, y)


def test_bad_thread_count_is_refused():
    X, y = _small_problem()
    with pytest.raises(ArgumentError, match="n_threads=0 must be a positive integer"):
        cross_validated_decoding(X, y, cv=3, inner_cv=2, n_threads=0)


def test_nan_grid_no_longer_gives_zero_decoders():
    """``Cs=[nan]`` used to fit all-zero normals and score chance without complaint."""
    X, y = _data("separable", n=60)
    with pytest.raises(ArgumentError, match="Cs="):
        LinearDecoder(Cs=[float("nan")], inner_cv=2).fit(X, y)


@pytest.mark.parametrize("scale", [1e20, 1e39])
def test_inputs_that_overflow_float32_are_refused_and_fit_in_float64(scale):
    """Finite in float64 but beyond float32 in the solver: refused, not scored at 0 %."""
    X, y = _data("separable", n=120, D=6)
    with pytest.raises(ArgumentError, match="too large for dtype='float32'.*dtype='float64'"):
        cross_validated_decoding(X * scale, y, cv=3, inner_cv=2)
    with pytest.raises(ArgumentError, match="too large for dtype='float32'"):
        LinearDecoder(inner_cv=2).fit(X * scale, y)
    # float64 handles them (4 classes: chance 0.25; unscaled, these data decode at 0.79)
    res = cross_validated_decoding(X * scale, y, cv=3, inner_cv=2, dtype="float64")
    assert res.features["accuracy"].iloc[0] > 0.7
    est = LinearDecoder(inner_cv=2, dtype="float64").fit(X * scale, y)
    assert est.score(X * scale, y) > 0.7


def test_inputs_that_overflow_float64_are_refused():
    X, y = _small_problem()
    with pytest.raises(ArgumentError, match="too large for dtype='float64'.*; rescale X"):
        cross_validated_decoding(X * 1e160, y, cv=3, inner_cv=2, dtype="float64")


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (np.zeros((0, 3)), np.zeros(0), r"X is empty \(shape \(0, 3\)\)"),
        ([], [], r"X is empty \(shape \(0,\)\)"),
        (np.zeros((2, 0, 3)), np.zeros(0), r"X is empty \(shape \(2, 0, 3\)\)"),
        (np.zeros((30, 0)), np.arange(30) % 3, r"X has no features \(shape \(30, 0\)\)"),
        (None, np.array([1, "a"] * 15, dtype=object), r"labels y mix types \(int, str\)"),
        (None, [1, "a"] * 15, r"labels y mix types \(int, str\)"),
        (None, {"location": [0.5, "left"] * 15}, r"labels y\['location'\] mix types"),
        (None, np.full(30, 7), r"labels y have a single value 7 \(one class\)"),
        (None, {"category": ["cat"] * 30},
         r"labels y\['category'\] have a single value 'cat' \(one class\)"),
    ],
)
def test_malformed_inputs_give_one_clear_value_error(X, y, message):
    if X is None:
        X = _small_problem()[0]
    with pytest.raises(ArgumentError, match=message) as info:
        cross_validated_decoding(X, y, cv=3, inner_cv=2)
    assert isinstance(info.value, ValueError)


def test_estimator_refuses_mixed_labels_and_a_single_class():
    X, _ = _small_problem()
    with pytest.raises(ArgumentError, match=r"labels y mix types \(int, str\)"):
        LinearDecoder(inner_cv=2).fit(X, np.array([1, "a"] * 15, dtype=object))
    with pytest.raises(ArgumentError, match=r"single value 'a' \(one class\)"):
        LinearDecoder(inner_cv=2).fit(X, ["a"] * 30)


def test_estimator_validates_like_sklearn_and_counts_iterations():
    X, y = _data("separable", n=60)
    est = LinearDecoder(inner_cv=2).fit(X, y)
    assert est.n_features_in_ == X.shape[1]
    assert isinstance(est.n_iter_, int) and est.n_iter_ >= 1
    with pytest.raises(ArgumentError, match="X has 3 features, but LinearDecoder is expecting"):
        est.predict(X[:, :3])
    with pytest.raises(ArgumentError, match="NaN"):
        est.predict(np.full_like(X, np.nan))
    dcd = LinearDecoder(inner_cv=2, solver="dcd", max_iter=3).fit(X, y)
    assert 1 <= dcd.n_iter_ <= 3


@parametrize_with_checks([LinearDecoder(device="cpu")])
def test_sklearn_estimator_checks(estimator, check):
    """scikit-learn's full estimator battery (``check_estimator``), each check a test.

    ``check_array_api_input`` skips itself unless ``SCIPY_ARRAY_API=1`` was set before
    SciPy was imported; :func:`test_sklearn_array_api_check` runs it in a process that has it.
    """
    check(estimator)


def test_sklearn_array_api_check():
    """The estimator checks that need ``SCIPY_ARRAY_API=1`` from the start of the process."""
    code = textwrap.dedent("""
        from sklearn.utils.estimator_checks import estimator_checks_generator
        from wmgeom.analysis import LinearDecoder
        ran = []
        for est, check in estimator_checks_generator(LinearDecoder(device="cpu"), mark=None):
            name = getattr(check, "func", check).__name__
            if "array_api" in name:
                check(est)
                ran.append(name)
        assert ran, "no array API check in the battery"
        print(ran)
    """)
    env = {**os.environ, "SCIPY_ARRAY_API": "1",
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "check_array_api_input" in out.stdout
