"""CIFAR-10 and CIFAR-100 from tiny files in the exact python-version formats: archive and extracted
folder, pixel layout, labels and names, subsets, fingerprints, the one-line errors, and an end-to-end
``semcom-sim run`` of scenarios/cifar10.py on a tiny archive."""

from __future__ import annotations

import io
import os
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest

from semcom_sim import Data, ScenarioError
from semcom_sim.data import DataError, cifar, load_dataset

ROOT = Path(__file__).resolve().parents[2]
CIFAR10_NAMES = (b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck")


# -- writing the files as distributed ------------------------------------------------------------------
# The official batches are Python 2 cPickle files (protocol 2): dict keys and strings are Python 2 str
# (read back as bytes with encoding="bytes"), the images a numpy uint8 array pickled through
# numpy.core.multiarray._reconstruct. py2_dumps writes exactly those opcodes.

def _py2_str(b: bytes) -> bytes:
    return (b"U" + bytes([len(b)]) + b) if len(b) < 256 else (b"T" + struct.pack("<i", len(b)) + b)


def _py2_int(v: int) -> bytes:
    return b"K" + bytes([v]) if 0 <= v < 256 else (b"M" + struct.pack("<H", v) if 0 <= v < 65536
                                                    else b"J" + struct.pack("<i", v))


def _py2_obj(v) -> bytes:
    if isinstance(v, bytes):
        return _py2_str(v)
    if isinstance(v, int):
        return _py2_int(v)
    if isinstance(v, list):
        return b"](" + b"".join(_py2_obj(x) for x in v) + b"e"
    assert isinstance(v, np.ndarray) and v.dtype == np.uint8 and v.ndim == 2
    dtype = (b"cnumpy\ndtype\n" + _py2_str(b"u1") + _py2_int(0) + _py2_int(1) + b"\x87R(" + _py2_int(3)
             + _py2_str(b"|") + b"NNN" + b"J\xff\xff\xff\xff" * 2 + _py2_int(0) + b"tb")
    return (b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n" + _py2_int(0) + b"\x85" + _py2_str(b"b")
            + b"\x87R(" + _py2_int(1) + _py2_int(v.shape[0]) + _py2_int(v.shape[1]) + b"\x86" + dtype + b"\x89"
            + _py2_str(np.ascontiguousarray(v).tobytes()) + b"tb")


def py2_dumps(d: dict) -> bytes:
    """A protocol-2 pickle of ``d`` as Python 2's cPickle writes it."""
    return b"\x80\x02}(" + b"".join(_py2_obj(k) + _py2_obj(v) for k, v in d.items()) + b"u."


def py3_dumps(d: dict) -> bytes:
    """The same dict pickled by Python 3 (what a re-packed copy may hold)."""
    return pickle.dumps(d, protocol=2)


def rows(images: np.ndarray) -> np.ndarray:
    """uint8 [N, 32, 32, 3] -> the file's rows [N, 3072]: the red plane, then green, then blue, row-major."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2)).reshape(len(images), 3072)


def _write(directory: Path, folder: str, members: dict[str, bytes], form: str, archive: str) -> Path:
    """Writes ``members`` as ``directory/folder/NAME`` (form "folder") or into ``directory/archive``."""
    directory.mkdir(parents=True, exist_ok=True)
    if form == "folder":
        (directory / folder).mkdir(exist_ok=True)
        for name, raw in members.items():
            (directory / folder / name).write_bytes(raw)
        return directory / folder
    with tarfile.open(directory / archive, "w:gz") as tar:
        for name, raw in {**members, "readme.html": b"<html></html>"}.items():
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return directory / archive


def write_cifar10(directory: Path, form: str = "archive", per_batch: int = 20, num_test: int = 20, seed: int = 0,
                  dumps=py2_dumps) -> dict[str, np.ndarray]:
    """A tiny CIFAR-10 (5 train batches of ``per_batch``, one test batch) in the distributed format; returns
    the images uint8 [N, 32, 32, 3] and labels it holds."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(5 * per_batch + num_test, 32, 32, 3), dtype=np.uint8)
    y = np.concatenate([rng.permutation(np.arange(5 * per_batch) % 10), rng.permutation(np.arange(num_test) % 10)])
    members = {}
    for i in range(5):
        s = slice(i * per_batch, (i + 1) * per_batch)
        members[f"data_batch_{i + 1}"] = dumps({
            b"batch_label": f"training batch {i + 1} of 5".encode(), b"labels": [int(v) for v in y[s]],
            b"data": rows(x[s]), b"filenames": [f"img_{k}.png".encode() for k in range(s.start, s.stop)]})
    t = slice(5 * per_batch, len(x))
    members["test_batch"] = dumps({b"batch_label": b"testing batch 1 of 1", b"labels": [int(v) for v in y[t]],
                                   b"data": rows(x[t]), b"filenames": [b"t.png"] * num_test})
    members["batches.meta"] = dumps({b"num_cases_per_batch": per_batch, b"label_names": list(CIFAR10_NAMES),
                                     b"num_vis": 3072})
    _write(directory, "cifar-10-batches-py", members, form, "cifar-10-python.tar.gz")
    return {"x_train": x[: 5 * per_batch], "y_train": y[: 5 * per_batch], "x_test": x[t], "y_test": y[t]}


def write_cifar100(directory: Path, form: str = "archive", num_train: int = 200, num_test: int = 100, seed: int = 1
                   ) -> dict[str, np.ndarray]:
    """A tiny CIFAR-100 (``train``, ``test``, ``meta``) in the distributed format; fine label k has coarse
    label k // 5."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(num_train + num_test, 32, 32, 3), dtype=np.uint8)
    fine = rng.permutation(np.arange(len(x)) % 100)
    coarse = fine // 5
    members = {}
    for split, s in (("train", slice(0, num_train)), ("test", slice(num_train, len(x)))):
        members[split] = py2_dumps({b"filenames": [b"f.png"] * (s.stop - s.start), b"batch_label": split.encode(),
                                    b"fine_labels": [int(v) for v in fine[s]],
                                    b"coarse_labels": [int(v) for v in coarse[s]], b"data": rows(x[s])})
    members["meta"] = py2_dumps({b"fine_label_names": [f"fine{k}".encode() for k in range(100)],
                                 b"coarse_label_names": [f"coarse{k}".encode() for k in range(20)]})
    _write(directory, "cifar-100-python", members, form, "cifar-100-python.tar.gz")
    return {"x": x, "fine": fine, "coarse": coarse, "num_train": num_train}


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch):
    monkeypatch.delenv("SEMCOM_DATA", raising=False)
    cifar.clear_cache()
    yield
    cifar.clear_cache()


# -- formats, layout, labels -------------------------------------------------------------------------------

@pytest.mark.parametrize("form", ["archive", "folder"])
def test_cifar10_images_labels_and_names_from_the_archive_and_the_extracted_folder(tmp_path, form):
    raw = write_cifar10(tmp_path, form)
    ds = load_dataset(Data(dataset="cifar10", data_dir=str(tmp_path)))
    assert ds.name == "cifar10" and ds.num_classes == 10 and ds.class_names[0] == "airplane"
    assert ds.class_names == tuple(n.decode() for n in CIFAR10_NAMES)
    assert ds.x_train.shape == (100, 32, 32, 3) and ds.x_train.dtype == np.float32
    assert ds.x_test.shape == (20, 32, 32, 3) and ds.y_test.dtype == np.int32
    np.testing.assert_array_equal(np.rint(ds.x_train * 255).astype(np.uint8), raw["x_train"])  # batches 1..5 in order
    np.testing.assert_array_equal(np.rint(ds.x_test * 255).astype(np.uint8), raw["x_test"])
    np.testing.assert_array_equal(ds.y_train, raw["y_train"])
    np.testing.assert_array_equal(ds.y_test, raw["y_test"])
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0 and not ds.x_train.flags.writeable


def test_the_archive_and_the_extracted_folder_give_one_fingerprint(tmp_path):
    write_cifar10(tmp_path / "a", "archive")
    write_cifar10(tmp_path / "f", "folder")
    a = load_dataset(Data(dataset="cifar10", data_dir=str(tmp_path / "a")))
    f = load_dataset(Data(dataset="cifar10", data_dir=str(tmp_path / "f")))
    assert len(a.fingerprint) == 16 and a.fingerprint == f.fingerprint


def test_a_row_is_the_red_then_green_then_blue_plane_each_row_major(tmp_path):
    row = np.zeros(3072, dtype=np.uint8)
    row[:1024], row[1024:2048], row[2048:] = 10, 20, 30  # solid planes R = 10, G = 20, B = 30
    row[1024 + 1 * 32 + 2] = 200    # green at image row 1, column 2
    row[2048 + 31 * 32 + 0] = 255   # blue at the bottom-left pixel
    row[5] = 7                      # red at row 0, column 5
    batch = {b"labels": [3], b"data": row[None], b"batch_label": b"x", b"filenames": [b"x.png"]}
    members = {f"data_batch_{i}": py2_dumps(batch) for i in range(1, 6)}
    members["test_batch"] = py2_dumps(batch)
    members["batches.meta"] = py2_dumps({b"label_names": list(CIFAR10_NAMES)})
    _write(tmp_path, "cifar-10-batches-py", members, "archive", "cifar-10-python.tar.gz")
    x = np.rint(load_dataset(Data(dataset="cifar10", data_dir=str(tmp_path))).x_test[0] * 255).astype(int)
    assert x.shape == (32, 32, 3)
    assert tuple(x[0, 0]) == (10, 20, 30) and tuple(x[31, 31]) == (10, 20, 30)
    assert tuple(x[1, 2]) == (10, 200, 30) and tuple(x[31, 0]) == (10, 20, 255) and tuple(x[0, 5]) == (7, 20, 30)
    assert tuple(x[2, 1]) == (10, 20, 30)  # not transposed


def test_python3_pickles_of_the_same_dicts_load_alike(tmp_path):
    raw = write_cifar10(tmp_path / "p2", "folder")
    write_cifar10(tmp_path / "p3", "folder", dumps=py3_dumps)
    p2 = load_dataset(Data(dataset="cifar10", data_dir=str(tmp_path / "p2")))
    p3 = load_dataset(Data(dataset="cifar10", data_dir=str(tmp_path / "p3")))
    np.testing.assert_array_equal(p3.y_train, raw["y_train"])
    assert p2.fingerprint == p3.fingerprint


@pytest.mark.parametrize("form", ["archive", "folder"])
def test_cifar100_fine_and_coarse_labels_and_names(tmp_path, form):
    raw = write_cifar100(tmp_path, form)
    n = raw["num_train"]
    fine = load_dataset(Data(dataset="cifar100", data_dir=str(tmp_path)))
    coarse = load_dataset(Data(dataset="cifar100", data_dir=str(tmp_path), label_mode="coarse"))
    assert (fine.name, fine.num_classes, coarse.name, coarse.num_classes) == ("cifar100", 100, "cifar100-coarse", 20)
    assert fine.class_names[7] == "fine7" and coarse.class_names[19] == "coarse19"
    np.testing.assert_array_equal(fine.y_train, raw["fine"][:n])
    np.testing.assert_array_equal(fine.y_test, raw["fine"][n:])
    np.testing.assert_array_equal(coarse.y_train, raw["coarse"][:n])
    np.testing.assert_array_equal(coarse.y_test, raw["coarse"][n:])
    np.testing.assert_array_equal(np.rint(coarse.x_test * 255).astype(np.uint8), raw["x"][n:])
    np.testing.assert_array_equal(fine.x_train, coarse.x_train)
    assert fine.fingerprint != coarse.fingerprint  # the label mode is part of it


def test_label_mode_is_checked_when_the_scenario_is_built():
    with pytest.raises(ScenarioError, match=r"^data\.label_mode: chooses CIFAR-100's labels.*'cifar10'"):
        Data(dataset="cifar10", label_mode="coarse")
    with pytest.raises(ScenarioError, match=r"^data\.label_mode: 'medium' is not one of fine, coarse"):
        Data(dataset="cifar100", label_mode="medium")


def test_data_dir_may_be_the_extracted_folder_or_the_archive_itself(tmp_path):
    raw = write_cifar10(tmp_path / "f", "folder")
    ds = load_dataset(Data(dataset="cifar10", data_dir=str(tmp_path / "f" / "cifar-10-batches-py")))
    np.testing.assert_array_equal(ds.y_test, raw["y_test"])
    write_cifar10(tmp_path / "a", "archive")
    archive = (tmp_path / "a" / "cifar-10-python.tar.gz").rename(tmp_path / "a" / "downloaded.tgz")
    assert load_dataset(Data(dataset="cifar10", data_dir=str(archive))).fingerprint == ds.fingerprint


def test_the_extracted_folder_is_preferred_to_the_archive(tmp_path):
    write_cifar10(tmp_path, "archive", seed=1)
    raw = write_cifar10(tmp_path, "folder", seed=2)
    np.testing.assert_array_equal(load_dataset(Data(dataset="cifar10", data_dir=str(tmp_path))).y_train,
                                  raw["y_train"])


def test_semcom_data_is_searched_and_data_dir_wins(tmp_path, monkeypatch):
    write_cifar10(tmp_path / "env", "archive", seed=1)
    write_cifar10(tmp_path / "given", "archive", seed=2)
    monkeypatch.setenv("SEMCOM_DATA", str(tmp_path / "env"))
    from_env = load_dataset(Data(dataset="cifar10"))
    given = load_dataset(Data(dataset="cifar10", data_dir=str(tmp_path / "given")))
    assert from_env.fingerprint != given.fingerprint


# -- subsets, fingerprints, cache ---------------------------------------------------------------------------

def test_subsets_are_stratified_and_the_fingerprint_follows_the_selection(tmp_path):
    write_cifar10(tmp_path, "archive")
    d = str(tmp_path)
    full = load_dataset(Data(dataset="cifar10", data_dir=d))
    sub = load_dataset(Data(dataset="cifar10", data_dir=d, num_train=50, num_test=10, seed=3))
    np.testing.assert_array_equal(np.bincount(sub.y_train, minlength=10), np.full(10, 5))
    assert sub.x_test.shape == (10, 32, 32, 3)
    assert sub.fingerprint == load_dataset(Data(dataset="cifar10", data_dir=d, num_train=50, num_test=10,
                                                seed=3)).fingerprint
    assert sub.fingerprint != full.fingerprint
    assert full.fingerprint == load_dataset(Data(dataset="cifar10", data_dir=d, num_train=100)).fingerprint
    rows_of_full = {full.x_train[i].tobytes(): int(full.y_train[i]) for i in range(full.num_train)}
    assert all(rows_of_full[x.tobytes()] == y for x, y in zip(sub.x_train, sub.y_train))


def test_the_fingerprint_changes_with_one_pixel_and_is_stable_across_parses(tmp_path):
    write_cifar10(tmp_path / "a", "folder")
    before = load_dataset(Data(dataset="cifar10", data_dir=str(tmp_path / "a"))).fingerprint
    cifar.clear_cache()
    assert load_dataset(Data(dataset="cifar10", data_dir=str(tmp_path / "a"))).fingerprint == before
    path = tmp_path / "a" / "cifar-10-batches-py" / "test_batch"
    batch = pickle.loads(path.read_bytes(), encoding="bytes")
    batch[b"data"] = batch[b"data"].copy()
    batch[b"data"][0, 0] ^= 1
    path.write_bytes(py2_dumps(batch))
    assert load_dataset(Data(dataset="cifar10", data_dir=str(tmp_path / "a"))).fingerprint != before  # not cached


def test_the_parse_is_cached_per_source(tmp_path, monkeypatch):
    write_cifar10(tmp_path, "archive")
    calls = []
    parse = cifar._parse
    monkeypatch.setattr(cifar, "_parse", lambda *a: calls.append(1) or parse(*a))
    a = load_dataset(Data(dataset="cifar10", data_dir=str(tmp_path)))
    b = load_dataset(Data(dataset="cifar10", data_dir=str(tmp_path), num_train=50))
    assert len(calls) == 1 and a.fingerprint != b.fingerprint


# -- errors: one line -----------------------------------------------------------------------------------------

def _one_line(exc_info) -> str:
    message = str(exc_info.value)
    assert "\n" not in message
    return message


def test_missing_files_name_the_dataset_the_files_and_the_directory(tmp_path, monkeypatch):
    with pytest.raises(DataError) as info:
        load_dataset(Data(dataset="cifar10", data_dir=str(tmp_path / "nowhere")))
    msg = _one_line(info)
    assert msg.startswith("CIFAR-10 not found in ") and str(tmp_path / "nowhere") in msg
    assert "cifar-10-python.tar.gz" in msg and "cifar-10-batches-py/" in msg and "from data.data_dir" in msg
    monkeypatch.setenv("SEMCOM_DATA", str(tmp_path / "env"))
    with pytest.raises(DataError) as info:
        load_dataset(Data(dataset="cifar100", label_mode="coarse"))
    msg = _one_line(info)
    assert "CIFAR-100" in msg and "cifar-100-python.tar.gz" in msg and "cifar-100-python/" in msg
    assert str(tmp_path / "env") in msg and "from $SEMCOM_DATA" in msg
    monkeypatch.delenv("SEMCOM_DATA")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError) as info:
        load_dataset(Data(dataset="cifar10"))
    msg = _one_line(info)
    assert str(tmp_path / "data") in msg and "neither data.data_dir nor $SEMCOM_DATA is set" in msg


def test_an_extracted_folder_with_a_missing_batch_names_it(tmp_path):
    write_cifar10(tmp_path, "folder")
    (tmp_path / "cifar-10-batches-py" / "data_batch_4").unlink()
    with pytest.raises(DataError, match=r"lacks data_batch_4"):
        load_dataset(Data(dataset="cifar10", data_dir=str(tmp_path)))


def test_a_truncated_archive_is_one_line(tmp_path):
    path = tmp_path / "cifar-10-python.tar.gz"
    write_cifar10(tmp_path, "archive")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataError) as info:
        load_dataset(Data(dataset="cifar10", data_dir=str(tmp_path)))
    msg = _one_line(info)
    assert str(path) in msg and "corrupt or truncated" in msg


def test_an_archive_without_the_batches_is_not_the_python_version(tmp_path):
    with tarfile.open(tmp_path / "cifar-10-python.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-bin/data_batch_1.bin")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(DataError, match=r"lacks cifar-10-batches-py/data_batch_1, .*not the python version"):
        load_dataset(Data(dataset="cifar10", data_dir=str(tmp_path)))


def test_a_corrupt_batch_and_a_foreign_pickle_are_refused_naming_the_member(tmp_path):
    write_cifar10(tmp_path, "folder")
    folder = tmp_path / "cifar-10-batches-py"
    (folder / "data_batch_3").write_bytes(b"\x80\x02}(U\x04data")  # cut off
    with pytest.raises(DataError) as info:
        load_dataset(Data(dataset="cifar10", data_dir=str(tmp_path)))
    assert "data_batch_3: not a CIFAR python-version batch" in _one_line(info)
    write_cifar10(tmp_path, "folder")
    (folder / "test_batch").write_bytes(b"\x80\x02cos\nsystem\nU\x04trueR.")  # would run a shell command
    with pytest.raises(DataError, match=r"test_batch: .*refusing to load os\.system"):
        load_dataset(Data(dataset="cifar10", data_dir=str(tmp_path)))


def test_a_batch_with_the_wrong_shape_or_labels_is_refused(tmp_path):
    write_cifar10(tmp_path, "folder")
    path = tmp_path / "cifar-10-batches-py" / "data_batch_2"
    batch = pickle.loads(path.read_bytes(), encoding="bytes")
    path.write_bytes(py2_dumps({**batch, b"data": batch[b"data"][:, :1024]}))
    with pytest.raises(DataError, match=r"data_batch_2: 'data' must be uint8 \[N, 3072\]"):
        load_dataset(Data(dataset="cifar10", data_dir=str(tmp_path)))
    path.write_bytes(py2_dumps({**batch, b"labels": batch[b"labels"][:-1] + [10]}))
    with pytest.raises(DataError, match=r"data_batch_2: 'labels' holds 10, outside 0\.\.9"):
        load_dataset(Data(dataset="cifar10", data_dir=str(tmp_path)))


# -- the command line -------------------------------------------------------------------------------------

def _env(**extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SEMCOM_DEBUG", "SEMCOM_DATA")}
    return {**env, "MPLBACKEND": "Agg", **extra}


@pytest.mark.slow
def test_the_command_line_says_where_to_put_the_archive_and_exits_2(tmp_path, semcom_sim_main, monkeypatch):
    monkeypatch.setenv("SEMCOM_DATA", str(tmp_path / "empty"))
    proc = semcom_sim_main("run", ROOT / "scenarios" / "cifar10.py", "--out", tmp_path / "out", "--no-progress")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith("semcom-sim: error: CIFAR-10 not found in ")
    assert "cifar-10-python.tar.gz" in lines[0] and str(tmp_path / "empty") in lines[0] and "$SEMCOM_DATA" in lines[0]
    assert not (tmp_path / "out" / "results.csv").exists()


TINY_RUN = ["data.num_train=300", "data.num_test=100", "model.num_channel_uses=16", "model.encoder_filters=(8, 16)",
            "model.decoder_units=(16,)", "phy.channel=AWGN", "phy.csi=perfect", "phy.fft_size=36",
            "phy.num_guard_carriers=(2, 3)", "phy.num_ofdm_symbols=7", "phy.pilot_ofdm_symbol_indices=(2,)",
            "phy.snr_feedback_bits=none", "training.epochs=1", "training.batch_size=100", "sweep.ebno_db=(0.0, 10.0)",
            "sweep.min_samples=100", "sweep.max_samples=100", "sweep.batch_size=100", "sweep.schemes=('proposed',)"]


@pytest.mark.slow
def test_scenarios_cifar10_runs_end_to_end_on_a_tiny_archive(tmp_path, monkeypatch, capsys):
    from semcom_sim.cli import main
    from semcom_sim.results import read_results

    write_cifar10(tmp_path / "data", "archive", per_batch=60, num_test=100)
    monkeypatch.setenv("SEMCOM_DATA", str(tmp_path / "data"))
    out = tmp_path / "out"
    code = main(["run", str(ROOT / "scenarios" / "cifar10.py"), "--out", str(out), "--no-progress",
                 *[w for o in TINY_RUN for w in ("--set", o)]])
    assert code == 0, capsys.readouterr().err
    results = read_results(out / "results.csv")
    assert [(r["scheme"], r["ebno_db"], r["samples"]) for r in results] == [("proposed", 0.0, 100),
                                                                          ("proposed", 10.0, 100)]
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in results)
    assert (out / "accuracy_vs_ebno.png").is_file()


def test_scenarios_cifar100_clip_names_the_missing_archive_then_the_missing_teacher(tmp_path, monkeypatch, capsys):
    from semcom_sim.cli import main

    scenario = str(ROOT / "scenarios" / "cifar100_clip.py")
    monkeypatch.setenv("SEMCOM_DATA", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # models/clip-vit-base-patch32 is relative to where one runs
    assert main(["teacher", "finetune", scenario]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "CIFAR-100 not found" in err[0] and "cifar-100-python.tar.gz" in err[0]
    write_cifar100(tmp_path / "data", "archive", num_train=200, num_test=100)
    assert main(["teacher", "finetune", scenario]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "teacher.model_dir" in err[0] and "models/clip-vit-base-patch32" in err[0]
    assert not (tmp_path / "teachers").exists()  # nothing half-written
