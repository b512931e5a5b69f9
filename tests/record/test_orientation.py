"""wmgeom.record.orientation: an untrained CTRNN on two-orientation trials, as a Dataset."""

import numpy as np
import pytest
import torch

from wmgeom.models.ctrnn import CTRNN
from wmgeom.record import record_orientation
from wmgeom.tasks.orientation import EPOCHS, TwoOrientationTask

N_TRIALS, N_UNITS = 6, 10


@pytest.fixture(scope="module")
def setup():
    # short trials (13 or 14 steps of 20 ms): delay 1 varies from trial to trial
    task = TwoOrientationTask(dt=20, fixation=40, stimulus=40, delay1_min=40, delay1_max=60,
                              delay2_min=60, delay2_max=60, report=40, n_tuned=8, ordinal=True)
    torch.manual_seed(0)
    model = CTRNN(task.n_inputs, task.n_outputs, n_units=N_UNITS, dt=20, rate_noise=0.1)
    batch = task.sample(N_TRIALS, np.random.default_rng(0))
    return task, model, batch


def record(setup, **kw):
    task, model, batch = setup
    return record_orientation(model, task, batch, **kw)


def test_dims_and_variables(setup):
    task, _, batch = setup
    ds = record(setup, noise=False)
    assert dict(ds.sizes) == {"trial": N_TRIALS, "time": task.n_steps, "unit": N_UNITS,
                              "unit_pre": N_UNITS, "output": 5, "input": 9}
    assert task.n_steps == 14
    epochs = {f"{e}_{b}" for e in EPOCHS for b in ("start", "stop")}
    assert set(ds.data_vars) == {"rates", "outputs", "inputs", "targets", "theta1", "theta2",
                                 "recurrent_weight", *epochs}
    assert ds["rates"].dims == ("trial", "time", "unit")
    assert ds["outputs"].dims == ds["targets"].dims == ("trial", "time", "output")
    assert ds["inputs"].dims == ("trial", "time", "input")
    assert ds["recurrent_weight"].dims == ("unit", "unit_pre")


def test_coords(setup):
    ds = record(setup, noise=False)
    np.testing.assert_array_equal(ds["time"].values, np.arange(14) * 20.0)
    assert ds["time"].attrs["units"] == "ms"
    assert ds["theta1"].attrs["units"] == ds["theta2"].attrs["units"] == "degrees"
    np.testing.assert_array_equal(ds["trial"].values, np.arange(N_TRIALS))
    np.testing.assert_array_equal(ds["unit"].values, np.arange(N_UNITS))
    np.testing.assert_array_equal(ds["unit_pre"].values, np.arange(N_UNITS))
    assert list(ds["output"].values) == ["cos2theta1", "sin2theta1", "cos2theta2", "sin2theta2",
                                         "ordinal"]


def test_trial_contents_are_the_batch(setup):
    _, _, batch = setup
    ds = record(setup, noise=False)
    np.testing.assert_array_equal(ds["inputs"].values, batch.inputs)
    np.testing.assert_array_equal(ds["targets"].values, batch.targets)
    np.testing.assert_array_equal(ds["theta1"].values, batch.theta1)
    np.testing.assert_array_equal(ds["theta2"].values, batch.theta2)
    for e in EPOCHS:
        np.testing.assert_array_equal(ds[f"{e}_start"].values, batch.epoch_start[e])
        np.testing.assert_array_equal(ds[f"{e}_stop"].values, batch.epoch_stop[e])
    assert len(set(ds["delay1_stop"].values.tolist())) > 1  # per-trial epochs, not trial 0's


def test_rates_and_outputs_are_the_models(setup):
    task, model, batch = setup
    ds = record(setup, noise=False)
    with torch.no_grad():
        out, rates = model(torch.as_tensor(batch.inputs), noise=False)
    np.testing.assert_allclose(ds["rates"].values, rates.numpy(), rtol=1e-6)
    np.testing.assert_allclose(ds["outputs"].values, out.numpy(), rtol=1e-6)
    assert ds["rates"].values.std() > 0


def test_recurrent_weight_is_the_models(setup):
    _, model, _ = setup
    ds = record(setup, noise=False)
    W = model.recurrent.weight.detach().numpy()
    np.testing.assert_array_equal(ds["recurrent_weight"].values, W)  # post × pre
    assert ds["recurrent_weight"].sel(unit=2, unit_pre=7).item() == W[2, 7]
    assert not np.allclose(W, W.T)  # the orientation is tested, not symmetric by chance


def test_noise_free_recording_is_deterministic(setup):
    a, b = record(setup, noise=False, seed=0), record(setup, noise=False, seed=9)
    np.testing.assert_array_equal(a["rates"].values, b["rates"].values)
    np.testing.assert_array_equal(a["outputs"].values, b["outputs"].values)


def test_noisy_recording_is_reproducible_for_one_seed(setup):
    before = torch.get_rng_state()
    a, b = record(setup, noise=True, seed=3), record(setup, noise=True, seed=3)
    assert torch.equal(torch.get_rng_state(), before)  # the global stream is left alone
    np.testing.assert_array_equal(a["rates"].values, b["rates"].values)
    other = record(setup, noise=True, seed=4)
    clean = record(setup, noise=False)
    assert np.abs(a["rates"].values - other["rates"].values).max() > 1e-3
    assert np.abs(a["rates"].values - clean["rates"].values).max() > 1e-3


def test_attrs(setup):
    noisy = record(setup, noise=True, seed=1, attrs={"condition": "low-noise", "ordinal": 1})
    assert noisy.attrs == {"noise": 1, "dt_ms": 20.0, "condition": "low-noise", "ordinal": 1}
    assert record(setup, noise=False).attrs == {"noise": 0, "dt_ms": 20.0}
