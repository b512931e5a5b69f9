"""Training: the shared resumable loop, N-back regimes, checkpoints."""

from wmgeom.train.trainer import TrainConfig, Trainer, TrainResult

__all__ = ["Trainer", "TrainConfig", "TrainResult"]
