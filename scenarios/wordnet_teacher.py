# The fine-tuned text teacher: all-MiniLM-L6-v2 fine-tuned end to end with a linear head on
# the 65,692 WordNet training glosses (not only a head on frozen embeddings), then distilled into the
# WordNet link of scenarios/wordnet_kd.py. Prepare it once (about 55 min on one core; see
# docs/teachers.md; where other jobs share the cores, prefix OMP_NUM_THREADS=1), build its cache,
# train and sweep:
#   OMP_NUM_THREADS=1 semcom-sim teacher finetune scenarios/wordnet_teacher.py
#   semcom-sim teacher cache scenarios/wordnet_teacher.py
#   semcom-sim run scenarios/wordnet_teacher.py
# The first writes teachers/all-minilm-l6-v2-wordnet-nouns-finetuned.teacher (~45 MB, git-ignored) and
# its report teachers/all-minilm-l6-v2-wordnet-nouns-finetuned.teacher.json (test accuracy, parameters,
# latency, seconds, settings, weights hash: commit it). To distil other scenarios from this teacher, give
# their teacher section the same finetune_encoder, max_length and weights_path, and rebuild their caches.
from semcom_sim import Data, Model, Phy, Scenario, Sweep, Teacher, Training

scenario = Scenario(
    name="wordnet-kd-finetuned-teacher",
    data=Data(dataset="wordnet-nouns", max_len=32, vocab_size=20000),
    model=Model(num_channel_uses=64, embedding_dim=64, encoder_filters=(128, 128), decoder_units=(256,)),
    phy=Phy(channel="TDL-A", delay_spread_ns=100.0, speed_mps=3.0, csi="ls", snr_feedback_bits=4),
    training=Training(epochs=6, batch_size=128, learning_rate=2e-3, ebno_db_range=(-6.0, 18.0),
                      distillation="cached", kd_temperature=1.0, kd_lambda=0.5),
    teacher=Teacher(name="all-minilm-l6-v2", finetune_encoder=True, max_length=64, finetune_epochs=3,
                    finetune_batch_size=32, finetune_learning_rate=1e-4, top_k=3,
                    weights_path="teachers/{name}-{dataset}-finetuned.teacher",
                    cache_path="teacher_cache/{dataset}-{name}-finetuned-top{top_k}.h5", batch_size=256),
    sweep=Sweep(ebno_db=tuple(range(-6, 19, 6)), ci_half_width=0.01, min_samples=2000, max_samples=16000,
                batch_size=1000, schemes=("proposed",)),
)
