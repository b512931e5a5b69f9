"""Models: frozen backbones and their feature cache, the sensory-cognitive model."""

from wmgeom.models.backbones import BACKBONES, Backbone, build_backbone
from wmgeom.models.features import FeatureCache, channel_pca, load_or_compute_features
from wmgeom.models.sensory_cognitive import ARCHITECTURES, SensoryCognitiveModel


def load_run_model(run_dir):
    """The trained model of a run directory (see :func:`wmgeom.pipeline.load_run_model`)."""
    from wmgeom.pipeline import load_run_model as _load

    return _load(run_dir)


__all__ = [
    "ARCHITECTURES", "BACKBONES", "Backbone", "FeatureCache", "SensoryCognitiveModel",
    "build_backbone", "channel_pca", "load_or_compute_features", "load_run_model",
]
