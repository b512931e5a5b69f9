import pandas as pd
import pytest

from wmgeom.errors import WmgeomError
from wmgeom.models.registry import ARCHITECTURES
from wmgeom.studies.grid import grid_points, point_config, sweep
from wmgeom.studies.nback import make_config

TINY = {
    "stimuli": {"categories": ["chair", "car"], "azimuths": 6, "elevations": [15.0],
                "heldout_azimuth_every": 3, "image_size": 32},
    "model": {"hidden_size": 8, "channel_components": 8},
    "train": {"iterations": 4, "batch_size": 16, "eval_every": 2, "checkpoint_every": 2,
              "milestones": []},
    "eval": {"trials_per_task": 4},
    "record": {"trials_per_task": 4, "perceptual_components": 4},
}


def test_grid_points_and_paper_sizes():
    points = grid_points(["rnn", "gru", "lstm"], ["STSF", "STMF", "MTMF"], [0, 1])
    assert len(points) == 18
    assert {p["hidden_size"] for p in points if p["architecture"] == "rnn"} == {ARCHITECTURES["rnn"].paper_hidden_size}
    assert len(grid_points(["gru"], ["MTMF"], [0], [16, 32, 64])) == 3


def test_point_config_fills_regime_defaults():
    base = make_config("quick")
    cfg = point_config(base, {"architecture": "lstm", "regime": "STSF", "hidden_size": 32,
                              "seed": 3})
    assert cfg.model.architecture == "lstm" and cfg.tasks.task == "nback-2-identity"
    assert cfg.train.seed == 3
    with pytest.raises(WmgeomError, match="sweep: model.architecture"):
        point_config(base, {"architecture": "mlp", "regime": "MTMF", "hidden_size": 8, "seed": 0})


def test_sweep_runs_and_gathers(tmp_path, monkeypatch):
    monkeypatch.setenv("WMGEOM_CACHE", str(tmp_path / "cache"))
    base = make_config("quick", TINY)
    points = grid_points(["rnn", "gru"], ["MTMF"], [0], [8])
    table = sweep(base, tmp_path / "sw", points, jobs=1, progress=False)
    assert len(table) == 2 and set(table.architecture) == {"rnn", "gru"}
    assert {"acc_train", "acc_val_angle", "acc_val_identity", "parameters"} <= set(table.columns)
    assert (tmp_path / "sw" / "gru-8_MTMF_seed0" / "activations.nc").is_file()
    on_disk = pd.read_csv(tmp_path / "sw" / "sweep.csv")
    assert len(on_disk) == 2
    # a finished sweep is not trained again
    again = sweep(base, tmp_path / "sw", points, jobs=1, progress=False)
    assert again.seconds.tolist() == table.seconds.tolist()


def test_ray_missing_is_a_clear_error(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray":
            raise ImportError("no ray")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(WmgeomError, match="pip install 'wmgeom\\[ray\\]'"):
        sweep(make_config("quick", TINY), tmp_path, grid_points(["gru"], ["MTMF"], [0], [8]),
              use_ray=True, progress=False)
