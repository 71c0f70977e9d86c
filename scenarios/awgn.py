# Fashion-MNIST over AWGN (h = 1) with perfect CSI: the reference curve.
from semcom_sim import Data, Phy, Scenario, Sweep, Training

scenario = Scenario(
    name="awgn",
    data=Data(dataset="fashion-mnist"),
    phy=Phy(channel="AWGN", csi="perfect", snr_estimator="pilots"),
    training=Training(epochs=10, ebno_db_range=(-8.0, 12.0)),
    sweep=Sweep(ebno_db=tuple(range(-8, 13, 2)), ci_half_width=0.01, max_samples=10000,
                schemes=("proposed", "no-adaptive")),
)
