"""Fixed points of the trained recurrent layer in each task context and their relation to
the memory subspaces (Sussillo & Barak 2013; beyond Lei et al. 2024).

Lei et al. 2024 find that memories do not sit in a fixed subspace but move through time
(Fig. 4b). Whether the dynamics hold them as attractors is a question of fixed points: under
each task's context input (the mean encoding of the task's trials, stimuli averaged out) the
recurrent layer is a map ``h' = F(h, x̄)``; its fixed points and their stability tell
whether the network settles (stable points), drifts along a continuum (marginal points), or
passes by saddles.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wmgeom.analysis.fixed_points import (
    FixedPointFinder,
    sample_initial_states,
    subspace_fraction,
)
from wmgeom.pca import pca
from wmgeom.report import figures as F
from wmgeom.studies.nback.analysis import (
    Analysis,
    Context,
    Figure,
    Recording,
    SkipAnalysis,
    analysis_dataset,
    bank_of,
    per_model,
    percent,
    task_names,
)

N_INITIAL = 8
"""Initial states per task context."""
RELAX_STEPS = 20
"""Steps each initial state runs under the context input before the search."""
NOISE = 0.1
"""Noise added to the sampled states, in units of each unit's standard deviation."""
UNIQUE = 0.02
"""Fixed points closer than this fraction of the states' spread are one."""
N_EIGENVALUES = 3
"""Leading eigenvalues kept per fixed point."""


def _memory_basis(bank, task: str, n_units: int) -> tuple[np.ndarray, str] | None:
    """The ``k − 1`` leading directions of the fold-averaged decoder normals of the task's
    relevant feature (``k`` values) at its memory steps ``j > i`` (None without them)."""
    steps = bank.get(task)
    if steps is None or steps.relevant not in steps.result.classes:
        return None
    memory = [(i, j) for i, j in steps.pairs if j > i]
    if not memory:
        return None
    res = steps.select(memory)
    normals = res.coef[:, :, res.feature_slice(steps.relevant)].mean(1).reshape(-1, n_units)
    rank = max(1, len(res.classes[steps.relevant]) - 1)
    return np.linalg.svd(normals, full_matrices=False)[2][:rank], steps.relevant


def compute(rec: Recording, ctx: Context) -> pd.DataFrame:
    """Fixed points under each task's context input (Sussillo & Barak 2013).

    For each task, :data:`N_INITIAL` recorded states (hidden, and cell for an LSTM:
    the full state the step maps) are drawn with a little noise, run :data:`RELAX_STEPS`
    steps under the task's mean encoding ``x̄``, and handed to
    :class:`~wmgeom.analysis.fixed_points.FixedPointFinder` in one batch with every other
    task's. Each fixed point's hidden part is related to the task's memory subspace (the
    ``k − 1`` leading directions of the decoder normals of its relevant feature at memory
    steps, from the decoder bank) and to as many top principal components of the task's
    recorded hidden states: the fraction of its squared displacement from the mean
    recorded state that lies in each (chance: ``(k − 1) / H``).

    Returns:
        One row per fixed point (``found`` True) and one per task without any (``found``
        False): ``task``, ``feature``, ``point``, ``q``, ``stability`` (``stable``,
        ``marginal``, ``unstable``), ``n_unstable``, ``max_abs_eigenvalue``,
        ``eig<k>_real``/``eig<k>_imag`` (``k`` = 1..3, by decreasing modulus),
        ``distance`` (from the mean recorded state), ``memory_fraction``,
        ``pc_fraction``, ``chance_fraction``, ``subspace_dim``, ``n_initial``,
        ``n_converged``, ``slowest_q`` (the task's lowest speed reached).
    """
    import torch

    rec.require_recurrent_state()
    if rec.step is None:
        raise SkipAnalysis("no trained model was handed in to step its recurrent layer (the "
                           "run has no checkpoint, or its model could not be loaded)")
    ds = analysis_dataset(rec, ctx.protocol)
    if "encoding" not in ds or "task" not in ds:
        raise SkipAnalysis("the recording lacks the RNN input encodings or the task labels")
    if rec.has_cell_state and "cell" not in ds:
        raise SkipAnalysis("the model has a cell state but the recording holds none")
    hidden = ds["hidden"].values
    states = np.concatenate([hidden, ds["cell"].values], -1) if rec.has_cell_state else hidden
    tasks = ds["task"].values.astype(str)
    names = task_names(ds)
    n_units = hidden.shape[-1]
    h0, x0, groups = [], [], []
    for k, task in enumerate(names):
        sel = tasks == task
        drawn, _ = sample_initial_states(states[sel], N_INITIAL, NOISE, ctx.protocol.seed + k)
        h0.append(drawn)
        x0.append(np.repeat(ds["encoding"].values[sel].mean((0, 1))[None], N_INITIAL, 0))
        groups += [task] * N_INITIAL
    h = torch.as_tensor(np.concatenate(h0), dtype=torch.float32)
    x = torch.as_tensor(np.concatenate(x0), dtype=torch.float32)
    with torch.no_grad():
        for _ in range(RELAX_STEPS):
            h = rec.step(h, x)
    spread = np.mean([np.linalg.norm(states[tasks == t] - states[tasks == t].mean((0, 1)),
                                     axis=-1).mean() for t in names])
    finder = FixedPointFinder(dtype="float32", q_tol=1e-10, max_iter=50,
                              unique_tol=UNIQUE * spread)
    finder.fit(rec.step, h.numpy(), x.numpy(), groups=np.asarray(groups))
    try:
        bank = bank_of(rec, ctx)
    except SkipAnalysis:
        bank = {}
    cand_groups = np.asarray(groups)
    rows = []
    for task in names:
        sel = tasks == task
        flat = hidden[sel].reshape(-1, n_units)
        center = flat.mean(0)
        memory = _memory_basis(bank, task, n_units)
        feature = str(ds["feature"].values[np.flatnonzero(sel)[0]]) if "feature" in ds else ""
        rank = memory[0].shape[0] if memory is not None else 1
        pcs = pca(flat, min(rank, n_units)).components
        base = {"task": task, "feature": feature, "subspace_dim": rank,
                "chance_fraction": rank / n_units, "n_initial": N_INITIAL,
                "n_converged": int((finder.candidate_q_[cand_groups == task]
                                    < finder.q_tol).sum()),
                "slowest_q": float(finder.candidate_q_[cand_groups == task].min())}
        mine = np.flatnonzero(finder.groups_ == task)
        if not len(mine):
            rows.append({**base, "found": False})
            continue
        points = finder.fixed_points_[mine, :n_units]
        memory_fraction = subspace_fraction(points, center, memory[0]) \
            if memory is not None else np.full(len(mine), np.nan)
        pc_fraction = subspace_fraction(points, center, pcs)
        for p, i in enumerate(mine):
            lam = finder.eigenvalues_[i]
            rows.append({**base, "found": True, "point": p, "q": float(finder.q_[i]),
                         "stability": str(finder.stability_[i]),
                         "n_unstable": int(finder.n_unstable_[i]),
                         "max_abs_eigenvalue": float(np.abs(lam[0])),
                         **{f"eig{k + 1}_{part}": float(getattr(lam[k], part))
                            for k in range(min(N_EIGENVALUES, len(lam)))
                            for part in ("real", "imag")},
                         "distance": float(np.linalg.norm(points[p] - center)),
                         "memory_fraction": float(memory_fraction[p]),
                         "pc_fraction": float(pc_fraction[p])})
    return pd.DataFrame(rows)


def _found(t: pd.DataFrame) -> pd.DataFrame:
    return t[t["found"].astype(bool)]


def _read(tables) -> str:
    def one(g: pd.DataFrame) -> str:
        found = _found(g)
        n_tasks = g["task"].nunique()
        if found.empty:
            return (f"no fixed point in any of the {n_tasks} task contexts (lowest speed "
                    f"reached {g['slowest_q'].min():.1e}: slow points only)")
        kinds = found["stability"].value_counts()
        parts = ", ".join(f"{kinds.get(k, 0)} {k}" for k in ("stable", "marginal",
                                                           "unstable"))
        return (f"{len(found)} fixed points in {found['task'].nunique()} of {n_tasks} task "
                f"contexts ({parts}); largest |λ| {found['max_abs_eigenvalue'].median():.3f} "
                f"(median); their displacement from the mean state lies "
                f"{percent(found['memory_fraction'].mean())} in the memory subspace, "
                f"{percent(found['pc_fraction'].mean())} in as many top PCs "
                f"(chance {percent(found['chance_fraction'].mean())})")

    return per_model(tables["fixed_points"], one)


ANALYSIS = Analysis(
    "fixed_points", "Sussillo & Barak 2013",
    "fixed points of the trained recurrent layer under each task's mean encoding, found by "
    "minimising the speed q = ½‖F(h) − h‖² from recorded states (the LSTM's (h, c) "
    "together), their stability from the Jacobian's eigenvalues (stable: every |λ| < 1), and "
    "the share of each point's displacement from the mean state in the task's memory "
    "subspace (decoder normals of its relevant feature at memory steps) and in its top "
    "principal components",
    requires="the trained model",
    compute=compute,
    null="a random subspace of the same dimension (its share of the dimensions, k − 1 of H)",
    figures=(Figure("fixed_points", "Fixed points of the recurrent dynamics "
                    "(Sussillo & Barak 2013)",
                    lambda T, p: F.plot_fixed_points(T["fixed_points"], p), _read,
                    "a trained network's memories are stable fixed points (the 3-bit "
                    "flip-flop's 8 attractors) joined by saddles; linearising around them "
                    "explains the dynamics",
                    applies=lambda T: not _found(T["fixed_points"]).empty,
                    source="Sussillo & Barak 2013"),))
