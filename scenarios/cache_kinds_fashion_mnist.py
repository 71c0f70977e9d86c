# Top-K against sampled teacher caches at equal bytes per sample, on Fashion-MNIST with the EfficientNet-Lite0
# teacher: paper A's student (`proposed`) distilled from a top-K cache (K = 1, 3, 5; 4 bytes per entry: an fp16
# value and an int16 index), from a sampled cache of the same size (m = 2, 6, 10 classes drawn from the
# teacher's distribution; 2 bytes per entry, one draw per sample) and from the full distribution (K = C = 10).
# Each trained with 100 % and 10 % of the training images (equal optimizer steps), three times (training.seed
# 0, 1, 2), all through the same TDL-A link with LS CSI and evaluated on the same draws: accuracy, calibration
# (the ece and nll columns) and the epoch time. Each cache is its own file under
# teacher_cache/ (the teacher runs once per cache, over the 60,000 training images; not committed; the top-3
# one is committed).
#   semcom-sim compare scenarios/cache_kinds_fashion_mnist.py --out docs/results/cache_kinds_fashion_mnist
from semcom_sim import Compare, Data, Model, Phy, Scenario, Sweep, Teacher, Training
from semcom_sim.schemes import cache_kind_schemes

SCHEMES = cache_kind_schemes((1, 3, 5), num_classes=10)  # top1, sampled2, ..., sampled10, full

scenario = Scenario(
    name="cache-kinds-fashion-mnist",
    data=Data(dataset="fashion-mnist"),
    model=Model(num_channel_uses=64, encoder_filters=(32, 64, 64), decoder_units=(256, 256)),
    phy=Phy(channel="TDL-A", delay_spread_ns=100.0, speed_mps=3.0, carrier_frequency_hz=3.5e9, csi="ls",
            snr_feedback_bits=4),
    training=Training(epochs=5, batch_size=128, learning_rate=1e-3, ebno_db_range=(-6.0, 18.0), beta=1e-3,
                      distillation="cached", kd_temperature=1.0, kd_lambda=0.5),
    teacher=Teacher(name="efficientnet-lite0", resolution=64),
    sweep=Sweep(ebno_db=(-6.0, 0.0, 6.0, 12.0, 18.0), ci_half_width=0.01, min_samples=2000, max_samples=10000,
                batch_size=1000),
    compare=Compare(schemes=tuple(s.name for s in SCHEMES), conditions=("TDL-A/ls",), seeds=(1, 2),
                    robustness_schemes=(), feedback_bits=(), feedback_delay_ms=(), length_schemes=(),
                    fraction_schemes=tuple(s.name for s in SCHEMES), data_fractions=(0.1, 1.0),
                    fraction_ebno_db=(0.0, 12.0), target_accuracy=0.85, target_ebno_db=10.0, monitor_samples=2000,
                    latency_runs=10),
    schemes=SCHEMES,
)
