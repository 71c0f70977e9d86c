"""The end-to-end semantic link: encoder -> channel-adaptive module -> Sionna PHY -> decoder."""

from __future__ import annotations

import collections
import contextlib
import dataclasses

import keras
from keras import ops

from semcom_sim.phy import AnalogLink, MIMOAnalogLink, seed_generators
from semcom_sim.phy.base import Link
from semcom_sim.phy.digital import DigitalLink, MIMODigitalLink
from semcom_sim.phy.pusch import PUSCHLink, mcs_modulation_and_rate
from semcom_sim.scenario import Model, Phy, Scenario, ScenarioError
from semcom_sim.semantic import (
    ChannelAdaptiveModule,
    ConvBackbone,
    DenseBackbone,
    GaussianSampler,
    LengthMask,
    LengthPolicy,
    LengthSampler,
    SemanticDecoder,
    SemanticEncoder,
    TextBackbone,
    gaussian_kl,
    policy_grid_db,
)
from semcom_sim.semantic.cat import CATDecoder, CATEncoder
from semcom_sim.semantic.codec import BitCodec, IdentityCodec
from semcom_sim.semantic.dense_codec import DenseChannelDecoder, DenseChannelEncoder
from semcom_sim.semantic.quantizer import UniformQuantizer


def seed_everything(seed: int) -> None:
    """Seeds Python, NumPy, TensorFlow/Keras and Sionna's generators."""
    keras.utils.set_random_seed(int(seed))
    seed_generators(seed)


def make_backbone(model: Model, vocab_size: int | None = None) -> keras.layers.Layer:
    """The encoder's backbone of a ``model`` section: the teacher's features through a
    :class:`DenseBackbone` (``model.source="teacher-features"``); else ``model.backbone`` (a registered
    Keras layer built with ``model.backbone_config``) if set; else token ids through a
    :class:`TextBackbone` (``vocab_size`` given) or images through a :class:`ConvBackbone`."""
    if model.source == "teacher-features":
        return DenseBackbone(model.feature_encoder_units)
    if model.backbone is not None:
        import semcom_sim.semantic.darts  # noqa: F401  (registers semcom_sim>SearchedBackbone)

        cls = keras.saving.get_registered_object(model.backbone)
        if cls is None or not (isinstance(cls, type) and issubclass(cls, keras.layers.Layer)):
            raise ScenarioError(f"model.backbone: {model.backbone!r} is not a registered Keras layer; decorate its "
                                "class with @keras.saving.register_keras_serializable(package=...) and name it "
                                "'package>ClassName'")
        try:
            return cls(**model.backbone_config)
        except (TypeError, ValueError) as exc:  # what Python and Keras raise for arguments a layer does not take
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ScenarioError(f"model.backbone_config: {model.backbone} does not take {model.backbone_config!r} "
                                f"({first_line})") from None
    if vocab_size is not None:
        return TextBackbone(vocab_size, model.embedding_dim, model.encoder_filters)
    return ConvBackbone(model.encoder_filters)


def digital_num_features(model: Model, phy: Phy) -> int:
    """Features per sample of the digital link: the information bits that ``model.num_channel_uses``
    QAM symbols carry at ``phy.coderate`` (PUSCH: the modulation order and target code rate of MCS
    ``phy.mcs_index``), divided by ``model.quant_bits``."""
    if model.transmission == "pusch":
        bits_per_symbol, coderate = mcs_modulation_and_rate(phy.mcs_index)
    else:
        bits_per_symbol, coderate = phy.num_bits_per_symbol, phy.coderate
    bits = int(model.num_channel_uses * bits_per_symbol * coderate + 1e-9)
    if bits < model.quant_bits:
        raise ScenarioError(f"model.quant_bits: {model.quant_bits} bits per feature exceed the {bits} information "
                         "bits per sample of the digital link")
    return bits // model.quant_bits


@keras.saving.register_keras_serializable(package="semcom_sim")
class SemanticLink(keras.Model):
    """Task-oriented semantic transceiver of named parts around a link of the physical layer.

    Parts, in the order a sample crosses them (each a Keras layer with its own weights, see
    :meth:`parts`; docs/architecture.md draws them):

    ``encoder`` (a backbone, then one Gaussian head: mean and log-variance of the latent) ->
    ``sampler`` (reparameterised sample while training, the mean at evaluation) -> ``adaptive`` (the
    channel-adaptive module, re-weighting with the SNR the transmitter learned) -> ``codec`` (identity
    for the analog link; quantised features -> bits for the digital one) -> ``link``
    (:class:`~semcom_sim.phy.base.Link`: frames, channel, CSI, LMMSE, SNR estimates) -> ``codec``
    back -> ``decoder`` (classifies from the received features and the receiver's own SNR estimates).

    Causal order inside :meth:`call`: N0 of each frame; the encoder and sampler; the channel of the
    frame is drawn; the transmitter learns an SNR estimate from a sounding frame (quantised, possibly
    stale feedback); it re-weights (:meth:`transmit_features`); the link carries the codec's output;
    the decoder classifies (:meth:`classify`). A link that is error-free while training (the digital
    separation baseline) is bypassed then, and no channel is drawn.

    Input: ``(inputs, ebno_db)``: images [batch, H, W, C] float32 (or, with ``vocab_size`` set, token
    ids [batch, max_len] int32; with ``model.source="teacher-features"``, teacher features [batch, D]
    float32); ``ebno_db`` in dB, a scalar or one value per frame [num_frames(batch)] float32.
    Output: dict of ``logits`` [batch, num_classes], ``kl`` [batch] (nats), and per sample [batch]:
    ``snr_tx_db`` (known at the transmitter), ``snr_hat_db`` (receiver's pilot estimate),
    ``snr_eff_db`` (after LMMSE), ``snr_true_db`` (genie, diagnostics only), ``no`` (N0 per sample),
    ``channel_uses`` (complex channel uses sent).

    Keyword inputs of :meth:`call` for the studies that prove what the transmitter does with the SNR
    (every other draw stays the same, so results are paired): ``fed_snr_db`` (a scalar or [batch]:
    what the transmitter is told instead of what it learned by sounding), ``snr_permutation``
    ([batch] int32: the learned SNRs permuted across the batch) and ``length`` (nested lengths: a scalar
    or [batch], the channel uses to send whatever the policy says). ``bypass_channel=True`` (a training
    stage with ``channel=False``) skips the link and any channel codec: the decoder reads the encoder's
    output with zero SNR inputs and ``L / n = 1``.

    :param num_classes: classes of the task.
    :param model: the ``model`` section of a scenario (a :class:`Model` or its dict).
    :param phy: the ``phy`` section of a scenario (a :class:`Phy` or its dict).
    :param seed: seed of the encoder's sampling noise.
    :param vocab_size: ``None`` for images; for text, the number of token ids (a text backbone).
    :param teacher_feature_dim: size of the teacher's feature vector for feature-level KD: adds a
        linear projection of the encoder's mean and the output ``projected_features`` [batch, dim]
        (training only; not part of the transmitted signal).
    """

    def __init__(self, num_classes: int, model: Model | dict, phy: Phy | dict, seed: int | None = None,
                 vocab_size: int | None = None, teacher_feature_dim: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.model_cfg = model if isinstance(model, Model) else Model(**model)
        self.phy_cfg = phy if isinstance(phy, Phy) else Phy(**phy)
        self.num_classes = int(num_classes)
        self.seed = seed
        self.vocab_size = vocab_size
        self.teacher_feature_dim = teacher_feature_dim
        self.feature_head = (keras.layers.Dense(teacher_feature_dim, name="feature_head")
                             if teacher_feature_dim else None)
        m = self.model_cfg
        self.digital = m.sends_bits
        self.encoder = SemanticEncoder(make_backbone(m, vocab_size), self.latent_dim, name="encoder")
        self.sampler = GaussianSampler(seed=seed, name="sampler")
        self.adaptive = (ChannelAdaptiveModule(m.adaptive_hidden_ratio, conditioning=m.adaptive_conditioning,
                                               name="adaptive") if m.adaptive else None)
        self.nested = bool(m.lengths)
        if self.nested:  # created only for nested lengths, so other models keep their random streams
            self.length_sampler = LengthSampler(m.lengths, seed=None if seed is None else seed + 7919,
                                                name="length_sampler")
            self.length_policy = LengthPolicy(policy_grid_db(), m.num_channel_uses, name="length_policy")
            self.length_mask = LengthMask(name="length_mask")
        self.channel_encoder = self.channel_decoder = None
        if m.channel_codec != "none":  # created only then, so other models keep their random streams
            n = m.num_channel_uses
            if m.channel_codec == "cat":
                cat = {"num_tokens": m.cat_tokens, "width": m.cat_width, "num_layers": m.cat_layers,
                       "num_heads": m.cat_heads}
                self.channel_encoder = CATEncoder(n, name="channel_encoder", **cat)
                self.channel_decoder = CATDecoder(n, m.semantic_dim, name="channel_decoder", **cat)
            else:
                self.channel_encoder = DenseChannelEncoder(n, 2 * n, m.dense_codec_units, name="channel_encoder")
                self.channel_decoder = DenseChannelDecoder(n, m.semantic_dim, m.dense_codec_units,
                                                           name="channel_decoder")
        self.decoder = SemanticDecoder(num_classes, m.decoder_units, name="decoder")
        if self.digital:  # the separation baseline: quantiser, bits, 5G LDPC + QAM
            self.quantizer = UniformQuantizer(m.quant_bits, name="quantizer")
            self.codec = BitCodec(m.quant_bits, name="codec")
            link = PUSCHLink if m.transmission == "pusch" else MIMODigitalLink if self.phy_cfg.is_mimo else DigitalLink
            self.link: Link = link(self.phy_cfg, self.latent_dim * m.quant_bits, self.phy_cfg.ldpc_iterations)
        else:
            self.quantizer = None
            self.codec = IdentityCodec(name="codec")
            self.link = (MIMOAnalogLink if self.phy_cfg.is_mimo else AnalogLink)(self.phy_cfg, m.num_channel_uses)

    @property
    def latent_dim(self) -> int:
        """Real features the encoder emits per sample: ``2 * num_channel_uses`` (analog), what the digital
        link's bits allow, or with a channel codec the semantic vector's ``model.semantic_dim``."""
        if self.model_cfg.sends_bits:
            return digital_num_features(self.model_cfg, self.phy_cfg)
        if self.model_cfg.channel_codec != "none":
            return self.model_cfg.semantic_dim
        return 2 * self.model_cfg.num_channel_uses

    def build(self, input_shape):
        images_shape = tuple(input_shape[0])
        latent_dim = self.latent_dim
        self.encoder.build(images_shape)
        side = 2 if self.nested else 1  # the SNR, and L / n with nested lengths
        if self.adaptive is not None:
            self.adaptive.build((None, latent_dim), (None, side))
        if self.channel_encoder is not None:
            self.channel_encoder.build((None, latent_dim), (None, 1), (None,))
            self.channel_decoder.build((None, 2 * self.model_cfg.num_channel_uses), (None, 2), (None,))
        self.decoder.build((None, latent_dim), (None, side + 1))
        if self.nested:
            self.length_policy.build()
        if self.feature_head is not None:
            self.feature_head.build((None, latent_dim))

    def parts(self) -> dict[str, keras.layers.Layer]:
        """The named parts with weights (what a training stage can train or freeze): ``encoder``,
        ``adaptive`` (if on), ``channel_encoder`` and ``channel_decoder`` (with a channel codec),
        ``decoder`` and ``feature_head`` (with feature-level KD)."""
        named = {"encoder": self.encoder, "adaptive": self.adaptive, "channel_encoder": self.channel_encoder,
                 "channel_decoder": self.channel_decoder, "decoder": self.decoder, "feature_head": self.feature_head}
        return {name: layer for name, layer in named.items() if layer is not None}

    def num_frames(self, batch_size: int) -> int:
        """OFDM frames that a batch of ``batch_size`` samples occupies."""
        return self.link.num_frames(batch_size)

    def _length_fraction(self, length, batch):
        """``L / n`` [batch, 1] (1 without a length)."""
        if length is None:
            return ops.ones((batch, 1), "float32")
        return ops.cast(length, "float32")[:, None] / float(self.model_cfg.num_channel_uses)

    def choose_length(self, snr_tx_db, training: bool = False):
        """Channel uses each sample sends [batch] float32 (nested lengths), ``None`` otherwise: drawn from
        ``model.lengths`` while training; ``model.fixed_length`` if set; else ``L*(q)`` of the length
        policy for the fed-back SNR ``snr_tx_db`` [batch]."""
        if not self.nested:
            return None
        if training:
            return self.length_sampler(snr_tx_db)
        if self.model_cfg.fixed_length is not None:
            return ops.full(ops.shape(snr_tx_db), float(self.model_cfg.fixed_length), "float32")
        return self.length_policy(snr_tx_db, bin_width_db=self.feedback_bin_db)

    @property
    def feedback_bin_db(self) -> float:
        """Width in dB of the SNR feedback quantiser's bins (``phy.snr_feedback_bits`` over
        ``phy.snr_feedback_range_db``); 0 without quantisation."""
        bits = self.phy_cfg.snr_feedback_bits
        if bits is None:
            return 0.0
        low, high = self.phy_cfg.snr_feedback_range_db
        return (float(high) - float(low)) / 2 ** int(bits)

    def transmit_features(self, z, snr_tx_db, length=None):
        """What the transmitter sends for latent ``z`` [batch, d], knowing ``snr_tx_db`` [batch, 1]: the
        adaptive module's re-weighting (if on; with nested lengths it also sees ``L / n``) masked to the
        first ``length`` [batch] channel uses, or for the digital link the quantised ``tanh(z)``."""
        if self.adaptive is not None:
            side = snr_tx_db
            if self.nested:
                side = ops.concatenate([snr_tx_db, self._length_fraction(length, ops.shape(z)[0])], axis=-1)
            z = self.adaptive(z, side)
        if self.channel_encoder is not None:
            z = self.channel_encoder(z, snr_tx_db, length)
        if self.nested and length is not None:
            z = self.length_mask(z, length)
        if self.quantizer is not None:
            z = self.quantizer(ops.tanh(z))
        return z

    def classify(self, received, snr_hat_db, snr_eff_db, length=None):
        """Logits [batch, num_classes] from the received features and the receiver's SNR estimates
        ([batch] each, dB), and with nested lengths ``L / n``; a link whose decoder sees no SNR
        (digital: hard decisions) feeds zeros."""
        batch = ops.shape(received)[0]
        if self.link.decoder_sees_snr:
            snr_rx_db = ops.stack([snr_hat_db, snr_eff_db], axis=-1)
        else:
            snr_rx_db = ops.zeros((batch, 2), "float32")
        if self.nested:
            snr_rx_db = ops.concatenate([snr_rx_db, self._length_fraction(length, batch)], axis=-1)
        return self.decoder(received, snr_rx_db)

    def call(self, inputs, training=False, fed_snr_db=None, snr_permutation=None, length=None,
             bypass_channel=False):
        images, ebno_db = inputs
        batch = images.shape[0]
        if batch is None:
            raise ValueError("SemanticLink needs a static batch size (frames are packed from it): call it "
                             "with concrete tensors or a tf.function of fixed input shape")
        num_frames = self.num_frames(batch)
        ebno_db = ops.broadcast_to(ops.cast(ebno_db, "float32"), (num_frames,))
        no = self.link.noise_variance(ebno_db)
        mu, logvar = self.encoder(images, training=training)
        z = self.sampler(mu, logvar, training=training and self.model_cfg.stochastic)
        kl = gaussian_kl(mu, logvar) if self.model_cfg.stochastic else ops.zeros_like(mu[:, 0])
        codec_features = self.channel_encoder is not None and self.feature_head is not None
        extra = {"projected_features": self.feature_head(mu)} if self.feature_head is not None else {}
        if bypass_channel:  # no link, no channel codec: the decoder reads the encoder's output (a training stage)
            zeros = ops.zeros((batch,), "float32")
            length = ops.full((batch,), float(self.model_cfg.num_channel_uses), "float32") if self.nested else None
            received = z
            snr = {"snr_tx_db": zeros, "snr_hat_db": zeros, "snr_eff_db": zeros, "snr_true_db": zeros}
            if codec_features:
                extra = {"projected_features": self.feature_head(z)}
        elif training and self.link.error_free_while_training:  # e.g. the digital bit pipe: no channel drawn
            zeros = ops.zeros((batch,), "float32")
            length = self.choose_length(zeros, training)
            received = self.transmit_features(z, zeros[:, None], length)
            snr = {"snr_tx_db": zeros, "snr_hat_db": zeros, "snr_eff_db": zeros, "snr_true_db": zeros}
        else:
            h, h_sound = self.link.draw_channel(num_frames)
            snr_tx_db = self.link.sound(h_sound, no, batch)
            if snr_permutation is not None:
                snr_tx_db = ops.take(snr_tx_db, snr_permutation)
            if fed_snr_db is not None:
                snr_tx_db = ops.broadcast_to(ops.cast(fed_snr_db, "float32"), (batch,))
            if length is not None and self.nested:  # forced: the policy fit and the studies
                length = ops.broadcast_to(ops.cast(length, "float32"), (batch,))
            else:
                length = self.choose_length(snr_tx_db, training)
            sent = self.transmit_features(z, snr_tx_db[:, None], length)
            rx = self.link.transmit(self.codec.encode(sent), h, no, num_active=length)
            received = self.codec.decode(rx.features)
            if length is not None:
                received = self.length_mask(received, length)
            if self.channel_decoder is not None:  # the semantic vector again, then the task decoder
                received = self.channel_decoder(received, ops.stack([rx.snr_hat_db, rx.snr_eff_db], axis=-1), length)
                if codec_features:  # feature KD on the decoded semantic vector (RKD-SC's robust stage)
                    extra = {"projected_features": self.feature_head(received)}
            snr = {"snr_tx_db": snr_tx_db, "snr_hat_db": rx.snr_hat_db, "snr_eff_db": rx.snr_eff_db,
                   "snr_true_db": rx.snr_true_db}
        logits = self.classify(received, snr["snr_hat_db"], snr["snr_eff_db"], length)
        uses = length if length is not None else ops.full((batch,), float(self.model_cfg.num_channel_uses), "float32")
        return {"logits": logits, "kl": kl, **snr, "no": self.link.frame_values(no, batch), "channel_uses": uses,
                **extra}

    def build_for(self, image_shape: tuple[int, ...]) -> SemanticLink:
        """Creates the weights for images of ``image_shape`` (needed before loading weights)."""
        self.build(((None,) + tuple(image_shape), ()))
        return self

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "model": dataclasses.asdict(self.model_cfg), "phy": dataclasses.asdict(self.phy_cfg),
                "seed": self.seed, "vocab_size": self.vocab_size, "teacher_feature_dim": self.teacher_feature_dim}


@contextlib.contextmanager
def fresh_layer_names():
    """Keras names layers ``dense``, ``dense_1``, ... from counters global to the process, and a weights
    file stores the names: within this block the counters start afresh (and are restored after it), so a
    model built here gets the same names, and its checkpoint the same bytes and digest, whatever the
    process built before (the driver's tenth model or a worker's first)."""
    from keras.src.backend.common import global_state  # the counters of keras.backend.get_uid

    saved = global_state.get_global_attribute("object_name_uids")
    global_state.set_global_attribute("object_name_uids", collections.defaultdict(int))
    try:
        yield
    finally:
        global_state.set_global_attribute("object_name_uids", saved)


def build_model(scenario: Scenario, num_classes: int, input_shape=(28, 28, 1),
                vocab_size: int | None = None, teacher_feature_dim: int | None = None) -> SemanticLink:
    """The built :class:`SemanticLink` of a (scheme-resolved) scenario (a text model if ``vocab_size``),
    with the same layer names in any process (:func:`fresh_layer_names`)."""
    with fresh_layer_names():
        model = SemanticLink(num_classes, scenario.model, scenario.phy, seed=scenario.training.seed,
                             vocab_size=vocab_size, teacher_feature_dim=teacher_feature_dim)
        return model.build_for(input_shape)


def build_model_for(scenario: Scenario, dataset, teacher_feature_dim: int | None = None) -> SemanticLink:
    """The built :class:`SemanticLink` for a :class:`~semcom_sim.data.Dataset` (image, text or features)."""
    vocab_size = len(dataset.vocabulary) if dataset.modality == "text" else None
    return build_model(scenario, dataset.num_classes, dataset.x_train.shape[1:], vocab_size, teacher_feature_dim)
