# The reduced comparison that CI runs (tests/e2e/test_compare.py): every scheme and every axis of
# `semcom-sim compare` on 1,000 Fashion-MNIST training images with the committed EfficientNet-Lite0 teacher,
# two conditions, two Eb/N0 points and two epochs. The teacher cache of this subset is built on the
# first run (the teacher runs once over the 1,000 training images). A few minutes on a 2-core CPU (XLA
# compilation is much of it: the test runs it with training.jit_compile=false and one batch per point):
#   semcom-sim compare scenarios/compare_tiny.py --out runs/compare-tiny
from semcom_sim import Compare, Data, Model, Phy, Scenario, Scheme, Sweep, Teacher, Training

scenario = Scenario(
    name="compare-tiny",
    data=Data(dataset="fashion-mnist", num_train=1000, num_test=500),
    model=Model(num_channel_uses=64, encoder_filters=(8, 16), decoder_units=(64,)),
    phy=Phy(channel="TDL-A", delay_spread_ns=100.0, speed_mps=3.0, csi="ls", snr_feedback_bits=4),
    training=Training(epochs=2, batch_size=100, learning_rate=3e-3, ebno_db_range=(-2.0, 16.0),
                      distillation="cached"),
    teacher=Teacher(name="efficientnet-lite0", top_k=3, resolution=64,
                    cache_path="runs/compare-tiny/teacher_cache/{dataset}-{name}-top{top_k}.h5"),
    sweep=Sweep(ebno_db=(0.0, 12.0), ci_half_width=0.05, min_samples=200, max_samples=400, batch_size=200),
    compare=Compare(conditions=("AWGN/perfect", "TDL-A/ls"), feedback_bits=(2, 8),
                    feedback_delay_ms=(20.0,), data_fractions=(0.5, 1.0), fraction_ebno_db=(12.0,),
                    target_accuracy=0.5, monitor_samples=200, latency_runs=5,
                    mismatch_ebno_db=(0.0, 12.0), adaptation_samples=200),
    # built-in schemes, changed for this size: online KD for one epoch; four nested lengths, their policy fitted on
    # 300 held-out training images every 3 dB
    schemes=(Scheme("online-kd", {"training.epochs": 1}),
             Scheme("adaptive-length", {"model.lengths": (8, 16, 32, 64), "model.policy_ebno_step_db": 3.0,
                                        "training.validation_samples": 300})),
)
