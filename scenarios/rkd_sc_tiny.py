# The reduced RKD-SC pipeline that CI runs (tests/e2e/test_rkd_sc_notebook.py, notebooks/03_rkd_sc.ipynb) on 1,000
# Fashion-MNIST images with the committed EfficientNet-Lite0 teacher: a tiny KDL-DARTS search, then a
# comparison of rkd-sc (the searched encoder) and rkd-sc-handcrafted through AWGN with perfect CSI, with
# the fixed-length references and the adaptation studies of the nested lengths. The teacher cache of this
# subset, with the teacher's 1280-d features, is built on the first run (the teacher runs once over the
# 1,000 training images); search.genotype is not set, so the search runs first, into the run directory's
# search/ (a rerun reuses it):
#   semcom-sim compare scenarios/rkd_sc_tiny.py --out runs/rkd-sc-tiny
from semcom_sim import Compare, Data, Model, Phy, Scenario, Scheme, Search, Sweep, Teacher, Training

NESTED = {"model.lengths": (4, 8, 16, 32), "model.policy_ebno_step_db": 6.0, "training.validation_samples": 300}

scenario = Scenario(
    name="rkd-sc-tiny",
    data=Data(dataset="fashion-mnist", num_train=1000, num_test=500),
    model=Model(num_channel_uses=32, encoder_filters=(8, 16), decoder_units=(64,), semantic_dim=32, cat_tokens=8,
                cat_width=16, cat_layers=1, cat_heads=2),
    phy=Phy(channel="AWGN", csi="perfect", snr_feedback_bits=4),
    training=Training(epochs=1, batch_size=100, learning_rate=3e-3, ebno_db_range=(-2.0, 16.0),
                      distillation="cached"),
    teacher=Teacher(name="efficientnet-lite0", top_k=3, resolution=64, store_features=True,
                    cache_path="runs/rkd-sc-tiny/teacher_cache/{dataset}-{name}-top{top_k}{features}.h5"),
    sweep=Sweep(ebno_db=(0.0, 12.0), ci_half_width=0.05, min_samples=200, max_samples=400, batch_size=200),
    compare=Compare(schemes=("rkd-sc", "rkd-sc-handcrafted"), conditions=("AWGN/perfect",),
                    robustness_schemes=("rkd-sc",), feedback_bits=(2,), feedback_delay_ms=(),
                    fraction_schemes=("rkd-sc",), data_fractions=(1.0,), fraction_ebno_db=(12.0,),
                    target_accuracy=0.5, monitor_samples=200, latency_runs=5,
                    length_schemes=("rkd-sc",), mismatch_ebno_db=(0.0, 12.0), adaptation_samples=200),
    search=Search(channels=8, cells=2, nodes=2, epochs=1, batch_size=50, train_samples=400, validation_samples=400,
                  selection_samples=200, lambdas=(0.0, 20.0), retrain_epochs=1),
    # both RKD-SC schemes nest four lengths and fit their length policy on 300 held-out training images every 6 dB
    schemes=tuple(Scheme(name, NESTED) for name in ("rkd-sc", "rkd-sc-handcrafted")),
)
