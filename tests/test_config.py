import pytest

from wmgeom.config import dump_config
from wmgeom.errors import WmgeomError
from wmgeom.studies.nback import load_config, make_config


def test_profiles():
    quick = make_config("quick")
    paper = make_config("paper")
    assert quick.model.backbone == "efficientnet_lite0"
    assert paper.model.backbone == "resnet50"
    assert paper.train.lr == 3e-5 and paper.train.batch_size == 256
    assert paper.train.iterations == 14000
    assert paper.model.hidden_size == 256 and paper.model.channel_components is None


def test_yaml_overrides_profile_and_round_trips(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("profile: quick\nmodel:\n  architecture: lstm\n  hidden_size: 32\n")
    cfg = load_config(path)
    assert cfg.model.architecture == "lstm" and cfg.model.hidden_size == 32
    assert cfg.train.lr == make_config("quick").train.lr
    resolved = tmp_path / "resolved.yaml"
    resolved.write_text(dump_config(cfg))
    assert load_config(resolved) == cfg


@pytest.mark.parametrize(
    "text, message",
    [
        ("model:\n  hiden_size: 3\n", "unknown key 'model.hiden_size'"),
        ("model:\n  hidden_size: -3\n", "model.hidden_size = -3"),
        ("model:\n  architecture: mamba\n", "model.architecture = 'mamba'"),
        ("tasks:\n  n_values: [1, 6]\n", "smaller than the sequence length"),
        ("tasks:\n  regime: STSF\n", "needs tasks.task"),
        ("train:\n  milestones: [10, 5]\n", "milestones must increase"),
        ("- a\n- b\n", "must hold a mapping"),
        ("model: [unclosed\n", "not valid YAML"),
    ],
)
def test_config_errors_name_key_and_value(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(WmgeomError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config(path)


def test_missing_file_and_unknown_profile(tmp_path):
    with pytest.raises(WmgeomError, match="config file not found"):
        load_config(tmp_path / "none.yaml")
    with pytest.raises(WmgeomError, match="unknown profile 'fast'"):
        make_config("fast")
