"""Where novel objects lose their identity: training and novel identities decoded stage by
stage (beyond Lei et al. 2024, who "observed reduced performance with novel objects" but "did
not analyze the representational geometry associated with these stimuli", §5 Limitations).

Every stimulus is decoded at each stage of the model, in the order its information flows:

* ``perceptual`` — the frozen backbone's features of the stimulus's frame;
* ``input`` — the encoding vector fed to the core at that frame (the trained projection);
* ``encoding`` — the core's state at the stimulus's frame (lag 0, the encoding space
  ``E(S=i, T=i)`` of Lei et al. 2024);
* ``memory L`` — the core's state ``L`` steps later (lags ``1..N`` of an N-back task, while
  the stimulus is held: the memory spaces ``M(S=i, T=i+L)``).

Two groups of stimuli are compared. The *training identities* are those of the
``trained_split`` (by default ``val_angle``: the objects trained on, seen from novel view
angles, so that the comparison with ``val_identity`` differs in identity novelty only; both
splits are fresh images); the *novel identities* are those of the ``novel_split``
(``val_identity``: objects of the same categories never trained on). The groups are matched
so that chance is equal: the group with more identities is subsampled (seeded) to as many
identities as the other, drawing as many per category as the other holds (on the recorded
stimulus set, one training identity of each category against its one novel identity), and
every decoding condition holds the same number of trials in both groups. Identity, category
and location are decoded with the cross-validated decoders of
:func:`~wmgeom.analysis.decoders.cross_validated_decoding` (one batched solve per space, both
groups together), from the same trials at every stage.

*Category generalization*: category decoders fitted on the training identities (every trial
of the trained split) are tested on the novel identities at the same stage, which share
their categories.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from wmgeom.analysis.data import activation_arrays, label_features
from wmgeom.analysis.decoders import cross_validated_decoding
from wmgeom.analysis.generalization import transfer_scores
from wmgeom.errors import WmgeomError

__all__ = ["GROUPS", "identity_loss", "match_identities", "novel_object_decoding",
           "stage_order"]

GROUPS: tuple[str, ...] = ("trained", "novel")
"""The two groups of stimuli: training identities and novel identities."""

_PRE_CORE = (("perceptual", "perceptual"), ("input", "encoding"))
"""Stages before the core: ``(stage, activation variable)``."""


def stage_order(stage: str) -> int:
    """The position of a stage along the model: perceptual 0, input 1, encoding 2, memory L
    at 2 + L.

    Raises:
        WmgeomError: For an unknown stage.
    """
    fixed = {"perceptual": 0, "input": 1, "encoding": 2}
    if stage in fixed:
        return fixed[stage]
    head, _, lag = stage.partition(" ")
    if head == "memory" and lag.isdigit() and int(lag) >= 1:
        return 2 + int(lag)
    raise WmgeomError(f"unknown stage {stage!r}; stages are perceptual, input, encoding and "
                      "memory <lag>")


def match_identities(trained: Sequence[Any], novel: Sequence[Any],
                     category_of: Mapping[Any, Any] | None = None, seed: int = 0,
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The identities of each group kept so that both hold as many.

    The larger group is subsampled to the smaller one's size: per category as many
    identities as the smaller group holds in it (where the larger has enough), the rest drawn
    from its remaining identities, all at random with ``seed``.

    Args:
        trained: The training identities.
        novel: The novel identities.
        category_of: The category of every identity (None: categories are not used).
        seed: Seed of the subsample.

    Returns:
        ``(trained_kept, novel_kept)``, each sorted.

    Raises:
        WmgeomError: If a group holds fewer than two identities.
    """
    groups = [np.unique(np.asarray(trained)), np.unique(np.asarray(novel))]
    for name, ids in zip(GROUPS, groups, strict=True):
        if len(ids) < 2:
            raise WmgeomError(f"the {name} identities hold {len(ids)} identity; decoding "
                              "identity needs at least two in each group")
    small, large = sorted(range(2), key=lambda g: (len(groups[g]), g))
    k = len(groups[small])
    if len(groups[large]) == k:
        return groups[0], groups[1]
    rng = np.random.default_rng(seed)
    pool = list(groups[large])
    kept: list[Any] = []
    if category_of is not None:
        for cat in sorted({category_of[i] for i in groups[small]}, key=str):
            want = sum(category_of[i] == cat for i in groups[small])
            have = [i for i in pool if category_of[i] == cat]
            take = list(rng.permutation(np.asarray(have, dtype=object))[:want]) if have else []
            kept += take
            pool = [i for i in pool if i not in take]
    rest = k - len(kept)
    if rest:
        kept += list(rng.permutation(np.asarray(pool, dtype=object))[:rest])
    out = [None, None]
    out[small], out[large] = groups[small], np.sort(np.asarray(kept, dtype=groups[large].dtype))
    return out[0], out[1]


def _split_trials(ds: Any, split: str) -> np.ndarray:
    recorded = ds["split"].values.astype(str)
    trials = np.flatnonzero(recorded == split)
    if not len(trials):
        raise WmgeomError(f"no trials of the split {split!r}; recorded splits are "
                          f"{sorted(set(recorded.tolist()))}")
    return trials


def _category_of(identity: np.ndarray, category: np.ndarray | None) -> dict[Any, Any] | None:
    """Each identity's category (None when categories are not labelled or not nested)."""
    if category is None:
        return None
    pairs = np.unique(np.stack([identity.ravel(), category.ravel()], 1), axis=0)
    if len(np.unique(pairs[:, 0])) != len(pairs):
        return None
    return {i: c for i, c in pairs}


def novel_object_decoding(
    data: Any,
    *,
    trained_split: str = "val_angle",
    novel_split: str = "val_identity",
    space: str = "hidden",
    features: Sequence[str] | None = None,
    seed: int = 0,
    **decode_kw: Any,
) -> pd.DataFrame:
    """Training and novel identities decoded at every stage (see the module).

    Args:
        data: An Activations Dataset holding trials of both splits (a ``split`` variable),
            the core's state ``space`` and, where recorded, the ``perceptual`` features and
            the ``encoding`` vectors.
        trained_split: The split whose identities were trained on (default ``val_angle``,
            which differs from ``novel_split`` only in the identities' novelty; ``train``
            shows the training images themselves).
        novel_split: The split of identities never trained on.
        space: The core's state variable (``hidden``; ``cell`` for an LSTM's cell state).
        features: Features to decode (default every labelled one); must include
            ``identity``.
        seed: Seed of the identity and trial subsamples and of the folds.
        **decode_kw: Passed to :func:`~wmgeom.analysis.decoders.cross_validated_decoding`
            (``cv``, ``Cs``, ``inner_cv``, ``device``, ``standardize``).

    Returns:
        One row per stage × group × task × stimulus × feature (``kind`` ``cross-validated``)
        and per stage × task × stimulus for the category decoders of the training identities
        tested on the novel ones (group ``novel``, ``kind`` ``generalization``). Columns:
        ``stage``, ``order`` (:func:`stage_order`), ``space`` (the variable decoded),
        ``group``, ``split``, ``kind``, ``task``, ``n``, ``relevant_feature``, ``stimulus``,
        ``frame``, ``lag``, ``feature``, ``relevant``, ``accuracy``, ``balanced_accuracy``,
        ``chance``, ``normalized_accuracy`` (``(accuracy - chance) / (1 - chance)``),
        ``n_classes``, ``n_trials``.

    Raises:
        WmgeomError: If the splits are not recorded or are the same, the novel split shares
            identities with the trained one, ``identity`` is not labelled, or too few trials
            are left for the folds.
    """
    if not hasattr(data, "data_vars"):
        raise WmgeomError("novel_object_decoding needs an Activations Dataset (with a split "
                          "per trial and several spaces), not arrays")
    if "split" not in data.data_vars:
        raise WmgeomError("the recording has no 'split' variable, so training and novel "
                          "identities cannot be told apart; record several splits")
    if trained_split == novel_split:
        raise WmgeomError(f"trained_split and novel_split are both {novel_split!r}; compare "
                          "two different splits")
    names = list(features) if features is not None else label_features(data)
    if "identity" not in names or "identity" not in data.data_vars:
        raise WmgeomError(f"no identity labels among the features {names}; novel objects "
                          "are compared by their identity")
    kw = dict(decode_kw)
    cv = kw.pop("cv", 10)
    folds = cv if isinstance(cv, int) else len(list(cv))
    kw.pop("seed", None)
    core = activation_arrays(data, space=space, features=names)
    spaces = [(stage, var) for stage, var in _PRE_CORE if var in data.data_vars]
    arrays = {var: activation_arrays(data, space=var, features=names).X for _, var in spaces}
    arrays[space] = core.X
    trials = {"trained": _split_trials(data, trained_split),
              "novel": _split_trials(data, novel_split)}
    split_of = {"trained": trained_split, "novel": novel_split}
    identity = core.labels["identity"]
    ids = {g: np.unique(identity[t]) for g, t in trials.items()}
    shared = np.intersect1d(ids["trained"], ids["novel"])
    if len(shared):
        raise WmgeomError(f"the split {novel_split!r} shares identities {shared.tolist()} with "
                          f"{trained_split!r}; its identities are not novel")
    category = core.labels.get("category")
    kept = dict(zip(GROUPS, match_identities(
        ids["trained"], ids["novel"], _category_of(identity, category), seed), strict=True))
    tasks = [t for t in dict.fromkeys(core.task[trials["trained"]].tolist())
             if t in set(core.task[trials["novel"]].tolist())]
    if not tasks:
        raise WmgeomError(f"the splits {trained_split!r} and {novel_split!r} share no task")
    T = core.n_frames
    rng = np.random.default_rng(seed)
    # the trials of every (group, task, stimulus): the kept identities at that frame
    eligible = {}
    for g in GROUPS:
        for task in tasks:
            rows = trials[g][core.task[trials[g]] == task]
            for i in range(T):
                eligible[g, task, i] = rows[np.isin(identity[rows, i], kept[g])]
    n = min(len(v) for v in eligible.values())
    if n < 2 * folds:
        raise WmgeomError(f"only {n} trials of a task show a kept identity at a frame; "
                          f"{folds}-fold decoding needs {2 * folds}; record more trials")
    chosen = {key: np.sort(rng.choice(v, n, replace=False)) for key, v in eligible.items()}
    # identity as its index among the group's kept identities: equal classes and chance
    code = {g: {v: k for k, v in enumerate(kept[g].tolist())} for g in GROUPS}
    info = {task: (int(core.n[core.task == task][0]), str(core.relevant[core.task == task][0]))
            for task in tasks}
    fit_kw = {"cv": cv, "seed": seed, **kw}
    rows_out = []
    for stage_space, (X, cells) in _conditions(tasks, info, T, spaces, space, arrays).items():
        conds = [(g, *c) for g in GROUPS for c in cells]
        Xc = np.stack([X[chosen[g, task, i], j] for g, task, i, j, _ in conds])
        labels = {}
        for f in names:
            lab = [core.labels[f][chosen[g, task, i], i] for g, task, i, _, _ in conds]
            if f == "identity":
                lab = [np.vectorize(code[g].__getitem__)(v) for (g, *_), v in zip(conds, lab,
                                                                                   strict=True)]
            labels[f] = np.stack(lab)
        res = cross_validated_decoding(Xc, labels, **fit_kw)
        feats = res.features
        for c, (g, task, i, j, stage) in enumerate(conds):
            for _, r in feats[feats["condition"] == c].iterrows():
                rows_out.append(_row(stage, stage_space, g, split_of[g], "cross-validated",
                                     task, info[task], i, j, r["feature"], r["accuracy"],
                                     r["balanced_accuracy"], r["n_classes"], r["n"]))
        if "category" in names:
            rows_out += _category_generalization(X, cells, core, trials, tasks, info, fit_kw,
                                                 split_of, stage_space)
    out = pd.DataFrame(rows_out)
    out["normalized_accuracy"] = (out["accuracy"] - out["chance"]) / (1 - out["chance"])
    return out


def _conditions(tasks, info, T, spaces, space, arrays) -> dict[str, tuple[np.ndarray, list]]:
    """Per activation variable: its array and the cells ``(task, stimulus i, frame j,
    stage)`` decoded from it."""
    out = {}
    for stage, var in spaces:
        out[var] = (arrays[var], [(task, i, i, stage) for task in tasks for i in range(T)])
    cells = []
    for task in tasks:
        n_back = info[task][0]
        for i in range(T):
            for lag in range(0, n_back + 1):
                if i + lag < T:
                    cells.append((task, i, i + lag, "encoding" if lag == 0 else f"memory {lag}"))
    out[space] = (arrays[space], cells)
    return out


def _row(stage, space, group, split, kind, task, info, i, j, feature, accuracy, balanced,
         n_classes, n_trials) -> dict[str, Any]:
    return {"stage": stage, "order": stage_order(stage), "space": space, "group": group,
            "split": split, "kind": kind, "task": task, "n": info[0],
            "relevant_feature": info[1], "stimulus": i, "frame": j,
            "lag": j - i if stage not in dict(_PRE_CORE) else 0, "feature": feature,
            "relevant": feature == info[1], "accuracy": float(accuracy),
            "balanced_accuracy": float(balanced), "chance": 1.0 / int(n_classes),
            "n_classes": int(n_classes), "n_trials": int(n_trials)}


def _category_generalization(X, cells, core, trials, tasks, info, fit_kw, split_of,
                             space) -> list[dict[str, Any]]:
    """Category decoders fitted on every trial of the training identities of each cell,
    tested on every trial of the novel identities (fold decoders averaged)."""
    src = {task: trials["trained"][core.task[trials["trained"]] == task] for task in tasks}
    tgt = {task: trials["novel"][core.task[trials["novel"]] == task] for task in tasks}
    m = min(len(v) for v in src.values())
    rng = np.random.default_rng(fit_kw["seed"])
    src = {task: np.sort(rng.choice(v, m, replace=False)) for task, v in src.items()}
    category = core.labels["category"]
    res = cross_validated_decoding(
        np.stack([X[src[task], j] for task, _, j, _ in cells]),
        {"category": np.stack([category[src[task], i] for task, i, _, _ in cells])}, **fit_kw)
    rows = []
    for c, (task, i, j, stage) in enumerate(cells):
        d = np.einsum("nd,okd->onk", X[tgt[task], j], res.coef[c]) + res.intercept[c][:, None]
        s = transfer_scores(res, d, {"category": category[tgt[task], i][None]})
        rows.append(_row(stage, space, "novel", f"{split_of['trained']} → {split_of['novel']}",
                         "generalization", task, info[task], i, j, "category",
                         s["accuracy"][:, 0].mean(), s["balanced_accuracy"][:, 0].mean(),
                         len(res.classes["category"]), len(tgt[task])))
    return rows


def identity_loss(table: pd.DataFrame, feature: str = "identity") -> pd.DataFrame:
    """Normalised accuracy of each group per stage and the novel − trained gap.

    Args:
        table: Rows of :func:`novel_object_decoding` (one run; average runs yourself).
        feature: The feature compared (``identity`` by default).

    Returns:
        One row per stage in model order: ``stage``, ``order``, ``trained``, ``novel``
        (mean normalised accuracy over tasks and stimuli, cross-validated), ``gap``
        (``novel - trained``).
    """
    t = table[(table["kind"] == "cross-validated") & (table["feature"] == feature)]
    if t.empty:
        return pd.DataFrame(columns=["stage", "order", "trained", "novel", "gap"])
    wide = (t.groupby(["order", "stage", "group"])["normalized_accuracy"].mean()
            .unstack("group").reindex(columns=list(GROUPS)).reset_index()
            .sort_values("order"))
    wide["gap"] = wide["novel"] - wide["trained"]
    wide.columns.name = None
    return wide[["stage", "order", "trained", "novel", "gap"]].reset_index(drop=True)

