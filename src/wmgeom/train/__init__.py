"""Training: the shared resumable loop, N-back regimes, checkpoints."""

from wmgeom.train.trainer import TrainConfig, Trainer, TrainResult, resolve_device

__all__ = ["Trainer", "TrainConfig", "TrainResult", "resolve_device"]
