"""Representational-geometry analyses of working-memory models.

Decoders (:mod:`~wmgeom.analysis.decoders`) are batched linear SVMs (solved by
:mod:`~wmgeom.analysis.solvers`) with the cross-validation protocol of Lei et al. 2024;
every analysis takes activations as arrays or an Activations Dataset
(:mod:`~wmgeom.analysis.data`) and returns a tidy :class:`pandas.DataFrame`.
"""

from wmgeom.analysis.causal import causal_perturbation
from wmgeom.analysis.compare import (
    cca_distance,
    dynamical_similarity,
    procrustes_distance,
    representational_similarity,
    shape_distance,
)
from wmgeom.analysis.data import ActivationArrays, activation_arrays
from wmgeom.analysis.decodability import relevant_irrelevant_decoding, within_time_decoding
from wmgeom.analysis.decoders import (
    PAPER_CS,
    DecodingResult,
    LinearDecoder,
    cross_validated_decoding,
    decision_values,
)
from wmgeom.analysis.fixed_points import FixedPointFinder, subspace_fraction
from wmgeom.analysis.generalization import (
    cross_task_generalization,
    cross_time_decoding,
    encoding_space_sharing,
    generalization_summary,
    transfer_out_of_fold,
    transfer_to_other_trials,
)
from wmgeom.analysis.novel_objects import identity_loss, novel_object_decoding
from wmgeom.analysis.orthogonality import orthogonalization_comparison, orthogonalization_index
from wmgeom.analysis.procrustes import (
    ProcrustesFit,
    procrustes_align,
    procrustes_reconstruct,
    reconstructed_decoder_accuracy,
)
from wmgeom.analysis.solvers import solve_hinge_svm

__all__ = [
    "PAPER_CS",
    "ActivationArrays",
    "DecodingResult",
    "FixedPointFinder",
    "LinearDecoder",
    "ProcrustesFit",
    "activation_arrays",
    "causal_perturbation",
    "cca_distance",
    "cross_task_generalization",
    "cross_time_decoding",
    "cross_validated_decoding",
    "decision_values",
    "dynamical_similarity",
    "encoding_space_sharing",
    "generalization_summary",
    "identity_loss",
    "novel_object_decoding",
    "orthogonalization_comparison",
    "orthogonalization_index",
    "procrustes_align",
    "procrustes_distance",
    "procrustes_reconstruct",
    "reconstructed_decoder_accuracy",
    "relevant_irrelevant_decoding",
    "representational_similarity",
    "shape_distance",
    "solve_hinge_svm",
    "subspace_fraction",
    "transfer_out_of_fold",
    "transfer_to_other_trials",
    "within_time_decoding",
]
