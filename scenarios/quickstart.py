# Quickstart: Fashion-MNIST over a 3GPP TDL-A channel with pilot-based LS channel estimation.
# Trains the semantic link with and without the channel-adaptive module, then sweeps task
# accuracy over Eb/N0. About 5 minutes on a 2-core CPU:  semcom-sim run scenarios/quickstart.py
from semcom_sim import Data, Model, Phy, Scenario, Sweep, Training

scenario = Scenario(
    name="quickstart",
    data=Data(dataset="fashion-mnist"),
    model=Model(num_channel_uses=64, encoder_filters=(32, 64, 64), decoder_units=(256, 256), adaptive=True),
    phy=Phy(channel="TDL-A", delay_spread_ns=100.0, speed_mps=3.0, carrier_frequency_hz=3.5e9,
            fft_size=72, num_ofdm_symbols=14, subcarrier_spacing_hz=30e3, cyclic_prefix_length=6,
            num_guard_carriers=(5, 6), dc_null=True, pilot_ofdm_symbol_indices=(2, 11),
            csi="ls", interpolation="lin", snr_estimator="pilots", snr_feedback_bits=4),
    training=Training(epochs=10, batch_size=128, learning_rate=1e-3, ebno_db_range=(-6.0, 18.0), beta=1e-3),
    sweep=Sweep(ebno_db=tuple(range(-6, 19, 3)), ci_half_width=0.01, min_samples=2000, max_samples=10000,
                batch_size=1000, schemes=("proposed", "no-adaptive")),
)
