"""The end-to-end semantic link: encoder -> channel-adaptive module -> Sionna PHY -> decoder."""

from __future__ import annotations

import dataclasses

import keras
from keras import ops

from semcom_sim.phy import AnalogLink
from semcom_sim.phy.digital import DigitalLink
from semcom_sim.scenario import Model, Phy, Scenario, ScenarioError
from semcom_sim.semantic import (
    ChannelAdaptiveModule,
    FeatureEncoder,
    GaussianSampler,
    SemanticDecoder,
    SemanticEncoder,
    TextEncoder,
    gaussian_kl,
)
from semcom_sim.semantic.quantizer import UniformQuantizer, bits_to_features, features_to_bits


def digital_num_features(model: Model, phy: Phy) -> int:
    """Features per sample of the digital link: the information bits that ``model.num_channel_uses``
    QAM symbols carry at ``phy.coderate``, divided by ``model.quant_bits``."""
    bits = int(model.num_channel_uses * phy.bits_per_symbol * phy.coderate + 1e-9)
    if bits < model.quant_bits:
        raise ScenarioError(f"model.quant_bits: {model.quant_bits} bits per feature exceed the {bits} information "
                         "bits per sample of the digital link")
    return bits // model.quant_bits


@keras.saving.register_keras_serializable(package="semcom_sim")
class SemanticLink(keras.Model):
    """Task-oriented semantic transceiver around the OFDM link of ``phy``.

    Causal order inside :meth:`call`: the channel of the frame is drawn; the transmitter learns an
    SNR estimate from a sounding frame (quantised, possibly stale feedback); the encoder maps each
    image to a Gaussian latent; the adaptive module re-weights it with that SNR; the PHY normalises,
    maps to OFDM frames, sends them through channel + noise, estimates CSI and equalises; the decoder
    classifies from the received features and the receiver's own SNR estimates.

    Input: ``(inputs, ebno_db)``: images [batch, 28, 28, 1] float32 (or, with ``vocab_size`` set,
    token ids [batch, max_len] int32; with ``model.source="teacher-features"``, teacher features
    [batch, D] float32); ``ebno_db`` in dB, a scalar or one value per frame
    [num_frames(batch)] float32.
    Output: dict of ``logits`` [batch, num_classes], ``kl`` [batch] (nats), and per sample [batch]:
    ``snr_tx_db`` (known at the transmitter), ``snr_hat_db`` (receiver's pilot estimate),
    ``snr_eff_db`` (after LMMSE), ``snr_true_db`` (genie, diagnostics only), ``no`` (N0 per sample).

    :param num_classes: classes of the task.
    :param model: the ``model`` section of a scenario (a :class:`Model` or its dict).
    :param phy: the ``phy`` section of a scenario (a :class:`Phy` or its dict).
    :param seed: seed of the encoder's sampling noise.
    :param vocab_size: ``None`` for images; for text, the number of token ids (a :class:`TextEncoder`).
    :param teacher_feature_dim: size of the teacher's feature vector for feature-level KD: adds a
        linear projection of the encoder's mean and the output ``projected_features`` [batch, dim]
        (training only; not part of the transmitted signal).

    With ``model.transmission="digital"`` the link is :class:`~semcom_sim.phy.digital.DigitalLink`
    (see :meth:`_digital`); the SNR outputs of the receiver are then only diagnostics.
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
        self.digital = m.transmission == "digital"
        latent_dim = self.latent_dim
        if m.source == "teacher-features":
            self.encoder = FeatureEncoder(latent_dim, m.feature_encoder_units, name="encoder")
        elif vocab_size is None:
            self.encoder = SemanticEncoder(latent_dim, m.encoder_filters, name="encoder")
        else:
            self.encoder = TextEncoder(latent_dim, vocab_size, m.embedding_dim, m.encoder_filters, name="encoder")
        self.sampler = GaussianSampler(seed=seed, name="sampler")
        self.adaptive = ChannelAdaptiveModule(m.adaptive_hidden_ratio, name="adaptive") if m.adaptive else None
        self.decoder = SemanticDecoder(num_classes, m.decoder_units, name="decoder")
        if self.digital:
            self.quantizer = UniformQuantizer(m.quant_bits, name="quantizer")
            self.link = DigitalLink(self.phy_cfg, latent_dim * m.quant_bits, self.phy_cfg.ldpc_iterations)
        else:
            self.quantizer = None
            self.link = AnalogLink(self.phy_cfg, m.num_channel_uses)

    @property
    def latent_dim(self) -> int:
        """Real features per sample: ``2 * num_channel_uses`` (analog), or what the digital link's bits allow."""
        if self.model_cfg.transmission == "digital":
            return digital_num_features(self.model_cfg, self.phy_cfg)
        return 2 * self.model_cfg.num_channel_uses

    def build(self, input_shape):
        images_shape = tuple(input_shape[0])
        latent_dim = self.latent_dim
        self.encoder.build(images_shape)
        if self.adaptive is not None:
            self.adaptive.build((None, latent_dim), (None, 1))
        self.decoder.build((None, latent_dim), (None, 2))
        if self.feature_head is not None:
            self.feature_head.build((None, latent_dim))

    def parts(self) -> dict[str, keras.layers.Layer]:
        """The named parts with weights (what a training stage can train or freeze): ``encoder``,
        ``adaptive`` (if on), ``decoder`` and ``feature_head`` (with feature-level KD)."""
        named = {"encoder": self.encoder, "adaptive": self.adaptive, "decoder": self.decoder,
                 "feature_head": self.feature_head}
        return {name: layer for name, layer in named.items() if layer is not None}

    def num_frames(self, batch_size: int) -> int:
        """OFDM frames that a batch of ``batch_size`` samples occupies."""
        return self.link.num_frames(batch_size)

    def call(self, inputs, training=False):
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
        extra = {"projected_features": self.feature_head(mu)} if self.feature_head is not None else {}
        if self.digital:
            return {**self._digital(z, no, batch, num_frames, training), "kl": kl, **extra}

        h, h_sound = self.link.draw_channel(num_frames)
        snr_tx_db = self.link.sound(h_sound, no, batch)
        if self.adaptive is not None:
            z = self.adaptive(z, snr_tx_db[:, None])
        rx = self.link.transmit(z, h, no)
        snr_rx_db = ops.stack([rx.snr_hat_db, rx.snr_eff_db], axis=-1)
        logits = self.decoder(rx.features, snr_rx_db)
        return {"logits": logits, "kl": kl, "snr_tx_db": snr_tx_db, "snr_hat_db": rx.snr_hat_db,
                "snr_eff_db": rx.snr_eff_db, "snr_true_db": rx.snr_true_db,
                "no": self.link.demapper.frame_values(no, batch), **extra}

    def _digital(self, z, no, batch: int, num_frames: int, training: bool) -> dict:
        """Separation baseline: tanh -> uniform quantiser -> bits -> LDPC/QAM/OFDM -> bits -> decoder.

        While training, the bit pipe is error-free (the source code is learned apart from the channel
        code, as a separation design does); at evaluation the bits cross the digital link. The decoder
        gets no SNR (zeros): after channel decoding the bits carry no soft reliability.
        """
        quantised = self.quantizer(ops.tanh(z))
        no_per_sample = ops.repeat(no, self.link.samples_per_frame)[:batch]
        zeros = ops.zeros((batch,), "float32")
        snr = {"snr_tx_db": zeros, "snr_hat_db": zeros, "snr_eff_db": zeros, "snr_true_db": zeros}
        if not training:
            h, h_sound = self.link.draw_channel(num_frames)
            snr["snr_tx_db"] = self.link.sound(h_sound, no, batch)
            rx = self.link.transmit(features_to_bits(quantised, self.model_cfg.quant_bits), h, no)
            quantised = bits_to_features(rx.bits, self.model_cfg.quant_bits)
            snr.update(snr_hat_db=rx.snr_hat_db, snr_true_db=rx.snr_true_db)
        logits = self.decoder(quantised, ops.zeros((batch, 2), "float32"))
        return {"logits": logits, **snr, "no": no_per_sample}

    def build_for(self, image_shape: tuple[int, ...]) -> SemanticLink:
        """Creates the weights for images of ``image_shape`` (needed before loading weights)."""
        self.build(((None,) + tuple(image_shape), ()))
        return self

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "model": dataclasses.asdict(self.model_cfg), "phy": dataclasses.asdict(self.phy_cfg),
                "seed": self.seed, "vocab_size": self.vocab_size, "teacher_feature_dim": self.teacher_feature_dim}


def build_model(scenario: Scenario, num_classes: int, input_shape=(28, 28, 1),
                vocab_size: int | None = None, teacher_feature_dim: int | None = None) -> SemanticLink:
    """The built :class:`SemanticLink` of a (scheme-resolved) scenario (a text model if ``vocab_size``)."""
    model = SemanticLink(num_classes, scenario.model, scenario.phy, seed=scenario.training.seed,
                         vocab_size=vocab_size, teacher_feature_dim=teacher_feature_dim)
    return model.build_for(input_shape)


def build_model_for(scenario: Scenario, dataset, teacher_feature_dim: int | None = None) -> SemanticLink:
    """The built :class:`SemanticLink` for a :class:`~semcom_sim.data.Dataset` (image, text or features)."""
    vocab_size = len(dataset.vocabulary) if dataset.modality == "text" else None
    return build_model(scenario, dataset.num_classes, dataset.x_train.shape[1:], vocab_size, teacher_feature_dim)
