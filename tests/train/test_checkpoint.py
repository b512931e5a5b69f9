"""wmgeom.train.checkpoint: resumable checkpoints and every random state a step can touch."""

import random

import numpy as np
import pytest
import torch

from wmgeom.errors import WmgeomError
from wmgeom.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state


def draws(sampler: np.random.Generator):
    """One draw from each stream: numpy sampler, torch CPU, Python."""
    return sampler.random(4), torch.rand(4), [random.random() for _ in range(4)]


def assert_same_draws(a, b):
    np.testing.assert_array_equal(a[0], b[0])
    assert torch.equal(a[1], b[1])
    assert a[2] == b[2]


@pytest.fixture
def payload():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "iteration": 7,
            "fingerprint": "abc123", "metrics": [{"iteration": 5, "loss": 0.25}],
            "rng": rng_state(np.random.default_rng(1))}


def test_round_trip(tmp_path, payload):
    path = tmp_path / "checkpoints" / "last.pt"
    save_checkpoint(path, payload)
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.pt"]  # no temporary left
    back = load_checkpoint(path, fingerprint="abc123")
    assert set(back) == set(payload)
    assert back["iteration"] == 7 and back["metrics"] == [{"iteration": 5, "loss": 0.25}]
    for k, v in payload["model"].items():
        assert torch.equal(back["model"][k], v)
    assert back["optimizer"]["state"][0]["step"] == payload["optimizer"]["state"][0]["step"]
    assert torch.equal(back["optimizer"]["state"][0]["exp_avg"],
                       payload["optimizer"]["state"][0]["exp_avg"])
    assert load_checkpoint(str(path))["fingerprint"] == "abc123"  # no fingerprint: no check


def test_overwrite_keeps_one_file(tmp_path, payload):
    path = tmp_path / "last.pt"
    save_checkpoint(path, payload)
    save_checkpoint(path, {**payload, "iteration": 8})
    assert load_checkpoint(path)["iteration"] == 8
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_missing_checkpoint(tmp_path):
    path = tmp_path / "last.pt"
    with pytest.raises(WmgeomError) as exc:
        load_checkpoint(path)
    assert str(exc.value) == (f"no checkpoint at {path}; train the run first "
                              "(`wmgeom train --out RUN_DIR`).")


def test_missing_checkpoint_says_what_the_caller_asks(tmp_path):
    path = tmp_path / "last.pt"
    with pytest.raises(WmgeomError) as exc:
        load_checkpoint(path, missing_hint="train it first, or drop --resume")
    assert str(exc.value) == f"no checkpoint at {path}; train it first, or drop --resume."


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_checkpoint(tmp_path, payload, damage):
    path = tmp_path / "last.pt"
    save_checkpoint(path, payload)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"not a checkpoint")
    with pytest.raises(WmgeomError) as exc:
        load_checkpoint(path)
    kind = type(exc.value.__cause__).__name__
    assert str(exc.value) == (f"checkpoint {path} is corrupt or unreadable ({kind}); delete it "
                              "and train again without --resume.")


@pytest.mark.parametrize("content", [{"iteration": 3}, [1, 2, 3], "text"])
def test_not_a_checkpoint(tmp_path, content):
    path = tmp_path / "last.pt"
    torch.save(content, path)
    with pytest.raises(WmgeomError) as exc:
        load_checkpoint(path)
    assert str(exc.value) == f"checkpoint {path} is not a wmgeom checkpoint; delete it and retrain."


@pytest.mark.parametrize("stored", ["other", None])
def test_fingerprint_mismatch(tmp_path, payload, stored):
    path = tmp_path / "last.pt"
    if stored is None:
        payload.pop("fingerprint")
    else:
        payload["fingerprint"] = stored
    save_checkpoint(path, payload)
    with pytest.raises(WmgeomError) as exc:
        load_checkpoint(path, fingerprint="abc123")
    assert str(exc.value) == (
        f"checkpoint {path} was written by a different configuration; resume with the "
        "config.yaml saved in that run directory, or start a new run directory.")


def test_rng_state_restores_every_stream():
    sampler = np.random.default_rng(42)
    torch.manual_seed(3)
    random.seed(5)
    draws(sampler)  # somewhere in the middle of every stream
    state = rng_state(sampler)
    first = draws(sampler)
    second = draws(sampler)
    assert not np.array_equal(first[0], second[0])
    set_rng_state(sampler, state)
    assert_same_draws(draws(sampler), first)
    assert_same_draws(draws(sampler), second)


def test_rng_state_survives_a_checkpoint_into_a_fresh_sampler(tmp_path):
    sampler = np.random.default_rng(7)
    torch.manual_seed(8)
    random.seed(9)
    draws(sampler)
    save_checkpoint(tmp_path / "last.pt", {"model": {}, "rng": rng_state(sampler)})
    expected = draws(sampler)
    fresh = np.random.default_rng(0)  # another seed: the saved state wins
    torch.manual_seed(0)
    random.seed(0)
    set_rng_state(fresh, load_checkpoint(tmp_path / "last.pt")["rng"])
    assert_same_draws(draws(fresh), expected)


def test_rng_state_is_a_snapshot():
    sampler = np.random.default_rng(0)
    state = rng_state(sampler)
    before = {k: v.clone() if torch.is_tensor(v) else v for k, v in state.items()}
    draws(sampler)
    assert torch.equal(state["torch_cpu"], before["torch_cpu"])
    assert state["numpy_sampler"] == before["numpy_sampler"]
    assert state["python"] == before["python"]
