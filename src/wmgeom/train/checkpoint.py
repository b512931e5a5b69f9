"""Checkpoints that make a run resumable to the same result.

A checkpoint holds the model, optimiser and scheduler states, the iteration, every
random-number state (numpy sampler, torch CPU/CUDA, Python), the metric rows logged
so far, and a fingerprint of the configuration that produced it. It is written to a
temporary name and renamed, so a run killed mid-write leaves the previous checkpoint.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wmgeom.errors import WmgeomError
from wmgeom.io import atomic_path


def rng_state(sampler: np.random.Generator) -> dict[str, Any]:
    """Every random state a training step can touch."""
    state = {
        "numpy_sampler": sampler.bit_generator.state,
        "torch_cpu": torch.get_rng_state(),
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["torch_cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(sampler: np.random.Generator, state: dict[str, Any]) -> None:
    sampler.bit_generator.state = state["numpy_sampler"]
    torch.set_rng_state(state["torch_cpu"])
    random.setstate(state["python"])
    if "torch_cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["torch_cuda"])


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` atomically with ``torch.save``."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


#: What :func:`load_checkpoint` tells a user who has no checkpoint, unless the caller says more.
MISSING_HINT = "train the run first (`wmgeom train --out RUN_DIR`)"
#: What every checkpoint the trainer writes holds, and a resumed run reads.
RESUME_KEYS = ("model", "optimizer", "scheduler", "iteration", "rng", "rows")


def load_checkpoint(path: str | Path, fingerprint: str | None = None,
                    missing_hint: str = MISSING_HINT,
                    required: tuple[str, ...] = ("model",)) -> dict[str, Any]:
    """Read a checkpoint; refuse a corrupt file or one made by another configuration.

    Args:
        path: the checkpoint file.
        fingerprint: if given, the configuration fingerprint the checkpoint must carry.
        missing_hint: what the user should do when there is no checkpoint at ``path``
            (the message is ``no checkpoint at PATH; <missing_hint>.``).
        required: the entries the caller reads (:data:`RESUME_KEYS` to resume training).
    """
    path = Path(path)
    if not path.is_file():
        raise WmgeomError(f"no checkpoint at {path}; {missing_hint.rstrip('.')}.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise WmgeomError(
            f"checkpoint {path} is corrupt or unreadable ({type(exc).__name__}); "
            "delete it and train again without --resume."
        ) from exc
    if not isinstance(payload, dict) or "model" not in payload:
        raise WmgeomError(f"checkpoint {path} is not a wmgeom checkpoint; delete it and retrain.")
    missing = [k for k in required if k not in payload]
    if missing:
        raise WmgeomError(f"checkpoint {path} lacks {', '.join(missing)}; delete it and train "
                          "again without --resume.")
    if fingerprint is not None and payload.get("fingerprint") != fingerprint:
        raise WmgeomError(
            f"checkpoint {path} was written by a different configuration; resume with the "
            "config.yaml saved in that run directory, or start a new run directory."
        )
    return payload


def load_weights(module: torch.nn.Module, state: Any, path: str | Path,
                 entry: str = "model") -> None:
    """``module.load_state_dict(state[entry])``, refusing a state made for another module.

    Raises:
        WmgeomError: If the entry is missing, empty or does not fit the module (naming the
            checkpoint and the fix).
    """
    weights = state.get(entry) if isinstance(state, dict) else None
    try:
        if not weights:
            raise ValueError(f"its {entry!r} entry is empty")
        module.load_state_dict(weights)
    except (RuntimeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise WmgeomError(f"checkpoint {path} does not hold this run's {entry} ({reason}); "
                          "delete it and train again without --resume.") from None
