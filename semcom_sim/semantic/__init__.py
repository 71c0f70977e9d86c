"""Keras 3 semantic layers, written with ``keras.ops`` only (no TensorFlow, no Sionna)."""

from semcom_sim.semantic.adaptive import ChannelAdaptiveModule
from semcom_sim.semantic.decoder import SemanticDecoder
from semcom_sim.semantic.encoder import (
    ConvBackbone,
    DenseBackbone,
    GaussianHead,
    GaussianSampler,
    SemanticEncoder,
    TextBackbone,
    gaussian_kl,
)
from semcom_sim.semantic.length import LengthMask, LengthPolicy, LengthSampler, policy_grid_db

__all__ = ["ChannelAdaptiveModule", "SemanticDecoder", "SemanticEncoder", "ConvBackbone", "TextBackbone",
           "DenseBackbone", "GaussianHead", "GaussianSampler", "gaussian_kl", "LengthMask", "LengthPolicy",
           "LengthSampler",
           "policy_grid_db"]
