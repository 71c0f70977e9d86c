"""A folder of class subfolders of PNG/JPEG images: classes, resizing, RGB/grey, train/ and test/ or the
hash split (and that it holds still when files are added), fingerprints and the one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from semcom_sim import Data, ScenarioError
from semcom_sim.data import DataError, image_folder, load_dataset


@pytest.fixture(autouse=True)
def _fresh_cache():
    image_folder.clear_cache()
    yield
    image_folder.clear_cache()


def solid(path: Path, rgb: tuple[int, int, int], size: tuple[int, int] = (40, 24), fmt: str | None = None) -> Path:
    """A one-colour image of ``size`` (width, height) at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, rgb).save(path, format=fmt)
    return path


def folder_with_splits(root: Path) -> Path:
    """train/ and test/ with classes 'cat' (red PNGs) and 'dog' (blue JPEGs), extensions in mixed case."""
    for split, n in (("train", 3), ("test", 2)):
        for i in range(n):
            solid(root / split / "dog" / f"d{i}.JpG", (0, 0, 255), fmt="JPEG")
            solid(root / split / "cat" / f"c{i}.PNG", (255, 0, 0), size=(20 + i, 30), fmt="PNG")
    return root


def test_classes_are_the_sorted_subfolders_and_the_split_is_train_and_test(tmp_path):
    ds = load_dataset(Data(dataset="image-folder", data_dir=str(folder_with_splits(tmp_path))))
    assert ds.name == "image-folder" and ds.class_names == ("cat", "dog") and ds.num_classes == 2
    assert ds.x_train.shape == (6, 32, 32, 3) and ds.x_test.shape == (4, 32, 32, 3)
    assert ds.x_train.dtype == np.float32 and not ds.x_train.flags.writeable
    np.testing.assert_array_equal(ds.y_train, [0, 0, 0, 1, 1, 1])  # class by class, files in sorted order
    np.testing.assert_array_equal(ds.y_test, [0, 0, 1, 1])
    np.testing.assert_array_equal(ds.x_train[ds.y_train == 0], np.broadcast_to([1.0, 0.0, 0.0], (3, 32, 32, 3)))
    blue = ds.x_test[ds.y_test == 1] * 255  # JPEG: within a few levels of (0, 0, 255)
    assert np.abs(blue - [0, 0, 255]).max() <= 6


def test_images_are_resized_without_keeping_the_aspect_ratio_and_grey_is_luma(tmp_path):
    left_right = Image.new("RGB", (40, 10))
    left_right.paste((255, 255, 255), (20, 0, 40, 10))  # left half black, right half white
    (tmp_path / "train" / "a").mkdir(parents=True)
    left_right.save(tmp_path / "train" / "a" / "x.png")
    solid(tmp_path / "test" / "a" / "y.png", (200, 100, 50))
    ds = load_dataset(Data(dataset="image-folder", data_dir=str(tmp_path), image_shape=(8, 12, 1)))
    assert ds.x_train.shape == (1, 8, 12, 1) and ds.x_test.shape == (1, 8, 12, 1)
    x = ds.x_train[0, :, :, 0]
    assert (x[:, :5] == 0).all() and (x[:, 7:] == 1).all()  # the edge stays in the middle, the rows are alike
    luma = (200 * 299 + 100 * 587 + 50 * 114) / 1000  # ITU-R 601-2, Pillow's "L"
    assert abs(ds.x_test[0, 0, 0, 0] * 255 - luma) <= 1


def test_non_image_and_hidden_files_are_skipped(tmp_path):
    folder_with_splits(tmp_path)
    (tmp_path / "train" / "cat" / "notes.txt").write_text("not an image")
    solid(tmp_path / "train" / "cat" / ".hidden.png", (0, 255, 0))
    solid(tmp_path / "train" / ".cache" / "z.png", (0, 255, 0))
    ds = load_dataset(Data(dataset="image-folder", data_dir=str(tmp_path)))
    assert ds.class_names == ("cat", "dog") and ds.num_train == 6


def _flat_folder(root: Path, per_class: int = 30) -> Path:
    rng = np.random.default_rng(0)
    for name in ("ants", "bees", "wasps"):
        for i in range(per_class):
            solid(root / name / f"{i:03d}.png", tuple(int(v) for v in rng.integers(0, 256, 3)), size=(8, 8))
    return root


def _test_paths(root: Path, fraction: float = 0.2) -> set[str]:
    _, _, test, rule = image_folder.list_images(root, fraction)
    assert rule == "hash"
    return {p.relative_to(root).as_posix() for p, _ in test}


def test_without_train_and_test_the_split_is_a_hash_of_each_path(tmp_path):
    root = _flat_folder(tmp_path)
    test = _test_paths(root)
    assert test == {f"{c}/{i:03d}.png" for c in ("ants", "bees", "wasps") for i in range(30)
                    if image_folder.is_test(f"{c}/{i:03d}.png", 0.2)}
    assert 0.05 < len(test) / 90 < 0.4  # 0.2 on average; 90 images
    ds = load_dataset(Data(dataset="image-folder", data_dir=str(root), image_shape=(8, 8, 3)))
    assert ds.num_test == len(test) and ds.num_train == 90 - len(test)
    assert _test_paths(root, 0.5) > test  # a larger fraction only adds test images


def test_the_hash_split_holds_still_when_files_are_added_or_removed(tmp_path):
    root = _flat_folder(tmp_path)
    before = _test_paths(root)
    first = load_dataset(Data(dataset="image-folder", data_dir=str(root), image_shape=(8, 8, 3)))
    for i in range(30, 60):
        solid(root / "bees" / f"{i:03d}.png", (1, 2, 3), size=(8, 8))
    solid(root / "moths" / "m.png", (4, 5, 6), size=(8, 8))
    (root / "ants" / "000.png").unlink()
    after = _test_paths(root)
    surviving = {f"{c}/{i:03d}.png" for c in ("ants", "bees", "wasps") for i in range(30)} - {"ants/000.png"}
    assert after & surviving == before & surviving  # no old image changed split
    second = load_dataset(Data(dataset="image-folder", data_dir=str(root), image_shape=(8, 8, 3)))
    assert second.num_classes == 4 and second.num_train + second.num_test == 120  # the cache saw the change
    assert second.fingerprint != first.fingerprint


def test_test_fraction_is_checked_and_only_for_an_image_folder():
    with pytest.raises(ScenarioError, match=r"^data\.test_fraction: must be in \(0, 1\), got 1\.0"):
        Data(dataset="image-folder", data_dir="x", test_fraction=1.0)
    with pytest.raises(ScenarioError, match=r"^data\.test_fraction: sets the hash split of an image folder"):
        Data(dataset="cifar10", test_fraction=0.3)


def test_the_fingerprint_is_stable_and_follows_pixels_and_class_names(tmp_path):
    root = folder_with_splits(tmp_path / "f")
    a = load_dataset(Data(dataset="image-folder", data_dir=str(root)))
    image_folder.clear_cache()
    assert load_dataset(Data(dataset="image-folder", data_dir=str(root))).fingerprint == a.fingerprint
    assert load_dataset(Data(dataset="image-folder", data_dir=str(root), image_shape=(16, 16, 3))).fingerprint \
        != a.fingerprint
    sub = load_dataset(Data(dataset="image-folder", data_dir=str(root), num_train=4, seed=1))
    np.testing.assert_array_equal(np.bincount(sub.y_train), [2, 2])
    assert sub.fingerprint != a.fingerprint
    for split in ("train", "test"):
        (root / split / "dog").rename(root / split / "hound")
    renamed = load_dataset(Data(dataset="image-folder", data_dir=str(root)))
    np.testing.assert_array_equal(renamed.x_train, a.x_train)
    assert renamed.fingerprint != a.fingerprint
    solid(root / "train" / "cat" / "c0.PNG", (254, 0, 0), size=(20, 30), fmt="PNG")
    assert load_dataset(Data(dataset="image-folder", data_dir=str(root))).fingerprint != renamed.fingerprint


# -- errors: one line ------------------------------------------------------------------------------------------

def _message(tmp_path: Path, **fields) -> str:
    with pytest.raises(DataError) as info:
        load_dataset(Data(dataset="image-folder", data_dir=str(tmp_path), **fields))
    assert "\n" not in str(info.value)
    return str(info.value)


def test_an_image_that_cannot_be_decoded_is_named(tmp_path):
    folder_with_splits(tmp_path)
    bad = tmp_path / "train" / "dog" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    msg = _message(tmp_path)
    assert msg.startswith(f"image-folder: cannot decode {bad} (") and "replace or remove the file" in msg
    bad.unlink()
    good = tmp_path / "train" / "cat" / "c0.PNG"
    good.write_bytes(good.read_bytes()[:60])  # truncated PNG
    assert f"cannot decode {good}" in _message(tmp_path)


def test_empty_and_missing_folders_are_one_line_errors(tmp_path):
    folder_with_splits(tmp_path)
    (tmp_path / "train" / "bird").mkdir()
    assert _message(tmp_path) == (f"image-folder: {tmp_path / 'train' / 'bird'} holds no PNG or JPEG images "
                                  "(.png, .jpg, .jpeg); add images or remove the folder")
    (tmp_path / "train" / "bird").rmdir()
    solid(tmp_path / "test" / "fox" / "f.png", (1, 1, 1))
    assert "test/fox is a class that train/ does not have" in _message(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "has no class subfolders" in _message(empty)
    assert "is not a directory" in _message(tmp_path / "nowhere")
    only_train = tmp_path / "only"
    solid(only_train / "train" / "a" / "x.png", (1, 1, 1))
    assert "has train/ but no test/" in _message(only_train)
    one = tmp_path / "one"
    solid(one / "a" / "x.png", (1, 1, 1))
    assert "puts none of the 1 images" in _message(one)


def test_data_dir_and_the_image_shape_are_checked_when_the_scenario_is_built():
    with pytest.raises(ScenarioError, match=r"^data\.data_dir: image-folder needs it"):
        Data(dataset="image-folder")
    with pytest.raises(ScenarioError, match=r"^data\.image_shape: image-folder images are RGB \(3 channels\) or grey"):
        Data(dataset="image-folder", data_dir="x", image_shape=(32, 32, 2))
    with pytest.raises(ScenarioError, match=r"^data\.image_shape: sets the size of the synthetic images"):
        Data(dataset="cifar10", image_shape=(32, 32, 3))
