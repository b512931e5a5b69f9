import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from wmgeom.errors import WmgeomError
from wmgeom.train import TrainConfig
from wmgeom.train.checkpoint import load_checkpoint

sys.path.insert(0, str(Path(__file__).parent))
from _toy import make_trainer  # noqa: E402


def weights(trainer):
    return [p.detach().clone() for p in trainer.model.parameters()]


def test_training_reduces_loss_and_logs(tmp_path):
    trainer = make_trainer(tmp_path)
    result = trainer.fit()
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    val = metrics[metrics.split == "val"].sort_values("iteration")
    assert result.iterations == 60
    assert val.mse.iloc[-1] < 0.5 * val.mse.iloc[0]
    assert (tmp_path / "checkpoints" / "last.pt").is_file()
    assert any((tmp_path / "tensorboard").iterdir())
    # the LR schedule decayed at the milestone
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3)


def test_same_seed_same_numbers(tmp_path):
    a = make_trainer(tmp_path / "a")
    a.fit()
    b = make_trainer(tmp_path / "b")
    b.fit()
    for x, y in zip(weights(a), weights(b), strict=True):
        assert torch.equal(x, y)


def test_sigkilled_run_resumes_to_identical_weights(tmp_path):
    reference = make_trainer(tmp_path / "ref")
    reference.fit()

    run = tmp_path / "killed"
    script = Path(__file__).parent / "_toy.py"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, str(script), str(run), "0.05"], env=env)
    ckpt = run / "checkpoints" / "last.pt"
    deadline = time.time() + 120
    while time.time() < deadline:
        if ckpt.exists() and load_checkpoint(ckpt)["iteration"] >= 15:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = load_checkpoint(ckpt)["iteration"]
    assert 15 <= killed_at < 60, "the run must be killed mid-way"

    resumed = make_trainer(run)
    resumed.fit(resume=True)
    assert resumed.iteration == 60
    for x, y in zip(weights(reference), weights(resumed), strict=True):
        assert torch.equal(x, y)
    ref_rows = pd.read_csv(tmp_path / "ref" / "metrics.csv")
    res_rows = pd.read_csv(run / "metrics.csv")
    pd.testing.assert_frame_equal(ref_rows, res_rows)


def test_resume_with_other_config_is_refused(tmp_path):
    make_trainer(tmp_path, iterations=10).fit()
    other = make_trainer(tmp_path, iterations=10, weight_decay=0.5)
    with pytest.raises(WmgeomError, match="different configuration"):
        other.fit(resume=True)


def test_corrupt_checkpoint_message(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(WmgeomError, match="corrupt or unreadable"):
        make_trainer(tmp_path, iterations=5).fit(resume=True)


def test_milestones_must_increase():
    with pytest.raises(ValueError, match="milestones must increase"):
        TrainConfig(milestones=[10, 5])


def test_a_run_to_its_end_is_finished(tmp_path):
    result = make_trainer(tmp_path, iterations=20).fit()
    assert result.finished and not result.stopped_early and result.iterations == 20
    payload = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert payload["finished"] is True and payload["stopped_early"] is False


def test_an_interrupted_run_is_not_finished_until_resumed(tmp_path):
    trainer = make_trainer(tmp_path, iterations=40)
    loss_fn = trainer.loss_fn

    def interrupted(model, batch):
        if trainer.iteration == 23:
            raise KeyboardInterrupt
        return loss_fn(model, batch)

    trainer.loss_fn = interrupted
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()
    assert not trainer.finished
    payload = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert payload["iteration"] == 20 and payload["finished"] is False
    result = make_trainer(tmp_path, iterations=40).fit(resume=True)
    assert result.finished and result.iterations == 40
    assert load_checkpoint(tmp_path / "checkpoints" / "last.pt")["finished"] is True


def test_a_run_the_criterion_stopped_is_finished_and_stays_stopped(tmp_path):
    def criterion(rows):
        return rows[0]["iteration"] >= 20

    trainer = make_trainer(tmp_path)
    trainer.criterion_fn = criterion
    result = trainer.fit()
    assert result.stopped_early and result.finished and result.iterations == 20
    payload = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert payload["finished"] is True and payload["stopped_early"] is True
    again = make_trainer(tmp_path)
    again.criterion_fn = criterion
    resumed = again.fit(resume=True)  # stays stopped: no further training
    assert resumed.stopped_early and resumed.finished and resumed.iterations == 20


def test_progress_outside_a_terminal_is_a_few_plain_lines(tmp_path, capsys):
    trainer = make_trainer(tmp_path, iterations=200)
    trainer.progress = True
    trainer.fit()
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("train: ")]
    assert "\r" not in err
    assert 2 <= len(lines) <= 25
    assert lines[-1].startswith("train: 200/200 it (100%)")


def test_stale_temporaries_of_a_killed_write_are_removed(tmp_path):
    ckpt_dir = tmp_path / "checkpoints"
    ckpt_dir.mkdir()
    stale = [ckpt_dir / ".last.pt.abcdefgh.tmp", tmp_path / ".metrics.csv.k3_9xq2a.tmp"]
    for p in stale:
        p.write_bytes(b"half written")
        os.utime(p, (time.time() - 3600, time.time() - 3600))
    make_trainer(tmp_path, iterations=5).fit()
    assert not any(p.exists() for p in stale)
    assert sorted(p.name for p in ckpt_dir.iterdir()) == ["last.pt"]


def test_the_criterion_is_recorded_without_early_stopping(tmp_path):
    """Where the criterion first held is recorded also when it does not stop training, and
    survives a resume."""
    trainer = make_trainer(tmp_path, iterations=40, early_stop=False)
    trainer.criterion_fn = lambda rows: rows[0]["mse"] < 1.0
    result = trainer.fit()
    val = pd.DataFrame(trainer.rows).query("split == 'val'")
    first = int(val[val.mse < 1.0].iteration.min())
    assert not result.stopped_early and result.iterations == 40
    assert result.criterion_met_at == first
    assert load_checkpoint(tmp_path / "checkpoints" / "last.pt")["criterion_met_at"] == first
    never = make_trainer(tmp_path / "never", iterations=20)
    never.criterion_fn = lambda rows: False
    assert never.fit().criterion_met_at is None


def test_precision_auto_asks_the_hardware_and_bfloat16_trains(tmp_path, monkeypatch):
    from wmgeom.train import trainer as module

    monkeypatch.setattr(module, "native_bfloat16", lambda device: False)
    assert module.autocast_dtype("auto", "cpu") is None
    assert module.autocast_dtype("float32", "cpu") is None
    assert module.autocast_dtype("bfloat16", "cpu") is torch.bfloat16
    monkeypatch.setattr(module, "native_bfloat16", lambda device: True)
    assert module.autocast_dtype("auto", "cpu") is torch.bfloat16
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(precision="float16")
    # under bfloat16 autocast the loss still falls and the weights stay float32
    trainer = make_trainer(tmp_path, precision="bfloat16")
    result = trainer.fit()
    val = result.metrics.query("split == 'val'").sort_values("iteration")
    assert val.mse.iloc[-1] < 0.5 * val.mse.iloc[0]
    assert trainer.autocast_dtype is torch.bfloat16
    assert all(p.dtype == torch.float32 for p in trainer.model.parameters())
