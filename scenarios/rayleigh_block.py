# Fashion-MNIST over Rayleigh block fading (one CN(0, 1) gain per OFDM frame) with LS CSI and
# 3-bit SNR feedback: the adaptive module sees the instantaneous fading through the sounding frame.
from semcom_sim import Data, Phy, Scenario, Sweep, Training

scenario = Scenario(
    name="rayleigh-block",
    data=Data(dataset="fashion-mnist"),
    phy=Phy(channel="Rayleigh", csi="ls", interpolation="lin", snr_feedback_bits=3),
    training=Training(epochs=10, ebno_db_range=(-4.0, 24.0)),
    sweep=Sweep(ebno_db=tuple(range(-4, 25, 4)), ci_half_width=0.01, max_samples=10000,
                schemes=("proposed", "no-adaptive")),
)
