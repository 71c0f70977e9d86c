"""Arrays as datasets: a ``.npz`` file, and a dataset defined in the scenario file with
``@register_dataset``: conversion, checks that name the array, subsets, fingerprints, and a run."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from semcom_sim import Data, ScenarioError, load_scenario, register_dataset
from semcom_sim.data import DataError, load_dataset
from semcom_sim.scenario import _REGISTERED_DATASETS


@pytest.fixture(autouse=True)
def _registry():
    saved = dict(_REGISTERED_DATASETS)
    yield
    _REGISTERED_DATASETS.clear()
    _REGISTERED_DATASETS.update(saved)


def arrays(n_train: int = 40, n_test: int = 20, shape=(6, 7), seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"x_train": rng.integers(0, 256, size=(n_train, *shape), dtype=np.uint8),
            "y_train": np.arange(n_train) % 4, "x_test": rng.integers(0, 256, size=(n_test, *shape), dtype=np.uint8),
            "y_test": np.arange(n_test) % 4}


# -- npz -----------------------------------------------------------------------------------------------------

def test_an_npz_of_uint8_grey_images_becomes_float_images_with_a_channel(tmp_path):
    raw = arrays()
    np.savez(tmp_path / "set.npz", **raw, class_names=np.array(["a", "b", "c", "d"]))
    ds = load_dataset(Data(dataset="npz", data_dir=str(tmp_path / "set.npz")))
    assert ds.name == "npz" and ds.class_names == ("a", "b", "c", "d") and ds.num_classes == 4
    assert ds.x_train.shape == (40, 6, 7, 1) and ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32
    np.testing.assert_allclose(ds.x_test[..., 0] * 255, raw["x_test"], atol=1e-4)
    np.testing.assert_array_equal(ds.y_train, raw["y_train"])
    assert not ds.x_train.flags.writeable


def test_an_npz_of_float_rgb_images_in_a_directory_without_class_names(tmp_path):
    rng = np.random.default_rng(1)
    x_train, x_test = rng.uniform(size=(30, 8, 8, 3)), rng.uniform(size=(10, 8, 8, 3)).astype(np.float32)
    np.savez_compressed(tmp_path / "only.npz", x_train=x_train, y_train=np.arange(30) % 3, x_test=x_test,
                        y_test=np.arange(10, dtype=np.uint8) % 3)
    ds = load_dataset(Data(dataset="npz", data_dir=str(tmp_path), num_train=15, seed=2))
    assert ds.class_names == ("class-0", "class-1", "class-2") and ds.x_train.shape == (15, 8, 8, 3)
    np.testing.assert_array_equal(np.bincount(ds.y_train), [5, 5, 5])
    np.testing.assert_array_equal(ds.x_test, x_test)


def test_the_npz_fingerprint_is_stable_and_follows_the_content(tmp_path):
    raw = arrays()
    np.savez(tmp_path / "a.npz", **raw)
    a = load_dataset(Data(dataset="npz", data_dir=str(tmp_path / "a.npz")))
    assert a.fingerprint == load_dataset(Data(dataset="npz", data_dir=str(tmp_path / "a.npz"))).fingerprint
    raw["x_test"][0, 0, 0] ^= 1
    np.savez(tmp_path / "a.npz", **raw)
    assert load_dataset(Data(dataset="npz", data_dir=str(tmp_path / "a.npz"))).fingerprint != a.fingerprint
    np.savez(tmp_path / "b.npz", **arrays(), class_names=np.array(["w", "x", "y", "z"]))
    assert load_dataset(Data(dataset="npz", data_dir=str(tmp_path / "b.npz"))).fingerprint != a.fingerprint


def _npz_error(tmp_path: Path, **overrides) -> str:
    content = {**arrays(), **overrides}
    np.savez(tmp_path / "bad.npz", **{k: v for k, v in content.items() if v is not None})
    with pytest.raises(DataError) as info:
        load_dataset(Data(dataset="npz", data_dir=str(tmp_path / "bad.npz")))
    assert "\n" not in str(info.value) and str(tmp_path / "bad.npz") in str(info.value)
    return str(info.value)


@pytest.mark.parametrize("overrides, expect", [
    pytest.param({"y_test": None}, "no y_test in the file", id="missing-key"),
    pytest.param({"x_train": np.full((40, 6, 7), 2.0)}, "x_train is float with values outside [0, 1]", id="range"),
    pytest.param({"x_test": np.full((20, 6, 7), np.nan)}, "x_test holds NaN or infinite values", id="nan"),
    pytest.param({"x_train": np.zeros((40, 6, 7), np.int64)}, "x_train must be uint8 (0..255) or float", id="int64"),
    pytest.param({"x_train": np.zeros((40, 42), np.uint8)}, "x_train must be images [N, H, W, C]", id="flat"),
    pytest.param({"x_test": np.zeros((20, 7, 6), np.uint8)}, "both splits need one image shape", id="shapes"),
    pytest.param({"y_train": np.zeros(40)}, "y_train must be integer class indices, got float64", id="float-labels"),
    pytest.param({"y_train": np.zeros(39, int)}, "y_train must be [40] (one label per image)", id="label-count"),
    pytest.param({"y_test": -np.ones(20, int)}, "y_test holds -1", id="negative"),
    pytest.param({"class_names": np.array(["a", "b"])}, "the labels go up to 3 but class_names lists 2", id="names"),
])
def test_npz_arrays_are_checked_with_one_line_naming_the_array(tmp_path, overrides, expect):
    assert expect in _npz_error(tmp_path, **overrides)


def test_npz_files_that_cannot_be_read_or_found(tmp_path):
    np.savez(tmp_path / "obj.npz", **arrays(), class_names=np.array(["a", 1, None], dtype=object))
    with pytest.raises(DataError, match=r"obj\.npz: cannot read an array .*not dtype=object"):
        load_dataset(Data(dataset="npz", data_dir=str(tmp_path / "obj.npz")))
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 junk")
    with pytest.raises(DataError, match=r"junk\.npz: not a readable \.npz"):
        load_dataset(Data(dataset="npz", data_dir=str(tmp_path / "junk.npz")))
    with pytest.raises(DataError, match=r"holds 2 \.npz files \(junk\.npz, obj\.npz\); set data\.data_dir to the file"):
        load_dataset(Data(dataset="npz", data_dir=str(tmp_path)))
    with pytest.raises(DataError, match=r"^npz: no \.npz file at .*nowhere\.npz \(data\.data_dir\)"):
        load_dataset(Data(dataset="npz", data_dir=str(tmp_path / "nowhere.npz")))
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(DataError, match=r"single\.npy: holds a single array"):
        load_dataset(Data(dataset="npz", data_dir=str(tmp_path / "single.npy")))
    with pytest.raises(ScenarioError, match=r"^data\.data_dir: npz needs it"):
        Data(dataset="npz")


# -- a dataset defined in the scenario file ---------------------------------------------------------------------

SCENARIO = textwrap.dedent('''
    import numpy as np
    from semcom_sim import Data, Model, Phy, Scenario, Sweep, Training, register_dataset

    @register_dataset("two-blobs")
    def two_blobs(data):
        rng = np.random.default_rng(data.seed)
        def split(n):
            y = np.arange(n) % 2
            x = np.clip(0.5 + 0.3 * (2 * y - 1)[:, None, None, None] + 0.1 * rng.standard_normal((n, 16, 16, 3)), 0, 1)
            return x.astype(np.float32), y
        return (*split(300), *split(100), ("left", "right"))

    scenario = Scenario(
        name="two-blobs",
        data=Data(dataset="two-blobs", seed=OFFSET),
        model=Model(num_channel_uses=8, encoder_filters=(8,), decoder_units=(8,)),
        phy=Phy(channel="AWGN", fft_size=36, num_guard_carriers=(2, 3), num_ofdm_symbols=7,
                pilot_ofdm_symbol_indices=(2,), snr_feedback_bits=None),
        training=Training(jit_compile=False, epochs=1, batch_size=100),
        sweep=Sweep(ebno_db=(10.0,), min_samples=100, max_samples=100, batch_size=100, schemes=("proposed",)),
    )
''')


def _scenario_file(tmp_path: Path, seed: int = 0) -> Path:
    path = tmp_path / f"blobs{seed}.py"
    path.write_text(SCENARIO.replace("OFFSET", str(seed)))
    return path


def test_a_registered_dataset_loads_through_the_scenario_file(tmp_path):
    scenario = load_scenario(_scenario_file(tmp_path))
    ds = load_dataset(scenario.data)
    assert ds.name == "two-blobs" and ds.class_names == ("left", "right")
    assert ds.x_train.shape == (300, 16, 16, 3) and ds.y_test.shape == (100,) and ds.y_test.dtype == np.int32
    again = load_dataset(load_scenario(_scenario_file(tmp_path)).data)  # registering again replaces the function
    assert again.fingerprint == ds.fingerprint
    other = load_dataset(load_scenario(_scenario_file(tmp_path, seed=1)).data)  # other arrays, other fingerprint
    assert other.fingerprint != ds.fingerprint
    sub = load_dataset(load_scenario(_scenario_file(tmp_path), ["data.num_train=100"]).data)
    np.testing.assert_array_equal(np.bincount(sub.y_train), [50, 50])
    assert sub.fingerprint != ds.fingerprint


def test_registered_names_are_checked(tmp_path):
    with pytest.raises(ScenarioError, match=r"^data\.dataset: 'blobs' is not one of fashion-mnist, .*npz, nor a name "
                       r"registered with @register_dataset"):
        Data(dataset="blobs")
    with pytest.raises(ScenarioError, match=r"^register_dataset: 'cifar10' is a built-in dataset"):
        register_dataset("cifar10")
    with pytest.raises(ScenarioError, match=r"^register_dataset: a dataset name is letters"):
        register_dataset("my set/1")
    register_dataset("blobs")(lambda data: (np.zeros((4, 8, 8)), [0, 1, 0, 1], np.zeros((2, 8, 8)), [0, 1]))
    assert load_dataset(Data(dataset="blobs")).class_names == ("class-0", "class-1")


def test_what_a_registered_function_returns_is_checked_in_one_line():
    register_dataset("pair")(lambda data: (np.zeros((4, 8, 8)), [0, 1, 0, 1]))
    with pytest.raises(DataError, match=r"^dataset 'pair' \(.*\): must return \(x_train, y_train, x_test, y_test\) "
                       r"or .*got tuple of 2$"):
        load_dataset(Data(dataset="pair"))
    register_dataset("bright")(lambda data: (np.full((4, 8, 8), 3.0), [0, 1, 0, 1], np.zeros((2, 8, 8)), [0, 1]))
    with pytest.raises(DataError, match=r"^dataset 'bright' .*: x_train is float with values outside \[0, 1\]"):
        load_dataset(Data(dataset="bright"))


@pytest.mark.slow
def test_a_registered_dataset_runs_end_to_end_from_the_command_line(tmp_path, capsys):
    from semcom_sim.cli import main
    from semcom_sim.results import read_results

    out = tmp_path / "out"
    assert main(["run", str(_scenario_file(tmp_path)), "--out", str(out), "--no-progress"]) == 0, \
        capsys.readouterr().err
    rows = read_results(out / "results.csv")
    assert [(r["scheme"], r["ebno_db"], r["samples"]) for r in rows] == [("proposed", 10.0, 100)]
