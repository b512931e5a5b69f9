"""Models: the registries of cores (architectures) and backbones, the core interface, frozen
backbones and their feature cache, the sensory-cognitive model (Lei et al. 2024) and the
continuous-time RNN (Cueva et al. 2021)."""

from wmgeom.models.backbones import Backbone
from wmgeom.models.cores import Core, register_core
from wmgeom.models.ctrnn import CTRNN, CTRNNConfig
from wmgeom.models.features import FeatureCache, channel_pca, load_or_compute_features
from wmgeom.models.registry import ARCHITECTURES, BACKBONES, architecture, build_backbone
from wmgeom.models.sensory_cognitive import SensoryCognitiveConfig, SensoryCognitiveModel

__all__ = [
    "ARCHITECTURES", "BACKBONES", "CTRNN", "Backbone", "CTRNNConfig", "Core", "FeatureCache",
    "SensoryCognitiveConfig", "SensoryCognitiveModel", "architecture", "build_backbone",
    "channel_pca", "load_or_compute_features", "register_core",
]
