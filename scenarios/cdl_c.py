# Fashion-MNIST over 3GPP CDL-C (SISO, omni antennas, downlink), 300 ns delay spread, 10 m/s,
# LS CSI with linear interpolation, 4-bit SNR feedback that is 1 ms stale.
from semcom_sim import Data, Phy, Scenario, Sweep, Training

scenario = Scenario(
    name="cdl-c",
    data=Data(dataset="fashion-mnist"),
    phy=Phy(channel="CDL-C", delay_spread_ns=300.0, speed_mps=10.0, direction="downlink", csi="ls",
            interpolation="lin", snr_feedback_bits=4, snr_feedback_delay_ms=1.0),
    training=Training(epochs=10, ebno_db_range=(-4.0, 20.0)),
    sweep=Sweep(ebno_db=tuple(range(-4, 21, 3)), ci_half_width=0.01, max_samples=10000,
                schemes=("proposed", "no-adaptive")),
)
