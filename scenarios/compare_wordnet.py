# Every scheme of the comparison on the WordNet noun-gloss task (26 lexicographer classes), through
# the same OFDM link with 64 complex channel uses per gloss, against the all-MiniLM-L6-v2 teacher
# fine-tuned end to end on the WordNet training split (90.35 % test accuracy; docs/teachers.md).
# Three trainings per scheme (training.seed 0, 1, 2). Sized for a CPU: 20,000 training and 4,000 test
# glosses (a sweep point draws each gloss at most once, so at most 4,000). The top-3 cache of this subset
# is committed;
# the feature cache of the RKD-SC schemes is built by the first run from the fine-tuned teacher, which
# must be prepared once (about 50 min on one core; its weights are git-ignored):
#   OMP_NUM_THREADS=1 semcom-sim teacher finetune scenarios/wordnet_teacher.py
# Paper A's schemes and paper B's RKD-SC with the text encoder (no search space for text:
# rkd-sc-handcrafted is RKD-SC here) and its two other ablations; their feature cache keeps the teacher's
# 384-d sentence embeddings projected onto their first 128 principal components.
#   semcom-sim compare scenarios/compare_wordnet.py --out docs/results/compare_wordnet
from semcom_sim import Compare, Data, Model, Phy, Scenario, Sweep, Teacher, Training
from semcom_sim.scenario import COMPARE_SCHEMES

RKD_SC = ("rkd-sc-handcrafted", "rkd-sc-one-stage", "rkd-sc-dense-codec")

scenario = Scenario(
    name="compare-wordnet",
    data=Data(dataset="wordnet-nouns", num_train=20000, num_test=4000, max_len=32, vocab_size=20000),
    model=Model(num_channel_uses=64, embedding_dim=64, encoder_filters=(128, 128), decoder_units=(256,)),
    phy=Phy(channel="TDL-A", delay_spread_ns=100.0, speed_mps=3.0, carrier_frequency_hz=3.5e9, csi="ls",
            snr_feedback_bits=4),
    training=Training(epochs=6, batch_size=128, learning_rate=2e-3, ebno_db_range=(-6.0, 18.0),
                      distillation="cached", kd_temperature=1.0, kd_lambda=0.5),
    teacher=Teacher(name="all-minilm-l6-v2", finetune_encoder=True, max_length=64, finetune_epochs=3,
                    finetune_batch_size=32, finetune_learning_rate=1e-4, top_k=3,
                    weights_path="teachers/{name}-{dataset}-finetuned.teacher",
                    cache_path="teacher_cache/{dataset}-{name}-finetuned-top{top_k}-compare-subset.h5",
                    batch_size=256, feature_dim=128),
    sweep=Sweep(ebno_db=(-6.0, -2.0, 2.0, 6.0, 10.0, 16.0), ci_half_width=0.01, min_samples=2000,
                max_samples=10000, batch_size=1000),
    compare=Compare(feedback_bits=(2, 4, 8), feedback_delay_ms=(5.0, 20.0),
                    data_fractions=(0.1, 0.2, 0.5, 1.0), fraction_ebno_db=(0.0, 12.0),
                    target_accuracy=0.6, target_ebno_db=10.0, monitor_samples=2000, latency_runs=50, seeds=(1, 2),
                    schemes=COMPARE_SCHEMES + RKD_SC,
                    robustness_schemes=("proposed", "adaptive-length", "rkd-sc-handcrafted"),
                    length_schemes=("adaptive-length",) + RKD_SC),
)
