"""A toy regression problem for trainer tests (also run as a script in a subprocess)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from wmgeom.train import TrainConfig, Trainer


def make_trainer(run_dir: Path, iterations: int = 60, delay: float = 0.0, **cfg) -> Trainer:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Dropout(0.2), nn.Linear(16, 1))
    w_true = torch.tensor([[1.0], [-2.0], [0.5], [3.0]])

    def sample(rng: np.random.Generator):
        x = torch.from_numpy(rng.normal(size=(32, 4)).astype(np.float32))
        return x, x @ w_true

    def loss_fn(m, batch):
        if delay:
            time.sleep(delay)
        x, y = batch
        loss = ((m(x) - y) ** 2).mean()
        return loss, {"mse": loss.item()}

    def evaluate(m):
        x = torch.linspace(-1, 1, 16).view(4, 4)
        return [{"split": "val", "mse": float(((m(x) - x @ w_true) ** 2).mean())}]

    # a milestone at or past the last iteration never decays the rate (and is refused)
    config = TrainConfig(iterations=iterations, lr=1e-2, batch_size=32,
                         milestones=[40] if iterations > 40 else [],
                         eval_every=10, checkpoint_every=5, seed=3, **cfg)
    return Trainer(model, loss_fn, sample, config, run_dir, evaluate_fn=evaluate,
                   progress=False)


if __name__ == "__main__":  # python _toy.py RUN_DIR DELAY
    make_trainer(Path(sys.argv[1]), delay=float(sys.argv[2])).fit(resume=True)
