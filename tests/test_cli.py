"""User errors at the command line: one clear line, exit status 2, no traceback (L1)."""

import subprocess
import sys

import pytest


def wmgeom(*args, cwd):
    return subprocess.run([sys.executable, "-m", "wmgeom.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        ("model:\n  architecture: mamba\n", "model.architecture"),
        ("modle: {}\n", "unknown key 'modle'"),
        ("model:\n  backbone: vgg\n", "model.backbone"),
        ("train:\n  lr: -1\n", "train.lr"),
    ],
)
def test_bad_config_one_line_no_traceback(tmp_path, yaml_text, message):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml_text)
    res = wmgeom("train", "--config", str(cfg), "--out", str(tmp_path / "run"), cwd=tmp_path)
    assert res.returncode == 2
    assert message in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "run").exists()  # nothing half-written


def test_record_on_a_folder_that_is_not_a_run(tmp_path):
    res = wmgeom("record", str(tmp_path), cwd=tmp_path)
    assert res.returncode == 2
    assert "not a wmgeom run directory" in res.stderr
    assert "Traceback" not in res.stderr


def run_main(monkeypatch, capsys, *args):
    """``wmgeom ARGS`` in this process: (exit status, stderr)."""
    from wmgeom import cli

    monkeypatch.setattr(sys, "argv", ["wmgeom", *map(str, args)])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    return exc.value.code, capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (("tasks", "--n-values", "1,x"), "--n-values '1,x': give comma-separated integers"),
        (("tasks", "--n-values", "0,-1"), "--n-values '0,-1': give positive integers"),
        (("sweep", "--seeds", "a"), "--seeds 'a': give comma-separated integers"),
        (("sweep", "--architectures", "cnn", "--sizes", "paper"),
         "unknown architectures ['cnn']; choose from rnn, gru, lstm"),
        (("run", "--grid", "--sizes", "big"), "--sizes 'big': give comma-separated hidden"),
        (("run", "--grid", "--tasks", "nback,dsm"),
         "unknown task families ['dsm']; choose from nback, dms"),
    ],
)
def test_option_values_are_one_line_errors(monkeypatch, capsys, tmp_path, args, message):
    monkeypatch.chdir(tmp_path)
    code, err = run_main(monkeypatch, capsys, *args)
    assert code == 2 and message in " ".join(err.split())
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        ("device: banana\n", "unknown device 'banana'; use 'auto', 'cpu' or 'cuda'"),
        ("tasks: {regime: STSF, task: two-orientation}\n",
         "'two-orientation' is not an N-back task; the N-back regimes train nback-1-location"),
        ("tasks: {regime: STMF, n: 0}\n", "N=0 is not a valid N; the STMF regime needs"),
        ("tasks: {regime: STSF, task: nback-5-location}\n", "N=5 is not in the configured N set"),
        ("tasks: {family: dms, regime: STSF, task: dms-colour}\n",
         "unknown DMS task 'dms-colour'. Did you mean 'dms-category'? DMS tasks: dms-location"),
        ("tasks: {family: dms, regime: STMF, n: 2}\n",
         "the dms task family has no STMF regime; use one of STSF, MTMF"),
        ("tasks: {family: dmts}\n", "unknown task family 'dmts'; choose one of nback, dms"),
        ("model: {hidden_size: 2000000}\n", "needs about"),
        ("model: {hidden_size: 8}\nmodel: {hidden_size: 9}\n", "key 'model' appears twice"),
    ],
)
def test_invalid_runs_stop_before_loading_and_leave_no_lock(monkeypatch, capsys, tmp_path,
                                                            yaml_text, message):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml_text)
    out = tmp_path / "run"
    code, err = run_main(monkeypatch, capsys, "run", "--config", cfg, "--out", out)
    assert code == 2 and message in " ".join(err.split()), err
    assert not (out / "checkpoints").exists()
    # a corrected config may use the same folder: a run without a checkpoint is no lock
    from wmgeom.studies.base import init_run_dir
    from wmgeom.studies.nback import make_config

    init_run_dir(out, make_config("quick"), resume=False, trained=False)


def test_output_folder_that_is_a_file(monkeypatch, capsys, tmp_path):
    (tmp_path / "out").write_text("x")
    code, err = run_main(monkeypatch, capsys, "run", "--out", tmp_path / "out")
    assert code == 2 and "is a file; choose a folder" in err


def test_user_text_with_brackets_is_printed_as_written(monkeypatch, capsys, tmp_path):
    run = tmp_path / "out" / "run[gru]"
    run.mkdir(parents=True)
    code, err = run_main(monkeypatch, capsys, "record", run)
    assert code == 2 and "run[gru]" in " ".join(err.split())


def test_ctrl_c_says_how_to_resume(tmp_path):
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-m", "wmgeom.cli", "run", "--out",
                             str(tmp_path / "run"), "--no-progress"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**__import__("os").environ,
                                 "WMGEOM_CACHE": str(tmp_path / "cache")})
    time.sleep(8)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "interrupted" in err and "--resume" in err
    assert "Traceback" not in err


def test_grid_tasks_option_chooses_the_task_families():
    from wmgeom import cli

    cfg = cli._grid_config(None, None, "gru", "STSF,MTMF", "0", None, "nback,dms")
    assert cfg.tasks == ["nback", "dms"] and cfg.regimes == ["STSF", "MTMF"]
    assert cli._grid_config(None, None, None, None, None, None).tasks == ["nback"]
