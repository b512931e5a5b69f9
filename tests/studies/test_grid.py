"""The paper grid: points, matched training, one folder, resume, local processes and Ray."""

import importlib.util

import pandas as pd
import pytest

from wmgeom.errors import WmgeomError
from wmgeom.models.registry import ARCHITECTURES
from wmgeom.studies import grid
from wmgeom.studies.registry import study

TINY = {
    "stimuli": {"categories": ["chair", "car"], "azimuths": 6, "elevations": [15.0],
                "heldout_azimuth_every": 3, "image_size": 32},
    "model": {"hidden_size": 8, "channel_components": 8},
    "train": {"iterations": 4, "batch_size": 16, "eval_every": 2, "checkpoint_every": 2,
              "milestones": []},
    "eval": {"trials_per_task": 4},
    "record": {"trials_per_task": 12, "perceptual_components": 4},
}


def tiny_grid(**fields):
    return grid.make_config("quick", {"base": TINY, "seeds": [0], "analyze_unmet": True,
                                      **fields})


def test_grid_points_and_paper_sizes():
    points = grid.grid_points(tiny_grid(seeds=[0, 1]))
    assert len(points) == 18  # 3 architectures × 3 regimes × 2 seeds
    paper = grid.grid_points(grid.make_config("paper"))
    assert {p["hidden_size"] for p in paper if p["architecture"] == "rnn"} == {
        ARCHITECTURES["rnn"].paper_hidden_size}
    assert {p["hidden_size"] for p in paper if p["architecture"] == "gru"} == {256}
    assert len(grid.grid_points(tiny_grid(architectures=["gru"], regimes=["MTMF"],
                                          sizes=[16, 32, 64]))) == 3


def test_the_grid_takes_the_new_cores():
    g = grid.merge_options(tiny_grid(), architectures=["gru", "transformer", "ssm"])
    configs = [grid.point_config(g, p) for p in grid.grid_points(g)]
    assert [c.model.architecture for c in configs if c.tasks.regime == "MTMF"] == [
        "gru", "transformer", "ssm"]
    assert grid.make_config("quick").architectures == ["rnn", "gru", "lstm"]  # the paper's
    # the paper's sizes: a core the paper does not train takes the base size (the GRU's)
    paper = grid.grid_points(grid.make_config("paper", {"architectures": ["gru", "ssm"]}))
    assert {p["hidden_size"] for p in paper} == {256}
    with pytest.raises(WmgeomError, match=r"unknown architectures \['mamba'\]; choose from "
                                          "rnn, gru, lstm, transformer, ssm"):
        grid.merge_options(tiny_grid(), architectures=["gru", "mamba"])


def test_every_point_trains_to_the_criterion_with_three_seeds():
    g = grid.make_config("quick")
    assert g.seeds == [0, 1, 2] and not g.analyze_unmet
    configs = [grid.point_config(g, p) for p in grid.grid_points(g)]
    assert len(configs) == 27
    assert {c.train.iterations for c in configs} == {grid.CAP}  # the cap
    assert all(c.train.early_stop for c in configs)  # stops at the criterion
    assert {(c.eval.criterion_train, c.eval.criterion_val_angle) for c in configs} == {
        (0.95, 0.90)}
    stsf = [c for c in configs if c.tasks.regime == "STSF"]
    assert {c.tasks.task for c in stsf} == {"nback-2-identity"}
    assert {c.tasks.n for c in configs if c.tasks.regime == "STMF"} == {2}
    assert grid.point_name(grid.grid_points(g)[0]) == "rnn-128_STSF_seed0"


def test_the_grid_runs_over_task_families():
    g = grid.merge_options(tiny_grid(architectures=["gru"]), tasks=["nback", "dms"])
    points = grid.grid_points(g)
    # N-back: STSF, STMF, MTMF; DMS: STSF and MTMF (one sample-to-test distance, no STMF)
    assert [(p["family"], p["regime"]) for p in points] == [
        ("nback", "STSF"), ("nback", "STMF"), ("nback", "MTMF"), ("dms", "STSF"), ("dms", "MTMF")]
    names = [grid.point_name(p) for p in points]
    assert names[0] == "gru-8_STSF_seed0" and names[3:] == ["gru-8_dms-STSF_seed0",
                                                            "gru-8_dms-MTMF_seed0"]
    configs = [grid.point_config(g, p) for p in points]
    assert [c.tasks.family for c in configs] == ["nback"] * 3 + ["dms"] * 2
    assert configs[3].tasks.task == "dms-identity" and configs[0].tasks.task == "nback-2-identity"
    assert configs[4].tasks.task_names() == ["dms-location", "dms-identity", "dms-category"]
    # the same criterion (executive frames: the test frame of a DMS trial)
    assert {(c.eval.criterion_train, c.eval.criterion_val_angle) for c in configs} == {
        (0.95, 0.90)}
    assert grid.family_folders(g, grid.Path("out"), names) == {
        grid.Path("out"): names[:3], grid.Path("out/dms"): names[3:]}
    assert grid.make_config("quick").tasks == ["nback"]
    # item recognition defines the three regimes (set sizes play N's part)
    g = grid.merge_options(tiny_grid(architectures=["gru"]), tasks=["recognition"])
    points = grid.grid_points(g)
    assert [grid.point_name(p) for p in points] == [
        "gru-8_recog-STSF_seed0", "gru-8_recog-STMF_seed0", "gru-8_recog-MTMF_seed0"]
    configs = [grid.point_config(g, p) for p in points]
    assert configs[0].tasks.task_names() == ["recog-2-identity"]
    assert configs[1].tasks.task_names() == ["recog-2-location", "recog-2-identity",
                                             "recog-2-category"]
    assert len(configs[2].tasks.task_names()) == 9
    with pytest.raises(WmgeomError, match=r"unknown task families \['dsm'\]; choose from "
                                          "nback, dms, recognition"):
        grid.merge_options(tiny_grid(), tasks=["dsm"])
    with pytest.raises(WmgeomError, match="the dms task family has none of the regimes "
                                          r"\['STMF'\]; add one of STSF, MTMF"):
        grid.merge_options(tiny_grid(regimes=["STMF"]), tasks=["dms"])


def test_runs_that_missed_the_criterion_are_listed_not_pooled():
    table = pd.DataFrame({
        "run": ["a", "b", "c"], "iterations": [300, 6000, 1500],
        "met_criterion": [True, False, None],  # c: trained before the criterion was recorded
        "acc_train_min_task": [0.99, 0.81234, 0.97], "acc_val_angle_min_task": [0.95, 0.7, 0.93]})
    kept, excluded = grid.criterion_runs(table)
    assert kept == ["a", "c"]
    assert excluded.to_dict("records") == [{"run": "b", "reason": (
        "did not meet the criterion in 6000 iterations (worst task 81.2% train, 70.0% novel "
        "angles)")}]
    kept, excluded = grid.criterion_runs(table, analyze_unmet=True)
    assert kept == ["a", "b", "c"] and excluded.empty
    # a run without the record is judged by the grid's own thresholds
    from wmgeom.train.nback import EvalConfig

    strict = EvalConfig(criterion_train=0.98, criterion_val_angle=0.9)
    kept, excluded = grid.criterion_runs(table, criterion=strict)
    assert kept == ["a"] and list(excluded["run"]) == ["b", "c"]


def test_a_grid_where_no_run_met_the_criterion_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("WMGEOM_CACHE", str(tmp_path / "cache"))
    g = tiny_grid(architectures=["gru"], regimes=["MTMF"], analyze_unmet=False)
    with pytest.raises(WmgeomError, match="no run of the grid met the training criterion "
                       "\\(>95% train, >90% novel angles on every task\\) within 4 iterations"):
        grid.run(g, tmp_path / "g", jobs=1, progress=False)
    table = pd.read_csv(tmp_path / "g" / "grid.csv")
    assert not table["met_criterion"].any() and table["iterations"].tolist() == [4]


def test_point_config_fills_regime_defaults():
    g = tiny_grid()
    cfg = grid.point_config(g, {"architecture": "lstm", "regime": "STSF", "hidden_size": 32,
                                "seed": 3})
    assert cfg.model.architecture == "lstm" and cfg.tasks.task == "nback-2-identity"
    assert cfg.train.seed == 3
    with pytest.raises(WmgeomError, match="grid point mlp-8_MTMF_seed0: model.architecture"):
        grid.point_config(g, {"architecture": "mlp", "regime": "MTMF", "hidden_size": 8,
                              "seed": 0})
    with pytest.raises(WmgeomError, match="unknown architectures \\['cnn'\\]"):
        tiny_grid(architectures=["cnn"])
    with pytest.raises(WmgeomError, match="--sizes 'a,b'"):
        grid.sizes_option("a,b")
    assert study("nback-grid").make_config is grid.make_config


def test_points_sharing_a_worker_train_and_record_their_own_regime(tmp_path, monkeypatch):
    """One worker process runs every point (jobs=1), reusing the stimuli and features it
    prepared for the first: each point still trains on its own regime's tasks."""
    monkeypatch.setenv("WMGEOM_CACHE", str(tmp_path / "cache"))
    g = tiny_grid(architectures=["gru"], regimes=["STSF", "STMF", "MTMF"])
    summaries = grid.run_points(g, tmp_path, jobs=1, progress=False)
    expected = {"STSF": {"nback-2-identity"},
                "STMF": {"nback-2-location", "nback-2-identity", "nback-2-category"}}
    for name, summary in summaries.items():
        regime = name.split("_")[1]
        tasks = set(summary["accuracy_per_task"]["train"])
        assert tasks == expected.get(regime, tasks) and (regime != "MTMF" or len(tasks) == 9)
        assert (tmp_path / "runs" / name / "activations.nc").is_file()


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("WMGEOM_CACHE", str(tmp_path_factory.mktemp("cache")))
    out = tmp_path_factory.mktemp("grid")
    g = tiny_grid(architectures=["rnn", "gru"], regimes=["MTMF"])
    summary = grid.run(g, out, jobs=1, progress=False)
    yield g, out, summary
    mp.undo()


def test_one_folder_with_runs_table_analysis_and_report(grid_run):
    g, out, summary = grid_run
    assert summary["runs"] == 2
    table = pd.read_csv(out / "grid.csv")
    assert set(table["architecture"]) == {"rnn", "gru"}
    assert {"acc_train", "acc_val_angle", "acc_val_identity", "parameters",
            "acc_val_angle_min_task"} <= set(table.columns)
    for name in table["run"]:
        assert (out / "runs" / name / "activations.nc").is_file()
    findings = pd.read_csv(out / "analysis" / "findings.csv")
    assert "cross_task_vanilla_vs_gated" in set(findings["id"])
    models = pd.read_csv(out / "analysis" / "models.csv")
    assert set(models["model"]) == {"RNN MTMF", "GRU MTMF"}
    page = (out / "report.html").read_text()
    assert "Models of the grid" in page and "Findings of Lei et al. 2024" in page
    assert "RNN MTMF" in page and "GRU MTMF" in page


def test_an_interrupted_grid_continues_without_retraining(grid_run):
    g, out, _ = grid_run
    before = pd.read_csv(out / "grid.csv")
    stamps = {n: (out / "runs" / n / "checkpoints" / "last.pt").stat().st_mtime_ns
              for n in before["run"]}
    # a third point was not trained yet: only it trains
    bigger = grid.merge_options(g, architectures=["rnn", "gru", "lstm"])
    summaries = grid.run_points(bigger, out, jobs=1, progress=False)
    assert len(summaries) == 3
    for name, stamp in stamps.items():
        assert (out / "runs" / name / "checkpoints" / "last.pt").stat().st_mtime_ns == stamp


def test_a_grid_over_two_families_reports_each_on_its_own(tmp_path, monkeypatch):
    monkeypatch.setenv("WMGEOM_CACHE", str(tmp_path / "cache"))
    g = grid.merge_options(tiny_grid(architectures=["gru"], regimes=["MTMF"]),
                           tasks=["nback", "dms"])
    out = tmp_path / "g"
    summary = grid.run(g, out, jobs=1, progress=False)
    assert summary["runs"] == 2
    table = pd.read_csv(out / "grid.csv")
    assert table["run"].tolist() == ["gru-8_MTMF_seed0", "gru-8_dms-MTMF_seed0"]
    assert table["family"].tolist() == ["nback", "dms"]
    dms = pd.read_csv(out / "dms" / "analysis" / "models.csv")
    nback = pd.read_csv(out / "analysis" / "models.csv")
    assert len(dms) == 1 and len(nback) == 1 and dms["run"].iloc[0] != nback["run"].iloc[0]
    assert (out / "report.html").is_file() and (out / "dms" / "report.html").is_file()


def test_ray_missing_is_a_clear_error(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray":
            raise ImportError("no ray")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    monkeypatch.setenv("WMGEOM_CACHE", str(tmp_path / "cache"))
    with pytest.raises(WmgeomError, match="pip install 'wmgeom\\[ray\\]'"):
        grid.run_points(tiny_grid(architectures=["gru"], regimes=["MTMF"]), tmp_path,
                        use_ray=True, progress=False)


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed")
def test_unreachable_ray_address_is_one_line_at_once(tmp_path, monkeypatch):
    import socket

    with socket.socket() as s:  # a port on 127.0.0.1 that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    monkeypatch.setenv("WMGEOM_CACHE", str(tmp_path / "cache"))
    with pytest.raises(WmgeomError, match=f"cannot reach the Ray cluster at RAY_ADDRESS="
                                          f"127.0.0.1:{port}.*ray start --head"):
        grid.run_points(tiny_grid(architectures=["gru"], regimes=["MTMF"]), tmp_path,
                        use_ray=True, progress=False)  # at once, not after Ray's retries


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed")
def test_ray_path_on_a_local_instance(tmp_path, monkeypatch):
    """Points run as Ray tasks on a local instance bound to 127.0.0.1, stopped afterwards."""
    import ray

    monkeypatch.setenv("WMGEOM_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    g = tiny_grid(architectures=["gru"], regimes=["MTMF"])
    summaries = grid.run_points(g, tmp_path, use_ray=True, progress=False)
    assert list(summaries) == ["gru-8_MTMF_seed0"]
    assert summaries["gru-8_MTMF_seed0"]["iterations"] == 4
    assert (tmp_path / "runs" / "gru-8_MTMF_seed0" / "activations.nc").is_file()
    assert not ray.is_initialized()  # the local instance was shut down
