# CIFAR-10 (32 x 32 RGB, 10 classes, 50k/10k) over a 3GPP TDL-A channel with pilot-based LS channel
# estimation: the quickstart's link with CIFAR-10's colour images, with and without the adaptive module.
# The archive is not shipped: download cifar-10-python.tar.gz (the "python version",
# https://www.cs.toronto.edu/~kriz/cifar.html) and put it, or its extracted folder cifar-10-batches-py/,
# in data/ under the directory you run from (or in $SEMCOM_DATA, or pass --set data.data_dir=DIR); then
#   semcom-sim run scenarios/cifar10.py --out runs/cifar10
# Without the archive the command stops with one line that says where it looked. Sized for a CPU
# (a 20k-image training subset, 10 epochs); not timed here: the development machine has no archive.
from semcom_sim import Data, Model, Phy, Scenario, Sweep, Training

scenario = Scenario(
    name="cifar10",
    data=Data(dataset="cifar10", num_train=20000),
    model=Model(num_channel_uses=64, encoder_filters=(32, 64, 128), decoder_units=(256, 256), adaptive=True),
    phy=Phy(channel="TDL-A", delay_spread_ns=100.0, speed_mps=3.0, carrier_frequency_hz=3.5e9,
            fft_size=72, num_ofdm_symbols=14, subcarrier_spacing_hz=30e3, cyclic_prefix_length=6,
            num_guard_carriers=(5, 6), dc_null=True, pilot_ofdm_symbol_indices=(2, 11),
            csi="ls", interpolation="lin", snr_estimator="pilots", snr_feedback_bits=4),
    training=Training(epochs=10, batch_size=128, learning_rate=1e-3, ebno_db_range=(-6.0, 18.0), beta=1e-3),
    sweep=Sweep(ebno_db=tuple(range(-6, 19, 3)), ci_half_width=0.01, min_samples=2000, max_samples=10000,
                batch_size=1000, schemes=("proposed", "no-adaptive")),
)
