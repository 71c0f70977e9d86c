# A tiny end-to-end run on synthetic data (what the tests run): seconds, not minutes.
from semcom_sim import Data, Model, Phy, Scenario, Sweep, Training

scenario = Scenario(
    name="tiny-synthetic",
    data=Data(dataset="synthetic", num_train=1024, num_test=256),
    model=Model(num_channel_uses=32, encoder_filters=(8, 16), decoder_units=(32,)),
    phy=Phy(channel="TDL-A", csi="ls", fft_size=36, num_guard_carriers=(2, 3), num_ofdm_symbols=7,
            pilot_ofdm_symbol_indices=(2,)),
    training=Training(epochs=15, batch_size=64, learning_rate=3e-3, ebno_db_range=(0.0, 15.0)),
    sweep=Sweep(ebno_db=(0.0, 10.0), ci_half_width=0.05, min_samples=256, max_samples=512, batch_size=128,
                schemes=("proposed", "no-adaptive")),
)
