"""Figure functions: each writes PNG + SVG and draws the panels and lines its table asks for."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wmgeom.errors import WmgeomError
from wmgeom.report import figures as F

RNG = np.random.default_rng(0)
TASKS = ("nback-1-location", "nback-1-identity", "nback-1-category")


def _visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]


def _cross_task(models=("GRU MTMF", "RNN MTMF")):
    rows = [dict(model=m, feature=f, train_task=a, test_task=b, accuracy=RNG.uniform(0.3, 1),
                 kind="validation" if a == b else "generalization", chance=0.25)
            for m in models for f in F.FEATURES for a in TASKS for b in TASKS]
    return pd.DataFrame(rows)


def test_cross_task_writes_png_and_svg_with_one_panel_per_model_and_feature(tmp_path):
    fig = F.plot_cross_task_generalization(_cross_task(), tmp_path / "fig2a")
    assert (tmp_path / "fig2a.png").read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in (tmp_path / "fig2a.svg").read_bytes()[:500]
    matrices = [ax for ax in _visible_axes(fig) if ax.images]
    assert len(matrices) == 2 * 3
    assert matrices[0].images[0].get_array().shape == (3, 3)


def test_validation_vs_generalization_boxes_per_model(tmp_path):
    fig = F.plot_validation_vs_generalization(_cross_task(), tmp_path / "fig2c")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["GRU MTMF", "RNN MTMF"]
    assert any(line.get_linestyle() == "--" for line in ax.get_lines())  # chance line
    assert (tmp_path / "fig2c.png").exists()


def test_relevant_irrelevant_bars_per_model():
    rows = [dict(model=m, feature=f, task=k, relevant=(k == f), accuracy=0.9, chance=0.25)
            for m in ("GRU STSF", "GRU STMF", "GRU MTMF") for f in F.FEATURES for k in F.FEATURES]
    fig = F.plot_relevant_irrelevant(pd.DataFrame(rows))
    axes = _visible_axes(fig)
    assert len(axes) == 3
    assert len(axes[0].patches) == 2 * 3  # relevant and irrelevant bar per feature
    assert not [line for line in axes[0].lines if line.get_marker() == "D"]
    null = pd.DataFrame(rows).assign(accuracy=0.4)
    with_null = _visible_axes(F.plot_relevant_irrelevant(pd.DataFrame(rows), null=null))
    diamonds = [line for line in with_null[0].lines if line.get_marker() == "D"]
    assert len(diamonds) == 2  # the untrained network beside each bar, grey
    assert all(np.allclose(d.get_ydata(), 0.4) for d in diamonds)
    assert diamonds[0].get_markeredgecolor() == F.NULL_COLOR


def test_grid_training_panels_by_architecture_and_regime_with_a_line_per_seed():
    rows = [dict(model=f"{a.upper()} {r}", architecture=a, regime=r, run=f"{a}{r}{s}",
                 iteration=i, split=sp, acc_executive=0.5 + 0.1 * i)
            for a in ("gru", "lstm") for r in ("STSF", "MTMF") for s in range(3)
            for i in range(4) for sp in ("train", "val_angle")]
    fig = F.plot_grid_training(pd.DataFrame(rows))
    axes = _visible_axes(fig)
    assert len(axes) == 4
    assert sorted(ax.get_title() for ax in axes) == [
        "GRU MTMF (3 seeds)", "GRU STSF (3 seeds)", "LSTM MTMF (3 seeds)", "LSTM STSF (3 seeds)"]
    solid = [line for line in axes[0].lines if line.get_linestyle() in ("-", "--")]
    assert len(solid) == 3 * 2  # every seed's two splits


def test_orthogonalization_annotates_t_test():
    rows = [dict(model=m, space=s, value=RNG.normal(1.0 if s == "perceptual" else 0.9, 0.01))
            for m in ("GRU", "RNN") for s in ("perceptual", "encoding") for _ in range(10)]
    stats = pd.DataFrame(dict(model=["GRU", "RNN"], t=[3.0, 5.0], p=[0.01, 1e-4]))
    fig = F.plot_orthogonalization(pd.DataFrame(rows), stats=stats)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("p=0.01" in t for t in texts) and any("***" in t for t in texts)
    assert any("p < 0.001" in t for t in texts) and not any("e-0" in t for t in texts)
    assert len(fig.axes[0].patches) == 4
    # a test over runs: its n is shown; one run: no test, said as such (never "p=nan")
    stats = pd.DataFrame(dict(model=["GRU", "RNN"], t=[3.0, np.nan], p=[0.04, np.nan],
                              n=[3, 1], unit=["runs", "runs"]))
    texts = [t.get_text() for t in F.plot_orthogonalization(pd.DataFrame(rows),
                                                            stats=stats).axes[0].texts]
    assert "*\np=0.04\nn = 3 runs" in texts and "no test\n(n = 1 run)" in texts
    assert not any("nan" in t for t in texts)


def _cross_time():
    rows = [dict(model="GRU MTMF", task=f"nback-{n}-identity", stimulus=i, frame=k,
                 accuracy=0.95 if k == i else 0.4, executive=(k >= n), recall=(k == i + n),
                 chance=0.25)
            for n in (1, 2, 3) for i in range(6) for k in range(i, 6)]
    return pd.DataFrame(rows)


def test_cross_time_boxes_executive_steps_in_red():
    table = _cross_time()
    fig = F.plot_cross_time_decoding(table)
    axes = _visible_axes(fig)
    assert len(axes) == 3
    for ax, n in zip(axes, (1, 2, 3), strict=True):
        red = [p for p in ax.patches if p.get_edgecolor()[:3] == (1.0, 0.0, 0.0)]
        assert len(red) == 6 - n


def test_executive_boxplots_and_encoding_sharing(tmp_path):
    fig = F.plot_executive_generalization(_cross_time(), tmp_path / "fig4c")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["GRU MTMF"]
    sharing = pd.DataFrame(dict(model="GRU MTMF", kind=["validation", "generalization"] * 4,
                                accuracy=RNG.uniform(0.8, 1.0, 8)))
    F.plot_encoding_sharing(sharing, tmp_path / "fig4d")
    assert (tmp_path / "fig4d.svg").exists()


def test_procrustes_draws_fitted_and_reconstructed_lines():
    rows = [dict(feature=f, frame=k, accuracy_fitted=0.9, accuracy_reconstructed=0.8)
            for f in F.FEATURES for k in range(1, 6)]
    fig = F.plot_procrustes(pd.DataFrame(rows))
    styles = [line.get_linestyle() for line in fig.axes[0].get_lines()]
    assert styles.count("-") == 3 and styles.count(":") == 3


def test_swap_tests_grid_features_by_models():
    rows = [dict(model=m, feature=f, swap=s, accuracy=RNG.uniform(0.3, 1.0))
            for m in ("GRU", "RNN") for f in F.FEATURES
            for s in ("R(i,j)", "R(i,j+1)", "R(i+k,j+k)") for _ in range(4)]
    fig = F.plot_swap_tests(pd.DataFrame(rows))
    assert len(_visible_axes(fig)) == 3 * 2


def test_within_time_and_causal_panels():
    rows = [dict(frame=k, stimulus=i, relevant=r, accuracy=0.8)
            for r in (True, False) for i in range(4) for k in range(i, 4)]
    fig = F.plot_within_time_decoding(pd.DataFrame(rows))
    assert len([ax for ax in _visible_axes(fig) if ax.images]) == 2
    rows = [dict(frame=k, feature=f, relevant=(f == "location"), accuracy=0.8, chance=0.25)
            for k in range(4) for f in F.FEATURES]
    fig = F.plot_within_time_decoding(pd.DataFrame(rows))
    relevant_ax, irrelevant_ax = _visible_axes(fig)
    assert [ln.get_label() for ln in relevant_ax.get_lines() if ln.get_marker() == "o"] == [
        "location"]
    assert [ln.get_label() for ln in irrelevant_ax.get_lines() if ln.get_marker() == "o"] == [
        "identity", "category"]
    rows = [dict(feature=f, distance=d, action=a, probability=0.3, sd=0.05)
            for f in ("location", "identity") for d in (-1.0, 0.0, 1.0) for a in F.ACTIONS]
    fig = F.plot_causal_perturbation(pd.DataFrame(rows))
    axes = _visible_axes(fig)
    assert len(axes) == 2
    assert len([ln for ln in axes[0].get_lines() if ln.get_label() in F.ACTIONS]) == 3


def test_training_curves_and_accuracy_table():
    metrics = pd.DataFrame([dict(iteration=it, split=s, task=t, acc_executive=0.5 + it / 400,
                                 acc_all=0.6, loss=1.0 - it / 300)
                            for it in (0, 100, 200) for s in ("train", "val_angle")
                            for t in TASKS])
    fig = F.plot_training_curves(metrics)
    assert len(_visible_axes(fig)) == 3
    table = F.accuracy_table({"accuracy": {"train": 0.97, "val_angle": 0.93}}, metrics)
    last = table[(table["split"] == "train")]
    assert set(last["task"]) == {*TASKS, "all"}
    per_task = last.set_index("task")["accuracy"]
    assert np.allclose(per_task[list(TASKS)], 1.0)  # last iteration of metrics.csv
    assert per_task["all"] == 0.97  # overall value from summary.json
    only_summary = F.accuracy_table({"accuracy": {"train": 0.97}})
    assert only_summary.to_dict("records") == [dict(split="train", task="all", accuracy=0.97)]
    F.plot_accuracy(table)


def test_missing_columns_and_empty_tables_are_user_errors():
    with pytest.raises(WmgeomError, match=r"figure 2a lacks columns \['train_task'"):
        F.plot_cross_task_generalization(pd.DataFrame(dict(feature=["x"], test_task=[1],
                                                           accuracy=[0.5])))
    with pytest.raises(WmgeomError, match="figure 4g is empty"):
        F.plot_swap_tests(pd.DataFrame(columns=["feature", "swap", "accuracy"]))
    with pytest.raises(WmgeomError, match="none of the columns loss"):
        F.plot_training_curves(pd.DataFrame(dict(iteration=[0], split=["train"])))


@pytest.mark.parametrize("factor", [1.1, 30.0])
def test_accuracy_vs_parameters_labels_its_parameter_axis_readably(tmp_path, factor):
    """Fig. A1c: one line per architecture over MTMF models; parameter counts labelled in
    millions, with at least two labels and none of them overlapping, for a narrow range (the
    quick grid's 0.85-0.95M) and a wide one (a size series)."""
    sizes = np.geomspace(850_000, 850_000 * factor, 3).round()
    models = pd.DataFrame([dict(architecture=a, regime=r, parameters=p + k * 1000,
                                acc_train=0.9, acc_val_angle=0.85, acc_val_identity=0.7)
                           for k, a in enumerate(("rnn", "gru", "lstm")) for p in sizes
                           for r in ("STSF", "MTMF")])
    fig = F.plot_accuracy_vs_parameters(models, tmp_path / "a1c")
    fig.canvas.draw()
    ax = _visible_axes(fig)[0]
    assert [line.get_label() for line in ax.containers] == ["RNN", "GRU", "LSTM"]
    lo, hi = ax.get_xlim()
    labels = [t for t in ax.get_xticklabels(minor=False) + ax.get_xticklabels(minor=True)
              if t.get_text() and lo <= t.get_position()[0] <= hi]
    assert len(labels) >= 2 and all(t.get_text().endswith("M") for t in labels)
    boxes = sorted((t.get_window_extent() for t in labels), key=lambda b: b.x0)
    assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:], strict=False))


def test_fixed_points_plot_eigenvalues_and_subspace_shares(tmp_path):
    rows = [{"model": m, "found": True, "stability": s, "eig1_real": r, "eig1_imag": 0.1,
             "eig2_real": r / 2, "eig2_imag": -0.1, "memory_fraction": 0.3, "pc_fraction": 0.6,
             "chance_fraction": 0.05}
            for m in ("GRU MTMF", "LSTM MTMF") for s, r in (("stable", 0.9), ("unstable", 1.2))]
    rows.append({"model": "GRU MTMF", "found": False})
    fig = F.plot_fixed_points(pd.DataFrame(rows), tmp_path / "fp")
    assert (tmp_path / "fp.png").is_file() and len(fig.axes) == 2
    scatter = fig.axes[0].collections
    assert sum(len(c.get_offsets()) for c in scatter) == 8  # 2 eigenvalues × 4 points
    with pytest.raises(WmgeomError, match="holds no fixed point"):
        F.plot_fixed_points(pd.DataFrame(rows[-1:]).reindex(columns=list(rows[0])))


def test_model_comparison_plots_geometry_against_dynamics(tmp_path):
    rows = [{"kind": k, "model_a": "GRU MTMF", "model_b": b, "procrustes": p,
             "procrustes_null": 1.3, "procrustes_stimulus_null": 1.0, "dsa": d, "rsa": r,
             "rsa_null": 0.0, "noise_ceiling_lower": 0.8, "noise_ceiling_upper": 0.9}
            for k, b, p, d, r in (("different architectures", "LSTM MTMF", 0.4, 0.5, 0.7),
                                  ("trained vs untrained", "GRU MTMF untrained", 1.1, 0.6,
                                   0.2))]
    fig = F.plot_model_comparison(pd.DataFrame(rows), tmp_path / "cmp")
    assert (tmp_path / "cmp.svg").is_file()
    assert [t.get_text() for t in fig.axes[1].get_yticklabels()] == [
        "GRU MTMF – LSTM MTMF", "GRU MTMF – GRU MTMF untrained"]
    without_dsa = pd.DataFrame(rows).assign(dsa=np.nan, rsa=np.nan, noise_ceiling_lower=np.nan)
    assert F.plot_model_comparison(without_dsa).axes[0].get_ylabel() == "DSA not computed"
