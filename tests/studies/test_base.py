"""wmgeom.studies.base: run directories, configuration fingerprints, resumption guards."""

import pytest
import yaml
from pydantic import Field

from wmgeom.config import StrictModel, dump_config
from wmgeom.errors import WmgeomError
from wmgeom.studies.base import fingerprint, init_run_dir, read_run_config


class Model(StrictModel):
    hidden_size: int = Field(8, ge=1)
    architecture: str = "gru"


class Config(StrictModel):
    """A study config in miniature: a seed, a device and one nested section."""

    seed: int = 0
    device: str = "cpu"
    model: Model = Field(default_factory=Model)
    tags: list[str] = Field(default_factory=lambda: ["a"])


def config(**changes) -> Config:
    return Config.model_validate({**Config().model_dump(), **changes})


# --------------------------------------------------------------------------- fingerprint


def test_fingerprint_ignores_the_device():
    assert fingerprint(config(device="cuda:1")) == fingerprint(config())
    assert fingerprint(config()) == fingerprint(config())
    assert len(fingerprint(config())) == 16


@pytest.mark.parametrize("changes", [
    {"seed": 1},
    {"model": {"hidden_size": 9, "architecture": "gru"}},
    {"model": {"hidden_size": 8, "architecture": "lstm"}},
    {"tags": ["a", "b"]},
])
def test_fingerprint_changes_with_anything_else(changes):
    assert fingerprint(config(**changes)) != fingerprint(config())
    assert fingerprint(config(device="cuda", **changes)) == fingerprint(config(**changes))


# --------------------------------------------------------------------------- init_run_dir


def test_init_run_dir_writes_the_resolved_config(tmp_path):
    run = tmp_path / "runs" / "one"
    cfg = config(seed=4, model={"hidden_size": 16, "architecture": "lstm"})
    init_run_dir(run, cfg, resume=False, trained=False)
    assert sorted(p.name for p in run.iterdir()) == ["config.yaml"]
    text = (run / "config.yaml").read_text()
    assert text == dump_config(cfg)
    assert yaml.safe_load(text) == {"seed": 4, "device": "cpu",
                                    "model": {"hidden_size": 16, "architecture": "lstm"},
                                    "tags": ["a"]}
    assert read_run_config(run, Config) == cfg


def test_init_run_dir_accepts_the_same_config_again(tmp_path):
    init_run_dir(tmp_path, config(), resume=False, trained=False)
    init_run_dir(tmp_path, config(), resume=False, trained=False)  # not trained yet: fine
    init_run_dir(tmp_path, config(), resume=True, trained=True)  # resuming a trained run
    assert read_run_config(tmp_path, Config) == config()


def test_init_run_dir_another_device_is_the_same_run(tmp_path):
    init_run_dir(tmp_path, config(), resume=False, trained=False)
    init_run_dir(tmp_path, config(device="cuda"), resume=True, trained=True)
    assert read_run_config(tmp_path, Config).device == "cuda"  # the saved config follows


def test_init_run_dir_refuses_another_configuration_of_a_trained_run(tmp_path):
    init_run_dir(tmp_path, config(), resume=False, trained=False)
    before = (tmp_path / "config.yaml").read_text()
    with pytest.raises(WmgeomError) as exc:
        init_run_dir(tmp_path, config(seed=1), resume=True, trained=True)
    assert str(exc.value) == (
        f"{tmp_path} holds a run with a different configuration; use its config.yaml "
        "(--config RUN_DIR/config.yaml) to resume it, or choose another --out.")
    assert (tmp_path / "config.yaml").read_text() == before


def test_a_run_directory_without_a_checkpoint_is_never_a_lock(tmp_path):
    """A run that failed before training (e.g. a bad task) leaves no lock (issue 11)."""
    init_run_dir(tmp_path, config(), resume=False, trained=False)
    init_run_dir(tmp_path, config(seed=1), resume=False, trained=False)
    assert read_run_config(tmp_path, Config) == config(seed=1)


def test_output_folders_that_cannot_be_written(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(WmgeomError, match="is a file; choose a folder"):
        init_run_dir(tmp_path / "file", config(), resume=False, trained=False)
    with pytest.raises(WmgeomError, match="lies under .*file, which is a file"):
        init_run_dir(tmp_path / "file" / "run", config(), resume=False, trained=False)


def test_init_run_dir_refuses_a_trained_run_without_resume(tmp_path):
    init_run_dir(tmp_path, config(), resume=False, trained=False)
    with pytest.raises(WmgeomError) as exc:
        init_run_dir(tmp_path, config(), resume=False, trained=True)
    assert str(exc.value) == (f"{tmp_path} already holds a trained run; pass --resume to "
                              "continue it, or choose another --out.")


# --------------------------------------------------------------------------- read_run_config


def test_read_run_config_not_a_run_directory(tmp_path):
    with pytest.raises(WmgeomError) as exc:
        read_run_config(tmp_path, Config)
    assert str(exc.value) == (
        f"{tmp_path} is not a wmgeom run directory (no config.yaml); start one with "
        "`wmgeom train --out DIR` or `wmgeom run --out DIR`.")


def test_read_run_config_invalid_values(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("seed: many\nmodel:\n  hidden_size: 0\n  hiden: 3\n")
    with pytest.raises(WmgeomError) as exc:
        read_run_config(tmp_path, Config)
    assert str(exc.value) == (
        f"run config {path}: seed = 'many': Input should be a valid integer, unable to parse "
        "string as an integer; model.hidden_size = 0: Input should be greater than or equal "
        "to 1; unknown key 'model.hiden'")


def test_read_run_config_invalid_yaml(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("seed: 0\nseed: 1\n")
    with pytest.raises(WmgeomError) as exc:
        read_run_config(tmp_path, Config)
    assert str(exc.value) == (f"run config {path}: key 'seed' appears twice (lines 1 and 2); "
                              "keep one")
    path.write_text("model: [unclosed\n")
    with pytest.raises(WmgeomError, match="is not valid YAML"):
        read_run_config(tmp_path, Config)


def test_two_writers_of_one_run_directory_are_refused(tmp_path):
    from wmgeom.studies.base import run_lock

    with run_lock(tmp_path):
        with pytest.raises(WmgeomError, match="another wmgeom process is writing"):
            with run_lock(tmp_path):
                pass
    with run_lock(tmp_path):  # released: the next writer gets it
        pass
