"""The decoder bank: every decoder a recording's analyses need, fitted once.

For each task the bank holds cross-validated one-vs-rest decoders ``D(i, j)`` of every
feature of stimulus ``i`` from the activations at step ``j >= i`` (the paper's encoding
space ``E(S=i, T=i)`` when ``j == i``, memory spaces ``M(S=i, T=j)`` otherwise), all
solved in one batched call of :func:`~wmgeom.analysis.decoders.cross_validated_decoding`
on the same outer folds. Within-time decoding (Fig. 2b, A5), cross-time and
encoding-sharing transfer (Fig. 4b–d), cross-task transfer (Fig. 2a, 2c), Procrustes and
swap tests (Fig. 4f, 4g) and the causal test's normals (Fig. A7) all read from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from wmgeom.analysis.data import ActivationArrays, activation_arrays
from wmgeom.analysis.decoders import PAPER_CS, DecodingResult, cross_validated_decoding
from wmgeom.errors import WmgeomError

__all__ = ["DecoderBank", "StepDecoders", "decoder_bank", "fit_step_decoders"]


@dataclass(frozen=True)
class StepDecoders:
    """The decoders ``D(i, j)`` of one task (see the module).

    Attributes:
        task: Task name.
        n: N of the N-back task.
        relevant: The task's relevant feature.
        pairs: ``(i, j)`` of each decoding condition, in the order of ``result``.
        result: The cross-validated decoders, one condition per pair.
        arrays: The task's activations and labels.
    """

    task: str
    n: int
    relevant: str
    pairs: tuple[tuple[int, int], ...]
    result: DecodingResult
    arrays: ActivationArrays

    @property
    def n_frames(self) -> int:
        return self.arrays.n_frames

    @property
    def X(self) -> np.ndarray:
        """Activations by frame, ``[T, n_trials, D]``."""
        return np.moveaxis(self.arrays.X, 1, 0)

    def condition(self, i: int, j: int) -> int:
        """Index of the decoders of stimulus ``i`` at step ``j`` in ``result``."""
        try:
            return self.pairs.index((i, j))
        except ValueError:
            raise WmgeomError(f"no decoders of stimulus {i} at step {j} in the bank") from None

    def select(self, pairs: Sequence[tuple[int, int]]) -> DecodingResult:
        """The decoders of ``pairs`` only, as a :class:`DecodingResult` in that order."""
        return subset_conditions(self.result, [self.condition(i, j) for i, j in pairs])


DecoderBank = dict[str, StepDecoders]
"""Task name → :class:`StepDecoders`."""


def subset_conditions(result: DecodingResult, conditions: Sequence[int]) -> DecodingResult:
    """The conditions ``conditions`` of ``result`` (in that order, renumbered 0..)."""
    idx = np.asarray(conditions, dtype=int)
    remap = {int(c): k for k, c in enumerate(idx)}
    dec = result.decoders[result.decoders["condition"].isin([result.conditions[c]
                                                            for c in idx])].copy()
    feats = result.features[result.features["condition"].isin([result.conditions[c]
                                                              for c in idx])].copy()
    lookup = {result.conditions[c]: remap[int(c)] for c in idx}
    dec["condition"] = dec["condition"].map(lookup)
    feats["condition"] = feats["condition"].map(lookup)
    return replace(result, decoders=dec.reset_index(drop=True),
                   features=feats.reset_index(drop=True), coef=result.coef[idx],
                   intercept=result.intercept[idx], best_C=result.best_C[idx],
                   cv_scores=result.cv_scores[idx], decision=result.decision[idx],
                   conditions=list(range(len(idx))))


def fit_step_decoders(sub: ActivationArrays, decode_kw: dict[str, Any],
                      steps: str = "all") -> StepDecoders:
    """Fit the decoders of one task's activations (one batched solve).

    Args:
        sub: One task's activations and labels.
        decode_kw: Keywords of :func:`cross_validated_decoding` (``cv``, ``Cs``, ...).
        steps: ``"all"`` (every ``j >= i``) or ``"encoding"`` (``j == i`` only).
    """
    T = sub.n_frames
    if steps == "all":
        pairs = tuple((i, j) for i in range(T) for j in range(i, T))
    elif steps == "encoding":
        pairs = tuple((i, i) for i in range(T))
    else:
        raise WmgeomError(f"steps={steps!r}; use 'all' or 'encoding'")
    X = np.stack([sub.X[:, j] for _, j in pairs])  # [n_pairs, n, D]
    labels = {f: np.stack([v[:, i] for i, _ in pairs]) for f, v in sub.labels.items()}
    kw = {"cv": 10, "Cs": PAPER_CS, **decode_kw}
    result = cross_validated_decoding(X, labels, conditions=list(range(len(pairs))), **kw)
    return StepDecoders(str(sub.task[0]), int(sub.n[0]), str(sub.relevant[0]), pairs, result,
                        sub)


def decoder_bank(data: Any, *, space: str = "hidden", tasks: Sequence[str] | None = None,
                 features: Sequence[str] | None = None, steps: str = "all",
                 **decode_kw: Any) -> DecoderBank:
    """Fit the decoder bank of a recording: :func:`fit_step_decoders` for every task.

    Args:
        data: Activations Dataset, :class:`ActivationArrays`, or an array
            ``[trial, frame, unit]`` with the keywords ``labels=``, ``task=``, ``n=`` and
            ``relevant=`` of :func:`~wmgeom.analysis.data.activation_arrays`.
        space: Activation variable of a Dataset.
        tasks: Tasks to fit (default all recorded).
        features: Features to decode (default all labelled).
        steps: ``"all"`` pairs ``(i, j >= i)`` or ``"encoding"`` only.
        **decode_kw: Passed to :func:`cross_validated_decoding`.
    """
    extra = {k: decode_kw.pop(k) for k in ("labels", "task", "n", "relevant") if k in decode_kw}
    arrays = activation_arrays(data, space=space, features=features, **extra)
    have = list(dict.fromkeys(arrays.task.tolist()))
    names = have if tasks is None else list(tasks)
    missing = [t for t in names if t not in have]
    if missing:
        raise WmgeomError(f"no trials of tasks {missing}; recorded tasks are {have}")
    return {t: fit_step_decoders(arrays.subset(arrays.task == t), dict(decode_kw), steps)
            for t in names}
