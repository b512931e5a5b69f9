"""The one place where a device name becomes a :class:`torch.device`.

Every stage (feature extraction, training, decoding) resolves its ``device`` setting here,
so ``"auto"``, ``"cpu"``, ``"cuda"`` and ``"cuda:1"`` mean the same everywhere and a device
that is not there is one clear error, not a traceback from deep inside torch.
"""

from __future__ import annotations

import torch

from wmgeom.errors import WmgeomError

__all__ = ["resolve_device"]


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """The torch device for ``device``: ``"auto"`` (or None) picks CUDA when present, else CPU.

    Raises:
        WmgeomError: If the name is not a torch device, or CUDA is asked for and absent.
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise WmgeomError(f"unknown device {str(device)!r}; use 'auto', 'cpu' or 'cuda'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise WmgeomError(f"device {str(device)!r} asked for but no CUDA GPU is available; "
                          "use device 'cpu' or 'auto'")
    if dev.type not in ("cpu", "cuda"):
        raise WmgeomError(f"device {str(device)!r} is not supported; use 'auto', 'cpu' or 'cuda'")
    return dev
