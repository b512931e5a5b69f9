"""Synthetic working-memory recordings with planted geometry, to validate the analyses.

The one generator of wmgeom's tests: it writes a complete Activations Dataset (the schema of
docs/design.md) whose geometry is known. The three hypotheses of Lei et al. 2024 about memory
subspaces (Fig. 4e) become modes:

* ``"slot"`` (H1): stimulus ``s`` is written into a fixed subspace ``B_s`` and stays there;
* ``"age"`` (H2, relative chronological subspaces): the subspace depends on the age
  ``t - s`` of the memory only, ``B_{t-s}``, shared by all stimuli (``recall_realignment``
  moves it back toward the encoding subspace at the recall step ``t - s = N``);
* ``"stimulus"`` (H3): every stimulus has its own sequence of subspaces ``B_{s, t-s}``.

Each stimulus carries several features (identity nested in category when both are asked
for, as objects are), one-hot coded in orthogonal blocks of a code space that each subspace
embeds; task-relevant features are coded with gain ``relevant_gain`` and the others with
``irrelevant_gain``, so the task-relevant/-irrelevant analyses have a known answer.
``embedding_rank`` confines each feature's code to fewer dimensions than it has values,
which de-orthogonalises its one-vs-rest normals relative to the full-rank perceptual codes
(Fig. 3b).

The nuisances of trained networks can be added, so that an analysis is tested on the data
it will meet: ``constant_units`` near-constant units (standard deviation
``constant_std``) whose mean moves from frame to frame, a per-frame offset of every unit
(``frame_offset``), a ``tanh`` saturation, and unequal class frequencies
(``class_skew``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from wmgeom.errors import WmgeomError
from wmgeom.tasks.vocabulary import ACTIONS, MATCH, NO_ACTION, NON_MATCH

__all__ = ["synthetic_memory_activations"]

_MODES = ("slot", "age", "stimulus")


def _orthonormal(rng: np.random.Generator, D: int, q: int) -> np.ndarray:
    Q, _ = np.linalg.qr(rng.normal(size=(D, q)))
    return Q[:, :q]


def _task_spec(task: str | tuple[str, int, str]) -> tuple[str, int, str]:
    """``(name, N, relevant feature)`` from a tuple or a name such as ``nback-2-identity``."""
    if isinstance(task, str):
        parts = task.split("-")
        if len(parts) != 3 or not parts[1].isdigit():
            raise WmgeomError(f"task {task!r} is neither (name, N, feature) nor "
                              "'nback-<N>-<feature>'")
        return task, int(parts[1]), parts[2]
    name, n, relevant = task
    return str(name), int(n), str(relevant)


def _draw_labels(rng: np.random.Generator, features: Mapping[str, int], shape: tuple[int, int],
                 class_skew: float) -> dict[str, np.ndarray]:
    """Labels per feature ``[n, T]``; identity nested in category when both are present."""
    def draw(k: int) -> np.ndarray:
        if not class_skew:
            return rng.integers(0, k, size=shape)
        p = np.exp(-class_skew * np.arange(k))
        return rng.choice(k, size=shape, p=p / p.sum())

    labels = {f: draw(k) for f, k in features.items() if f != "category" or
              "identity" not in features}
    if "identity" in features and "category" in features:
        per_category = features["identity"] // features["category"]
        labels["category"] = labels["identity"] // per_category
    return {f: labels[f] for f in features}


def _targets(labels: dict[str, np.ndarray], n: np.ndarray, relevant: np.ndarray
             ) -> np.ndarray:
    """N-back targets of every frame (no action before N, then match / non-match)."""
    B, T = n.shape[0], next(iter(labels.values())).shape[1]
    frames = np.arange(T)
    target = np.full((B, T), NO_ACTION, dtype=np.int64)
    for f, lab in labels.items():
        rows = relevant == f
        back = np.take_along_axis(lab, np.clip(frames[None, :] - n[:, None], 0, None), axis=1)
        exe = (frames[None, :] >= n[:, None]) & rows[:, None]
        target[exe] = np.where(lab == back, MATCH, NON_MATCH)[exe]
    return target


def synthetic_memory_activations(
    n_trials: int = 200,
    n_frames: int = 4,
    n_units: int = 48,
    *,
    mode: str = "age",
    features: Mapping[str, int] | None = None,
    tasks: Sequence[str | tuple[str, int, str]] = (("task", 1, "location"),),
    task_specific: bool = False,
    relevant_gain: float = 5.0,
    irrelevant_gain: float = 5.0,
    decay: float = 1.0,
    recall_realignment: float = 0.0,
    noise: float = 1.0,
    embedding_rank: int | None = None,
    nonlinearity: str | None = None,
    constant_units: int = 0,
    constant_std: float = 1e-4,
    frame_offset: float = 0.0,
    class_skew: float = 0.0,
    n_perceptual: int = 40,
    cell: bool = False,
    architecture: str = "gru",
    regime: str = "",
    split: str = "val_angle",
    seed: int = 0,
) -> xr.Dataset:
    """A recording ``[trial, frame, unit]`` whose memory geometry is known.

    Args:
        n_trials: Trials per task.
        n_frames: Frames per trial (one stimulus per frame).
        n_units: Units of the latent space (including ``constant_units``).
        mode: ``"slot"`` (H1), ``"age"`` (H2) or ``"stimulus"`` (H3), see the module.
        features: Feature names and numbers of values (default location 4, category 4);
            with both ``identity`` and ``category``, identity ``i`` belongs to category
            ``i // (n_identity // n_category)``.
        tasks: ``(name, N, relevant feature)`` or names ``nback-<N>-<feature>``.
        task_specific: Draw separate subspaces for every task (else shared by all tasks).
        relevant_gain: Amplitude of the task-relevant feature's code.
        irrelevant_gain: Amplitude of the other features' codes.
        decay: Amplitude factor per frame of age of a memory.
        recall_realignment: At its recall step (age ``N`` of the trial's task) a memory's
            subspace moves this fraction of the way back to its encoding subspace (Lei et
            al. 2024, Fig. 4b–c: memories realign with their encoding when they are recalled).
        noise: Standard deviation of isotropic Gaussian noise.
        embedding_rank: Confine each feature's code to this many dimensions.
        nonlinearity: ``"tanh"`` to saturate the states, None for linear codes.
        constant_units: Units that barely vary (std ``constant_std``) but whose mean
            differs between frames (a frame-specific offset of 0.5 per frame).
        constant_std: Their standard deviation.
        frame_offset: Standard deviation of a random offset of every unit at each frame.
        class_skew: Unequal classes: value ``v`` is drawn with weight ``exp(-skew v)``.
        n_perceptual: Units of the perceptual (CNN) space, which codes every feature value
            along its own random direction.
        cell: Add an LSTM-like ``cell`` variable (a noisy rescaling of ``hidden``).
        architecture: Stored in the attributes (``architecture``).
        regime: Stored in the attributes (``regime``).
        split: The ``split`` of every trial.
        seed: Random seed.

    Returns:
        An Activations Dataset: ``hidden`` (and ``cell``), ``encoding``, ``perceptual``,
        ``logits``, ``probs`` (trial, frame, ·), one label variable per feature, ``angle``,
        ``target`` and ``executive`` (trial, frame), per-trial ``task``, ``n``, ``feature``
        and ``split``.

    Raises:
        WmgeomError: On an unknown mode, a relevant feature that is not coded, or a too
            small space.
    """
    if mode not in _MODES:
        raise WmgeomError(f"unknown mode {mode!r}; choose from {list(_MODES)}")
    features = dict(features or {"location": 4, "category": 4})
    if "identity" in features and "category" in features and \
            features["identity"] % features["category"]:
        raise WmgeomError("identity values must split evenly over categories (identity is "
                          "nested in category)")
    specs = [_task_spec(t) for t in tasks]
    n_slots = n_frames if mode != "stimulus" else n_frames * n_frames
    ranks = {f: k if embedding_rank is None else min(k, embedding_rank)
             for f, k in features.items()}
    code_dim = sum(ranks.values())
    coding_units = n_units - constant_units
    if coding_units < code_dim:
        raise WmgeomError(f"n_units={n_units} leaves {coding_units} coding units for "
                          f"{code_dim} code dimensions; use more units")
    rng = np.random.default_rng(seed)
    T = n_frames
    offsets = np.cumsum([0, *ranks.values()])
    # codes[f]: [k_f, code_dim], a (possibly low-rank) embedding of each value in f's block
    codes = {}
    for j, (f, k) in enumerate(features.items()):
        block = np.eye(k) if ranks[f] == k else rng.normal(size=(k, ranks[f])) / np.sqrt(
            ranks[f])
        codes[f] = np.zeros((k, code_dim))
        codes[f][:, offsets[j]: offsets[j] + ranks[f]] = block
    hidden, labels, task_col, n_col, feat_col = [], {f: [] for f in features}, [], [], []
    shared_bases = None
    for name, n_back, relevant in specs:
        if relevant not in features:
            raise WmgeomError(f"task {name!r} names relevant feature {relevant!r}, which is "
                              f"not among {sorted(features)}")
        if shared_bases is None or task_specific:
            shared_bases = np.stack([_orthonormal(rng, coding_units, code_dim)
                                     for _ in range(n_slots)])
        bases = shared_bases
        lab = _draw_labels(rng, features, (n_trials, T), class_skew)
        # code of each stimulus: gains * feature embeddings, [n, T(stimulus), code_dim]
        stim = sum((relevant_gain if f == relevant else irrelevant_gain) * codes[f][lab[f]]
                   for f in features)
        s_idx, t_idx = np.meshgrid(np.arange(T), np.arange(T), indexing="ij")
        age = t_idx - s_idx
        if mode == "slot":
            which = np.broadcast_to(np.arange(T)[:, None], (T, T))
        elif mode == "age":
            which = np.clip(age, 0, None)
        else:
            which = s_idx * T + np.clip(age, 0, None)
        # contribution of stimulus s to frame t: B[which[s, t]] @ code_s, only for s <= t
        B = bases[which]  # [T(s), T(t), D, q]
        if recall_realignment:
            recall = (age == n_back)[..., None, None]
            B = np.where(recall, (1 - recall_realignment) * B
                         + recall_realignment * bases[which[:, :1]], B)
        amp = np.where(age >= 0, decay ** np.clip(age, 0, None), 0.0)  # [T(s), T(t)]
        X = np.einsum("stdq,nsq,st->ntd", B, stim, amp)
        X = X + noise * rng.normal(size=X.shape)
        hidden.append(X)
        for f in features:
            labels[f].append(lab[f])
        task_col += [name] * n_trials
        n_col += [n_back] * n_trials
        feat_col += [relevant] * n_trials
    X = np.concatenate(hidden)
    n_all = X.shape[0]
    if frame_offset:
        X = X + frame_offset * rng.normal(size=(1, T, coding_units))
    if nonlinearity == "tanh":
        X = np.tanh(X)
    elif nonlinearity is not None:
        raise WmgeomError(f"unknown nonlinearity {nonlinearity!r}; use 'tanh' or None")
    if constant_units:
        level = 0.5 * np.arange(T)[None, :, None] + rng.normal(size=(1, 1, constant_units))
        flat = level + constant_std * rng.normal(size=(n_all, T, constant_units))
        X = np.concatenate([X, flat], axis=-1)
    lab_all = {f: np.concatenate(v) for f, v in labels.items()}
    n_arr, rel_arr = np.asarray(n_col), np.asarray(feat_col)
    target = _targets(lab_all, n_arr, rel_arr)
    perc_codes = {f: rng.normal(size=(k, n_perceptual)) for f, k in features.items()}
    perceptual = sum(perc_codes[f][lab_all[f]] for f in features)
    perceptual = perceptual + 0.3 * rng.normal(size=perceptual.shape)
    encoding = X @ (rng.normal(size=(X.shape[-1], X.shape[-1])) / np.sqrt(X.shape[-1]))
    logits = 3.0 * np.eye(len(ACTIONS))[target] + 0.5 * rng.normal(size=(n_all, T, 3))
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    data_vars = {
        "hidden": (("trial", "frame", "unit"), X),
        "encoding": (("trial", "frame", "enc_unit"), encoding.astype(np.float32)),
        "perceptual": (("trial", "frame", "perc_unit"), perceptual.astype(np.float32)),
        "logits": (("trial", "frame", "action"), logits.astype(np.float32)),
        "probs": (("trial", "frame", "action"), probs.astype(np.float32)),
        "angle": (("trial", "frame"), rng.integers(0, 3, size=(n_all, T))),
        "target": (("trial", "frame"), target),
        "executive": (("trial", "frame"), np.arange(T)[None, :] >= n_arr[:, None]),
    }
    if cell:
        data_vars["cell"] = (("trial", "frame", "unit"),
                             (1.5 * X + 0.1 * rng.normal(size=X.shape)).astype(np.float32))
    for f in features:
        data_vars[f] = (("trial", "frame"), lab_all[f])
    data_vars["task"] = ("trial", np.asarray(task_col))
    data_vars["n"] = ("trial", n_arr)
    data_vars["feature"] = ("trial", rel_arr)
    data_vars["split"] = ("trial", np.full(n_all, split))
    ds = xr.Dataset(data_vars, coords={"trial": np.arange(n_all), "frame": np.arange(T),
                                       "action": list(ACTIONS)})
    ds.attrs.update({"source": "synthetic", "mode": mode, "seed": seed,
                     "architecture": architecture, "regime": regime,
                     "hidden_size": int(X.shape[-1]), "backbone": "synthetic"})
    return ds
