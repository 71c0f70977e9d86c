"""The channel-aware transformer (CAT) codec of RKD-SC: semantic vector <-> complex channel uses.

The paper names the codec and says it is trained over varied channel conditions with variable-length
output; its internals are not public (``docs/rkd_sc.md`` lists what we chose). Ours:

- **encoder** (:class:`CATEncoder`): the semantic vector [batch, D] is split into ``num_tokens`` tokens
  of width ``width`` by one dense map, plus a learned position embedding and an embedding of the side
  information (the fed-back SNR and ``L / n``, 1 at full length) added to every token; ``num_layers``
  pre-norm transformer layers (self-attention across the tokens of one sample, then a 2-layer MLP);
  each token is mapped linearly to ``2 n / num_tokens`` real features, i.e. ``n / num_tokens`` complex
  channel uses, token ``t`` carrying channel uses ``t n / T .. (t + 1) n / T - 1``. With nested
  lengths the link keeps the first ``L`` channel uses (a prefix of the tokens), and power is
  normalised over those in the PHY, as for every analog scheme;
- **decoder** (:class:`CATDecoder`): the mirror. The zero-filled received features are cut into the
  same tokens and mapped to ``width``; a token none of whose channel uses was sent is replaced by a
  learned mask token; position and side embeddings (the receiver's SNR estimates and ``L / n``) are
  added; ``num_layers`` transformer layers; one dense map of the flattened tokens back to [batch, D].
"""

from __future__ import annotations

import keras
from keras import ops

__all__ = ["CATDecoder", "CATEncoder", "TransformerLayer", "side_information"]


@keras.saving.register_keras_serializable(package="semcom_sim")
class TransformerLayer(keras.layers.Layer):
    """One pre-norm transformer layer over the tokens of each sample:
    ``x + MHA(LN(x))``, then ``x + MLP(LN(x))`` (GELU, hidden ``mlp_ratio * width``).

    Input: tokens [batch, num_tokens, width] float32. Output: the same shape.

    :param num_heads: attention heads (``width`` must be a multiple of it).
    :param mlp_ratio: hidden width of the MLP as a multiple of ``width``.
    """

    def __init__(self, num_heads: int = 4, mlp_ratio: float = 2.0, **kwargs):
        super().__init__(**kwargs)
        if int(num_heads) < 1 or float(mlp_ratio) <= 0:
            raise ValueError(f"TransformerLayer: num_heads must be >= 1 and mlp_ratio > 0, "
                             f"got {num_heads!r}, {mlp_ratio!r}")
        self.num_heads = int(num_heads)
        self.mlp_ratio = float(mlp_ratio)

    def build(self, tokens_shape):
        width = int(tokens_shape[-1])
        if width % self.num_heads:
            raise ValueError(f"TransformerLayer: width {width} is not a multiple of num_heads={self.num_heads}")
        self.norm_attention = keras.layers.LayerNormalization(epsilon=1e-5)
        self.attention = keras.layers.MultiHeadAttention(self.num_heads, width // self.num_heads)
        self.norm_mlp = keras.layers.LayerNormalization(epsilon=1e-5)
        self.mlp_hidden = keras.layers.Dense(max(1, int(round(self.mlp_ratio * width))), activation="gelu")
        self.mlp_out = keras.layers.Dense(width)
        self.norm_attention.build(tokens_shape)
        self.attention.build(tokens_shape, tokens_shape)
        self.norm_mlp.build(tokens_shape)
        self.mlp_hidden.build(tokens_shape)
        self.mlp_out.build(tuple(tokens_shape[:-1]) + (self.mlp_hidden.units,))

    def call(self, tokens):
        h = self.norm_attention(tokens)
        tokens = tokens + self.attention(h, h)
        return tokens + self.mlp_out(self.mlp_hidden(self.norm_mlp(tokens)))

    def compute_output_shape(self, tokens_shape):
        return tokens_shape

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "mlp_ratio": self.mlp_ratio}


def side_information(snr_db, length, num_channel_uses: int, snr_scale_db: float):
    """What a channel codec knows besides the signal, [batch, S + 1] float32: the SNRs ``snr_db``
    [batch, S] (dB) scaled by ``snr_scale_db``, and ``L / n`` (1 when ``length`` is ``None``)."""
    if length is None:
        fraction = ops.ones_like(snr_db[:, :1])
    else:
        fraction = ops.cast(length, "float32")[:, None] / float(num_channel_uses)
    return ops.concatenate([snr_db / snr_scale_db, fraction], axis=-1)


class _CATBase(keras.layers.Layer):
    """What the CAT encoder and decoder share: the token geometry, the side-information embedding, the
    position embedding and the transformer stack. Subclasses implement :meth:`call`."""

    def __init__(self, num_channel_uses: int, num_tokens: int = 16, width: int = 32, num_layers: int = 2,
                 num_heads: int = 4, snr_scale_db: float = 10.0, **kwargs):
        super().__init__(**kwargs)
        sizes = (int(num_channel_uses), int(num_tokens), int(width), int(num_layers))
        if min(sizes) < 1 or num_channel_uses % num_tokens:
            raise ValueError(f"{type(self).__name__}: num_tokens={num_tokens!r} must divide num_channel_uses="
                             f"{num_channel_uses!r} (both, width and num_layers >= 1)")
        self.num_channel_uses = int(num_channel_uses)
        self.num_tokens = int(num_tokens)
        self.width = int(width)
        self.num_layers = int(num_layers)
        self.num_heads = int(num_heads)
        self.snr_scale_db = float(snr_scale_db)

    @property
    def features_per_token(self) -> int:
        """Real features a token carries: ``2 n / num_tokens``."""
        return 2 * self.num_channel_uses // self.num_tokens

    def _build_shared(self, snr_db_shape):
        tokens = (None, self.num_tokens, self.width)
        self.position = self.add_weight(shape=(self.num_tokens, self.width), name="position",
                                        initializer=keras.initializers.RandomNormal(stddev=0.02))
        self.side_hidden = keras.layers.Dense(self.width, activation="gelu", name="side_hidden")
        self.side_embedding = keras.layers.Dense(self.width, name="side_embedding")
        self.side_hidden.build((None, int(snr_db_shape[-1]) + 1))
        self.side_embedding.build((None, self.width))
        self.blocks = [TransformerLayer(self.num_heads, name=f"layer_{i}") for i in range(self.num_layers)]
        for block in self.blocks:
            block.build(tokens)
        self.norm_out = keras.layers.LayerNormalization(epsilon=1e-5, name="norm_out")
        self.norm_out.build(tokens)

    def _side(self, snr_db, length):
        return side_information(snr_db, length, self.num_channel_uses, self.snr_scale_db)

    def _transform(self, tokens, side):
        """Adds the position and side embeddings and runs the transformer stack."""
        tokens = tokens + self.position[None] + self.side_embedding(self.side_hidden(side))[:, None, :]
        for block in self.blocks:
            tokens = block(tokens)
        return self.norm_out(tokens)

    def get_config(self):
        return {**super().get_config(), "num_channel_uses": self.num_channel_uses, "num_tokens": self.num_tokens,
                "width": self.width, "num_layers": self.num_layers, "num_heads": self.num_heads,
                "snr_scale_db": self.snr_scale_db}


@keras.saving.register_keras_serializable(package="semcom_sim")
class CATEncoder(_CATBase):
    """The transmitter half of the CAT codec: semantic vector + side information -> real features of the
    ``n`` complex channel uses (pairs ``(2i, 2i+1)`` are channel use ``i``; tokens in channel-use order).

    Input: ``features`` [batch, D] float32, ``snr_db`` [batch, S] float32 (the fed-back SNR in dB) and
    ``length`` [batch] float32 or ``None`` (nested lengths: the channel uses to be sent, seen as ``L / n``;
    ``None``: all ``n``).
    Output: [batch, 2 n] float32 (unnormalised: the PHY normalises power over the sent symbols).

    :param num_channel_uses: ``n``, complex channel uses of the full length.
    :param num_tokens: tokens ``T`` (must divide ``n``); each carries ``n / T`` channel uses.
    :param width: token width.
    :param num_layers: transformer layers.
    :param num_heads: attention heads per layer.
    :param snr_scale_db: SNRs enter as ``snr_db / snr_scale_db``.
    """

    def build(self, features_shape, snr_db_shape, length_shape=None):
        self._build_shared(snr_db_shape)
        self.to_tokens = keras.layers.Dense(self.num_tokens * self.width, name="to_tokens")
        self.to_tokens.build((None, int(features_shape[-1])))
        self.to_symbols = keras.layers.Dense(self.features_per_token, name="to_symbols")
        self.to_symbols.build((None, self.num_tokens, self.width))

    def call(self, features, snr_db, length=None):
        tokens = ops.reshape(self.to_tokens(features), (-1, self.num_tokens, self.width))
        out = self.to_symbols(self._transform(tokens, self._side(snr_db, length)))
        return ops.reshape(out, (-1, 2 * self.num_channel_uses))

    def compute_output_shape(self, features_shape, snr_db_shape, length_shape=None):
        return (features_shape[0], 2 * self.num_channel_uses)


@keras.saving.register_keras_serializable(package="semcom_sim")
class CATDecoder(_CATBase):
    """The receiver half of the CAT codec: received real features (zero-filled after the sent length)
    + side information -> the semantic vector.

    Input: ``received`` [batch, 2 n] float32, ``snr_db`` [batch, S] float32 (the receiver's SNR
    estimates in dB) and ``length`` [batch] float32 or ``None`` (channel uses sent, seen as ``L / n``;
    ``None``: all ``n``). A token none of whose channel uses was sent is
    replaced by a learned mask token.
    Output: [batch, output_dim] float32.

    :param output_dim: ``D``, size of the semantic vector to rebuild.
    (The other parameters as :class:`CATEncoder`.)
    """

    def __init__(self, num_channel_uses: int, output_dim: int, **kwargs):
        super().__init__(num_channel_uses, **kwargs)
        if int(output_dim) < 1:
            raise ValueError(f"CATDecoder: output_dim must be >= 1, got {output_dim!r}")
        self.output_dim = int(output_dim)

    def build(self, received_shape, snr_db_shape, length_shape=None):
        self._build_shared(snr_db_shape)
        self.from_symbols = keras.layers.Dense(self.width, name="from_symbols")
        self.from_symbols.build((None, self.num_tokens, self.features_per_token))
        self.mask_token = self.add_weight(shape=(self.width,), name="mask_token",
                                          initializer=keras.initializers.RandomNormal(stddev=0.02))
        self.to_features = keras.layers.Dense(self.output_dim, name="to_features")
        self.to_features.build((None, self.num_tokens * self.width))

    def call(self, received, snr_db, length=None):
        tokens = self.from_symbols(ops.reshape(received, (-1, self.num_tokens, self.features_per_token)))
        if length is not None:
            first_use = ops.arange(self.num_tokens, dtype="float32") * (self.num_channel_uses / self.num_tokens)
            sent = ops.cast(first_use[None, :] < ops.cast(length, "float32")[:, None], tokens.dtype)[:, :, None]
            tokens = sent * tokens + (1.0 - sent) * self.mask_token[None, None, :]
        tokens = self._transform(tokens, self._side(snr_db, length))
        return self.to_features(ops.reshape(tokens, (-1, self.num_tokens * self.width)))

    def compute_output_shape(self, received_shape, snr_db_shape, length_shape=None):
        return (received_shape[0], self.output_dim)

    def get_config(self):
        return {**super().get_config(), "output_dim": self.output_dim}
