"""The study registry: configs name their study, run folders are reported by theirs."""

import pytest
import yaml

from wmgeom.errors import WmgeomError
from wmgeom.studies import nback, orientation
from wmgeom.studies.registry import STUDIES, load_study_config, study, study_of_run


def test_every_study_is_registered_with_its_config_and_stages():
    assert set(STUDIES) == {"nback", "two-orientation", "nback-grid"}
    for name, entry in STUDIES.items():
        config = entry.make_config("quick")
        assert config.study == name and isinstance(config, entry.config)
        assert set(entry.profiles) == {"quick", "paper"}
        assert callable(entry.run) and callable(entry.report)


def test_a_config_file_chooses_its_study(tmp_path):
    path = tmp_path / "o.yaml"
    path.write_text(yaml.safe_dump({"study": "two-orientation", "model": {"n_units": 7}}))
    chosen, config = load_study_config(path)
    assert chosen.name == "two-orientation" and config.model.n_units == 7
    assert isinstance(load_study_config(None)[1], nback.NBackConfig)
    with pytest.raises(WmgeomError, match="is for study 'two-orientation', not 'nback'"):
        load_study_config(path, name="nback")
    with pytest.raises(WmgeomError, match="unknown study 'mnist'"):
        study("mnist")


def test_run_folders_are_reported_by_their_study(tmp_path):
    assert study_of_run(tmp_path).name == "nback"  # no config.yaml: the default study
    (tmp_path / "config.yaml").write_text("study: two-orientation\n")
    assert study_of_run(tmp_path).report is orientation.report
    with pytest.raises(WmgeomError, match="no summary.json"):
        study_of_run(tmp_path).report(tmp_path)
