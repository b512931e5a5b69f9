"""Sequence cores of the sensory-cognitive model, registered by name with their properties.

:mod:`~wmgeom.models.cores.base` holds the interface (:class:`Core`) and the registry
(:func:`register_core`); each other module defines and registers cores: the recurrent ones
of Lei et al. 2024 (``rnn``, ``gru``, ``lstm``), a causal ``transformer`` and an ``ssm``.
"""

from wmgeom.models.cores.base import (
    CORES,
    GATED_RNN,
    VANILLA_RNN,
    Core,
    architecture_label,
    core,
    gru_parameters,
    register_core,
    unregister_core,
)
from wmgeom.models.cores.recurrent import GRUCore, LSTMCore, RecurrentCore, RNNCore
from wmgeom.models.cores.transformer import TransformerCore

# isort: split
# registered in this order: rnn, gru, lstm, transformer, ssm
from wmgeom.models.cores.ssm import SSMCore

__all__ = ["CORES", "GATED_RNN", "VANILLA_RNN", "Core", "GRUCore", "LSTMCore", "RNNCore",
           "RecurrentCore", "SSMCore", "TransformerCore", "architecture_label", "core", "gru_parameters",
           "register_core", "unregister_core"]
