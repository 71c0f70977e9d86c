# A comparison small enough to try an executor in a minute, with no data files and no teacher: one scheme
# and its second training seed, a data fraction (a training of its own) and a feedback variant, all without
# XLA (compiling would dominate these seconds). tests/test_ray_executor.py runs it in-process and through
# Ray and checks that the rows are identical; benchmarks/executor_overhead.py times both.
#   semcom-sim compare scenarios/compare_tiny_synthetic.py --executor ray
from semcom_sim import Compare, Data, Model, Phy, Scenario, Sweep, Training

scenario = Scenario(
    name="compare-tiny-synthetic",
    data=Data(dataset="synthetic", num_train=512, num_test=256),
    model=Model(num_channel_uses=32, encoder_filters=(8, 16), decoder_units=(32,)),
    phy=Phy(channel="TDL-A", csi="ls", fft_size=36, num_guard_carriers=(2, 3), num_ofdm_symbols=7,
            pilot_ofdm_symbol_indices=(2,)),
    training=Training(epochs=1, batch_size=64, learning_rate=3e-3, ebno_db_range=(0.0, 15.0), jit_compile=False),
    sweep=Sweep(ebno_db=(0.0, 10.0), ci_half_width=0.05, min_samples=256, max_samples=512, batch_size=128),
    compare=Compare(schemes=("proposed",), conditions=("TDL-A/ls",), robustness_schemes=("proposed",),
                    feedback_bits=(2,), feedback_delay_ms=(), data_fractions=(0.5, 1.0), fraction_schemes=("proposed",),
                    fraction_ebno_db=(10.0,), length_schemes=(), monitor_samples=128, latency_runs=2, seeds=(1,)),
)
