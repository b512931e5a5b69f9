"""A network no one here wrote, analysed with wmgeom: delayed match-to-sample from neurogym.

A GRU is trained in plain PyTorch on neurogym's ``DelayMatchSample-v0`` (a sample
direction, a delay, a test direction; report whether they match). Its hidden states on
fresh trials are recorded into :class:`wmgeom.data.TrialData` with a pandas trial table,
and wmgeom runs the analyses of Lei et al. 2024 that read time: within-time decoding of the
sample direction through the delay and cross-time decoding (does a decoder fitted at one
moment still read the sample later, or does its code move?); it says which analyses the
data cannot support and why (one task: no cross-task generalisation; no perceptual
features: no orthogonalisation).

Run (see docs/anyones_data.md)::

    pip install -e ".[neuro]"
    python examples/neurogym_dms.py --out dms-analysis

Then open ``dms-analysis/report.html``. ``--iterations`` and ``--trials`` make it smaller.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from wmgeom.data import TrialData
from wmgeom.studies.nback.recordings import analyze_data

TASK = "DelayMatchSample-v0"


def make_env(dt: int = 100, dim_ring: int = 4, seed: int = 0):
    """The neurogym task (``dim_ring`` sample directions), seeded."""
    import neurogym as ngym

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gymnasium's notes on neurogym's metadata
        env = ngym.make(TASK, dt=dt, dim_ring=dim_ring).unwrapped
    env.seed(seed)
    return env


def sample_trials(env, n: int) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """``n`` fresh trials: inputs ``[time, trial, obs]``, targets ``[time, trial]`` and one
    table row per trial (directions as indices, onsets in seconds, match)."""
    obs, gts, rows = [], [], []
    step = 2 * np.pi / len(env.theta)
    for _ in range(n):
        trial = env.new_trial()
        obs.append(env.ob.copy())
        gts.append(env.gt.copy())
        rows.append({"sample_direction": int(round(trial["sample_theta"] / step)) % len(env.theta),
                     "test_direction": int(round(trial["test_theta"] / step)) % len(env.theta),
                     "sample_onset": env.start_t["sample"] / 1000,
                     "test_onset": env.start_t["test"] / 1000,
                     "match": int(trial["ground_truth"] == 1),
                     "task": TASK})
    return (np.stack(obs, 1).astype(np.float32), np.stack(gts, 1).astype(np.int64),
            pd.DataFrame(rows))


class Net(nn.Module):
    """A GRU and a linear readout of the three actions (fixate, match, non-match)."""

    def __init__(self, n_in: int, n_hidden: int, n_out: int):
        super().__init__()
        self.rnn = nn.GRU(n_in, n_hidden)
        self.readout = nn.Linear(n_hidden, n_out)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden, _ = self.rnn(x)
        return self.readout(hidden), hidden


def train(env, net: Net, iterations: int, batch_size: int = 64, lr: float = 3e-3) -> float:
    """Plain PyTorch: Adam on the cross-entropy of the decision period (match or
    non-match); the last batch's accuracy there.

    A vanilla ``nn.RNN`` did not leave chance in 1,000 iterations on this task, nor did a
    GRU with the fixation steps in the loss; the GRU trained on the decision period solves
    it after 500 to 1,000.
    """
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    accuracy = float("nan")
    for _ in range(iterations):
        x, y, _ = sample_trials(env, batch_size)
        logits, _ = net(torch.from_numpy(x))
        target = torch.from_numpy(y)
        decision = target > 0
        loss = nn.functional.cross_entropy(logits[decision], target[decision])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        accuracy = float((logits.argmax(-1) == target)[decision].float().mean())
    return accuracy


def record(env, net: Net, n_trials: int, dt: int) -> TrialData:
    """Hidden states of fresh trials, with their descriptors, as :class:`TrialData`."""
    x, y, table = sample_trials(env, n_trials)
    with torch.no_grad():
        logits, hidden = net(torch.from_numpy(x))
    choice = logits.argmax(-1).numpy()  # [time, trial]
    decision = y > 0
    # the action taken most often at the decision steps: 1 match, 2 non-match
    table["response"] = [int(np.bincount(choice[decision[:, k], k], minlength=3)[1:].argmax()
                             + 1) for k in range(n_trials)]
    time = np.arange(x.shape[0]) * dt / 1000
    return TrialData.from_arrays(hidden.numpy().transpose(1, 0, 2), table,
                                 features=["direction"], items=["sample", "test"], time=time,
                                 name="dms-rnn", attrs={"source": f"neurogym {TASK}"})


def main(argv: list[str] | None = None) -> dict[str, pd.DataFrame]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("dms-analysis"))
    parser.add_argument("--iterations", type=int, default=1500)
    parser.add_argument("--trials", type=int, default=400, help="recorded trials")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--step", type=float, default=0.1, help="frame width (seconds)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    dt = 100
    env = make_env(dt, seed=args.seed)
    torch.set_num_threads(1)  # a small network: more threads only wait on each other
    torch.manual_seed(args.seed)
    net = Net(env.observation_space.shape[0], args.hidden, env.action_space.n)
    accuracy = train(env, net, args.iterations)
    print(f"trained {args.iterations} iterations; decision accuracy {accuracy:.1%}")
    data = record(env, net, args.trials, dt)
    print(data)
    # frames of --step seconds from the sample's onset to the end of the test, each
    # labelled with the direction shown most recently: the sample's through the delay
    sample, test_end = float(data.onsets[:, 0].min()), float(data.onsets[:, 1].max()) + 0.5
    # every frame after the sample's onset repeats it, so the analyses that take each frame
    # for a new stimulus (encoding sharing, Procrustes and swaps) are left out
    tables = analyze_data(data, args.out, {
        "frames": {"mode": "time", "window": [sample, test_end], "step": args.step},
        "analyses": ["within_time", "cross_time", "cross_task", "orthogonalization"],
        "protocol": {"device": "cpu"}})
    within = tables["within_time"].sort_values("frame")
    cross = tables["cross_time"].sort_values("frame")
    for name, t in (("fitted at each step", within), ("fitted at the sample's onset", cross)):
        rows = t[t["stimulus"] == 0]
        print(f"sample direction, decoders {name}:", ", ".join(
            f"{sample + args.step * k:.1f} s {a:.0%}"
            for k, a in zip(rows["frame"], rows["accuracy"], strict=True)))
    status = tables["status"]
    for _, row in status[status["status"] == "skipped"].iterrows():
        print(f"skipped {row['analysis']}: {row['reason']}")
    print(f"report: {args.out / 'report.html'}")
    return tables


if __name__ == "__main__":
    main()
