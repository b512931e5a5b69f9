"""Every two-orientation analysis of one condition, recordings in, tables out (Cueva et al. 2021).

:func:`analyze_condition` reads the noisy evaluation recording (behaviour, connectivity,
dynamic code) and the noise-free θ1 × θ2 grid recording (manifold and topology) of one
trained network and returns flat numbers and tidy tables; nothing is read from or written
to disk. Definitions, thresholds and defaults are documented in ``docs/orientation.md``.

:func:`analyze_networks` runs the same function on the two null controls of the findings:
the *untrained* network (the same network as training starts it, recorded on the same
trials) and *shuffled orientations* (the trained network's recordings with the (θ1, θ2)
labels permuted across trials, :func:`shuffle_orientations`); :func:`measures_table` puts
every number of the three beside each other.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from pydantic import Field, model_validator

from wmgeom.analysis import behaviour, connectivity, dynamics, manifold, topology
from wmgeom.config import StrictModel
from wmgeom.tasks.orientation import EPOCHS, report_outputs

__all__ = ["NETWORKS", "OrientationAnalysisConfig", "analyze_condition", "analyze_networks",
           "measures_table", "shuffle_orientations"]

NETWORKS = ("trained", "untrained", "shuffled")
"""The measured network and its two null controls, in the columns of :func:`measures_table`."""


class OrientationAnalysisConfig(StrictModel):
    """Sizes and thresholds of the two-orientation analyses (see ``docs/orientation.md``)."""

    n_eval_trials: int = Field(512, ge=20, description="noisy evaluation trials per condition")
    n_grid: int = Field(16, ge=3, description="orientations per item on the noise-free grid")
    topology_points: int = Field(150, ge=10, description="greedy landmarks for ripser")
    betti_rel_threshold: float = Field(0.3, gt=0, lt=1)
    tuning_bins: int = Field(8, ge=3)
    min_r2: float = Field(0.1, ge=0, le=1, description="tuned-unit criterion")
    max_corr: float = Field(0.5, ge=-1, le=1, description="changed-tuning criterion")
    connectivity_bins: int = Field(12, ge=4)
    decoding_alpha: float = Field(1.0, gt=0)
    decoding_folds: int = Field(5, ge=2)
    repulsion_max_diff: float = Field(90.0, gt=0, le=90)

    @model_validator(mode="after")
    def _folds_fit_the_trials(self) -> OrientationAnalysisConfig:
        if self.n_eval_trials < 2 * self.decoding_folds:
            raise ValueError(f"decoding_folds = {self.decoding_folds} needs at least "
                             f"{2 * self.decoding_folds} evaluation trials (two per fold); "
                             f"n_eval_trials is {self.n_eval_trials}: lower decoding_folds or "
                             "raise n_eval_trials")
        return self


def epoch_step(ds: xr.Dataset, epoch: str, which: str = "last") -> int:
    """Time step of ``epoch`` (its first or last step) in time-aligned recordings."""
    if which == "last":
        return int(ds[f"{epoch}_stop"].values[0]) - 1
    return int(ds[f"{epoch}_start"].values[0])


def analyze_condition(
    acts: xr.Dataset, grid: xr.Dataset, settings: OrientationAnalysisConfig, ordinal: bool
) -> dict[str, Any]:
    """Every two-orientation analysis of one condition from its recordings (pure; no disk access).

    Args:
        acts: Noisy evaluation trials (:func:`wmgeom.record.record_orientation`).
        grid: Noise-free θ1 × θ2 grid trials, fixed delays.
        settings: Sizes and thresholds.
        ordinal: Whether the network has the ordinal output.

    Returns:
        ``{"numbers": {name: float}, "tables": {name: DataFrame}}``. Tables:
        ``report_errors``, ``bias_curve``, ``manifold_scores`` (θ1, θ2 and PC1–PC6 of the
        grid states), ``manifold_spectrum`` (explained variance per PC), ``persistence``
        (dimension, birth, death), ``unit_groups``, ``recurrent_weights`` (post, pre,
        weight), ``connectivity_profile``, ``ring_summary``, ``tuning_change``,
        ``cross_temporal_decoding`` (train and test time, error), ``epochs`` (first and
        last step of each epoch of the evaluation trials, ms; delays are fixed).
    """
    s = settings
    th1, th2 = acts["theta1"].values, acts["theta2"].values
    t = np.arange(acts.sizes["time"])[None, :]
    mask = (t >= acts["report_start"].values[:, None]) & (t < acts["report_stop"].values[:, None])
    rep = report_outputs(acts["outputs"].values, mask[..., None].astype(float))
    r1, r2 = behaviour.reports_from_outputs(rep)
    beh = behaviour.error_summary(
        th1, th2, r1, r2, rep[:, 4] if ordinal else None, s.repulsion_max_diff
    )
    e1, e2 = behaviour.report_errors(th1, r1), behaviour.report_errors(th2, r2)
    bias = behaviour.bias_curve(th1, th2, e1, e2)

    t_mem = epoch_step(grid, "delay2")
    states = grid["rates"].values[:, t_mem]
    g1, g2 = grid["theta1"].values, grid["theta2"].values
    geom = manifold.torus_geometry(states, g1, g2)
    diagrams = topology.persistence_diagrams(states, maxdim=2, n_points=s.topology_points)
    betti = topology.betti_numbers(diagrams, s.betti_rel_threshold)
    rel = topology.lifetimes(diagrams, top=3, relative=True)
    rel_life = {
        f"h{k}_lifetime{i + 1}_rel": float(rel[k][i]) if len(rel[k]) > i else 0.0
        for k in (1, 2)
        for i in range(3)
    }

    ortho = manifold.conditional_orthogonality(states, g1, g2)
    margin = topology.torus_margin(diagrams, s.betti_rel_threshold)

    groups = connectivity.group_units(states, g1, g2, s.min_r2)
    W = acts["recurrent_weight"].values
    profile = connectivity.connectivity_profile(W, groups, s.connectivity_bins)
    ring = connectivity.ring_summary(profile)

    rates = acts["rates"].values
    early, late = epoch_step(acts, "delay1"), epoch_step(acts, "delay2")
    tuning = dynamics.tuning_change(
        rates[:, early], rates[:, late], th1, s.tuning_bins, s.min_r2, s.max_corr
    )
    ctd = dynamics.cross_temporal_decoding(rates, th1, s.decoding_alpha, s.decoding_folds)
    locked = dynamics.locked_code_change(ctd, early, epoch_step(acts, "delay2", "first"), late)
    tuned = tuning[tuning["tuned"]]
    ring_t = ring.set_index(["post_group", "pre_group"])

    def _ring(g: str, column: str = "contrast") -> float:
        return float(ring_t.loc[(g, g), column]) if (g, g) in ring_t.index else float("nan")

    numbers = {
        **beh,
        **{k: (float(v) if not isinstance(v, bool) else v) for k, v in geom.items()},
        "betti0": betti[0],
        "betti1": betti[1],
        "betti2": betti[2],
        **rel_life,
        "torus_margin": margin,
        **ortho,
        "n_theta1_units": int((groups["group"] == "theta1").sum()),
        "n_theta2_units": int((groups["group"] == "theta2").sum()),
        "ring_contrast_theta1": _ring("theta1"),
        "ring_contrast_theta2": _ring("theta2"),
        "ring_like_theta1": _ring("theta1", "ring_like"),
        "ring_like_theta2": _ring("theta2", "ring_like"),
        "ring_contrast_norm_theta1": _ring("theta1", "normalized_contrast"),
        "ring_contrast_norm_theta2": _ring("theta2", "normalized_contrast"),
        "fraction_tuning_changed": dynamics.fraction_changed(tuning),
        "median_tuning_corr": float(tuned["corr"].median()) if len(tuned) else float("nan"),
        "median_abs_shift_deg": float(tuned["shift_deg"].abs().median())
        if len(tuned)
        else float("nan"),
        "ctd_within_delay1_deg": float(ctd[early, early]),
        "ctd_delay1_to_delay2_deg": float(ctd[early, late]),
        "ctd_within_delay2_deg": float(ctd[late, late]),
        "code_change_across_stimulus2_deg": locked["across"],
        "code_drift_within_delay2_deg": locked["within"],
        "stimulus2_locked_code_change_deg": locked["locked"],
    }
    pcs = manifold.pca(states, n_components=6)
    time_ms = acts["time"].values
    T = ctd.shape[0]
    n_units = W.shape[0]
    dt = float(acts.attrs.get("dt_ms", time_ms[1] - time_ms[0] if len(time_ms) > 1 else 1.0))
    tables = {
        "report_errors": pd.DataFrame({"theta1": th1, "theta2": th2, "error1_deg": e1,
                                       "error2_deg": e2}),
        "bias_curve": bias,
        "manifold_scores": pd.DataFrame({
            "theta1": g1, "theta2": g2,
            **{f"pc{k + 1}": pcs["scores"][:, k] for k in range(pcs["scores"].shape[1])}}),
        "manifold_spectrum": pd.DataFrame({
            "component": np.arange(1, len(pcs["explained_variance_ratio"]) + 1),
            "explained_variance_ratio": pcs["explained_variance_ratio"]}),
        "persistence": pd.concat([pd.DataFrame({"dimension": k, "birth": d[:, 0],
                                                "death": d[:, 1]})
                                  for k, d in enumerate(diagrams)], ignore_index=True),
        "unit_groups": groups.reset_index(),
        "recurrent_weights": pd.DataFrame({"post": np.repeat(np.arange(n_units), n_units),
                                           "pre": np.tile(np.arange(n_units), n_units),
                                           "weight": W.ravel()}),
        "connectivity_profile": profile,
        "ring_summary": ring,
        "tuning_change": tuning.reset_index(),
        "cross_temporal_decoding": pd.DataFrame({
            "train_time_ms": np.repeat(time_ms, T), "test_time_ms": np.tile(time_ms, T),
            "error_deg": ctd.ravel()}),
        "epochs": pd.DataFrame({
            "epoch": list(EPOCHS),
            "start_ms": [epoch_step(acts, e, "first") * dt for e in EPOCHS],
            "end_ms": [epoch_step(acts, e, "last") * dt for e in EPOCHS]}),
    }
    return {"numbers": numbers, "tables": tables}


def shuffle_orientations(ds: xr.Dataset, seed: int = 0) -> xr.Dataset:
    """A copy of a recording whose (θ1, θ2) labels are permuted across trials, jointly (each
    trial keeps a pair of the recording, so a grid stays a grid), the activity untouched: the
    shuffled-orientation control of the findings."""
    perm = np.random.default_rng(seed).permutation(ds.sizes["trial"])
    out = ds.copy()
    for name in ("theta1", "theta2"):
        out[name] = (ds[name].dims, ds[name].values[perm], ds[name].attrs)
    out.attrs = {**ds.attrs, "orientations": "shuffled"}
    return out


def analyze_networks(
    acts: xr.Dataset, grid: xr.Dataset, settings: OrientationAnalysisConfig, ordinal: bool,
    untrained: tuple[xr.Dataset, xr.Dataset] | None = None, seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """:func:`analyze_condition` of the trained network and of its null controls.

    Args:
        acts, grid: The trained network's evaluation and grid recordings.
        settings: Sizes and thresholds.
        ordinal: Whether the network has the ordinal output.
        untrained: The untrained network's evaluation and grid recordings on the same
            trials (None: that control is left out).
        seed: Seed of the label permutations of the shuffled control.

    Returns:
        ``{"trained": result, "shuffled": result[, "untrained": result]}`` (results as
        :func:`analyze_condition` returns them).
    """
    out = {"trained": analyze_condition(acts, grid, settings, ordinal)}
    if untrained is not None:
        out["untrained"] = analyze_condition(*untrained, settings, ordinal)
    out["shuffled"] = analyze_condition(shuffle_orientations(acts, seed),
                                        shuffle_orientations(grid, seed + 1), settings, ordinal)
    return out


def measures_table(results: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Every number of :func:`analyze_networks` with its null controls beside it.

    Returns:
        One row per number of the trained network: ``measure``, ``trained``, ``untrained``
        and ``shuffled`` (floats; booleans as 0/1; NaN for a control not computed).
    """
    trained = results["trained"]["numbers"]
    rows = {"measure": list(trained)}
    for network in NETWORKS:
        numbers = results.get(network, {}).get("numbers", {})
        rows[network] = [float(numbers.get(k, np.nan)) for k in trained]
    return pd.DataFrame(rows)
