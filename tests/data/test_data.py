"""Tests of semcom_sim.data: idx parsing, error messages, directory search, subsets, fingerprints,
the synthetic set, the real Fashion-MNIST (if installed) and the no-TensorFlow import."""

from __future__ import annotations

import gzip
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from semcom_sim import Data
from semcom_sim.data import DataError, Dataset, load_dataset
from semcom_sim.data import fashion_mnist as fm
from semcom_sim.data.base import stratified_counts

REAL_DIR = Path(fm.DEFAULT_DATA_DIR)
# Uneven class sizes (5, 10, ..., 50 = 275 samples): a proportional subset of 55 takes count / 5 of each.
TRAIN_COUNTS = np.arange(1, 11) * 5
TEST_COUNTS = np.full(10, 3)


def _labels(counts: np.ndarray, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(np.repeat(np.arange(len(counts)), counts)).astype(np.uint8)


def _images(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 28, 28), dtype=np.uint8)


def write_fake_fmnist(directory: Path, gz: bool = True) -> dict[str, np.ndarray]:
    """Writes a small, complete set of the four idx files into ``directory``; returns the uint8 arrays."""
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": _images(int(TRAIN_COUNTS.sum()), 1),
        "train-labels-idx1-ubyte": _labels(TRAIN_COUNTS, 2),
        "t10k-images-idx3-ubyte": _images(int(TEST_COUNTS.sum()), 3),
        "t10k-labels-idx1-ubyte": _labels(TEST_COUNTS, 4),
    }
    for stem, a in arrays.items():
        fm.write_idx(directory / (stem + (".gz" if gz else "")), a)
    return arrays


@pytest.fixture
def fake_dir(tmp_path: Path) -> Path:
    d = tmp_path / "fmnist"
    write_fake_fmnist(d)
    return d


# -- idx parsing -------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path: Path, suffix: str):
    images = _images(7, 0)
    labels = np.arange(7, dtype=np.uint8)
    pi = fm.write_idx(tmp_path / f"img{suffix}", images)
    pl = fm.write_idx(tmp_path / f"lab{suffix}", labels)
    if suffix:
        assert gzip.decompress(pi.read_bytes())[:4] == (2051).to_bytes(4, "big")
    else:
        assert pi.read_bytes()[:4] == (2051).to_bytes(4, "big")
        assert pi.stat().st_size == 16 + 7 * 28 * 28
    np.testing.assert_array_equal(fm.read_idx(pi, fm.IMAGES_MAGIC), images)
    np.testing.assert_array_equal(fm.read_idx(pl, fm.LABELS_MAGIC), labels)
    assert fm.read_idx(pi, fm.IMAGES_MAGIC).dtype == np.uint8


def test_idx_hand_written_header(tmp_path: Path):
    """The parser reads a file built byte by byte from the idx spec, not only what write_idx writes."""
    payload = bytes(range(6))
    path = tmp_path / "x-idx3-ubyte"
    path.write_bytes(b"\x00\x00\x08\x03" + b"\x00\x00\x00\x01" + b"\x00\x00\x00\x02" + b"\x00\x00\x00\x03"
                     + payload)
    np.testing.assert_array_equal(fm.read_idx(path, 2051), np.arange(6, dtype=np.uint8).reshape(1, 2, 3))


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_bad_magic_names_file(tmp_path: Path, suffix: str):
    path = fm.write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", _images(2, 0))  # idx3, not idx1
    with pytest.raises(DataError, match="magic number 2051") as info:
        fm.read_idx(path, fm.LABELS_MAGIC)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_truncated_payload_names_file(tmp_path: Path, suffix: str):
    raw = (2051).to_bytes(4, "big") + np.array([3, 28, 28], ">u4").tobytes() + bytes(3 * 784 - 10)
    path = tmp_path / f"train-images-idx3-ubyte{suffix}"
    path.write_bytes(gzip.compress(raw) if suffix else raw)
    with pytest.raises(DataError, match="truncated") as info:
        fm.read_idx(path, fm.IMAGES_MAGIC)
    assert str(path) in str(info.value)


def test_idx_truncated_header_and_trailing_bytes(tmp_path: Path):
    short = tmp_path / "short"
    short.write_bytes((2051).to_bytes(4, "big") + b"\x00\x00")
    with pytest.raises(DataError, match="short"):
        fm.read_idx(short, fm.IMAGES_MAGIC)
    long = fm.write_idx(tmp_path / "long", np.zeros(4, np.uint8))
    long.write_bytes(long.read_bytes() + b"\x00")
    with pytest.raises(DataError, match="longer than its header"):
        fm.read_idx(long, fm.LABELS_MAGIC)


def test_truncated_gzip_stream_names_file(tmp_path: Path):
    path = fm.write_idx(tmp_path / "train-images-idx3-ubyte.gz", _images(50, 0))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataError, match="corrupt or truncated") as info:
        fm.read_idx(path, fm.IMAGES_MAGIC)
    assert str(path) in str(info.value)


def test_corrupt_file_in_directory_names_file(fake_dir: Path):
    bad = fake_dir / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x1e" + bytes(5)))  # says 30, holds 5
    with pytest.raises(DataError) as info:
        load_dataset(Data(data_dir=str(fake_dir)))
    assert str(bad) in str(info.value)


# -- directory search and messages -----------------------------------------------------------------

@pytest.mark.parametrize("gz", [True, False])
def test_load_fake_dir(tmp_path: Path, gz: bool):
    raw = write_fake_fmnist(tmp_path / "d", gz=gz)
    ds = load_dataset(Data(data_dir=str(tmp_path / "d")))
    assert isinstance(ds, Dataset) and ds.name == "fashion-mnist"
    assert ds.x_train.shape == (275, 28, 28, 1) and ds.x_train.dtype == np.float32
    assert ds.y_train.shape == (275,) and ds.y_train.dtype == np.int32
    assert ds.x_test.shape == (30, 28, 28, 1) and ds.y_test.dtype == np.int32
    np.testing.assert_allclose(ds.x_train[..., 0] * 255.0, raw["train-images-idx3-ubyte"], atol=1e-3)
    np.testing.assert_array_equal(ds.y_test, raw["t10k-labels-idx1-ubyte"])
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    assert ds.num_classes == 10 and ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"
    assert not ds.x_train.flags.writeable


def test_missing_directory_message(tmp_path: Path):
    with pytest.raises(DataError) as info:
        load_dataset(Data(data_dir=str(tmp_path / "nowhere")))
    msg = str(info.value)
    assert "dataset-fashion-mnist" in msg and "apt-get install" in msg and "SEMCOM_DATA" in msg
    assert str(tmp_path / "nowhere") in msg and "train-images-idx3-ubyte[.gz]" in msg and "\n" not in msg


def test_partial_directory_names_missing_file(fake_dir: Path):
    (fake_dir / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"missing t10k-images-idx3-ubyte\[\.gz\]"):
        load_dataset(Data(data_dir=str(fake_dir)))


def test_default_directory_message(monkeypatch, tmp_path: Path):
    monkeypatch.delenv(fm.ENV_VAR, raising=False)
    monkeypatch.setattr(fm, "DEFAULT_DATA_DIR", str(tmp_path / "default"))
    with pytest.raises(DataError, match="dataset-fashion-mnist") as info:
        load_dataset(Data())
    assert str(tmp_path / "default") in str(info.value)


def test_env_var_honoured(monkeypatch, fake_dir: Path, tmp_path: Path):
    monkeypatch.setenv("SEMCOM_DATA", str(fake_dir))
    assert load_dataset(Data()).x_train.shape[0] == 275
    # data.data_dir wins over the variable
    other = tmp_path / "other"
    write_fake_fmnist(other, gz=False)
    (other / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match=str(other)):
        load_dataset(Data(data_dir=str(other)))
    monkeypatch.setenv("SEMCOM_DATA", str(tmp_path / "empty"))
    with pytest.raises(DataError, match=r"\$SEMCOM_DATA"):
        load_dataset(Data())


def test_parsed_arrays_are_cached(fake_dir: Path):
    a = load_dataset(Data(data_dir=str(fake_dir)))
    b = load_dataset(Data(data_dir=str(fake_dir)))
    assert a.x_train is b.x_train and a.fingerprint == b.fingerprint


# -- subsets and fingerprints ------------------------------------------------------------------------

def test_stratified_counts_largest_remainder():
    np.testing.assert_array_equal(stratified_counts(np.array([5, 10, 15]), 6), [1, 2, 3])
    counts = stratified_counts(np.array([10, 10, 10]), 4)
    assert counts.sum() == 4 and counts.max() - counts.min() <= 1
    np.testing.assert_array_equal(stratified_counts(np.array([3, 1]), 4), [3, 1])


def test_stratified_subset_counts_and_determinism(fake_dir: Path):
    d = str(fake_dir)
    ds = load_dataset(Data(data_dir=d, num_train=55, num_test=20, seed=3))
    assert ds.x_train.shape == (55, 28, 28, 1) and ds.y_train.shape == (55,)
    np.testing.assert_array_equal(np.bincount(ds.y_train, minlength=10), TRAIN_COUNTS // 5)
    test_counts = np.bincount(ds.y_test, minlength=10)
    assert test_counts.sum() == 20 and set(test_counts) <= {2, 3}
    again = load_dataset(Data(data_dir=d, num_train=55, num_test=20, seed=3))
    np.testing.assert_array_equal(ds.x_train, again.x_train)
    np.testing.assert_array_equal(ds.y_test, again.y_test)
    assert ds.fingerprint == again.fingerprint
    other = load_dataset(Data(data_dir=d, num_train=55, num_test=20, seed=4))
    np.testing.assert_array_equal(np.bincount(other.y_train, minlength=10), TRAIN_COUNTS // 5)
    assert not np.array_equal(ds.x_train, other.x_train)
    assert ds.fingerprint != other.fingerprint


def test_subset_samples_come_from_full_set(fake_dir: Path):
    full = load_dataset(Data(data_dir=str(fake_dir)))
    sub = load_dataset(Data(data_dir=str(fake_dir), num_train=40, seed=1))
    rows = {full.x_train[i].tobytes(): int(full.y_train[i]) for i in range(full.num_train)}
    for x, y in zip(sub.x_train, sub.y_train):
        assert rows[x.tobytes()] == y


def test_subset_too_large_names_field(fake_dir: Path):
    with pytest.raises(DataError, match=r"data\.num_train=276 exceeds the 275"):
        load_dataset(Data(data_dir=str(fake_dir), num_train=276))
    with pytest.raises(DataError, match=r"data\.num_test=31"):
        load_dataset(Data(data_dir=str(fake_dir), num_test=31))


def test_fingerprint_stable_and_sensitive(fake_dir: Path):
    d = str(fake_dir)
    full = load_dataset(Data(data_dir=d))
    assert len(full.fingerprint) == 16 and int(full.fingerprint, 16) >= 0
    assert full.fingerprint == load_dataset(Data(data_dir=d, num_train=275, num_test=30)).fingerprint
    fm.clear_cache()  # re-parse: the fingerprint depends on the content only
    assert full.fingerprint == load_dataset(Data(data_dir=d)).fingerprint
    assert full.fingerprint != load_dataset(Data(data_dir=d, num_train=274)).fingerprint
    assert full.fingerprint != load_dataset(Data(data_dir=d, num_test=29)).fingerprint


def test_fingerprint_stable_across_processes():
    code = ("from semcom_sim import Data; from semcom_sim.data import load_dataset; "
            "print(load_dataset(Data(dataset='synthetic', num_train=50, num_test=20, seed=5)).fingerprint)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    here = load_dataset(Data(dataset="synthetic", num_train=50, num_test=20, seed=5)).fingerprint
    assert out.stdout.strip() == here


# -- synthetic -------------------------------------------------------------------------------------------

def test_synthetic_shapes_range_determinism():
    t0 = time.perf_counter()
    ds = load_dataset(Data(dataset="synthetic", seed=0))
    elapsed = time.perf_counter() - t0
    assert ds.name == "synthetic" and ds.num_classes == 10 and len(ds.class_names) == 10
    assert ds.x_train.shape == (2000, 28, 28, 1) and ds.x_train.dtype == np.float32
    assert ds.y_train.shape == (2000,) and ds.y_train.dtype == np.int32
    assert ds.x_test.shape == (500, 28, 28, 1) and ds.y_test.shape == (500,)
    assert ds.x_train.min() >= 0.0 and ds.x_train.max() <= 1.0
    np.testing.assert_array_equal(np.bincount(ds.y_train), np.full(10, 200))
    assert elapsed < 0.5, f"synthetic generation took {elapsed:.2f} s"
    again = load_dataset(Data(dataset="synthetic", seed=0))
    np.testing.assert_array_equal(ds.x_train, again.x_train)
    np.testing.assert_array_equal(ds.y_test, again.y_test)
    assert ds.fingerprint == again.fingerprint
    other = load_dataset(Data(dataset="synthetic", seed=1))
    assert not np.array_equal(ds.x_train, other.x_train) and ds.fingerprint != other.fingerprint


def test_synthetic_sizes_and_separability():
    ds = load_dataset(Data(dataset="synthetic", num_train=1000, num_test=300, seed=2))
    assert ds.x_train.shape[0] == 1000 and ds.x_test.shape[0] == 300
    x_tr, x_te = ds.x_train.reshape(1000, -1), ds.x_test.reshape(300, -1)
    means = np.stack([x_tr[ds.y_train == k].mean(0) for k in range(10)])  # [10, 784]
    # no single pixel separates the classes ...
    pixel_pred = np.abs(x_te[:, :, None] - means.T[None]).argmin(2)  # [300, 784]
    assert (pixel_pred == ds.y_test[:, None]).mean(0).max() < 0.4
    # ... but the whole image carries the class (nearest class mean, shift-blind, is far above chance)
    whole_pred = ((x_te[:, None] - means[None]) ** 2).sum(2).argmin(1)
    assert (whole_pred == ds.y_test).mean() > 0.6


def test_synthetic_negative_seed():
    a = load_dataset(Data(dataset="synthetic", num_train=20, num_test=10, seed=-1))
    b = load_dataset(Data(dataset="synthetic", num_train=20, num_test=10, seed=1))
    assert a.fingerprint != b.fingerprint


# -- real data and imports ---------------------------------------------------------------------------

@pytest.mark.skipif(not REAL_DIR.is_dir(), reason=f"{REAL_DIR} absent (install the Debian package "
                    "dataset-fashion-mnist)")
def test_real_fashion_mnist(monkeypatch):
    monkeypatch.delenv("SEMCOM_DATA", raising=False)
    ds = load_dataset(Data())
    assert ds.x_train.shape == (60000, 28, 28, 1) and ds.x_test.shape == (10000, 28, 28, 1)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32
    np.testing.assert_array_equal(np.bincount(ds.y_train), np.full(10, 6000))
    np.testing.assert_array_equal(np.bincount(ds.y_test), np.full(10, 1000))
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    t0 = time.perf_counter()
    sub = load_dataset(Data(num_train=6000, num_test=1000, seed=0))
    assert time.perf_counter() - t0 < 1.0  # cached parse
    np.testing.assert_array_equal(np.bincount(sub.y_train), np.full(10, 600))
    np.testing.assert_array_equal(np.bincount(sub.y_test), np.full(10, 100))


def test_import_does_not_pull_tensorflow():
    code = ("import sys, semcom_sim.data; "
            "print(','.join(m for m in ('tensorflow', 'keras', 'sionna', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"semcom_sim.data imported {out.stdout.strip()}"
