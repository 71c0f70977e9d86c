# KDL-DARTS, RKD-SC's architecture search, on Fashion-MNIST against the cached EfficientNet-Lite0 teacher
# (the committed top-3 cache of the comparison): a first-order DARTS supernet of 3 cells x 3 nodes, C = 16,
# a stride-2 stem, weight steps on 10k training images and architecture steps on 10k others, 8 epochs,
# for three complexity weights lambda (per million expected parameters: 0, and two that make the
# penalty's gradient on alpha, about lambda * 4e-4 for a 3k-parameter operation at p = 0.2, comparable
# to and larger than the distillation loss's). Writes one genotype per lambda, genotype.json (the fewest
# parameters within 0.5 point of the most accurate on 5k held-out training images, never the test set),
# pareto.csv and pareto.png:
#   semcom-sim search scenarios/search_fashion_mnist.py --out docs/results/search_fashion_mnist  (-> its search/)
# Sized for the 2-core CPU (README and benchmarks/RESULTS.md state the measured time).
from semcom_sim import Data, Model, Scenario, Search, Teacher, Training

scenario = Scenario(
    name="search-fashion-mnist",
    data=Data(dataset="fashion-mnist"),
    model=Model(encoder_filters=(32, 64, 64)),  # the hand-designed encoder the search is measured against
    training=Training(kd_temperature=1.0),
    teacher=Teacher(name="efficientnet-lite0", top_k=3, resolution=64),
    search=Search(channels=16, cells=3, nodes=3, stem_stride=2, epochs=8, batch_size=64, train_samples=10000,
                  validation_samples=10000, selection_samples=5000, lambdas=(0.0, 4.0, 16.0), loss_terms=("kd",),
                  retrain_epochs=3),
)
