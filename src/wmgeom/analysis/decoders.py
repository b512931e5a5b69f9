"""Batched linear SVM decoders with the cross-validation protocol of Lei et al. 2024.

Lei et al. 2024 (appendix, "Decoding analyses") decode every feature value from the rest
with a linear support-vector classifier (scikit-learn's ``SVC``), 10-fold cross-validation
and a grid search over ``C`` in {0.001, 0.01, 1, 10} (:data:`PAPER_CS`). Done with
scikit-learn this means tens of thousands of separate libsvm fits per model. Here every
fold × inner fold × ``C`` × one-vs-rest class × condition (frame, task, ...) is solved as
**one batched problem** by :func:`~wmgeom.analysis.solvers.solve_hinge_svm`, on the CPU
or a GPU; this module holds the labels, the folds, the :class:`LinearDecoder` estimator
and the cross-validated scores around that solver.

The objective is libsvm's C-SVM, unchanged, on the raw activations, as the paper fits
``SVC``; ``standardize=True`` instead standardises the inputs inside each training fold
(mean and standard deviation of the training part only). Every training set (outer fold,
inner fold) is a mask over the samples of one design matrix per condition, so the
products with the data are GEMMs shared by all folds, ``C`` values and classes of a
condition.

Decoders are returned in the ORIGINAL input coordinates (with ``standardize=True`` the
per-fold standardisation is undone), so their normals can be used directly in the model's
own space. Raw inputs are the default because standardising is not harmless on network
activations: a unit that barely varies (std ~1e-4) gets a weight of the size of an
informative unit's after scaling, i.e. a huge weight in input coordinates, and a decoder
applied to another frame or task where that unit's mean has moved then fails.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from wmgeom.analysis.solvers import solve_hinge_svm
from wmgeom.devices import resolve_device
from wmgeom.errors import ArgumentError, WmgeomError

PAPER_CS: tuple[float, ...] = (0.001, 0.01, 1.0, 10.0)
"""The regularisation grid of Lei et al. 2024 (appendix, "Decoding analyses")."""
SEED_CS = PAPER_CS  # the earlier, deprecated name of the public constant

__all__ = [
    "PAPER_CS",
    "DecodingResult",
    "LinearDecoder",
    "cross_validated_decoding",
    "decision_values",
]


# --------------------------------------------------------------------------- folds


def decision_values(X: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """Signed decision values ``d = X . w + b`` of linear decoders (Lei et al. 2024, eq. 4).

    Args:
        X: Activations ``[..., n, D]``.
        coef: Normals ``[..., K, D]`` (leading dims broadcast against ``X``'s).
        intercept: Biases ``[..., K]``.

    Returns:
        ``[..., n, K]`` decision values.
    """
    return np.einsum("...nd,...kd->...nk", X, coef) + intercept[..., None, :]


# --------------------------------------------------------------------------- labels


@dataclass(frozen=True)
class _Problems:
    """The binary one-vs-rest problems of one or several features."""

    features: tuple[str, ...]
    classes: tuple[np.ndarray, ...]  # per feature, sorted unique values
    Y: np.ndarray  # [n_cond, n, K] in {-1, +1}
    codes: np.ndarray  # [n_cond, n, n_features] class index per feature
    table: pd.DataFrame  # one row per decoder k: feature, class, feature_index

    @property
    def K(self) -> int:
        return self.Y.shape[-1]


def _as_label_dict(y: Any) -> dict[str, Any]:
    """The label values per feature, as given (``"label"`` for a single array)."""
    if isinstance(y, pd.DataFrame):
        return {str(c): y[c] for c in y.columns}
    if isinstance(y, Mapping):
        return {str(k): v for k, v in y.items()}
    return {"label": y}


def _label_array(values: Any, what: str) -> np.ndarray:
    """``values`` as an array; labels that mix types (numbers and strings) are refused.

    ``np.asarray`` would silently turn ``[1, "a"]`` into the strings ``"1"``, ``"a"``, and
    ``np.unique`` cannot sort an object array of both.
    """
    try:
        lab = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    except ValueError as exc:
        raise ArgumentError(f"{what} are not a rectangular array ({exc})") from None
    if not isinstance(values, np.ndarray) or lab.dtype == object:
        flat = np.asarray(values, dtype=object).ravel()
        if pd.api.types.infer_dtype(flat, skipna=True) in ("mixed", "mixed-integer"):
            types = ", ".join(sorted({type(v).__name__ for v in flat}))
            raise ArgumentError(f"{what} mix types ({types}); give every class label the "
                                "same type, e.g. all strings or all integers")
    return lab


def _problems(y: Any, n_cond: int, n: int) -> _Problems:
    labels = _as_label_dict(y)
    if not labels:
        raise ArgumentError("no labels given; pass an array or a dict of feature -> labels")
    plain = not isinstance(y, pd.DataFrame | Mapping)
    feats, classes, Ys, codes, rows = [], [], [], [], []
    for name, values in labels.items():
        what = "labels y" if plain else f"labels y[{name!r}]"
        lab = _label_array(values, what)
        if lab.ndim == 1:
            lab = np.broadcast_to(lab, (n_cond, lab.shape[0]))
        if lab.shape != (n_cond, n):
            raise ArgumentError(
                f"{what} have shape {lab.shape}; expected ({n},) or ({n_cond}, {n}) "
                "to match the activations")
        if pd.isna(lab).any() if lab.dtype.kind in "fO" else False:
            raise ArgumentError(f"{what} contain missing values; drop those samples")
        cls, code = np.unique(lab, return_inverse=True)
        code = code.reshape(lab.shape)
        if len(cls) < 2:
            only = cls[0].item() if isinstance(cls[0], np.generic) else cls[0]
            raise ArgumentError(f"{what} have a single value {only!r} (one class); a decoder "
                                "needs at least two classes")
        if len(cls) == 2:  # one binary decoder, positive class = cls[1] (as scikit-learn)
            Ys.append(np.where(code == 1, 1.0, -1.0)[..., None])
            rows.append({"feature": name, "class": cls[1], "class_index": 1,
                         "feature_index": len(feats)})
        else:
            Ys.append(np.where(code[..., None] == np.arange(len(cls)), 1.0, -1.0))
            rows += [{"feature": name, "class": c, "class_index": j,
                      "feature_index": len(feats)} for j, c in enumerate(cls)]
        feats.append(name)
        classes.append(cls)
        codes.append(code)
    return _Problems(tuple(feats), tuple(classes), np.concatenate(Ys, -1),
                     np.stack(codes, -1), pd.DataFrame(rows))


def _splits(cv: Any, n: int, strat: np.ndarray | None, groups: np.ndarray | None,
            shuffle: bool, seed: int | None, what: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """Resolve ``cv`` (int, splitter or iterable of (train, test)) into index pairs."""
    if isinstance(cv, str | bytes | float):
        raise ArgumentError(f"{what}={cv!r}: must be an int, a scikit-learn splitter or a "
                            "list of (train, test) index arrays")
    if isinstance(cv, int | np.integer):
        if cv < 2:
            raise ArgumentError(f"{what}={cv} is too small; use at least 2 folds")
        if cv > n:
            raise ArgumentError(f"{what}={cv} folds but only {n} samples; use fewer folds")
        if strat is not None:
            counts = np.unique(strat, return_counts=True)[1]
            if counts.min() >= cv:
                kw = {"shuffle": shuffle, "random_state": seed if shuffle else None}
                splitter = StratifiedKFold(int(cv), **kw)
                return [(tr, te) for tr, te in splitter.split(np.zeros(n), strat)]
        kw = {"shuffle": shuffle, "random_state": seed if shuffle else None}
        return [(tr, te) for tr, te in KFold(int(cv), **kw).split(np.zeros(n))]
    if hasattr(cv, "split"):
        y = strat if strat is not None else np.zeros(n)
        return [(np.asarray(tr), np.asarray(te)) for tr, te in cv.split(np.zeros(n), y, groups)]
    try:
        out = [(np.asarray(tr), np.asarray(te)) for tr, te in cv]
    except TypeError as exc:
        raise ArgumentError(f"{what} must be an int, a scikit-learn splitter or a list of "
                            f"(train, test) index arrays, not {type(cv).__name__}") from exc
    if not out:
        raise ArgumentError(f"{what} gave no splits")
    return out


# --------------------------------------------------------------------------- the core


@dataclass
class _GridFit:
    coef: np.ndarray  # [n_cond, n_outer, K, D]
    intercept: np.ndarray  # [n_cond, n_outer, K]
    best_C: np.ndarray  # [n_cond, n_outer, K]
    cv_scores: np.ndarray  # [n_cond, n_outer, nC, K] mean inner-validation accuracy
    outer: list[tuple[np.ndarray, np.ndarray]]
    n_iter: int = 0  # the most solver iterations of any problem


def _designs(X: torch.Tensor, train: torch.Tensor | None, intercept_scaling: float,
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Design matrices ``[..., n, D+1]`` of the solver and their input coordinates.

    ``X [c, n, D]``. Raw (``train`` None): one matrix per condition, centred on the mean of
    all its samples (a translation, which leaves the solution unchanged: the intercept is
    re-chosen for the solved normal), the intercept column ``intercept_scaling`` times the
    root-mean-square standard deviation of the units (so the column's weight relative to the
    data does not depend on their units). Standardised (``train [g, n]`` bool): one matrix
    per condition × training set, each unit standardised with that set's mean and std, the
    column ``intercept_scaling``.

    Returns ``(Xa, shift, scale)``: ``z = (x - shift) / scale`` is a row of ``Xa``.
    """
    if train is None:
        shift = X.mean(1)  # [c, D]
        Z = X - shift[:, None]
        rms = Z.square().mean((1, 2)).sqrt()
        height = intercept_scaling * torch.where(rms > 0, rms, torch.ones_like(rms))
        scale = torch.ones_like(shift)
    else:
        w = train.to(X.dtype)[None, :, :, None]  # [1, g, n, 1]
        count = w.sum(2)
        shift = (X[:, None] * w).sum(2) / count  # [c, g, D]
        var = ((X[:, None] - shift[:, :, None]).square() * w).sum(2) / count
        scale = var.sqrt()
        scale = torch.where(scale > 1e-12 * (1 + shift.abs()), scale, torch.ones_like(scale))
        Z = ((X[:, None] - shift[:, :, None]) / scale[:, :, None]).flatten(0, 1)
        shift, scale = shift.flatten(0, 1), scale.flatten(0, 1)
        height = torch.full((Z.shape[0],), float(intercept_scaling), dtype=X.dtype,
                            device=X.device)
    ones = height[:, None, None].expand(-1, Z.shape[1], 1)
    return torch.cat([Z, ones], -1), shift, scale


def _fit_grid(
    Xc: np.ndarray, Y: np.ndarray, outer: list[tuple[np.ndarray, np.ndarray]],
    inner_cv: Any, strat: np.ndarray | None, Cs: Sequence[float], *, device: Any,
    dtype: torch.dtype, intercept_scaling: float, solver_options: dict, seed: int | None,
    standardize: bool = False, max_elements: int = 2 ** 24,
) -> _GridFit:
    """Fit every condition × outer fold × (inner fold | refit) × C × class in one solve.

    For each outer training set the grid over ``Cs`` is scored by ``inner_cv`` (mean
    validation accuracy per one-vs-rest decoder, as ``GridSearchCV`` does); the decoder at
    the best ``C`` fitted on the whole outer training set (solved in the same batch) is kept.
    Every training set is a mask over the samples of one design matrix per condition (per
    condition × training set with ``standardize``), so one GEMM serves all folds, ``C`` and
    classes of a condition. Conditions are solved in chunks of at most ``max_elements``
    entries of the ``[samples, problems]`` arrays.

    Raises:
        ArgumentError: If the solver's products of ``Xc`` overflow ``dtype``, a training
            fold has fewer than 2 samples or ``inner_cv`` is impossible.
    """
    dev = resolve_device(device)
    _check_range(Xc, dtype)
    if not Xc.flags.writeable:  # torch warns on read-only arrays (e.g. memory maps)
        Xc = Xc.copy()
    n_cond, n, D = Xc.shape
    K = Y.shape[-1]
    Cs = np.asarray(Cs, dtype=float)
    nC = len(Cs)
    train_rows, eval_rows, tags = [], [], []  # one training set per (outer, inner | refit)
    for o, (tr, _) in enumerate(outer):
        if len(tr) < 2:
            raise ArgumentError("a training fold has fewer than 2 samples; use fewer folds")
        inner = (_splits(inner_cv, len(tr), None if strat is None else strat[tr], None,
                         False, seed, "inner_cv") if nC > 1 else [])
        train_rows.append(tr)
        eval_rows.append(np.zeros(0, dtype=np.int64))
        tags.append((o, -1))
        for i, (itr, ite) in enumerate(inner):
            train_rows.append(tr[itr])
            eval_rows.append(tr[ite])
            tags.append((o, i))
    nG = len(train_rows)
    train_np = np.zeros((nG, n), dtype=bool)
    eval_np = np.zeros((nG, n), dtype=bool)
    for g in range(nG):
        train_np[g, train_rows[g]] = True
        eval_np[g, eval_rows[g]] = True
    train = torch.as_tensor(train_np, device=dev)
    evalm = torch.as_tensor(eval_np, device=dev).to(dtype)
    n_eval = np.maximum(eval_np.sum(1), 1).astype(np.float64)  # [nG]
    refit = [g for g, t in enumerate(tags) if t[1] < 0]  # one per outer fold
    opts = {"seed": 0 if seed is None else seed, **solver_options}
    acc = np.zeros((n_cond, nG, nC, K))
    coef_r = np.zeros((n_cond, len(outer), nC, K, D))
    icpt_r = np.zeros((n_cond, len(outer), nC, K))
    n_iter = 0
    per_cond = n * nG * K * (1 + (D + 1) / K if standardize else 1)
    step = max(1, int(max_elements // per_cond))
    for c0 in range(0, n_cond, step):
        cs = slice(c0, min(n_cond, c0 + step))
        Xt = torch.as_tensor(Xc[cs], dtype=dtype, device=dev)
        Yt = torch.as_tensor(Y[cs], dtype=dtype, device=dev)  # [c, n, K]
        nc = Xt.shape[0]
        Xa, shift, scale = _designs(Xt, train if standardize else None, intercept_scaling)
        if standardize:  # matrix (cond, set); columns: classes
            Yq = (Yt[:, None] * train[None, :, :, None].to(dtype)).flatten(0, 1)
        else:  # matrix cond; columns (class, set)
            Yq = (Yt[..., None] * train.T[None, :, None, :].to(dtype)).flatten(2)
        # one sample order per design matrix: its coordinate steps are then GEMMs over all
        # of the matrix's problems (one order per class was 2-4x slower, measured on the
        # decoder bank of a quick-profile GRU: 9.6 s against 19.8 s per task)
        theta, its = solve_hinge_svm(Xa, Yq, torch.as_tensor(Cs), groups=1,
                                     return_n_iter=True, **opts)
        n_iter = max(n_iter, its)
        height = Xa[:, 0, -1]
        for ci in range(nC):  # inner-validation accuracy, in solver coordinates
            dec = Xa @ theta[:, ci]  # [c | c*set, n, cols]
            if standardize:
                dec = dec.view(nc, nG, n, K).permute(0, 2, 3, 1)  # [c, n, K, set]
            else:
                dec = dec.view(nc, n, K, nG)
            right = ((dec > 0) == (Yt[..., None] > 0)).to(dtype)
            # counts are exact; the fold accuracies and their mean in float64, as
            # GridSearchCV computes them, so that ties between C values break the same way
            hits = torch.einsum("cnks,sn->csk", right, evalm).cpu().numpy()
            acc[cs, :, ci] = np.rint(hits) / n_eval[None, :, None]
        # the refit decoders, back in input coordinates
        if standardize:
            th = theta.view(nc, nG, nC, D + 1, K)[:, refit]  # [c, o, nC, D+1, K]
            sh = shift.view(nc, nG, D)[:, refit][:, :, None, :, None]
            sc = scale.view(nc, nG, D)[:, refit][:, :, None, :, None]
            hg = height.view(nc, nG)[:, refit][:, :, None, None]
        else:
            th = theta.view(nc, nC, D + 1, K, nG)[..., refit].permute(0, 4, 1, 2, 3)
            sh, sc = shift[:, None, None, :, None], scale[:, None, None, :, None]
            hg = height[:, None, None, None]
        w = th[..., :D, :] / sc  # [c, o, nC, D, K]
        b = hg * th[..., D, :] - (w * sh).sum(-2)
        coef_r[cs] = w.transpose(-1, -2).double().cpu().numpy()
        icpt_r[cs] = b.double().cpu().numpy()
    n_outer = len(outer)
    scores = np.zeros((n_cond, n_outer, nC, K))
    n_inner = np.zeros(n_outer)
    for g, (o, i) in enumerate(tags):
        if i >= 0:
            scores[:, o] += acc[:, g]
            n_inner[o] += 1
    scores /= np.maximum(n_inner, 1)[None, :, None, None]
    best = scores.argmax(axis=2)  # [n_cond, n_outer, K]  (first maximum, as GridSearchCV)
    cc = np.arange(n_cond)[:, None, None]
    oo = np.arange(n_outer)[None, :, None]
    kk = np.arange(K)[None, None, :]
    coef = coef_r[cc, oo, best, kk]  # [n_cond, n_outer, K, D]
    intercept = icpt_r[cc, oo, best, kk]
    return _GridFit(coef, intercept, Cs[best], scores, outer, n_iter)


def _check_range(Xc: np.ndarray, dtype: torch.dtype) -> None:
    """Refuse activations whose products in the solver overflow ``dtype``.

    The solvers form sums over the samples of products of two columns of the design
    (Gram matrices, the interior-point systems), in ``dtype``: values finite in float64
    can overflow float32 there (from about ``1e17`` for a hundred samples of a few units)
    and would leave every decoder at zero.
    """
    n, D = Xc.shape[-2:]
    big = max(float(Xc.max()), -float(Xc.min())) if Xc.size else 0.0
    limit = math.sqrt(torch.finfo(dtype).max / (n * (D + 1)))
    if big > limit:
        name = str(dtype).removeprefix("torch.")
        fix = "pass dtype='float64' or rescale X" if dtype != torch.float64 else "rescale X"
        raise ArgumentError(
            f"X holds values up to {big:.3g}, too large for dtype={name!r} (the solver's sums "
            f"of products over {n} samples overflow above {limit:.3g}); {fix}")


def _check_X(X: Any, name: str = "X") -> np.ndarray:
    X = np.asarray(X)
    if X.dtype.kind not in "fiub":
        raise ArgumentError(f"{name} must be numeric, got dtype {X.dtype}")
    if X.ndim in (2, 3) and X.shape[-1] == 0 and min(X.shape[:-1]) > 0:
        raise ArgumentError(f"{name} has no features (shape {X.shape}); pass at least one "
                            "unit per sample")
    if X.size == 0:
        raise ArgumentError(f"{name} is empty (shape {X.shape}); pass activations of at least "
                            "two samples per class")
    if X.ndim not in (2, 3):
        raise ArgumentError(f"{name} must be [n_samples, n_features] or [n_conditions, "
                            f"n_samples, n_features]; got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ArgumentError(f"{name} contains NaN or infinite values; drop or impute them")
    return X


def _torch_dtype(dtype: str) -> torch.dtype:
    table = {"float32": torch.float32, "float64": torch.float64}
    if not isinstance(dtype, str) or dtype not in table:
        raise ArgumentError(f"dtype={dtype!r} is not supported; use 'float32' or 'float64'")
    return table[dtype]


def _check_options(*, Cs: Any, dtype: Any, solver: Any, max_iter: Any, tol: Any,
                   intercept_scaling: Any, standardize: Any, device: Any,
                   n_threads: Any = None) -> tuple[np.ndarray, torch.dtype, torch.device]:
    """Check the options shared by :class:`LinearDecoder` and the cross-validated decoding.

    Returns:
        ``(Cs, dtype, device)``: the grid as a float array, the torch dtype and device.

    Raises:
        ArgumentError: Naming the first bad option.
    """
    try:
        grid = np.asarray(Cs, dtype=np.float64)
    except (TypeError, ValueError):
        grid = np.zeros(0)
    if grid.ndim != 1 or grid.size == 0 or not (np.isfinite(grid) & (grid > 0)).all():
        shown = tuple(Cs) if isinstance(Cs, list | tuple) else Cs
        raise ArgumentError(f"Cs={shown!r} must be a non-empty list of finite positive "
                            "numbers")
    if solver not in ("auto", "ipm", "dcd"):
        raise ArgumentError(f"solver={solver!r}: use 'auto', 'ipm' or 'dcd'")
    if isinstance(max_iter, bool) or not isinstance(max_iter, Integral) or max_iter < 1:
        raise ArgumentError(f"max_iter={max_iter!r} must be a positive integer")
    for key, value in (("tol", tol), ("intercept_scaling", intercept_scaling)):
        if (isinstance(value, bool) or not isinstance(value, Real)
                or not math.isfinite(value) or value <= 0):
            raise ArgumentError(f"{key}={value!r} must be a finite positive number")
    if not isinstance(standardize, bool | np.bool_):
        raise ArgumentError(f"standardize={standardize!r} must be True or False")
    if n_threads is not None and (isinstance(n_threads, bool)
                                  or not isinstance(n_threads, Integral) or n_threads < 1):
        raise ArgumentError(f"n_threads={n_threads!r} must be a positive integer or None")
    torch_dtype = _torch_dtype(dtype)
    try:
        dev = resolve_device(device)
    except WmgeomError as exc:
        raise ArgumentError(str(exc)) from None
    return grid, torch_dtype, dev


def _sklearn_checked(check: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a scikit-learn validator; its ``ValueError`` becomes an :class:`ArgumentError`.

    The message is scikit-learn's, so the estimator checks that match it still do, and the
    command line reports it as any other user error.
    """
    try:
        return check(*args, **kwargs)
    except ValueError as exc:
        if isinstance(exc, WmgeomError):
            raise
        raise ArgumentError(str(exc)) from exc


# --------------------------------------------------------------------------- estimator


class LinearDecoder(ClassifierMixin, BaseEstimator):
    """One-vs-rest linear SVM with an inner grid search over ``C`` (Lei et al. 2024, appendix).

    Equivalent to ``OneVsRestClassifier(GridSearchCV(SVC(kernel="linear"), {"C": Cs},
    cv=inner_cv))`` (with ``standardize=True``: ``make_pipeline(StandardScaler(), SVC(...))``
    inside the grid search), but every inner fold, ``C`` and class is solved in one batched
    torch problem. The best ``C`` is chosen per
    one-vs-rest decoder by mean inner-validation accuracy (ties: the first in ``Cs``).

    Args:
        Cs: Grid of ``C`` values (Lei et al. 2024: {0.001, 0.01, 1, 10}).
        inner_cv: Folds of the grid search: an int (stratified, unshuffled, as
            ``GridSearchCV``), a scikit-learn splitter or a list of (train, test) indices.
        standardize: Standardise inputs with each training fold's mean and std (default
            False: raw inputs, as Lei et al. 2024 fit ``SVC``); coefficients are always returned in
            the original coordinates.
        device: ``"auto"`` (CUDA if available), ``"cpu"`` or ``"cuda"``.
        dtype: ``"float32"`` (default) or ``"float64"``.
        max_iter: Coordinate-descent epochs per ``C`` at most (see
            :func:`~wmgeom.analysis.solvers.solve_hinge_svm`).
        tol: Coordinate-descent tolerance (LIBLINEAR's ``eps``, in margin units).
        intercept_scaling: Height of the constant column that carries the intercept, in
            units of the inputs' root-mean-square standard deviation (coordinate descent
            penalises ``0.5 (b / height)^2``; the intercept is re-chosen exactly at the end).
        solver: ``"auto"``, ``"ipm"`` (exact interior-point) or ``"dcd"`` (coordinate
            descent); see :func:`~wmgeom.analysis.solvers.solve_hinge_svm`.

    Attributes:
        classes_: Class labels ``[n_classes]``.
        coef_: Decoder normals in input coordinates, ``[n_classes, n_features]``
            (``[1, n_features]`` for two classes, positive class ``classes_[1]``).
        intercept_: Biases ``[n_classes]`` (or ``[1]``).
        best_C_: Selected ``C`` per decoder.
        cv_scores_: Mean inner-validation accuracy ``[n_Cs, n_decoders]``.
        n_iter_: The most solver iterations any of the fitted problems took (interior-point
            iterations, or coordinate-descent epochs at one ``C``).
        n_features_in_: Number of input features.
        feature_names_in_: Names of the input features, when ``X`` was a DataFrame with
            string column names.

    Raises:
        ArgumentError: (in :meth:`fit`, a ``ValueError``) On a bad parameter (named in the
            message), malformed inputs, labels that mix types or hold a single class.
    """

    def __init__(self, Cs: Sequence[float] = PAPER_CS, inner_cv: Any = 5,
                 standardize: bool = False, device: str | None = "auto", dtype: str = "float32",
                 max_iter: int = 100, tol: float = 0.1, intercept_scaling: float = 10.0,
                 solver: str = "auto"):
        self.Cs = Cs
        self.inner_cv = inner_cv
        self.standardize = standardize
        self.device = device
        self.dtype = dtype
        self.max_iter = max_iter
        self.tol = tol
        self.intercept_scaling = intercept_scaling
        self.solver = solver

    def fit(self, X: Any, y: Any) -> LinearDecoder:
        """Fit the one-vs-rest decoders on ``X [n, D]`` and labels ``y [n]``."""
        Cs, dtype, device = _check_options(
            Cs=self.Cs, dtype=self.dtype, solver=self.solver, max_iter=self.max_iter,
            tol=self.tol, intercept_scaling=self.intercept_scaling,
            standardize=self.standardize, device=self.device)
        X, y = _sklearn_checked(validate_data, self, X, y, dtype=np.float64)
        _label_array(y, "labels y")  # mixed types, before scikit-learn calls them "unknown"
        _sklearn_checked(check_classification_targets, y)
        prob = _problems(y, 1, X.shape[0])
        n = X.shape[0]
        fit = _fit_grid(
            X[None], prob.Y, [(np.arange(n), np.zeros(0, dtype=np.int64))], self.inner_cv,
            prob.codes[0, :, 0], Cs, device=device, dtype=dtype,
            intercept_scaling=self.intercept_scaling,
            solver_options={"max_iter": self.max_iter, "tol": self.tol,
                            "method": self.solver}, seed=None,
            standardize=self.standardize)
        self.classes_ = prob.classes[0]
        self.coef_ = fit.coef[0, 0]
        self.intercept_ = fit.intercept[0, 0]
        self.best_C_ = fit.best_C[0, 0]
        self.cv_scores_ = fit.cv_scores[0, 0]
        self.n_iter_ = fit.n_iter
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Signed distances ``X . w + b``: ``[n, n_classes]`` (``[n]`` for two classes)."""
        check_is_fitted(self, "coef_")
        X = _sklearn_checked(validate_data, self, X, dtype=np.float64, reset=False)
        d = X @ self.coef_.T + self.intercept_
        return d[:, 0] if len(self.classes_) == 2 else d

    def predict(self, X: Any) -> np.ndarray:
        """Class with the largest one-vs-rest decision value (sign for two classes)."""
        d = self.decision_function(X)
        if len(self.classes_) == 2:
            return self.classes_[(d > 0).astype(int)]
        return self.classes_[d.argmax(1)]


# --------------------------------------------------------------------------- CV decoding


@dataclass
class DecodingResult:
    """Cross-validated decoders and their scores (the protocol of Lei et al. 2024).

    Attributes:
        decoders: One row per condition × decoder. Columns: ``condition``, ``feature``,
            ``class``, ``accuracy`` and ``balanced_accuracy`` of the one-vs-rest decoder on
            the held-out folds (pooled), ``accuracy_std`` (over folds), ``best_C`` (most
            frequent over folds), ``n``.
        features: One row per condition × feature. Columns: ``condition``, ``feature``,
            ``n_classes``, ``accuracy`` and ``balanced_accuracy`` of the multi-class
            prediction by argmax over the one-vs-rest decision values, ``chance`` (1/k), ``n``.
        coef: Fold-wise normals in input coordinates ``[n_cond, n_folds, K, D]``.
        intercept: Fold-wise biases ``[n_cond, n_folds, K]``.
        best_C: Selected ``C`` ``[n_cond, n_folds, K]``.
        cv_scores: Inner-validation accuracy ``[n_cond, n_folds, n_Cs, K]``.
        decision: Out-of-fold decision values ``[n_cond, n, K]`` (NaN if never held out).
        decoder_index: The decoder axis ``K``: ``feature``, ``class``, ``class_index``,
            ``feature_index``.
        folds: The outer (train, test) index pairs.
        conditions: Condition labels.
        classes: Class values per feature.
    """

    decoders: pd.DataFrame
    features: pd.DataFrame
    coef: np.ndarray
    intercept: np.ndarray
    best_C: np.ndarray
    cv_scores: np.ndarray
    decision: np.ndarray
    decoder_index: pd.DataFrame
    folds: list[tuple[np.ndarray, np.ndarray]]
    conditions: list[Any]
    classes: dict[str, np.ndarray] = field(default_factory=dict)

    def feature_slice(self, feature: str) -> slice:
        """The decoder-axis slice of one feature's one-vs-rest decoders."""
        ks = np.flatnonzero(self.decoder_index["feature"].to_numpy() == feature)
        if len(ks) == 0:
            raise ArgumentError(f"no decoders for feature {feature!r}; "
                                f"have {sorted(self.classes)}")
        return slice(int(ks[0]), int(ks[-1]) + 1)


def _balanced_accuracy(pred: np.ndarray, true: np.ndarray, valid: np.ndarray,
                       n_classes: int) -> np.ndarray:
    """Mean per-class recall over the last axis, batched over leading axes."""
    onehot = (true[..., None] == np.arange(n_classes)) & valid[..., None]
    hit = (pred == true)[..., None] & onehot
    support = onehot.sum(-2)
    recall = np.where(support > 0, hit.sum(-2) / np.maximum(support, 1), np.nan)
    return np.nanmean(recall, axis=-1)


def score_decisions(decision: np.ndarray, codes: np.ndarray, Y: np.ndarray,
                    decoder_index: pd.DataFrame, classes: Sequence[np.ndarray],
                    valid: np.ndarray | None = None) -> tuple[dict, dict]:
    """Per-decoder and per-feature accuracies of decision values (batched over leading axes).

    Args:
        decision: ``[..., n, K]`` decision values.
        codes: ``[..., n, n_features]`` true class index per feature.
        Y: ``[..., n, K]`` true one-vs-rest labels in {-1, +1}.
        decoder_index: The decoder axis description (``feature_index``).
        classes: Class values per feature.
        valid: ``[..., n]`` samples to score (default: where ``decision`` is finite).

    Returns:
        ``(per_decoder, per_feature)``: dicts of arrays ``accuracy``, ``balanced_accuracy``
        with shapes ``[..., K]`` and ``[..., n_features]``.
    """
    if valid is None:
        valid = np.isfinite(decision).all(-1)
    nv = np.maximum(valid.sum(-1), 1)[..., None]
    pos = decision > 0
    true = Y > 0
    v = valid[..., None]
    acc_k = ((pos == true) & v).sum(-2) / nv
    tpr = (pos & true & v).sum(-2) / np.maximum((true & v).sum(-2), 1)
    tnr = (~pos & ~true & v).sum(-2) / np.maximum((~true & v).sum(-2), 1)
    bal_k = (tpr + tnr) / 2
    fi = decoder_index["feature_index"].to_numpy()
    acc_f, bal_f = [], []
    for f, cls in enumerate(classes):  # loop over features (a handful), not over trials
        ks = np.flatnonzero(fi == f)
        d = np.where(np.isfinite(decision[..., ks]), decision[..., ks], 0.0)
        pred = (d[..., 0] > 0).astype(int) if len(ks) == 1 else d.argmax(-1)
        true_f = codes[..., f]
        acc_f.append(((pred == true_f) & valid).sum(-1) / nv[..., 0])
        bal_f.append(_balanced_accuracy(pred, true_f, valid, len(cls)))
    return ({"accuracy": acc_k, "balanced_accuracy": bal_k},
            {"accuracy": np.stack(acc_f, -1), "balanced_accuracy": np.stack(bal_f, -1)})


def cross_validated_decoding(
    X: Any,
    y: Any,
    *,
    cv: Any = 10,
    Cs: Sequence[float] = PAPER_CS,
    inner_cv: Any = 5,
    groups: Any = None,
    conditions: Sequence[Any] | None = None,
    seed: int | None = 0,
    device: str | None = "auto",
    dtype: str = "float32",
    max_iter: int = 100,
    tol: float = 0.1,
    intercept_scaling: float = 10.0,
    standardize: bool = False,
    solver: str = "auto",
    n_threads: int | None = None,
) -> DecodingResult:
    """Cross-validated one-vs-rest linear SVM decoding as in Lei et al. 2024 (appendix).

    Every outer fold × inner fold × ``C`` × one-vs-rest class × condition is one batched
    solve (:func:`~wmgeom.analysis.solvers.solve_hinge_svm`) on the raw activations
    (``standardize=True``: inputs standardised inside each training fold); decoders are
    returned in input coordinates.

    Args:
        X: Activations ``[n, D]`` or, batched over conditions (frames, tasks, ...),
            ``[n_conditions, n, D]`` (the same trials in every condition).
        y: Labels: an array ``[n]`` (or ``[n_conditions, n]`` for per-condition labels),
            or a dict / DataFrame of such arrays, one per feature (all decoded at once).
        cv: Outer folds: an int (stratified on the labels when there is a single feature
            shared by all conditions, else plain; shuffled with ``seed``), a scikit-learn
            splitter (``groups`` is passed to it) or a list of (train, test) index arrays.
        Cs: Grid of ``C`` values (Lei et al. 2024: {0.001, 0.01, 1, 10}).
        inner_cv: Folds of the inner grid search (as ``GridSearchCV``'s ``cv``).
        groups: Group labels for a group-aware splitter.
        conditions: Names of the conditions (default 0, 1, ...).
        seed: Shuffling seed of the outer folds.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        dtype: ``"float32"`` or ``"float64"``.
        max_iter: Coordinate-descent epochs per ``C`` at most (see
            :func:`~wmgeom.analysis.solvers.solve_hinge_svm`).
        tol: Coordinate-descent tolerance (LIBLINEAR's ``eps``, in margin units).
        intercept_scaling: Height of the constant column carrying the intercept, in units
            of the inputs' root-mean-square standard deviation.
        standardize: Standardise the inputs with each training fold's mean and std (default
            False: raw activations, as Lei et al. 2024 fit ``SVC``).
        solver: ``"auto"``, ``"ipm"`` (exact interior-point) or ``"dcd"`` (coordinate
            descent); see :func:`~wmgeom.analysis.solvers.solve_hinge_svm`.
        n_threads: CPU threads of the solve (default 1, see
            :func:`~wmgeom.analysis.solvers.solve_hinge_svm`).

    Returns:
        A :class:`DecodingResult`; ``.decoders`` and ``.features`` are the tidy tables.

    Raises:
        ArgumentError: (a ``ValueError``) On a bad option (named in the message), empty or
            malformed activations, activations too large for ``dtype``, labels that mix
            types or hold a single class, or impossible fold counts.
    """
    X = _check_X(X)
    Xc = X[None] if X.ndim == 2 else X
    n_cond, n, _ = Xc.shape
    Cs, torch_dtype, device = _check_options(
        Cs=Cs, dtype=dtype, solver=solver, max_iter=max_iter, tol=tol,
        intercept_scaling=intercept_scaling, standardize=standardize, device=device,
        n_threads=n_threads)
    prob = _problems(y, n_cond, n)
    if conditions is None:
        conditions = list(range(n_cond))
    if len(conditions) != n_cond:
        raise ArgumentError(f"conditions: {len(conditions)} condition names for {n_cond} "
                            "conditions")
    shared = len(prob.features) == 1 and all(
        np.array_equal(prob.codes[0, :, 0], prob.codes[c, :, 0]) for c in range(n_cond))
    strat = prob.codes[0, :, 0] if shared else None
    outer = _splits(cv, n, strat, None if groups is None else np.asarray(groups), True,
                    seed, "cv")
    fit = _fit_grid(Xc.astype(np.float64, copy=False), prob.Y, outer, inner_cv, strat, Cs,
                    device=device, dtype=torch_dtype,
                    intercept_scaling=intercept_scaling,
                    solver_options={"max_iter": max_iter, "tol": tol, "method": solver,
                                    "n_threads": n_threads},
                    seed=seed, standardize=standardize)
    K = prob.K
    decision = np.full((n_cond, n, K), np.nan)
    fold_acc = np.full((n_cond, len(outer), K), np.nan)
    for o, (_, te) in enumerate(outer):  # one vectorised product per fold
        d = decision_values(Xc[:, te], fit.coef[:, o], fit.intercept[:, o])
        decision[:, te] = d
        fold_acc[:, o] = ((d > 0) == (prob.Y[:, te] > 0)).mean(1) if len(te) else np.nan
    per_k, per_f = score_decisions(decision, prob.codes, prob.Y, prob.table, prob.classes)
    valid = np.isfinite(decision).all(-1)
    rows = []
    for c in range(n_cond):
        for k, info in prob.table.iterrows():
            vals, counts = np.unique(fit.best_C[c, :, k], return_counts=True)
            rows.append({"condition": conditions[c], "feature": info["feature"],
                         "class": info["class"], "accuracy": per_k["accuracy"][c, k],
                         "balanced_accuracy": per_k["balanced_accuracy"][c, k],
                         "accuracy_std": np.nanstd(fold_acc[c, :, k]),
                         "best_C": vals[counts.argmax()], "n": int(valid[c].sum())})
    frows = []
    for c in range(n_cond):
        for f, name in enumerate(prob.features):
            k_f = len(prob.classes[f])
            frows.append({"condition": conditions[c], "feature": name, "n_classes": k_f,
                          "accuracy": per_f["accuracy"][c, f],
                          "balanced_accuracy": per_f["balanced_accuracy"][c, f],
                          "chance": 1.0 / k_f, "n": int(valid[c].sum())})
    return DecodingResult(
        decoders=pd.DataFrame(rows), features=pd.DataFrame(frows), coef=fit.coef,
        intercept=fit.intercept, best_C=fit.best_C, cv_scores=fit.cv_scores,
        decision=decision, decoder_index=prob.table, folds=outer,
        conditions=list(conditions), classes=dict(zip(prob.features, prob.classes, strict=True)))
