# Top-K against sampled teacher caches at equal bytes per sample, on the WordNet noun-gloss task (26 classes,
# the subset of scenarios/compare_wordnet.py) with the fine-tuned all-MiniLM-L6-v2 teacher: paper A's student
# (`proposed`) distilled from a top-K cache (K = 1, 3, 5; 4 bytes per entry), from a sampled cache of the same
# size (m = 2, 6, 10 classes drawn from the teacher's distribution; 2 bytes per entry, one draw per sample) and
# from the full distribution (K = C = 26), each with 100 % and 10 % of the training glosses (equal optimizer
# steps), three times (training.seed 0, 1, 2), on the same draws: accuracy, calibration (ece, nll), epoch time.
# The teacher must be prepared once (OMP_NUM_THREADS=1 semcom-sim teacher finetune scenarios/wordnet_teacher.py);
# each cache is built from it on first use (not committed, but the top-3 one).
#   semcom-sim compare scenarios/cache_kinds_wordnet.py --out docs/results/cache_kinds_wordnet
from semcom_sim import Compare, Data, Model, Phy, Scenario, Sweep, Teacher, Training
from semcom_sim.schemes import cache_kind_schemes

SCHEMES = cache_kind_schemes((1, 3, 5), num_classes=26)  # top1, sampled2, ..., sampled10, full

scenario = Scenario(
    name="cache-kinds-wordnet",
    data=Data(dataset="wordnet-nouns", num_train=20000, num_test=4000, max_len=32, vocab_size=20000),
    model=Model(num_channel_uses=64, embedding_dim=64, encoder_filters=(128, 128), decoder_units=(256,)),
    phy=Phy(channel="TDL-A", delay_spread_ns=100.0, speed_mps=3.0, carrier_frequency_hz=3.5e9, csi="ls",
            snr_feedback_bits=4),
    training=Training(epochs=6, batch_size=128, learning_rate=2e-3, ebno_db_range=(-6.0, 18.0),
                      distillation="cached", kd_temperature=1.0, kd_lambda=0.5),
    teacher=Teacher(name="all-minilm-l6-v2", finetune_encoder=True, max_length=64, finetune_epochs=3,
                    finetune_batch_size=32, finetune_learning_rate=1e-4,
                    weights_path="teachers/{name}-{dataset}-finetuned.teacher",
                    cache_path="teacher_cache/{dataset}-{name}-finetuned-top{top_k}-compare-subset.h5",
                    batch_size=256),
    sweep=Sweep(ebno_db=(-6.0, 0.0, 6.0, 12.0, 18.0), ci_half_width=0.01, min_samples=2000, max_samples=10000,
                batch_size=1000),
    compare=Compare(schemes=tuple(s.name for s in SCHEMES), conditions=("TDL-A/ls",), seeds=(1, 2),
                    robustness_schemes=(), feedback_bits=(), feedback_delay_ms=(), length_schemes=(),
                    fraction_schemes=tuple(s.name for s in SCHEMES), data_fractions=(0.1, 1.0),
                    fraction_ebno_db=(0.0, 12.0), target_accuracy=0.6, target_ebno_db=10.0, monitor_samples=2000,
                    latency_runs=10),
    schemes=SCHEMES,
)
