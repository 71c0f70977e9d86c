# Your own encoder backbone and your own scheme, in one scenario file.
#
# The backbone below is a plain Keras layer, registered under "custom_encoder>SeparableBackbone";
# `model.backbone` names it and `model.backbone_config` holds its constructor arguments (both are part
# of the checkpoint fingerprint). semcom-sim puts it in front of its Gaussian head, so the adaptive
# module, the Sionna link and the decoder stay the same. The scheme "wide-decoder" is a patch of
# scenario fields, named in `sweep.schemes` and `compare.schemes` like the built-in schemes.
#
#   semcom-sim run scenarios/custom_encoder.py        # train both schemes, sweep, plot (a few minutes)
#   semcom-sim compare scenarios/custom_encoder.py    # the compare section below
import keras
from keras import ops

from semcom_sim import Compare, Data, Model, Phy, Scenario, Scheme, Sweep, Training


@keras.saving.register_keras_serializable(package="custom_encoder")
class SeparableBackbone(keras.layers.Layer):
    """Depthwise-separable 3x3 convolutions with stride 2, each followed by layer norm and ReLU, then
    global average pooling: images [batch, H, W, C] -> features [batch, filters[-1]]."""

    def __init__(self, filters=(32, 64), **kwargs):
        super().__init__(**kwargs)
        self.filters = tuple(int(f) for f in filters)
        self.convs = [keras.layers.SeparableConv2D(f, 3, strides=2, padding="same") for f in self.filters]
        self.norms = [keras.layers.LayerNormalization() for _ in self.filters]

    def build(self, images_shape):
        shape = tuple(images_shape)
        for conv, norm in zip(self.convs, self.norms):
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            norm.build(shape)

    def call(self, images, training=False):
        h = images
        for conv, norm in zip(self.convs, self.norms):
            h = ops.relu(norm(conv(h)))
        return ops.mean(h, axis=(1, 2))

    def compute_output_shape(self, images_shape):
        return (images_shape[0], self.filters[-1])

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


scenario = Scenario(
    name="custom-encoder",
    data=Data(dataset="fashion-mnist"),
    model=Model(num_channel_uses=64, backbone="custom_encoder>SeparableBackbone",
                backbone_config={"filters": [32, 64]}, decoder_units=(256, 256)),
    phy=Phy(channel="TDL-A", delay_spread_ns=100.0, speed_mps=3.0, csi="ls", snr_feedback_bits=4),
    schemes=(Scheme("wide-decoder", {"model.decoder_units": (512, 512)},
                    description="the same encoder with a decoder twice as wide"),),
    training=Training(epochs=5, batch_size=128, ebno_db_range=(-6.0, 18.0)),
    sweep=Sweep(ebno_db=(-6.0, 0.0, 6.0, 12.0, 18.0), ci_half_width=0.01, min_samples=2000, max_samples=10000,
                schemes=("proposed", "wide-decoder")),
    compare=Compare(schemes=("proposed", "no-adaptive", "wide-decoder"), conditions=("TDL-A/ls", "AWGN/perfect"),
                    robustness_schemes=("proposed",), feedback_bits=(2, 8), feedback_delay_ms=(),
                    fraction_schemes=("proposed",), data_fractions=(0.5, 1.0), fraction_ebno_db=(12.0,)),
)
