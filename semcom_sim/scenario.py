"""Typed scenarios: what a researcher writes in a scenario file, validated at load time.

A scenario file is plain Python that binds a :class:`Scenario` to the name ``scenario``::

    from semcom_sim import Scenario, Data, Model, Phy, Training, Sweep

    scenario = Scenario(name="fmnist-tdl-a", data=Data(dataset="fashion-mnist"),
                        phy=Phy(channel="TDL-A", csi="ls"))

Every field is checked when the object is built: its type, then the constraints it declares next to
the type (``Annotated[int, POSITIVE]``, :mod:`semcom_sim.constraints`), then the section's checks across
fields. A bad value raises :class:`ScenarioError` with one line naming the field (``section.field``) and
what is allowed.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import functools
import hashlib
import json
import math
import runpy
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np

from semcom_sim.constraints import (
    NON_NEGATIVE,
    POSITIVE,
    All,
    Constraint,
    Distinct,
    Each,
    Min,
    NonEmpty,
    OneOf,
    Ordered,
    Range,
    Satisfies,
    check,
)
from semcom_sim.data.registry import (  # noqa: F401  (also importable from here, as before)
    _REGISTERED_DATASETS,
    DATASETS,
    LABEL_MODES,
    DatasetName,
    register_dataset,
    registered_dataset,
)
from semcom_sim.errors import MOVED_FIELDS, RENAMED_FIELDS, ScenarioError, unknown_field
from semcom_sim.schemes import BUILTIN_NAMES, Scheme, apply_patch, scheme_table
from semcom_sim.teacher.registry import (  # noqa: F401  (also importable from here, as before)
    BUILTIN_TEACHERS,
    CACHE_KINDS,
    FINETUNE_MODES,
    IMAGE_TEACHERS,
    TEACHER_KINDS,
    TEXT_TEACHERS,
)

__all__ = [
    "ScenarioError", "Data", "Model", "Phy", "Stage", "Training", "Teacher", "Sweep", "Compare", "Output", "Scenario",
    "Scheme", "load_scenario", "apply_overrides", "register_dataset", "registered_dataset", "CHANNELS", "SCHEMES",
]

CHANNELS = ("AWGN", "Rayleigh") + tuple(f"TDL-{m}" for m in "ABCDE") + tuple(f"CDL-{m}" for m in "ABCDE")
_CHANNELS_TEXT = "AWGN, Rayleigh, TDL-A..E, CDL-A..E"
CSI_MODES = ("perfect", "ls")
INTERPOLATIONS = ("nn", "lin", "lin_time_avg")
PILOT_PATTERNS = ("kronecker", "empty")
SNR_ESTIMATORS = ("pilots", "genie")
DISTILLATION = ("none", "cached", "online")
BATCH_NORM_STATISTICS = ("recompute", "moving-average")
PARTS = ("encoder", "adaptive", "channel_encoder", "channel_decoder", "decoder", "feature_head")
LOSS_TERMS = ("ce", "rate", "kd", "feature_kd")
SCHEMES = BUILTIN_NAMES  # the built-in schemes (semcom_sim.schemes.BUILTIN_SCHEMES); a scenario may add its own
# compare's default: every built-in scheme but RKD-SC's, which need a teacher-feature cache (and rkd-sc a genotype),
# and the PUSCH reference, which needs the uplink
COMPARE_SCHEMES = tuple(name for name in BUILTIN_NAMES if not name.startswith("rkd-sc") and name != "pusch")
SOURCES = ("student", "teacher-features")
ADAPTIVE_CONDITIONING = ("concat", "film")
LENGTH_DRAWS = ("uniform", "sandwich")
CHANNEL_CODECS = ("none", "dense", "cat")
TRANSMISSIONS = ("analog", "digital", "pusch")
DIRECTIONS = ("downlink", "uplink")
POLARIZATIONS = ("single", "dual")
ANTENNA_PATTERNS = ("omni", "38.901")
PRECODINGS = ("none", "zf", "rzf", "svd")
PRECODING_CSI = ("sounded", "perfect")
EQUALIZERS = ("lmmse", "zf")
DETECTORS = ("linear", "kbest", "ep", "ml")
ML_MAX_HYPOTHESES = 4096  # constellation points ** streams the ML detector searches per resource element
SEARCH_OPS = ("none", "skip", "max_pool_3x3", "avg_pool_3x3", "sep_conv_3x3", "dil_conv_3x3")
SEARCH_LOSS_TERMS = ("kd", "feature_kd")
# every "CHANNEL/CSI" test condition (compare.conditions)
CONDITIONS = tuple(f"{channel}/{csi}" for channel in CHANNELS for csi in CSI_MODES)


def _fail(where: str, why: str):
    raise ScenarioError(f"{where}: {why}")


# constraints that several fields share
_SEEDS = All(Each(NON_NEGATIVE), Distinct(), message="must be distinct integers >= 0, got {value!r}")
_WIDTHS = Each(POSITIVE, message="all widths must be > 0, got {value!r}")
_SCHEMES = Distinct(message="has repeated schemes: {value!r}")


def _split(tp) -> tuple[Any, tuple[Constraint, ...]]:
    """A field's annotation without its outer ``Annotated``, and the constraints that declares.

    ``Annotated[int | None, C]`` and ``Annotated[int, C] | None`` both give ``(int | None, (C,))``.
    """
    if typing.get_origin(tp) is Annotated:
        return tp.__origin__, tuple(tp.__metadata__)
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1 and typing.get_origin(inner[0]) is Annotated:
            return inner[0].__origin__ | None, tuple(inner[0].__metadata__)
    return tp, ()


@functools.cache
def _field_specs(cls) -> tuple[tuple[str, Any, tuple[Constraint, ...]], ...]:
    """``(name, type, constraints)`` of each field of the section class ``cls``, in order."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return tuple((f.name, *_split(hints[f.name])) for f in dataclasses.fields(cls))


def field_constraints(cls) -> dict[str, tuple[Constraint, ...]]:
    """The constraints that each field of the section class ``cls`` declares (the scenario reference lists
    them)."""
    return {name: constraints for name, _, constraints in _field_specs(cls)}


def _coerce(value, tp, where: str):
    """Checks ``value`` against the annotation ``tp``; converts lists/ranges to tuples, ints to floats.

    Constraints of an ``Annotated`` inside ``tp`` (a tuple's elements) are checked here; those of the field
    itself by the section, once every field has its type."""
    if isinstance(value, np.generic):  # numpy scalars behave like the Python ones
        value = value.item()
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Annotated:
        value = _coerce(value, tp.__origin__, where)
        check(value, tp.__metadata__, where)
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], where)
    if origin is tuple:
        if isinstance(value, (list, tuple, range, np.ndarray)):
            seq = value.tolist() if isinstance(value, np.ndarray) else list(value)
        else:
            _fail(where, f"expected a sequence, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(seq))
        if len(seq) != len(args):
            _fail(where, f"expected {len(args)} values, got {len(seq)} ({value!r})")
        return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(seq, args)))
    if tp is dict:  # a JSON-like mapping, e.g. a custom layer's configuration
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            _fail(where, f"expected a mapping with string keys, got {value!r}")
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            _fail(where, f"values must be JSON-like (numbers, strings, lists, mappings), got {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(tp):  # a nested section, e.g. a training stage
        if isinstance(value, tp):
            return value
        try:
            return _build_section(tp, where, value)
        except ScenarioError as exc:  # name the element: training.stages[1].epochs
            prefix = f"{tp._section}."
            text = str(exc)
            raise ScenarioError(f"{where}.{text[len(prefix):]}" if text.startswith(prefix) else text) from None
    if tp is bool:
        if not isinstance(value, bool):
            _fail(where, f"expected True or False, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            _fail(where, f"expected an integer, got {value!r}")
        return int(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(where, f"expected a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            _fail(where, f"expected a finite number, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            _fail(where, f"expected a string, got {value!r}")
        return value
    raise TypeError(f"unsupported annotation {tp!r} at {where}")  # a bug in this module, not user input


class _Section:
    """Common machinery: type coercion of every field, then the constraints each field declares
    (:mod:`semcom_sim.constraints`, in field order), then the section's checks across fields (``_validate``)."""

    _section = ""

    def __post_init__(self):
        specs = _field_specs(type(self))
        for name, tp, _ in specs:
            object.__setattr__(self, name, _coerce(getattr(self, name), tp, self._where(name)))
        for name, _, constraints in specs:
            check(getattr(self, name), constraints, self._where(name))
        self._validate()

    def _validate(self):
        """Checks that read more than one field (each field's own constraints have passed)."""

    def _where(self, name: str) -> str:
        return f"{self._section}.{name}"


@dataclass(frozen=True)
class Data(_Section):
    """Which dataset, where it lives, and how much of it to use.

    :param dataset: ``"fashion-mnist"`` (idx files), ``"cifar10"``, ``"cifar100"`` (the python-version
        archives), ``"image-folder"`` (one subfolder of PNG/JPEG images per class), ``"npz"`` (arrays in a
        ``.npz``), ``"synthetic"`` (generated, for fast tests), ``"wordnet-nouns"`` (WordNet 3.0 noun glosses
        labelled with their 26 lexicographer classes), or a name registered in the scenario file with
        ``@register_dataset`` (see ``docs/datasets.md``).
    :param data_dir: where the files are; ``None`` means ``$SEMCOM_DATA``, else
        ``/usr/share/datasets/fashion-mnist`` (Debian package ``dataset-fashion-mnist``) for
        Fashion-MNIST and ``data/`` under the working directory for CIFAR; ``$SEMCOM_WORDNET`` or
        ``/usr/share/wordnet`` (Debian ``wordnet-base``) for WordNet. Required for ``image-folder`` (the
        folder) and ``npz`` (the file, or a directory holding exactly one ``.npz``).
    :param num_train: use a random subset of this many training samples (``None``: all).
    :param num_test: use a random subset of this many test samples (``None``: all).
    :param seed: seed of the subset draw and of the synthetic data.
    :param max_len: text only: tokens kept per gloss (padded or cut).
    :param vocab_size: text only: words in the vocabulary built on the training texts (with pad and unknown).
    :param image_shape: synthetic and image-folder only: (height, width, channels) of the images (``None``:
        28 x 28 x 1 for the synthetic set, like Fashion-MNIST; 32 x 32 x 3 for an image folder, whose images
        are resized to it and converted to RGB, or to grey with 1 channel).
    :param label_mode: CIFAR-100 only: ``"fine"`` (100 classes) or ``"coarse"`` (the 20 superclasses).
    :param test_fraction: image-folder without ``train/`` and ``test/`` subfolders: the share of images that a
        hash of each file's path sends to the test split (stable when other files are added or removed).
    """

    _section = "data"
    dataset: Annotated[str, DatasetName()] = "fashion-mnist"
    data_dir: str | None = None
    num_train: Annotated[int | None, POSITIVE] = None
    num_test: Annotated[int | None, POSITIVE] = None
    seed: int = 0
    max_len: Annotated[int, POSITIVE] = 32
    vocab_size: Annotated[int, Min(3, message="must be >= 3 (pad, unknown and one word), got {value!r}")] = 20000
    image_shape: tuple[int, int, int] | None = None
    label_mode: Annotated[str, OneOf(LABEL_MODES)] = "fine"
    test_fraction: Annotated[float, Range(0, 1, closed="neither")] = 0.2

    def _validate(self):
        if self.image_shape is not None:
            if self.dataset not in ("synthetic", "image-folder"):
                _fail(self._where("image_shape"), f"sets the size of the synthetic images and of image-folder "
                      f"images; {self.dataset!r} has its own")
            # the shape's own bounds, here rather than declared: a shape given for a dataset that has its own is
            # refused as such (above) whatever its values
            if min(self.image_shape) < 1 or min(self.image_shape[:2]) < 2 * 3:
                _fail(self._where("image_shape"), f"needs height and width >= 6 and channels >= 1, got "
                      f"{self.image_shape!r}")
            if self.dataset == "image-folder" and self.image_shape[2] not in (1, 3):
                _fail(self._where("image_shape"), f"image-folder images are RGB (3 channels) or grey (1), got "
                      f"{self.image_shape[2]} channels")
        if self.label_mode != "fine" and self.dataset != "cifar100":
            _fail(self._where("label_mode"), f"chooses CIFAR-100's labels (fine: 100 classes, coarse: 20 "
                  f"superclasses); {self.dataset!r} has one set of labels")
        if self.test_fraction != 0.2 and self.dataset != "image-folder":
            _fail(self._where("test_fraction"), f"sets the hash split of an image folder; {self.dataset!r} has "
                  "its own split")
        if self.dataset in ("image-folder", "npz") and not self.data_dir:
            what = "the folder with one subfolder of images per class" if self.dataset == "image-folder" else \
                "the .npz file (or a directory holding exactly one)"
            _fail(self._where("data_dir"), f"{self.dataset} needs it: set it to {what}")


@dataclass(frozen=True)
class Model(_Section):
    """The semantic transceiver.

    :param num_channel_uses: complex channel uses (data resource elements) per sample; the
        encoder emits ``2 * num_channel_uses`` real features.
    :param encoder_filters: filters of the encoder's convolutions: stride-2 3x3 for images, width-3
        1-D convolutions over the word embeddings for text.
    :param embedding_dim: text only: size of the word embeddings.
    :param decoder_units: widths of the decoder's hidden dense layers.
    :param adaptive: use the channel-adaptive module (paper A's Phi) at the transmitter.
    :param adaptive_hidden_ratio: hidden width of Phi as a fraction of the feature channels.
    :param adaptive_conditioning: how Phi sees the SNR: ``"concat"`` (paper A: the SNR, one scalar, next
        to the pooled features at the input) or ``"film"`` (the SNR, and with nested lengths ``L / n``,
        scale and shift Phi's hidden units: feature-wise linear modulation).
    :param lengths: nested lengths: the numbers ``L`` of complex channel uses a sample may send (the
        first ``L`` of ``num_channel_uses``; the largest must be ``num_channel_uses``). Training draws
        ``L`` per sample uniformly from this set; at evaluation the transmitter sends ``L*(q)`` of the
        length policy for the fed-back SNR level ``q``. ``()``: every sample sends all of them.
    :param length_draw: how training draws the nested lengths: ``"uniform"`` (each sample one ``L`` drawn
        uniformly from ``lengths``) or ``"sandwich"`` (every training step sends each sample twice, at the
        full length and at an ``L`` drawn uniformly, and averages the two losses: the sandwich rule of
        slimmable networks, Yu & Huang 2019, without the smallest width; twice the link passes per step,
        and the full length is trained on every sample).
    :param fixed_length: evaluation only: every sample sends this ``L`` whatever the SNR (the SNR-blind
        reference); ``None``: the length policy. Not part of the checkpoint fingerprint.
    :param policy_tolerance: the length policy ``L*(q)`` is the smallest ``L`` whose held-out accuracy at
        level ``q`` is within this much (a fraction: 0.005 is half a point) of the longest ``L``'s.
    :param policy_ebno_step_db: the Eb/N0 grid the length policy is fitted on: from the first whole dB of
        ``training.ebno_db_range`` to its upper end in steps of this many dB (1: every whole dB). A coarser grid
        fits faster; each feedback level is then seen at fewer Eb/N0 values.
    :param channel_codec: what maps the encoder's output to the channel uses and back: ``"none"`` (paper
        A: the encoder's head emits the ``2 n`` real channel features itself and the decoder reads them),
        or a learned channel codec between a semantic vector of ``semantic_dim`` features and the link
        (RKD-SC): ``"cat"`` (the channel-aware transformer, ``semantic/cat.py``) or ``"dense"`` (an MLP
        pair of ``dense_codec_units``, the ablation). Both see the SNR (the fed-back one at the
        transmitter, the receiver's estimates at the receiver) and ``L / n``.
    :param semantic_dim: real features of the semantic vector with a channel codec.
    :param cat_tokens: CAT: tokens (must divide ``num_channel_uses``; each carries ``n / cat_tokens``
        channel uses, in order, so nested lengths send a prefix of the tokens).
    :param cat_width: CAT: token width.
    :param cat_layers: CAT: transformer layers on each side.
    :param cat_heads: CAT: attention heads (must divide ``cat_width``).
    :param dense_codec_units: the dense codec: hidden widths of its MLPs (each side).
    :param stochastic: sample the latent with the reparameterisation trick during training
        (needed for the rate term); the mean is sent at evaluation.
    :param source: what the encoder reads: ``"student"`` (the images or token ids) or
        ``"teacher-features"`` (the frozen teacher's feature vector; the encoder is then a small
        dense channel encoder: the teacher-over-channel reference).
    :param feature_encoder_units: hidden widths of that dense channel encoder.
    :param transmission: ``"analog"`` (features -> complex symbols, the semantic link) or
        ``"digital"`` (features quantised to ``quant_bits`` bits each -> 5G LDPC at ``phy.coderate``
        -> QAM with ``phy.num_bits_per_symbol`` bits: the separation baseline; see ``phy/digital.py``).
        ``"pusch"``: the same quantised features in 5G NR PUSCH transport blocks (MCS ``phy.mcs_index``;
        see ``phy/pusch.py``), the standard's uplink chain.
    :param quant_bits: digital and PUSCH: bits per feature of the uniform quantiser.
    :param backbone: your own encoder backbone, the registered name ``"package>ClassName"`` of a Keras
        layer (decorated with ``@keras.saving.register_keras_serializable(package=...)``, e.g. in the
        scenario file) that maps the inputs (images [batch, H, W, C] or token ids [batch, max_len]) to
        features [batch, ...]; ``None``: the built-in backbone (``encoder_filters``). The Gaussian head,
        the link and the decoder stay the same. See ``scenarios/custom_encoder.py``.
    :param backbone_config: keyword arguments of that layer's constructor (part of the checkpoint
        fingerprint).
    """

    _section = "model"
    num_channel_uses: Annotated[int, POSITIVE] = 64
    encoder_filters: Annotated[tuple[int, ...], NonEmpty(message="needs at least one convolution"),
                               _WIDTHS] = (32, 64, 64)
    embedding_dim: Annotated[int, POSITIVE] = 64
    decoder_units: Annotated[tuple[int, ...], _WIDTHS] = (256, 256)
    adaptive: bool = True
    adaptive_hidden_ratio: Annotated[float, POSITIVE] = 0.25
    adaptive_conditioning: Annotated[str, OneOf(ADAPTIVE_CONDITIONING)] = "concat"
    lengths: Annotated[tuple[int, ...], Satisfies(
        lambda v: not v or (list(v) == sorted(set(v)) and v[0] >= 1), "increasing, each >= 1",
        message="must be increasing positive channel-use counts, got {value!r}")] = ()
    length_draw: Annotated[str, OneOf(LENGTH_DRAWS)] = "uniform"
    fixed_length: int | None = None
    policy_tolerance: Annotated[float, Range(0, 1, closed="left")] = 0.005
    policy_ebno_step_db: Annotated[float, POSITIVE] = 1.0
    channel_codec: Annotated[str, OneOf(CHANNEL_CODECS)] = "none"
    semantic_dim: Annotated[int, POSITIVE] = 128
    cat_tokens: Annotated[int, POSITIVE] = 16
    cat_width: Annotated[int, POSITIVE] = 32
    cat_layers: Annotated[int, POSITIVE] = 2
    cat_heads: Annotated[int, POSITIVE] = 4
    dense_codec_units: Annotated[tuple[int, ...], _WIDTHS] = (256,)
    stochastic: bool = True
    source: Annotated[str, OneOf(SOURCES)] = "student"
    feature_encoder_units: Annotated[tuple[int, ...], _WIDTHS] = (256,)
    transmission: Annotated[str, OneOf(TRANSMISSIONS)] = "analog"
    quant_bits: Annotated[int, Range(1, 16)] = 4
    backbone: Annotated[str | None, Satisfies(
        lambda v: ">" in v and v == v.strip(), "a registered name 'package>ClassName'",
        message="expected a registered name 'package>ClassName', got {value!r}")] = None
    backbone_config: dict = field(default_factory=dict)

    def _validate(self):
        if self.sends_bits and self.adaptive:
            _fail(self._where("adaptive"), "the digital link has no analog features to re-weight: set "
                  f"model.adaptive=False with model.transmission={self.transmission!r}")
        self._validate_channel_codec()
        self._validate_lengths()
        if self.backbone is not None and self.source == "teacher-features":
            _fail(self._where("backbone"), "the teacher-over-channel encoder reads the teacher's features through "
                  "model.feature_encoder_units; a custom backbone reads the samples (model.source='student')")
        if self.backbone_config and self.backbone is None:
            _fail(self._where("backbone_config"), "configures model.backbone, which is not set")

    @property
    def sends_bits(self) -> bool:
        """Whether the link carries quantised features as bits (``digital``, ``pusch``) rather than symbols."""
        return self.transmission != "analog"

    @property
    def auto_lengths(self) -> tuple[int, ...]:
        """The default nested lengths: 1/32, 1/16, 1/8, 1/4, 3/8, 1/2, 3/4 and 1 of ``num_channel_uses``,
        rounded (at least 1, duplicates dropped)."""
        n = self.num_channel_uses
        return tuple(sorted({max(1, round(n * f)) for f in (1 / 32, 1 / 16, 1 / 8, 1 / 4, 3 / 8, 1 / 2, 3 / 4, 1)}))

    def _validate_channel_codec(self):
        if self.channel_codec == "none":
            return
        if self.transmission != "analog":
            _fail(self._where("channel_codec"), "a learned channel codec needs the analog link "
                  "(model.transmission='analog')")
        if self.adaptive:
            _fail(self._where("channel_codec"), "the channel codec sees the SNR itself: set model.adaptive=False")
        if self.channel_codec == "cat":
            if self.num_channel_uses % self.cat_tokens:
                _fail(self._where("cat_tokens"), f"must divide model.num_channel_uses={self.num_channel_uses}, "
                      f"got {self.cat_tokens}")
            if self.cat_width % self.cat_heads:
                _fail(self._where("cat_heads"), f"must divide model.cat_width={self.cat_width}, got {self.cat_heads}")

    def _validate_lengths(self):
        n, lengths = self.num_channel_uses, self.lengths
        if lengths:
            if lengths[-1] != n:
                _fail(self._where("lengths"), f"the largest length must be model.num_channel_uses={n}, got {lengths!r}")
            if self.sends_bits:
                _fail(self._where("lengths"), "nested lengths need the analog link (model.transmission='analog')")
        if self.length_draw != "uniform" and not lengths:
            _fail(self._where("length_draw"), "draws nested lengths: set model.lengths")
        if self.fixed_length is not None:
            if not lengths:
                _fail(self._where("fixed_length"), "needs nested lengths (model.lengths)")
            if not 1 <= self.fixed_length <= n:
                _fail(self._where("fixed_length"), f"must be in 1..{n}, got {self.fixed_length!r}")


@dataclass(frozen=True)
class Phy(_Section):
    """The physical layer: OFDM resource grid, channel, CSI, SNR estimation and feedback.

    :param channel: ``AWGN``, ``Rayleigh`` (block fading: one CN(0, 1) gain per frame and antenna pair),
        ``TDL-A..E`` or ``CDL-A..E`` (3GPP TR 38.901; with the arrays below).
    :param fft_size: number of subcarriers, guards and DC included.
    :param num_ofdm_symbols: OFDM symbols per frame (one resource grid is one frame).
    :param subcarrier_spacing_hz: subcarrier spacing in Hz.
    :param cyclic_prefix_length: cyclic prefix in samples (counts in Eb/N0 as overhead).
    :param num_guard_carriers: (left, right) nulled guard subcarriers.
    :param dc_null: null the DC subcarrier.
    :param pilot_pattern: ``"kronecker"`` (pilot OFDM symbols) or ``"empty"`` (no pilots).
    :param pilot_ofdm_symbol_indices: OFDM symbols that carry pilots.
    :param carrier_frequency_hz: carrier frequency (Doppler, CDL geometry).
    :param delay_spread_ns: RMS delay spread of TDL/CDL models.
    :param speed_mps: terminal speed for TDL/CDL (Doppler within and across frames).
    :param direction: ``"downlink"`` (the base station transmits) or ``"uplink"`` (the user terminal
        transmits): which array sends and, for CDL models, the geometry of the clusters.
    :param csi: ``"perfect"`` (true channel and N0) or ``"ls"`` (pilot LS estimates, interpolated).
    :param interpolation: interpolation of LS estimates: ``"nn"``, ``"lin"``, ``"lin_time_avg"``.
    :param snr_estimator: ``"pilots"`` (N0 from the null subcarriers, signal power from the pilots)
        or ``"genie"`` (the true values).
    :param snr_feedback_bits: bits of the uniform quantiser on the SNR fed back to the
        transmitter (``None``: unquantised).
    :param snr_feedback_range_db: range of that quantiser in dB.
    :param snr_feedback_delay_ms: time between the sounding frame and the data frame (staleness);
        rounded to whole OFDM symbols.
    :param num_bits_per_symbol: bits that one complex channel use is counted for in Eb/N0 (an analog
        scheme has no bits; this is the accounting convention, see docs/conventions.md).
    :param coderate: code rate that Eb/N0 is counted against (1 for the analog link); the LDPC
        code rate of the digital link.
    :param ldpc_iterations: digital link: belief-propagation iterations of the 5G LDPC decoder.
    :param num_ut_ant: antennas of the user terminal (both polarisations counted; 1: SISO with
        ``num_bs_ant=1``).
    :param num_bs_ant: antennas of the base station (both polarisations counted).
    :param ut_polarization: ``"single"`` (vertical) or ``"dual"`` (cross-polarised pairs) at the user terminal.
    :param bs_polarization: ``"single"`` or ``"dual"`` at the base station.
    :param ut_antenna_pattern: element pattern at the user terminal: ``"omni"`` or ``"38.901"``.
    :param bs_antenna_pattern: element pattern at the base station: ``"omni"`` or ``"38.901"``.
    :param antenna_spacing: element spacing of both arrays (uniform linear arrays), in wavelengths (CDL).
    :param spatial_correlation: TDL models: exponential correlation coefficient between neighbouring antennas,
        at both ends (0: uncorrelated antennas).
    :param num_streams: spatial layers sent at once.
    :param precoding: ``"none"`` (one stream per transmit antenna), ``"zf"`` / ``"rzf"`` (one stream per
        receive antenna, regularised zero forcing with ``alpha = num_streams * N0``) or ``"svd"`` (the
        channel's strongest ``num_streams`` right singular vectors).
    :param precoding_csi: the channel the transmitter precodes with: ``"sounded"`` (what the receiver
        estimated on the sounding frame, ``phy.snr_feedback_delay_ms`` earlier, fed back unquantised) or
        ``"perfect"`` (the data frame's own channel; a reference).
    :param equalizer: the receiver's MIMO equaliser: ``"lmmse"`` or ``"zf"``.
    :param detector: the digital link's MIMO detector: ``"linear"`` (``phy.equalizer``, then per-symbol APP
        demapping), ``"kbest"`` (K-best sphere decoding), ``"ep"`` (expectation propagation) or ``"ml"``
        (maximum likelihood; small configurations only).
    :param kbest_num_paths: the K of the K-best detector (paths kept per layer of the search tree).
    :param mcs_index: the PUSCH link's modulation and coding scheme, an index of 38.214's MCS table 1 (0..28).
    """

    _section = "phy"
    channel: Annotated[str, OneOf(CHANNELS, text=_CHANNELS_TEXT)] = "AWGN"
    fft_size: Annotated[int, POSITIVE] = 72
    num_ofdm_symbols: Annotated[int, POSITIVE] = 14
    subcarrier_spacing_hz: Annotated[float, POSITIVE] = 30e3
    cyclic_prefix_length: Annotated[int, NON_NEGATIVE] = 6
    num_guard_carriers: Annotated[tuple[int, int], Each(NON_NEGATIVE, message="must be >= 0, got {value!r}")] = (5, 6)
    dc_null: bool = True
    pilot_pattern: Annotated[str, OneOf(PILOT_PATTERNS)] = "kronecker"
    pilot_ofdm_symbol_indices: tuple[int, ...] = (2, 11)
    carrier_frequency_hz: Annotated[float, POSITIVE] = 3.5e9
    delay_spread_ns: Annotated[float, NON_NEGATIVE] = 100.0
    speed_mps: Annotated[float, NON_NEGATIVE] = 0.0
    direction: Annotated[str, OneOf(DIRECTIONS)] = "downlink"
    csi: Annotated[str, OneOf(CSI_MODES)] = "perfect"
    interpolation: Annotated[str, OneOf(INTERPOLATIONS)] = "lin"
    snr_estimator: Annotated[str, OneOf(SNR_ESTIMATORS)] = "pilots"
    snr_feedback_bits: Annotated[int | None, Range(1, 16, message="must be None or 1..16, got {value!r}")] = None
    snr_feedback_range_db: Annotated[tuple[float, float], Ordered(strict=True)] = (-10.0, 30.0)
    snr_feedback_delay_ms: Annotated[float, NON_NEGATIVE] = 0.0
    num_bits_per_symbol: Annotated[float, POSITIVE] = 2.0
    coderate: Annotated[float, Range(0, 1, closed="right")] = 1.0
    ldpc_iterations: Annotated[int, POSITIVE] = 20
    num_ut_ant: Annotated[int, POSITIVE] = 1
    num_bs_ant: Annotated[int, POSITIVE] = 1
    ut_polarization: Annotated[str, OneOf(POLARIZATIONS)] = "single"
    bs_polarization: Annotated[str, OneOf(POLARIZATIONS)] = "single"
    ut_antenna_pattern: Annotated[str, OneOf(ANTENNA_PATTERNS)] = "omni"
    bs_antenna_pattern: Annotated[str, OneOf(ANTENNA_PATTERNS)] = "omni"
    antenna_spacing: Annotated[float, POSITIVE] = 0.5
    spatial_correlation: Annotated[float, Range(0, 1, closed="left")] = 0.0
    num_streams: Annotated[int, POSITIVE] = 1
    precoding: Annotated[str, OneOf(PRECODINGS)] = "none"
    precoding_csi: Annotated[str, OneOf(PRECODING_CSI)] = "sounded"
    equalizer: Annotated[str, OneOf(EQUALIZERS)] = "lmmse"
    detector: Annotated[str, OneOf(DETECTORS)] = "linear"
    kbest_num_paths: Annotated[int, POSITIVE] = 16
    mcs_index: Annotated[int, Range(0, 28)] = 13

    def _validate(self):
        if sum(self.num_guard_carriers) + int(self.dc_null) >= self.fft_size:
            _fail(self._where("num_guard_carriers"),
                  f"{self.num_guard_carriers!r} plus the DC null leave no subcarrier of fft_size={self.fft_size}")
        if self.cyclic_prefix_length > self.fft_size:
            _fail(self._where("cyclic_prefix_length"), f"must be <= fft_size={self.fft_size}")
        if self.pilot_pattern == "kronecker":
            idx = self.pilot_ofdm_symbol_indices
            if not idx or len(set(idx)) != len(idx) or min(idx) < 0 or max(idx) >= self.num_ofdm_symbols:
                _fail(self._where("pilot_ofdm_symbol_indices"),
                      f"{idx!r} must be distinct indices in 0..{self.num_ofdm_symbols - 1}")
            if len(idx) >= self.num_ofdm_symbols:
                _fail(self._where("pilot_ofdm_symbol_indices"), "leave at least one OFDM symbol for data")
        else:
            if self.csi == "ls":
                _fail(self._where("csi"), "'ls' needs pilots: set phy.pilot_pattern='kronecker'")
            if self.snr_estimator == "pilots":
                _fail(self._where("snr_estimator"), "'pilots' needs pilots: set phy.pilot_pattern='kronecker' "
                      "or phy.snr_estimator='genie'")
        if self.snr_estimator == "pilots" and sum(self.num_guard_carriers) + int(self.dc_null) == 0:
            _fail(self._where("snr_estimator"), "'pilots' estimates N0 on null subcarriers: set "
                  "phy.num_guard_carriers or phy.dc_null, or phy.snr_estimator='genie'")
        for end in ("ut", "bs"):
            num_ant = getattr(self, f"num_{end}_ant")
            if getattr(self, f"{end}_polarization") == "dual" and num_ant % 2:
                _fail(self._where(f"num_{end}_ant"), f"{num_ant} antennas cannot form cross-polarised pairs "
                      f"({end}_polarization='dual'); use an even number")
        if self.is_mimo:
            self._validate_mimo()

    def _validate_mimo(self):
        nt, nr, ns = self.num_tx_ant, self.num_rx_ant, self.num_streams
        sender = "num_ut_ant" if self.direction == "uplink" else "num_bs_ant"
        if self.channel == "AWGN" and nr < nt:
            _fail(self._where("channel"), f"AWGN is the identity channel, which needs at least as many receive "
                  f"as transmit antennas; got {nt} x {nr} ({self.direction})")
        if self.precoding == "none" and ns != nt:
            _fail(self._where("num_streams"), f"without precoding every transmit antenna sends its own stream: "
                  f"set it to {nt} (phy.{sender}) or choose phy.precoding, got {ns}")
        if self.precoding in ("zf", "rzf") and not ns == nr <= nt:
            _fail(self._where("precoding"), f"{self.precoding!r} sends one stream to each receive antenna: needs "
                  f"num_streams = receive antennas ({nr}) <= transmit antennas ({nt}), got {ns} streams")
        if self.precoding == "svd" and ns > min(nt, nr):
            _fail(self._where("num_streams"), f"{ns} streams exceed the rank min({nt}, {nr}) of a {nr} x {nt} "
                  "channel")
        if self.precoding == "none" and ns > nr:
            _fail(self._where("num_streams"), f"{nr} receive antennas cannot separate {ns} streams")

    @property
    def num_tx_ant(self) -> int:
        """Antennas of the transmitting end (the base station on the downlink)."""
        return self.num_bs_ant if self.direction == "downlink" else self.num_ut_ant

    @property
    def num_rx_ant(self) -> int:
        """Antennas of the receiving end."""
        return self.num_ut_ant if self.direction == "downlink" else self.num_bs_ant

    @property
    def is_mimo(self) -> bool:
        """Whether either end has more than one antenna (the multi-antenna link); otherwise SISO."""
        return self.num_ut_ant > 1 or self.num_bs_ant > 1

    @property
    def num_effective_subcarriers(self) -> int:
        return self.fft_size - sum(self.num_guard_carriers) - int(self.dc_null)

    @property
    def num_data_symbols(self) -> int:
        """Data resource elements per frame (what the resource grid leaves after pilots and nulls)."""
        num_pilot_symbols = len(self.pilot_ofdm_symbol_indices) if self.pilot_pattern == "kronecker" else 0
        return self.num_effective_subcarriers * (self.num_ofdm_symbols - num_pilot_symbols)


@dataclass(frozen=True)
class Stage(_Section):
    """One stage of training (an element of ``training.stages``): which parts learn, with which loss
    terms, for how long and over which Eb/N0 range. A field left at ``None`` takes the ``training``
    section's value. Each stage has its own Adam optimiser and cosine learning-rate decay; the
    batch-norm statistics are recomputed at its end (``training.batch_norm_statistics``), so a later
    stage that freezes the encoder normalises with statistics that match its weights.

    :param name: names the stage in the log, the history and the checkpoint metadata.
    :param epochs: passes over the training set.
    :param learning_rate: initial Adam learning rate, decayed (cosine) to 5 % of it over the stage.
    :param ebno_db_range: (low, high) Eb/N0 in dB; each frame draws its own value uniformly.
    :param trainable: the parts whose weights the stage updates: ``("all",)`` or names among
        ``encoder`` (backbone and Gaussian head), ``adaptive``, ``decoder`` and ``feature_head`` (the
        projection of feature-level KD); the others are frozen (a frozen encoder normalises with its
        recomputed statistics).
    :param channel: ``True``: samples go through the link; ``False``: the link (and a channel codec) is
        bypassed and the decoder reads the encoder's output directly (RKD-SC's first stage: distil the
        teacher's features and fit the classifier without a channel).
    :param loss_terms: ``()``: the loss of ``training.distillation`` (as a single stage has);
        else a subset of ``ce`` (cross-entropy on labels; weight ``training.kd_lambda`` next to
        ``kd``, else 1), ``rate`` (``training.beta`` times the KL rate term), ``kd`` (the rebuilt
        teacher distribution, weight 1) and ``feature_kd`` (``training.feature_kd_weight`` times the
        MSE to the teacher's features).
    """

    _section = "training.stages"
    name: Annotated[str, NonEmpty()] = "joint"
    epochs: Annotated[int | None, POSITIVE] = None
    learning_rate: Annotated[float | None, POSITIVE] = None
    ebno_db_range: Annotated[tuple[float, float] | None, Ordered()] = None
    trainable: Annotated[tuple[str, ...], NonEmpty(message="needs at least one part, or ('all',)"),
                         Each(OneOf(("all",) + PARTS))] = ("all",)
    channel: bool = True
    loss_terms: Annotated[tuple[str, ...], Each(OneOf(LOSS_TERMS)), Satisfies(
        lambda v: not v or bool(set(v) & {"ce", "kd", "feature_kd"}), "with a task term (ce, kd or feature_kd)",
        message="needs a task term (ce, kd or feature_kd), not the rate term alone")] = ()


@dataclass(frozen=True)
class Training(_Section):
    """How the link is trained end to end through the channel.

    :param epochs: passes over the training set.
    :param batch_size: samples per step.
    :param learning_rate: Adam learning rate.
    :param ebno_db_range: (low, high) Eb/N0 in dB; each frame of a batch draws its own value uniformly.
    :param distillation: ``"none"``: cross-entropy on labels + beta * rate; ``"cached"``: the
        information-bottleneck distillation loss against the teacher cache named in the ``teacher``
        section (the teacher itself is never loaded); ``"online"``: the same loss with the teacher
        run on every batch (full distribution, the standard-KD baseline). See ``semcom_sim.losses``.
    :param beta: weight of the rate term KL(q(z|x) || N(0, I)), in nats per sample.
    :param kd_temperature: temperature T of the distillation term (teacher and student both at T;
        the term is scaled by T^2).
    :param kd_lambda: weight of the cross-entropy on labels next to the distillation term.
    :param feature_kd_weight: weight of feature-level KD, the MSE between a linear projection of the
        encoder's mean and the teacher's feature vector (needs a cache built with
        ``teacher.store_features=True``; 0 switches it off).
    :param train_fraction: train on a stratified fraction of the training set (1.0: all of it).
    :param validation_samples: training samples held out from training (stratified, seeded by
        ``data.seed``): the length policy of nested lengths (``model.lengths``) is fitted on them.
    :param seed: seed of weights, shuffling and channel draws.
    :param jit_compile: XLA-compile the train step and the evaluation (``False``: a TensorFlow graph without XLA).
    :param batch_norm_statistics: the statistics that batch normalisation uses at evaluation:
        ``"recompute"`` (default) averages the batch statistics of the trained weights over the training
        samples, in batches of ``batch_size``, before any evaluation (at the end of training and before
        each epoch-end evaluation), so that a short training evaluates like a long one;
        ``"moving-average"`` keeps Keras' moving averages (momentum 0.99), which lag the weights by a few
        hundred steps. See docs/conventions.md.
    :param stages: the training stages in order (:class:`Stage`); ``()`` (default): one joint stage
        that trains every part with the fields above.
    :param state_every_steps: besides the end of every epoch, save the training state (weights, optimiser,
        generators, position) every this many steps within an epoch, so that a killed training resumes
        there; 0 (default): at epoch ends only. It does not change what is learned (not in the fingerprint).
    """

    _section = "training"
    epochs: Annotated[int, POSITIVE] = 5
    batch_size: Annotated[int, POSITIVE] = 128
    learning_rate: Annotated[float, POSITIVE] = 1e-3
    ebno_db_range: Annotated[tuple[float, float], Ordered()] = (-2.0, 16.0)
    distillation: Annotated[str, OneOf(DISTILLATION)] = "none"
    beta: Annotated[float, NON_NEGATIVE] = 1e-3
    kd_temperature: Annotated[float, POSITIVE] = 1.0
    kd_lambda: Annotated[float, NON_NEGATIVE] = 0.5
    feature_kd_weight: Annotated[float, NON_NEGATIVE] = 0.0
    train_fraction: Annotated[float, Range(0, 1, closed="right")] = 1.0
    validation_samples: Annotated[int, NON_NEGATIVE] = 0
    seed: int = 0
    jit_compile: bool = True
    batch_norm_statistics: Annotated[str, OneOf(BATCH_NORM_STATISTICS)] = "recompute"
    stages: tuple[Stage, ...] = ()
    state_every_steps: Annotated[int, NON_NEGATIVE] = 0

    def _validate(self):
        if self.feature_kd_weight > 0 and self.distillation != "cached":
            _fail(self._where("feature_kd_weight"), "feature KD reads the teacher's features from the cache: set "
                  "training.distillation='cached'")
        names = [stage.name for stage in self.stages]
        for i, stage in enumerate(self.stages):
            if names.index(stage.name) != i:
                _fail(f"training.stages[{i}].name", f"{stage.name!r} names two stages")
            teacher_terms = set(stage.loss_terms) & {"kd", "feature_kd"}
            if teacher_terms and self.distillation == "none":
                _fail(f"training.stages[{i}].loss_terms", f"{', '.join(sorted(teacher_terms))} needs the teacher: "
                      "set training.distillation='cached' or 'online'")
            if "feature_kd" in stage.loss_terms and self.feature_kd_weight <= 0:
                _fail(f"training.stages[{i}].loss_terms", "feature_kd needs training.feature_kd_weight > 0")

    def resolved_stages(self) -> tuple[Stage, ...]:
        """The stages with every ``None`` filled from this section (one joint stage if none are given)."""
        return tuple(dataclasses.replace(stage, epochs=stage.epochs or self.epochs,
                                         learning_rate=stage.learning_rate or self.learning_rate,
                                         ebno_db_range=stage.ebno_db_range or self.ebno_db_range)
                     for stage in (self.stages or (Stage(),)))


@dataclass(frozen=True)
class Teacher(_Section):
    """The teacher whose compressed outputs the student distils (used when
    ``training.distillation != "none"``).

    :param name: the teacher: ``efficientnet-lite0`` or ``efficientnet-lite2`` (ImageNet weights,
        fine-tuned on the images) or ``all-minilm-l6-v2`` (pretrained sentence encoder with a linear
        classification head, for text; see ``finetune_encoder``): what ``semcom-sim teacher`` can prepare and
        run. With ``kind``, any name of letters, digits, ``.``, ``_`` and ``-`` (not a built-in one) for the
        Hugging Face model in ``model_dir``. Cached training only needs the name to match the cache's (a cache
        built by another teacher is refused).
    :param kind: ``None``: the built-in teacher ``name``. Else a Hugging Face model in ``model_dir``:
        ``"image-classification"`` (any image classifier), ``"clip-vision"`` (a CLIP vision tower, or a
        whole CLIP model, with a linear head) or ``"text-encoder"`` (a sentence encoder, mean-pooled, with a
        linear head). Image kinds read grey and RGB images at the model's own resolution and normalisation
        (its ``preprocessor_config.json``); see docs/teachers.md.
    :param model_dir: with ``kind``: the local directory of the model (a ``save_pretrained`` output:
        ``config.json``, weights, and ``preprocessor_config.json`` or the tokenizer files). Nothing is
        downloaded.
    :param finetune_mode: with ``kind``, what ``semcom-sim teacher finetune`` does: ``"full"`` (fit a
        linear head on the frozen features, then fine-tune every layer with AdamW: ``finetune_epochs``,
        ``finetune_batch_size``, ``finetune_learning_rate``), ``"head"`` (only the linear head, by L-BFGS
        on the frozen features) or ``"none"`` (an image classifier already trained for this task's
        classes, used as it is). ``None``: ``"full"`` for ``image-classification``, ``"head"`` for
        ``clip-vision`` and ``text-encoder`` (text encoders: ``"head"`` only).
    :param cache_path: the HDF5 teacher cache (``{dataset}``, ``{name}``, ``{top_k}`` are filled in;
        ``{features}`` becomes ``""`` without stored features, ``-features`` with them and
        ``-features<feature_dim>`` with a projection). A template without ``{features}`` gets that tag before
        its extension when features are stored, so a cache with features never overwrites one without.
    :param top_k: probabilities kept per sample in a top-k cache (paper A's K).
    :param cache_kind: what the cache keeps per sample: ``"top-k"`` (paper A: the ``top_k`` largest probabilities,
        the rest spread evenly when rebuilt; a biased estimate of the teacher's distribution) or ``"sampled"``
        (random-sampling KD, Anshumann et al. 2025: ``sampled_entries`` classes drawn with replacement from the
        teacher's distribution at ``training.kd_temperature``, the target their empirical distribution: unbiased).
        With ``"sampled"``, the default file name says ``sampled<m>`` where the top-k one says ``top<K>``, and
        ``-draws<D>`` / ``-seed<s>`` off their defaults; a cache drawn at another temperature is refused in one line.
    :param sampled_entries: a sampled cache: classes drawn per sample and draw (``m``; 2 bytes each).
    :param sample_draws: a sampled cache: independent draws kept per sample (``D``); epoch ``e`` of a training
        reads draw ``(e - 1) mod D``.
    :param sample_seed: a sampled cache: the seed of its draws.
    :param weights_path: the prepared teacher (fine-tuned network or fitted head) written by
        ``semcom-sim teacher finetune`` (same placeholders).
    :param resolution: EfficientNet teachers: input resolution in pixels (28x28 images are resized); a
        Hugging Face teacher uses its own.
    :param finetune_epochs: image teachers, and the text teacher with ``finetune_encoder``: fine-tuning epochs.
    :param finetune_batch_size: image teachers, and the text teacher with ``finetune_encoder``: fine-tuning
        batch size.
    :param finetune_learning_rate: image teachers, and the text teacher with ``finetune_encoder``: peak AdamW
        learning rate (the text teacher's encoder; its head gets 10 times that). The default suits
        EfficientNet-Lite; fine-tuning a transformer usually wants 1e-4 or less (``scenarios/wordnet_teacher.py``).
    :param finetune_encoder: the text teacher: ``False``, the pretrained encoder stays frozen and only a
        logistic-regression head is fitted on its embeddings (L-BFGS); ``True``, encoder and head are
        fine-tuned end to end on the training split (AdamW; ``finetune_*`` set epochs, batch and learning
        rate; the file is ~45 MB). Image teachers are always fine-tuned end to end.
    :param max_length: the text teacher: texts are truncated to this many word pieces ([CLS] and [SEP]
        included; 2..512), when it is prepared and when it runs.
    :param batch_size: inference batch size of the teacher (cache and online KD).
    :param store_features: also store the teacher's feature vector per sample (for feature KD).
    :param feature_dim: with ``store_features``: store the teacher's features projected onto their first
        ``feature_dim`` principal components (a fixed PCA fitted on the training set's features when the cache
        is built; its mean and components are stored in the cache); ``None``: the full vector
        (EfficientNet-Lite0: 1280, MiniLM: 384). It changes nothing while ``store_features`` is off.
    :param store_logits: also store the full logits per sample (as log-probabilities: the logits
        shifted so that their log-sum-exp is 0, which gives the same softmax at every temperature).
    """

    _section = "teacher"
    name: Annotated[str, NonEmpty()] = "efficientnet-lite0"
    cache_path: str = "teacher_cache/{dataset}-{name}-top{top_k}{features}.h5"
    top_k: Annotated[int, POSITIVE] = 3
    cache_kind: Annotated[str, OneOf(CACHE_KINDS)] = "top-k"
    sampled_entries: Annotated[int, POSITIVE] = 3
    sample_draws: Annotated[int, POSITIVE] = 1
    sample_seed: Annotated[int, NON_NEGATIVE] = 0
    weights_path: str = "teachers/{name}-{dataset}.teacher"
    resolution: Annotated[int, POSITIVE] = 64
    finetune_epochs: Annotated[int, POSITIVE] = 3
    finetune_batch_size: Annotated[int, POSITIVE] = 128
    finetune_learning_rate: Annotated[float, POSITIVE] = 1e-3
    finetune_encoder: bool = False
    max_length: Annotated[int, Range(
        2, 512, message="must be 2..512 word pieces ([CLS] and [SEP] included), got {value!r}")] = 64
    batch_size: Annotated[int, POSITIVE] = 256
    store_features: bool = False
    store_logits: bool = False
    feature_dim: Annotated[int | None, Min(
        0, strict=True, message="must be a positive number of principal components or None, got {value!r}")] = None
    kind: Annotated[str | None, OneOf(TEACHER_KINDS)] = None
    model_dir: str | None = None
    finetune_mode: str | None = None

    def _validate(self):
        if self.kind is None:
            for name in ("model_dir", "finetune_mode"):
                if getattr(self, name) is not None:
                    _fail(self._where(name), f"applies to a Hugging Face teacher only: set teacher.kind (one of "
                          f"{', '.join(TEACHER_KINDS)})")
        else:
            if self.name in BUILTIN_TEACHERS:
                _fail(self._where("name"), f"{self.name!r} is a built-in teacher; give the {self.kind} teacher in "
                      "teacher.model_dir a name of its own")
            if not all(c.isalnum() or c in "._-" for c in self.name):
                _fail(self._where("name"), f"{self.name!r}: a Hugging Face teacher's name goes into file names; use "
                      "letters, digits, '.', '_' and '-'")
            if self.model_dir is None or not self.model_dir.strip():
                _fail(self._where("model_dir"), f"a {self.kind} teacher needs the local directory of its model "
                      "(a save_pretrained() output)")
            modes = FINETUNE_MODES[self.kind]
            if self.finetune_mode is not None and self.finetune_mode not in modes:
                _fail(self._where("finetune_mode"), f"{self.finetune_mode!r} is not one of {', '.join(modes)} "
                      f"(for a {self.kind} teacher)")
        if self.finetune_encoder and self.kind is not None:
            _fail(self._where("finetune_encoder"), "applies to the built-in all-minilm-l6-v2; a Hugging Face "
                  "teacher is fine-tuned as teacher.finetune_mode says")
        if self.finetune_encoder and self.name in IMAGE_TEACHERS:
            _fail(self._where("finetune_encoder"), f"only the text teacher has a frozen encoder to unfreeze; "
                  f"{self.name} is always fine-tuned end to end: leave it False")

    def _fill(self, template: str, dataset: str) -> Path:
        return Path(template.replace("{dataset}", dataset).replace("{name}", self.name)
                    .replace("{top_k}", str(self.top_k)))

    def resolved_cache_path(self, dataset: str) -> Path:
        tag = (f"-features{self.feature_dim or ''}") if self.store_features else ""
        template = self.cache_path
        if self.cache_kind == "sampled":
            sampled = (f"sampled{self.sampled_entries}"
                       + (f"-draws{self.sample_draws}" if self.sample_draws != 1 else "")
                       + (f"-seed{self.sample_seed}" if self.sample_seed else ""))
            template = (template.replace("top{top_k}", sampled) if "top{top_k}" in template else
                        template.replace("{features}", f"-{sampled}{{features}}") if "{features}" in template else
                        str(Path(template).with_name(f"{Path(template).stem}-{sampled}{Path(template).suffix}")))
        if "{features}" in template:
            return self._fill(template.replace("{features}", tag), dataset)
        path = self._fill(template, dataset)
        return path.with_name(f"{path.stem}{tag}{path.suffix}") if tag else path

    def resolved_weights_path(self, dataset: str) -> Path:
        return self._fill(self.weights_path, dataset)

    @property
    def resolved_finetune_mode(self) -> str | None:
        """``finetune_mode``, or the kind's default; ``None`` for a built-in teacher."""
        return None if self.kind is None else self.finetune_mode or FINETUNE_MODES[self.kind][0]

    @property
    def reads_text(self) -> bool | None:
        """Whether the teacher reads texts (``None``: an unknown built-in name)."""
        if self.kind is not None:
            return self.kind == "text-encoder"
        return None if self.name not in BUILTIN_TEACHERS else self.name in TEXT_TEACHERS


@dataclass(frozen=True)
class Sweep(_Section):
    """The Monte Carlo sweep of task accuracy over Eb/N0.

    :param ebno_db: Eb/N0 points in dB.
    :param ci_half_width: stop a point once the Wilson interval's half-width is below this.
    :param confidence: confidence level of the interval.
    :param min_samples: at least this many samples per point.
    :param max_samples: at most this many samples per point (the interval may then be wider).
    :param batch_size: samples per Monte Carlo batch.
    :param schemes: model variants to train and sweep: built-in schemes (``"proposed"``, the scenario
        as written; ``"no-adaptive"``, the same model without the adaptive module; the others of
        ``semcom_sim.schemes.BUILTIN_SCHEMES``) or the scenario's own ``schemes`` (``semcom-sim compare``
        runs ``compare.schemes`` instead).
    :param seed: base seed; every point draws from a seed derived from it, the scheme and the
        point, so a resumed sweep reproduces the rows of an uninterrupted one.
    :param seeds: further training seeds (``training.seed`` values besides the scenario's own): ``run`` trains
        every scheme once more per seed and sweeps it like the first, on the same Monte Carlo draws (rows
        with ``variant="seed"`` and the seed in ``training_seed``); the summary gives the spread across
        the trainings next to the Monte Carlo intervals. ``semcom-sim compare`` uses ``compare.seeds``.
    """

    _section = "sweep"
    ebno_db: Annotated[tuple[float, ...], NonEmpty(message="needs at least one Eb/N0 point"),
                       Distinct(message="has repeated points: {value!r}")] = tuple(float(v) for v in range(-4, 17, 2))
    ci_half_width: Annotated[float, POSITIVE] = 0.01
    confidence: Annotated[float, Range(0, 1, closed="neither")] = 0.95
    min_samples: Annotated[int, POSITIVE] = 1000
    max_samples: Annotated[int, POSITIVE] = 20000
    batch_size: Annotated[int, POSITIVE] = 1000
    schemes: Annotated[tuple[str, ...], NonEmpty(message="needs at least one scheme"), _SCHEMES] = ("proposed",)
    seed: int = 1
    seeds: Annotated[tuple[int, ...], _SEEDS] = ()

    def _validate(self):
        if self.min_samples > self.max_samples:
            _fail(self._where("min_samples"), f"{self.min_samples} exceeds sweep.max_samples={self.max_samples}")


_CONDITION_TEXT = f"CHANNEL/CSI with CHANNEL one of {_CHANNELS_TEXT} and CSI one of {', '.join(CSI_MODES)}"
_CONDITIONS = ("AWGN/perfect", "AWGN/ls", "Rayleigh/perfect", "Rayleigh/ls", "TDL-A/perfect", "TDL-A/ls",
               "CDL-C/perfect", "CDL-C/ls")


@dataclass(frozen=True)
class Compare(_Section):
    """What ``semcom-sim compare`` runs: schemes, test conditions and the paper's four evaluation axes.

    Schemes (each a variant of this scenario, see :mod:`semcom_sim.schemes`):
    ``proposed`` (the scenario as written: cached KD + IB loss + adaptive module), ``no-adaptive``,
    ``no-kd`` (labels only), ``online-kd`` (teacher in the loop), ``teacher-over-channel`` (the
    teacher's features through the same link), ``digital`` (quantised features -> 5G LDPC -> QAM)
    and ``fixed-snr`` (no KD, no adaptive module, trained at one Eb/N0: DeepJSCC practice). A scheme's
    own knobs (``fixed-snr``'s Eb/N0, ``digital``'s modulation, ``online-kd``'s epochs, the nested lengths)
    are its patch: a scenario changes them by overriding the scheme (``Scenario(schemes=(Scheme("digital",
    {"phy.num_bits_per_symbol": 6}),))``).

    :param schemes: schemes to train and sweep (default: every built-in scheme but the ``rkd-sc*`` ones,
        which need a teacher cache with features and, for ``rkd-sc``, a search (run first into the run
        directory, or ``search.genotype``): name them to compare them).
    :param conditions: test conditions ``"CHANNEL/CSI"`` (e.g. ``"TDL-A/ls"``) of the accuracy-vs-Eb/N0
        grid; each replaces ``phy.channel`` and ``phy.csi`` of the scenario.
    :param retrain_per_condition: train every scheme under every condition (``False``: train once under
        the scenario's own ``phy`` and evaluate the same weights under each condition).
    :param robustness_schemes: schemes evaluated under SNR-feedback errors.
    :param feedback_bits: SNR feedback quantiser resolutions to evaluate (replacing ``phy.snr_feedback_bits``).
    :param feedback_delay_ms: feedback staleness values to evaluate (replacing ``phy.snr_feedback_delay_ms``).
    :param data_fractions: training-data fractions of the data-requirement axis (equal optimizer steps:
        a fraction ``f`` trains ``ceil(epochs / f)`` epochs).
    :param fraction_schemes: schemes of that axis.
    :param fraction_ebno_db: Eb/N0 points at which that axis is evaluated.
    :param target_accuracy: the distillation-cost axis: held-out accuracy to reach.
    :param target_ebno_db: Eb/N0 of the per-epoch monitor (after every epoch, on ``monitor_samples``
        held-out training samples through the scenario's channel).
    :param monitor_samples: training samples the per-epoch monitor reads: every scheme the comparison trains
        holds out at least this many from training (``training.validation_samples`` is raised to it; the
        same stratified rows for every scheme) and the monitor reads the first ``monitor_samples`` of them.
        The test split is not read during training.
    :param latency_runs: warm batch-1 runs behind each latency median.
    :param length_schemes: schemes with nested lengths whose adaptation is studied: the SNR-blind
        reference (every length of the scheme sent whatever the SNR), the mismatch matrix, the shuffle
        test and the gate's activity (``adaptation.csv``; see docs/adaptation.md).
    :param mismatch_ebno_db: Eb/N0 points of the mismatch matrix (fed SNR x true SNR) and of the
        shuffle and gate studies.
    :param adaptation_samples: test samples per cell of those studies (the same samples, channel and
        noise draws in every cell of a column: paired).
    :param seeds: further training seeds (besides ``training.seed``): every scheme of ``schemes`` is
        trained once more per seed and evaluated under every condition on the same Monte Carlo draws (rows
        with ``variant="seed"``); the summary gives the spread across trainings next to the Monte Carlo
        intervals.
    :param limit_scheme: the scheme whose student and link the finite-blocklength reference uses (rows of the
        scheme ``ideal-label``, under every condition, on the same draws; ``semcom_sim.limits``): its student run
        whole on the device, its decision sent over the channel uses one of its samples occupies by an ideal code
        of that length. ``None``: no reference rows.
    :param label_baseline: also sweep the practical label baseline of ``limit_scheme`` (rows of the scheme
        ``label-polar``, under every condition, on the same draws; ``semcom_sim.phy.label_code``): the same on-device
        decision in one 5G polar codeword (downlink format, CRC24C, QPSK, CRC-aided list decoding) over those channel
        uses; a failed CRC leaves the receiver to guess the most frequent class. Needs ``limit_scheme``.
    """

    _section = "compare"
    schemes: Annotated[tuple[str, ...], NonEmpty(message="needs at least one scheme"), _SCHEMES] = COMPARE_SCHEMES
    conditions: Annotated[tuple[str, ...], NonEmpty(message="needs at least one condition such as 'TDL-A/ls'"),
                          Each(OneOf(CONDITIONS, text=_CONDITION_TEXT, message="{value!r} is not " + _CONDITION_TEXT)),
                          Distinct(message="has repeated conditions: {value!r}")] = _CONDITIONS
    retrain_per_condition: bool = False
    robustness_schemes: Annotated[tuple[str, ...], _SCHEMES] = ("proposed", "adaptive-length")
    feedback_bits: Annotated[tuple[int, ...], Each(
        Range(1, 16), message="each must be in 1..16, got {item!r}")] = (2, 4, 8)
    feedback_delay_ms: Annotated[tuple[float, ...], Each(
        NON_NEGATIVE, message="each must be a finite number >= 0, got {item!r}")] = (5.0, 20.0)
    data_fractions: Annotated[tuple[float, ...], Each(
        Range(0, 1, closed="right"), message="each must be in (0, 1], got {item!r}")] = (0.1, 0.2, 0.5, 1.0)
    fraction_schemes: Annotated[tuple[str, ...], _SCHEMES] = ("proposed", "no-kd")
    fraction_ebno_db: tuple[float, ...] = (0.0, 12.0)
    target_accuracy: Annotated[float, Range(0, 1, closed="neither")] = 0.85
    target_ebno_db: float = 10.0
    monitor_samples: Annotated[int, POSITIVE] = 2000
    latency_runs: Annotated[int, POSITIVE] = 50
    length_schemes: Annotated[tuple[str, ...], _SCHEMES] = ("adaptive-length",)
    mismatch_ebno_db: Annotated[tuple[float, ...], Distinct(
        message="must be distinct finite values, got {value!r}")] = (-6.0, 0.0, 6.0, 12.0, 18.0)
    adaptation_samples: Annotated[int, POSITIVE] = 2000
    seeds: Annotated[tuple[int, ...], _SEEDS] = ()
    limit_scheme: str | None = None
    label_baseline: bool = False

    def _validate(self):
        if self.label_baseline and not self.limit_scheme:
            _fail("compare.label_baseline", "needs compare.limit_scheme (the scheme whose student decides on the "
                  "device)")


@dataclass(frozen=True)
class Search(_Section):
    """KDL-DARTS, RKD-SC's architecture search (``semcom-sim search``; ``docs/rkd_sc.md``): a first-order
    DARTS supernet of image cells whose architecture loss is the distillation loss against the cached
    teacher plus ``lambda`` times the expected parameter count (in millions) of the mixed operations.

    :param channels: ``C`` of the first cells (doubles at each reduction cell).
    :param cells: cells of the supernet and of the derived network (reductions at 1/3 and 2/3).
    :param nodes: intermediate nodes per cell.
    :param ops: the operation set (a subset of none, skip, max_pool_3x3, avg_pool_3x3, sep_conv_3x3,
        dil_conv_3x3 that contains ``none``).
    :param epochs: search epochs (each: one pass over ``train_samples`` with a weight step and an
        architecture step per batch).
    :param batch_size: samples per step.
    :param train_samples: training-set samples of the weight steps (stratified, seeded by ``seed``).
    :param validation_samples: other training-set samples of the architecture steps (disjoint).
    :param selection_samples: further training-set samples, disjoint from both splits and never trained on,
        on which every retrained candidate is scored to choose ``genotype.json`` (the test split is only
        reported, never used to choose).
    :param weight_learning_rate: SGD (momentum 0.9, weight decay 3e-4), cosine-decayed to 1e-3.
    :param arch_learning_rate: Adam (betas 0.5, 0.999, weight decay 1e-3) of the architecture logits.
    :param lambdas: the complexity weights searched, one genotype each (a Pareto front over them).
    :param loss_terms: the distillation loss of both steps: ``kd`` (the rebuilt top-K teacher
        distribution, temperature ``training.kd_temperature``) and/or ``feature_kd`` (MSE of a linear
        projection to the teacher's features; needs a cache built with ``teacher.store_features``).
    :param retrain_epochs: epochs that train each derived network (and the hand-designed encoder of
        ``model.encoder_filters``, the reference) from scratch with the same loss on the union of both
        splits, before their accuracy (no channel) on ``selection_samples`` and on the test split is
        measured.
    :param tolerance: ``genotype.json`` is the genotype with the fewest parameters whose accuracy on the
        ``selection_samples`` is within this (a fraction) of the most accurate one's.
    :param stem_stride: 2: the stem halves the image (28 -> 14 for Fashion-MNIST), which makes a step
        3.3x faster on the 2-core CPU (0.17 vs 0.56 s for 64 images, C = 16, 3 cells x 3 nodes); the
        derived network keeps it.
    :param seed: seed of the splits, the initial weights and the batches.
    :param genotype: the ``genotype.json`` of a finished search whose derived network is the encoder of the
        ``rkd-sc`` scheme (e.g. ``docs/results/search_fashion_mnist/search/genotype.json``). ``None``: a run
        whose schemes include ``rkd-sc`` runs the search first, into the run directory's ``search/``.
    :param jit_compile: XLA for the steps; off by default: on the 2-core CPU XLA made a supernet step 6x
        slower (1.04 vs 0.17 s, the depthwise convolutions).
    """

    _section = "search"
    channels: Annotated[int, POSITIVE, Satisfies(
        lambda v: v % 2 == 0, "even", message="must be even (a factorised reduction halves it), got {value!r}")] = 16
    stem_stride: Annotated[int, OneOf((1, 2), message="must be 1 or 2, got {value!r}")] = 2
    cells: Annotated[int, POSITIVE] = 3
    nodes: Annotated[int, POSITIVE] = 3
    ops: Annotated[tuple[str, ...], All(
        Satisfies(lambda v: "none" in v and len(v) >= 2, "none and at least one other"), Each(OneOf(SEARCH_OPS)),
        message=f"must be 'none' and at least one of {', '.join(SEARCH_OPS[1:])}, got {{value!r}}")] = SEARCH_OPS
    epochs: Annotated[int, POSITIVE] = 10
    batch_size: Annotated[int, POSITIVE] = 64
    train_samples: Annotated[int, POSITIVE] = 10000
    validation_samples: Annotated[int, POSITIVE] = 10000
    selection_samples: Annotated[int, POSITIVE] = 5000
    weight_learning_rate: Annotated[float, POSITIVE] = 0.025
    arch_learning_rate: Annotated[float, POSITIVE] = 6e-4
    lambdas: Annotated[tuple[float, ...], All(
        NonEmpty(), Each(NON_NEGATIVE),
        message="must be non-negative complexity weights, got {value!r}")] = (0.0, 1.0, 4.0)
    loss_terms: Annotated[tuple[str, ...], All(
        NonEmpty(), Each(OneOf(SEARCH_LOSS_TERMS)), message="must be kd and/or feature_kd, got {value!r}")] = ("kd",)
    retrain_epochs: Annotated[int, POSITIVE] = 3
    tolerance: Annotated[float, Range(0, 1, closed="left")] = 0.005
    seed: int = 0
    jit_compile: bool = False
    genotype: str | None = None

    @property
    def backbone_config(self) -> dict:
        """``model.backbone_config`` of the ``rkd-sc`` scheme: the derived network of ``genotype``."""
        if self.genotype is None:
            _fail("search.genotype", "the rkd-sc scheme's encoder is the derived network of a search: set it to "
                  "the genotype.json that semcom-sim search wrote")
        from semcom_sim.genotype import backbone_config

        return backbone_config(self.genotype)



@dataclass(frozen=True)
class Output(_Section):
    """Where results go.

    :param out_dir: output directory (``--out`` overrides it); ``{name}`` is replaced by the
        scenario's name.
    :param plot_esno: also draw an Es/N0 axis on the accuracy plot.
    """

    _section = "output"
    out_dir: str = "runs/{name}"
    plot_esno: bool = True




@dataclass(frozen=True)
class Scenario:
    """One experiment: data, model, physical layer, training, sweep and output.

    ``schemes`` holds the scenario's own :class:`~semcom_sim.schemes.Scheme` objects (named in
    ``sweep.schemes`` or ``compare.schemes`` like the built-in ones). Every name must be known, and the
    scenario's own schemes and those of ``sweep.schemes`` are resolved when the scenario is built, so a
    bad patch fails at load time (``semcom-sim compare`` resolves ``compare.schemes`` when it starts).
    """

    name: str
    data: Data = field(default_factory=Data)
    model: Model = field(default_factory=Model)
    phy: Phy = field(default_factory=Phy)
    training: Training = field(default_factory=Training)
    teacher: Teacher = field(default_factory=Teacher)
    sweep: Sweep = field(default_factory=Sweep)
    compare: Compare = field(default_factory=Compare)
    search: Search = field(default_factory=Search)
    output: Output = field(default_factory=Output)
    schemes: tuple[Scheme, ...] = ()

    def __post_init__(self):
        self._check_sections()
        self._check_schemes()

    def patched(self, **sections: Any) -> Scenario:
        """This scenario with the named sections replaced and checked across sections (a scheme's or a study's
        patch, :func:`semcom_sim.schemes.apply_patch`). The schemes' own patches are not checked again: they
        were checked against the scenario as written, and patches do not compose."""
        out = copy.copy(self)
        for name, section in sections.items():
            object.__setattr__(out, name, section)
        out._check_sections()
        return out

    def _check_sections(self):
        if not isinstance(self.name, str) or not self.name.strip():
            _fail("name", f"must be a non-empty string, got {self.name!r}")
        for f in _section_fields():
            value = getattr(self, f.name)
            if not isinstance(value, f.default_factory):
                _fail(f.name, f"must be a {f.default_factory.__name__}(...), got {type(value).__name__}")
        text = self.data.dataset == "wordnet-nouns"
        uses_teacher = self.training.distillation != "none" or self.model.source == "teacher-features"
        reads_text = self.teacher.reads_text
        if uses_teacher and reads_text is not None and reads_text != text:
            if self.teacher.kind is None:
                _fail("teacher.name", f"{self.teacher.name!r} does not read {self.data.dataset!r} data; use one of "
                      f"{', '.join(TEXT_TEACHERS if text else IMAGE_TEACHERS)}")
            _fail("teacher.kind", f"a {self.teacher.kind} teacher reads {'texts' if reads_text else 'images'}, but "
                  f"{self.data.dataset!r} holds {'texts' if text else 'images'}; use "
                  f"{'text-encoder' if text else 'image-classification or clip-vision'}")
        if "feature_kd" in self.search.loss_terms and not self.teacher.store_features:
            _fail("search.loss_terms", "feature_kd reads the teacher's features from the cache: set "
                  "teacher.store_features=True")
        for i, stage in enumerate(self.training.stages):
            if "adaptive" in stage.trainable and not self.model.adaptive:
                _fail(f"training.stages[{i}].trainable", "'adaptive' names a part this model does not have "
                      "(model.adaptive=False)")
            if {"channel_encoder", "channel_decoder"} & set(stage.trainable) and self.model.channel_codec == "none":
                _fail(f"training.stages[{i}].trainable", "'channel_encoder' and 'channel_decoder' exist only with "
                      "a channel codec (model.channel_codec)")
            if "feature_head" in stage.trainable and self.training.feature_kd_weight <= 0:
                _fail(f"training.stages[{i}].trainable", "'feature_head' exists only with "
                      "training.feature_kd_weight > 0")
        capacity = self.phy.num_data_symbols * self.phy.num_streams
        if self.model.num_channel_uses > capacity:
            _fail("model.num_channel_uses",
                  f"{self.model.num_channel_uses} exceeds the {capacity} data resource elements of one frame"
                  f"{' over all streams' if self.phy.num_streams > 1 else ''}; enlarge phy.fft_size or "
                  "phy.num_ofdm_symbols")
        if self.model.transmission == "pusch":
            self._check_pusch()
        if self.model.transmission == "digital" and self.phy.detector == "ml":
            hypotheses = 2 ** (int(self.phy.num_bits_per_symbol) * self.phy.num_streams)
            if hypotheses > ML_MAX_HYPOTHESES:
                _fail("phy.detector", f"'ml' would search {hypotheses} hypotheses per resource element "
                      f"({2 ** int(self.phy.num_bits_per_symbol)}-QAM, {self.phy.num_streams} streams; at most "
                      f"{ML_MAX_HYPOTHESES}); use 'kbest' or 'ep'")
        if self.model.transmission == "digital":
            if self.phy.num_bits_per_symbol not in (2, 4, 6, 8):
                _fail("phy.num_bits_per_symbol", "the digital link's QAM must have 2, 4, 6 or 8 bits per symbol "
                      f"(QPSK..256-QAM), got {self.phy.num_bits_per_symbol!r}")
            if not 0 < self.phy.coderate < 1:
                _fail("phy.coderate", f"the digital link's LDPC code rate must be in (0, 1), got {self.phy.coderate!r}")
        if self.model.lengths and self.training.validation_samples < 1:
            _fail("model.lengths", "the length policy is fitted on held-out samples: set training.validation_samples "
                  "> 0 (e.g. 2000)")

    def _check_pusch(self):
        phy = self.phy
        if phy.direction != "uplink":
            _fail("model.transmission", "PUSCH is the uplink shared channel: set phy.direction='uplink'")
        if phy.num_streams > 4:
            _fail("phy.num_streams", f"PUSCH carries at most 4 layers, got {phy.num_streams}")
        if phy.num_tx_ant not in (1, 2, 4):
            _fail("phy.num_ut_ant", f"PUSCH has 1, 2 or 4 antenna ports, got {phy.num_tx_ant}")
        if phy.num_effective_subcarriers < 12:
            _fail("phy.fft_size", f"PUSCH needs a resource block of 12 subcarriers; the grid has "
                  f"{phy.num_effective_subcarriers} effective subcarriers")

    def _check_schemes(self):
        if isinstance(self.schemes, (list, Scheme)):
            object.__setattr__(self, "schemes", tuple(self.schemes) if isinstance(self.schemes, list)
                               else (self.schemes,))
        if not isinstance(self.schemes, tuple) or not all(isinstance(s, Scheme) for s in self.schemes):
            _fail("schemes", f"must be a tuple of Scheme(...), got {self.schemes!r}")
        own = [s.name for s in self.schemes]
        for name in own:
            if own.count(name) > 1:
                _fail("schemes", f"{name!r} is defined twice")
        table = scheme_table(self)
        named = {"sweep.schemes": self.sweep.schemes, "compare.schemes": self.compare.schemes,
                 "compare.robustness_schemes": self.compare.robustness_schemes,
                 "compare.fraction_schemes": self.compare.fraction_schemes,
                 "compare.limit_scheme": (self.compare.limit_scheme,) if self.compare.limit_scheme else ()}
        for where, names in named.items():
            for name in names:
                if name not in table:
                    _fail(where, f"{name!r} is not one of {', '.join(table)}")
        # the scenario's new schemes and those it trains by default; `compare` resolves its schemes (an override of
        # a built-in scheme among them, like the built-in) when it starts
        for name in dict.fromkeys([*(n for n in own if n not in BUILTIN_NAMES), *self.sweep.schemes]):
            apply_patch(self, table[name].patch, f"scheme {name!r}")

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, **{f.name: dataclasses.asdict(getattr(self, f.name)) for f in _section_fields()}}
        return {**out, "schemes": [s.to_dict() for s in self.schemes]} if self.schemes else out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scenario:
        sections = {f.name: f.default_factory for f in _section_fields()}
        unknown = set(d) - set(sections) - {"name", "schemes"}
        if unknown:
            _fail(sorted(unknown)[0], f"unknown section; sections are name, {', '.join(sections)}, schemes")
        kwargs = {"name": d.get("name")}
        for (section, new), stored in _STORED_NAMES.items():
            if isinstance(d.get(section), dict) and stored in d[section] and new not in d[section]:
                d = {**d, section: {(new if k == stored else k): v for k, v in d[section].items()}}
        for name, section_cls in sections.items():
            if name in d:
                kwargs[name] = _build_section(section_cls, name, d[name])
        if d.get("schemes"):
            if not isinstance(d["schemes"], (list, tuple)):
                _fail("schemes", f"expected a list of schemes, got {d['schemes']!r}")
            kwargs["schemes"] = tuple(Scheme.from_dict(s) for s in d["schemes"])
        return cls(**kwargs)

    def fingerprint(self, *sections: str) -> str:
        """A short hash of the named sections (all that shape a trained model by default)."""
        uses_teacher = self.training.distillation != "none" or self.model.source == "teacher-features"
        sections = sections or ("data", "model", "phy", "training") + (("teacher",) if uses_teacher else ())
        payload = {s: dataclasses.asdict(getattr(self, s)) for s in sections}
        for section, names in _NOT_IN_FINGERPRINT.items():
            for name in names:
                payload.get(section, {}).pop(name, None)
        if "teacher" in payload and not payload["teacher"]["store_features"]:
            payload["teacher"].pop("feature_dim")  # no features stored: their projection changes nothing
        if "teacher" in payload:  # only the fields of the cache's own kind shape what it holds
            unused = ("top_k",) if payload["teacher"]["cache_kind"] == "sampled" else \
                ("sampled_entries", "sample_draws", "sample_seed")
            for name in unused:
                payload["teacher"].pop(name)
        for (section, name), stored in _STORED_NAMES.items():
            if section in payload:
                payload[section][stored] = payload[section].pop(name)
        for (section, name), default in _ADDED_FIELDS.items():
            if section in payload and name in payload[section] and payload[section][name] == default:
                payload[section].pop(name)
        for stage in payload.get("training", {}).get("stages", ()):
            for name, default in _ADDED_STAGE_FIELDS.items():
                if stage.get(name) == default:
                    stage.pop(name)
        payload = json.dumps(payload, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]

    def resolved_out_dir(self) -> Path:
        return Path(self.output.out_dir.replace("{name}", _slug(self.name)))


def _section_fields() -> tuple[dataclasses.Field, ...]:
    """The section fields of :class:`Scenario` (``data`` .. ``output``), without ``name`` and ``schemes``."""
    return tuple(f for f in dataclasses.fields(Scenario) if f.name not in ("name", "schemes"))


def _refuse_renamed_keywords(cls) -> None:
    """Makes ``cls(old_name=...)`` fail with the one line of :func:`unknown_field` (not a TypeError)."""
    init = cls.__init__

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        for name in kwargs:
            if f"{cls._section}.{name}" in RENAMED_FIELDS or f"{cls._section}.{name}" in MOVED_FIELDS:
                unknown_field(cls._section, name, ())
        init(self, *args, **kwargs)

    cls.__init__ = __init__


for _cls in _Section.__subclasses__():
    _refuse_renamed_keywords(_cls)
    _field_specs(_cls)  # reads the annotations now: a bad declaration fails at import, not at first use


# Where files live, how fast a teacher runs and how often a training saves its state do not change what a
# model learns (the data's and the cache's own fingerprints cover their contents).
_NOT_IN_FINGERPRINT = {"data": ("data_dir",), "teacher": ("cache_path", "weights_path", "batch_size"),
                       "model": ("fixed_length",), "training": ("state_every_steps",)}


# Fields added after checkpoints were first written: at their default they leave the fingerprint as it was,
# so a model trained before they existed is still found (it was trained with exactly that default).
_ADDED_FIELDS = {("data", "label_mode"): "fine", ("data", "test_fraction"): 0.2,
                 ("model", "adaptive_conditioning"): "concat", ("model", "lengths"): (),
                 ("model", "length_draw"): "uniform", ("model", "channel_codec"): "none",
                 ("model", "semantic_dim"): 128, ("model", "cat_tokens"): 16, ("model", "cat_width"): 32,
                 ("model", "cat_layers"): 2, ("model", "cat_heads"): 4, ("model", "dense_codec_units"): (256,),
                 ("model", "policy_tolerance"): 0.005, ("model", "policy_ebno_step_db"): 1.0,
                 ("training", "validation_samples"): 0,
                 ("teacher", "feature_dim"): None, ("teacher", "kind"): None, ("teacher", "model_dir"): None,
                 ("teacher", "finetune_mode"): None, ("teacher", "finetune_encoder"): False,
                 ("teacher", "max_length"): 64, ("teacher", "cache_kind"): "top-k",
                 **{("phy", name): getattr(Phy, name) for name in (
                     "num_ut_ant", "num_bs_ant", "ut_polarization", "bs_polarization", "ut_antenna_pattern",
                     "bs_antenna_pattern", "antenna_spacing", "spatial_correlation", "num_streams", "precoding",
                     "precoding_csi", "equalizer", "detector", "kbest_num_paths", "mcs_index")}}
# Fields renamed after runs were stored: a stored scenario.json with the old key still loads, and the fingerprint
# hashes the old key, so models trained before the rename are still found.
_STORED_NAMES = {("phy", "direction"): "cdl_direction"}
_ADDED_STAGE_FIELDS = {"channel": True}  # fields of training.stages, as _ADDED_FIELDS


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name).strip("-") or "scenario"


def _build_section(section_cls, name: str, values: dict[str, Any]):
    if not isinstance(values, dict):
        _fail(name, f"expected a mapping of fields, got {values!r}")
    known = {f.name for f in dataclasses.fields(section_cls)}
    for key in values:
        if key not in known:
            unknown_field(name, key, known)
    return section_cls(**values)


_LITERAL_NAMES = {"nan": math.nan, "inf": math.inf, "true": True, "false": False, "none": None,
                  "null": None, "True": True, "False": False, "None": None}


def _parse_value(text: str):
    """A ``--set`` value: a Python literal (``nan``, ``inf``, ``true``, ``range(a, b, c)`` allowed), else a string."""
    text = text.strip()
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return text
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in _LITERAL_NAMES and node.id != "range":
            return text
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id == "range"):
            return text
        if isinstance(node, (ast.Attribute, ast.Subscript, ast.Lambda)):
            return text
    try:
        return eval(compile(tree, "<--set>", "eval"), {"__builtins__": {}}, {**_LITERAL_NAMES, "range": range})
    except Exception:
        return text


def apply_overrides(scenario: Scenario, overrides: list[str] | tuple[str, ...]) -> Scenario:
    """Applies ``section.field=value`` overrides (values parsed as Python literals, else strings)."""
    d = scenario.to_dict()
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            _fail("--set", f"expected section.field=value, got {item!r}")
        if key == "name":
            d["name"] = text
            continue
        section, dot, name = key.partition(".")
        if not dot or section not in d or not isinstance(d[section], dict):
            _fail(key, f"unknown section {section!r}; sections are "
                  f"{', '.join(k for k in d if k not in ('name', 'schemes'))}")
        if name not in d[section]:
            unknown_field(section, name, d[section], key)
        d[section][name] = _parse_value(text)
    return Scenario.from_dict(d)


def scenario_file(path: str | Path) -> Path:
    """``path`` as a scenario file; one line (:class:`ScenarioError`) if there is no such file."""
    path = Path(path)
    if not path.is_file():
        _fail("scenario", f"no such file: {path}")
    return path


def load_scenario(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """Executes a scenario file and returns its ``scenario`` object, with ``overrides`` applied."""
    path = scenario_file(path)
    try:
        namespace = runpy.run_path(str(path), run_name="__scenario__")
    except ScenarioError:
        raise
    except Exception as exc:  # the user's file: report where, in one line
        first_line = (str(exc).strip().splitlines() or [""])[0]
        _fail("scenario", f"{path} failed to execute: {type(exc).__name__}: {first_line}")
    scenario = namespace.get("scenario")
    if not isinstance(scenario, Scenario):
        _fail("scenario", f"{path} must define `scenario = Scenario(...)`")
    return apply_overrides(scenario, overrides) if overrides else scenario
