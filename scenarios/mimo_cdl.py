# Multi-antenna links on Fashion-MNIST: paper A's student (`proposed`) and its nested-length variant
# (`adaptive-length`) over the uplink of CDL-C with LS CSI, each trained on its own link: 1x1, 1x4 (receive
# diversity), 2x4 with one stream (eigen-beamforming from the sounded channel: transmit and receive diversity)
# and 2x4 with two streams (spatial multiplexing: a sample in half the resource elements). The base station
# has a linear array of 38.901 elements spaced half a wavelength, the terminal omni elements; 64 complex
# channel uses per image at every configuration. Beside them the digital references over each configuration:
# LDPC + 16-QAM with LMMSE detection (`digital`) and 5G NR PUSCH at MCS 13 (`pusch`; codebook precoding with TPMI 0
# where the terminal has more antenna ports than layers).
# Accuracy vs Eb/N0 and the channel uses each sample takes; three trainings per scheme (training.seed 0, 1, 2),
# paired draws at every point.
#   semcom-sim compare scenarios/mimo_cdl.py --out docs/results/mimo_cdl
from semcom_sim import Compare, Data, Model, Phy, Scenario, Sweep, Teacher, Training
from semcom_sim.schemes import antenna_schemes

ARRAYS = {
    "1x1": {},
    "1x4": {"num_bs_ant": 4},
    "2x4-1": {"num_ut_ant": 2, "num_bs_ant": 4, "precoding": "svd"},
    "2x4-2": {"num_ut_ant": 2, "num_bs_ant": 4, "num_streams": 2},
}
SCHEMES = antenna_schemes(("proposed", "adaptive-length", "digital", "pusch"), ARRAYS)

scenario = Scenario(
    name="mimo-cdl",
    data=Data(dataset="fashion-mnist"),
    model=Model(num_channel_uses=64, encoder_filters=(32, 64, 64), decoder_units=(256, 256)),
    phy=Phy(channel="CDL-C", delay_spread_ns=100.0, speed_mps=3.0, carrier_frequency_hz=3.5e9, csi="ls",
            snr_feedback_bits=4, direction="uplink", bs_antenna_pattern="38.901"),
    training=Training(epochs=5, batch_size=128, learning_rate=1e-3, ebno_db_range=(-6.0, 18.0), beta=1e-3,
                      distillation="cached", kd_temperature=1.0, kd_lambda=0.5),
    teacher=Teacher(name="efficientnet-lite0", top_k=3, resolution=64),
    sweep=Sweep(ebno_db=(-6.0, -2.0, 2.0, 6.0, 10.0, 16.0), ci_half_width=0.01, min_samples=2000,
                max_samples=10000, batch_size=1000),
    compare=Compare(schemes=tuple(s.name for s in SCHEMES), conditions=("CDL-C/ls",), seeds=(1, 2),
                    robustness_schemes=(), feedback_bits=(), feedback_delay_ms=(), fraction_schemes=(),
                    length_schemes=tuple(s.name for s in SCHEMES if s.name.startswith("adaptive-length")),
                    target_accuracy=0.85, target_ebno_db=10.0, monitor_samples=2000, latency_runs=10),
    schemes=SCHEMES,
)
