# Every scheme of the comparison on Fashion-MNIST (60k/10k), through the same OFDM link with 64
# complex channel uses per image: accuracy vs Eb/N0 under AWGN, Rayleigh block fading, TDL-A and
# CDL-C with perfect and LS CSI; model size/FLOPs/latency against the EfficientNet-Lite0 teacher;
# time to a target accuracy for cached vs online KD; accuracy vs training-data fraction; SNR
# feedback with 2/4/8 bits and stale feedback. Trained under TDL-A with LS CSI, three times per scheme
# (training.seed 0, 1, 2). Paper A's schemes and paper B's (RKD-SC with the encoder that semcom-sim search
# found in docs/results/search_fashion_mnist/search, and its three ablations), through the same link and
# channel uses. The RKD-SC schemes need the teacher's features:
# their cache (teacher_cache/fashion-mnist-efficientnet-lite0-top3-features128.h5,
# the 1280-d features projected onto their first 128 principal components, about 13 MB, not committed)
# is built on the first run (the committed teacher runs once over the 60k training images, about 2 min).
# Sized for a CPU (its run.json records the measured time per stage):
#   semcom-sim compare scenarios/compare_fashion_mnist.py --out docs/results/compare_fashion_mnist
from semcom_sim import Compare, Data, Model, Phy, Scenario, Search, Sweep, Teacher, Training
from semcom_sim.scenario import COMPARE_SCHEMES

RKD_SC = ("rkd-sc", "rkd-sc-handcrafted", "rkd-sc-one-stage", "rkd-sc-dense-codec")

scenario = Scenario(
    name="compare-fashion-mnist",
    data=Data(dataset="fashion-mnist"),
    model=Model(num_channel_uses=64, encoder_filters=(32, 64, 64), decoder_units=(256, 256)),
    phy=Phy(channel="TDL-A", delay_spread_ns=100.0, speed_mps=3.0, carrier_frequency_hz=3.5e9, csi="ls",
            snr_feedback_bits=4),
    training=Training(epochs=5, batch_size=128, learning_rate=1e-3, ebno_db_range=(-6.0, 18.0), beta=1e-3,
                      distillation="cached", kd_temperature=1.0, kd_lambda=0.5),
    teacher=Teacher(name="efficientnet-lite0", top_k=3, resolution=64, feature_dim=128),
    sweep=Sweep(ebno_db=(-6.0, -2.0, 2.0, 6.0, 10.0, 16.0), ci_half_width=0.01, min_samples=2000,
                max_samples=10000, batch_size=1000),
    compare=Compare(feedback_bits=(2, 4, 8), feedback_delay_ms=(5.0, 20.0),
                    data_fractions=(0.1, 0.2, 0.5, 1.0), fraction_ebno_db=(0.0, 12.0),
                    target_accuracy=0.85, target_ebno_db=10.0, monitor_samples=2000, latency_runs=50, seeds=(1, 2),
                    schemes=COMPARE_SCHEMES + RKD_SC, robustness_schemes=("proposed", "adaptive-length", "rkd-sc"),
                    length_schemes=("adaptive-length",) + RKD_SC),
    search=Search(genotype="docs/results/search_fashion_mnist/search/genotype.json"),
)
