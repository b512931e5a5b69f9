"""Synthetic working-memory activations with planted geometry, to validate the analyses.

The seed's three hypotheses about memory subspaces (Fig. 4e) become generators:

* ``"slot"`` (H1): stimulus ``s`` is written into a fixed subspace ``B_s`` and stays there;
* ``"age"`` (H2, relative chronological subspaces): the subspace depends on the age
  ``t - s`` of the memory only, ``B_{t-s}``, shared by all stimuli;
* ``"stimulus"`` (H3): every stimulus has its own sequence of subspaces ``B_{s, t-s}``.

Each stimulus carries several features, one-hot coded in orthogonal blocks of a code
space (of dimension the total number of feature values) that each subspace embeds;
task-relevant features are coded with gain ``relevant_gain`` and the others with
``irrelevant_gain``, so the task-relevant/-irrelevant analyses have a known answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from wmgeom.errors import WmgeomError

__all__ = ["synthetic_memory_activations"]

_MODES = ("slot", "age", "stimulus")


def _orthonormal(rng: np.random.Generator, D: int, q: int) -> np.ndarray:
    Q, _ = np.linalg.qr(rng.normal(size=(D, q)))
    return Q[:, :q]


def synthetic_memory_activations(
    n_trials: int = 200,
    n_frames: int = 4,
    n_units: int = 48,
    *,
    mode: str = "age",
    features: Mapping[str, int] | None = None,
    tasks: Sequence[tuple[str, int, str]] = (("task", 1, "location"),),
    task_specific: bool = False,
    relevant_gain: float = 5.0,
    irrelevant_gain: float = 5.0,
    decay: float = 1.0,
    noise: float = 1.0,
    seed: int = 0,
) -> xr.Dataset:
    """Activations ``[trial, frame, unit]`` whose memory geometry is known.

    Args:
        n_trials: Trials per task.
        n_frames: Frames per trial (one stimulus per frame).
        n_units: Units of the latent space.
        mode: ``"slot"`` (H1), ``"age"`` (H2) or ``"stimulus"`` (H3), see the module.
        features: Feature names and numbers of values (default location 4, category 4).
        tasks: ``(name, N, relevant feature)`` per task.
        task_specific: Draw separate subspaces for every task (else shared by all tasks).
        relevant_gain: Amplitude of the task-relevant feature's code.
        irrelevant_gain: Amplitude of the other features' codes.
        decay: Amplitude factor per frame of age of a memory.
        noise: Standard deviation of isotropic Gaussian noise.
        seed: Random seed.

    Returns:
        An Activations-like Dataset: ``hidden`` (trial, frame, unit), one label variable per
        feature (trial, frame), per-trial ``task``, ``n`` and ``feature``.

    Raises:
        WmgeomError: On an unknown mode or a too small space.
    """
    if mode not in _MODES:
        raise WmgeomError(f"unknown mode {mode!r}; choose from {list(_MODES)}")
    features = dict(features or {"location": 4, "category": 4})
    n_slots = n_frames if mode != "stimulus" else n_frames * n_frames
    code_dim = sum(features.values())
    if n_units < code_dim:
        raise WmgeomError(f"n_units={n_units} is smaller than the {code_dim} feature values; "
                          "use more units")
    rng = np.random.default_rng(seed)
    T = n_frames
    hidden, labels, task_col, n_col, feat_col = [], {f: [] for f in features}, [], [], []
    shared_bases = None
    for name, n_back, relevant in tasks:
        if relevant not in features:
            raise WmgeomError(f"task {name!r} names relevant feature {relevant!r}, which is "
                              f"not among {sorted(features)}")
        if shared_bases is None or task_specific:
            # one subspace (D x code_dim) per slot / age / (stimulus, age)
            bases = np.stack([_orthonormal(rng, n_units, code_dim) for _ in range(n_slots)])
            offsets = np.cumsum([0, *features.values()])
            codes = {f: np.eye(code_dim)[offsets[j]: offsets[j] + k]
                     for j, (f, k) in enumerate(features.items())}
            shared_bases = (bases, codes)
        bases, codes = shared_bases
        lab = {f: rng.integers(0, k, size=(n_trials, T)) for f, k in features.items()}
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
        amp = np.where(age >= 0, decay ** np.clip(age, 0, None), 0.0)  # [T(s), T(t)]
        X = np.einsum("stdq,nsq,st->ntd", B, stim, amp)
        X = X + noise * rng.normal(size=X.shape)
        hidden.append(X)
        for f in features:
            labels[f].append(lab[f])
        task_col += [name] * n_trials
        n_col += [n_back] * n_trials
        feat_col += [relevant] * n_trials
    data_vars = {"hidden": (("trial", "frame", "unit"), np.concatenate(hidden))}
    for f in features:
        data_vars[f] = (("trial", "frame"), np.concatenate(labels[f]))
    data_vars["task"] = ("trial", np.asarray(task_col))
    data_vars["n"] = ("trial", np.asarray(n_col))
    data_vars["feature"] = ("trial", np.asarray(feat_col))
    ds = xr.Dataset(data_vars, coords={"trial": np.arange(len(task_col)),
                                       "frame": np.arange(T)})
    ds.attrs.update({"source": "synthetic", "mode": mode, "seed": seed})
    return ds
