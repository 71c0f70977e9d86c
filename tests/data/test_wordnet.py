"""Tests of semcom_sim.data.wordnet: data.noun / lexnames parsing, error messages, the fixed
hash-based stratified split, subsets, fingerprints, the tokenizer and Vocabulary, the real WordNet
3.0 files (if installed) and the no-TensorFlow import."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from semcom_sim.data import DataError
from semcom_sim.data import wordnet as wn

REAL_DIR = Path(wn.DEFAULT_WORDNET_DIR)
HEADER = [
    "  1 This software and database is being provided to you, the LICENSEE, by  ",
    "  2 Princeton University under the following license.  By obtaining, using  ",
    "  3   ",
    "  4 WordNet 3.0 Copyright 2006 by Princeton University.  All rights reserved.  ",
]
# Class sizes of the generated synsets, by lex_filenum (noun.act, noun.animal, noun.artifact, noun.person).
FAKE_COUNTS = {4: 7, 5: 20, 6: 33, 18: 51}


def synset_line(offset: int, lex: int, words: list[str], pointers: list[tuple[str, int, str, str]],
                gloss: str) -> str:
    """One line of data.noun in the wndb(5WN) format."""
    parts = [f"{offset:08d}", f"{lex:02d}", "n", f"{len(words):02x}"]
    for i, w in enumerate(words):
        parts += [w, f"{i % 16:x}"]
    parts.append(f"{len(pointers):03d}")
    for symbol, target, pos, st in pointers:
        parts += [symbol, f"{target:08d}", pos, st]
    return " ".join(parts) + f" | {gloss}  "


def hand_lines() -> list[str]:
    """Three hand-written synsets: 11 words (w_cnt 0b), pointers of several kinds, odd whitespace."""
    return [
        synset_line(1740, 3, ["entity"], [("~", 1930, "n", "0000"), ("~", 2137, "n", "0000")],
                    "that which is perceived or known or inferred to have its own distinct existence"),
        synset_line(2084, 5, [f"dog_{k}" for k in range(11)],
                    [("@", 1740, "n", "0000"), ("+", 692347, "v", "0101"), ("#m", 1930, "n", "0000")],
                    'a member of the genus Canis;  "the Dog barked all night"'),
        synset_line(3553, 18, ["person", "individual", "someone"], [],
                    "a human being; \"there was too much for one person to do\""),
    ]


def fake_lines(seed: int = 0) -> list[str]:
    """``sum(FAKE_COUNTS)`` generated synsets with distinct offsets, in ascending offset order."""
    rng = random.Random(seed)
    offsets = sorted(rng.sample(range(10_000, 99_999_999), sum(FAKE_COUNTS.values())))
    labels = [lex for lex, n in FAKE_COUNTS.items() for _ in range(n)]
    rng.shuffle(labels)
    lines = []
    for off, lex in zip(offsets, labels):
        words = [f"w{off}_{k}" for k in range(rng.randint(1, 12))]
        pointers = [("@", rng.choice(offsets), "n", "0000") for _ in range(rng.randint(0, 3))]
        lines.append(synset_line(off, lex, words, pointers, f"gloss of {off} in class {lex}; \"an example\""))
    return lines


def write_lexnames(directory: Path, names=wn.LEXNAMES) -> Path:
    cats = {"adj": 3, "adv": 4, "noun": 1, "verb": 2}
    text = "".join(f"{i:02d}\t{n}\t{cats[n.split('.')[0]]}\n" for i, n in enumerate(names))
    (directory / "lexnames").write_text(text)
    return directory / "lexnames"


def write_wordnet(directory: Path, lines: list[str], lexnames: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "data.noun").write_text("\n".join(HEADER + lines) + "\n")
    if lexnames:
        write_lexnames(directory)
    return directory


@pytest.fixture(autouse=True)
def _fresh_cache():
    wn.clear_cache()
    yield
    wn.clear_cache()


@pytest.fixture
def fake_dir(tmp_path: Path) -> Path:
    return write_wordnet(tmp_path / "wn", fake_lines())


# -- parsing -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("with_lexnames", [True, False])
def test_parse_hand_written_synsets(tmp_path: Path, with_lexnames: bool):
    d = write_wordnet(tmp_path / "wn", hand_lines(), lexnames=with_lexnames)
    offsets, labels, texts, class_names = wn.parse_data_file(
        d / "data.noun", wn.parse_lexnames(d / "lexnames") if with_lexnames else wn.LEXNAMES)
    assert class_names == wn.CLASS_NAMES and len(class_names) == 26
    assert class_names[0] == "noun.Tops" and class_names[1] == "noun.act" and class_names[-1] == "noun.time"
    assert offsets.tolist() == [1740, 2084, 3553] and offsets.dtype == np.int64
    assert labels.tolist() == [0, 2, 15] and labels.dtype == np.int32  # lex_filenum 3, 5, 18
    assert [class_names[k] for k in labels] == ["noun.Tops", "noun.animal", "noun.person"]
    assert texts[1] == 'a member of the genus canis; "the dog barked all night"'  # lower-cased, spaces collapsed
    assert texts[2] == 'a human being; "there was too much for one person to do"'


def test_load_small_directory(tmp_path: Path):
    d = write_wordnet(tmp_path / "wn", hand_lines() + fake_lines())
    ds = wn.load_wordnet_nouns(str(d))
    assert ds.name == "wordnet-nouns" and ds.num_classes == 26 and ds.class_names == wn.CLASS_NAMES
    assert ds.num_train + ds.num_test == 3 + sum(FAKE_COUNTS.values())
    for split in ("train", "test"):
        off = getattr(ds, f"offsets_{split}")
        assert off.dtype == np.int64 and np.all(np.diff(off) > 0)
        assert getattr(ds, f"y_{split}").dtype == np.int32
        assert all(isinstance(t, str) for t in getattr(ds, f"texts_{split}"))
        assert not off.flags.writeable
    assert set(ds.offsets_train.tolist()).isdisjoint(ds.offsets_test.tolist())
    assert wn.load_wordnet_nouns(str(d)) is ds  # cached in-process


def test_lexnames_file_is_used(tmp_path: Path):
    d = write_wordnet(tmp_path / "wn", hand_lines())
    names = list(wn.LEXNAMES)
    names[3] = "noun.top_level"
    write_lexnames(d, names)
    ds = wn.load_wordnet_nouns(str(d))
    assert ds.class_names[0] == "noun.top_level" and ds.num_classes == 26


def test_changed_file_is_parsed_again(tmp_path: Path):
    d = write_wordnet(tmp_path / "wn", hand_lines())
    first = wn.load_wordnet_nouns(str(d))
    write_wordnet(d, hand_lines() + fake_lines())
    second = wn.load_wordnet_nouns(str(d))
    assert second.num_train + second.num_test == 3 + sum(FAKE_COUNTS.values())
    assert second.fingerprint != first.fingerprint


# -- errors ------------------------------------------------------------------------------------------

def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_missing_directory_message(tmp_path: Path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError) as exc:
        wn.load_wordnet_nouns(str(missing))
    msg = _one_line(exc)
    assert msg.startswith(f"WordNet 3.0 not found in {missing}")
    assert "sudo apt-get install wordnet-base" in msg and "$SEMCOM_WORDNET" in msg and "data.noun" in msg


def test_directory_without_data_noun_and_env_var(tmp_path: Path, monkeypatch):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv(wn.ENV_VAR, str(tmp_path / "empty"))
    with pytest.raises(DataError, match=r"not found in .*empty \(from \$SEMCOM_WORDNET\): install"):
        wn.load_wordnet_nouns()
    write_wordnet(tmp_path / "empty", hand_lines())
    assert wn.load_wordnet_nouns().num_classes == 26  # found through the variable


CORRUPTIONS = {
    "no gloss separator": (lambda s: s.replace(" | ", " "), "no ' | '"),
    "w_cnt too large": (lambda s: s.replace(" n 0b ", " n 0c ", 1), "w_cnt 0c"),
    "w_cnt too small": (lambda s: s.replace(" n 0b ", " n 0a ", 1), "p_cnt 'dog_10'"),
    "bad pointer count": (lambda s: s.replace(" 003 @ ", " 004 @ ", 1), "pointer fields"),
    "bad offset": (lambda s: "2084x" + s[8:], "offset"),
    "verb lex_filenum": (lambda s: s[:9] + "29" + s[11:], "not a noun"),
    "ss_type": (lambda s: s[:12] + "v" + s[13:], "ss_type"),
    "pointer pos": (lambda s: s.replace(" 00692347 v ", " 00692347 x ", 1), "pointer 2"),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_corrupt_line_names_file_and_line(tmp_path: Path, case: str):
    corrupt, needle = CORRUPTIONS[case]
    lines = hand_lines()
    lines[1] = corrupt(lines[1])
    d = write_wordnet(tmp_path / "wn", lines)
    with pytest.raises(DataError) as exc:
        wn.load_wordnet_nouns(str(d))
    msg = _one_line(exc)
    line_no = len(HEADER) + 2
    assert f"{d.resolve() / 'data.noun'}, line {line_no}:" in msg and needle in msg


def test_duplicate_offset_is_an_error(tmp_path: Path):
    lines = hand_lines()
    d = write_wordnet(tmp_path / "wn", lines + [lines[0]])
    with pytest.raises(DataError, match=rf"line {len(HEADER) + 4}: .*00001740 already on line {len(HEADER) + 1}"):
        wn.load_wordnet_nouns(str(d))


def test_corrupt_lexnames(tmp_path: Path):
    d = write_wordnet(tmp_path / "wn", hand_lines())
    (d / "lexnames").write_text("00\tadj.all\t3\n02\tadv.all\t4\n")
    with pytest.raises(DataError, match=r"lexnames, line 2: .*expected 01"):
        wn.load_wordnet_nouns(str(d))


# -- split, subsets, fingerprint ---------------------------------------------------------------------

def _dataset_key(ds: wn.TextDataset):
    return (ds.fingerprint, ds.offsets_train.tolist(), ds.offsets_test.tolist(), ds.texts_train, ds.texts_test,
            ds.y_train.tolist(), ds.y_test.tolist())


def test_split_is_deterministic_and_independent_of_line_order(tmp_path: Path, fake_dir: Path):
    ds = wn.load_wordnet_nouns(str(fake_dir))
    lines = fake_lines()
    random.Random(1).shuffle(lines)
    shuffled = wn.load_wordnet_nouns(str(write_wordnet(tmp_path / "shuffled", lines)))
    wn.clear_cache()
    again = wn.load_wordnet_nouns(str(fake_dir))
    assert again is not ds
    assert _dataset_key(shuffled) == _dataset_key(ds) == _dataset_key(again)
    assert wn.load_wordnet_nouns(str(fake_dir), seed=5).fingerprint == ds.fingerprint  # seed: subsets only


@pytest.mark.parametrize("test_fraction", [0.1, 0.2, 0.5, 0.8])
def test_split_is_stratified(fake_dir: Path, test_fraction: float):
    ds = wn.load_wordnet_nouns(str(fake_dir), test_fraction=test_fraction)
    test_counts = np.bincount(ds.y_test, minlength=26)
    all_counts = test_counts + np.bincount(ds.y_train, minlength=26)
    for c in np.flatnonzero(all_counts):
        assert abs(test_counts[c] - test_fraction * all_counts[c]) <= 1
        assert 1 <= test_counts[c] < all_counts[c]


def test_larger_test_fraction_only_adds_to_test(fake_dir: Path):
    small = set(wn.load_wordnet_nouns(str(fake_dir), test_fraction=0.2).offsets_test.tolist())
    large = set(wn.load_wordnet_nouns(str(fake_dir), test_fraction=0.4).offsets_test.tolist())
    assert small < large


def test_bad_test_fraction(fake_dir: Path):
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="test_fraction"):
            wn.load_wordnet_nouns(str(fake_dir), test_fraction=bad)


def test_subsets_are_stratified_and_seeded(fake_dir: Path):
    full = wn.load_wordnet_nouns(str(fake_dir))
    a = wn.load_wordnet_nouns(str(fake_dir), num_train=44, num_test=11, seed=0)
    b = wn.load_wordnet_nouns(str(fake_dir), num_train=44, num_test=11, seed=0)
    c = wn.load_wordnet_nouns(str(fake_dir), num_train=44, num_test=11, seed=1)
    assert (a.num_train, a.num_test) == (44, 11)
    assert _dataset_key(a)[1:] == _dataset_key(b)[1:] and a.fingerprint == b.fingerprint
    assert a.offsets_train.tolist() != c.offsets_train.tolist() and a.fingerprint != c.fingerprint
    assert set(a.offsets_train.tolist()) <= set(full.offsets_train.tolist())
    assert set(a.offsets_test.tolist()) <= set(full.offsets_test.tolist())
    assert a.fingerprint != full.fingerprint
    # proportional: 44 of the 88 training samples, half of each class (within rounding)
    full_counts = np.bincount(full.y_train, minlength=26)
    assert np.all(np.abs(np.bincount(a.y_train, minlength=26) - full_counts * 44 / full.num_train) < 1)
    # the training subset does not depend on num_test
    d = wn.load_wordnet_nouns(str(fake_dir), num_train=44, num_test=5, seed=0)
    assert d.offsets_train.tolist() == a.offsets_train.tolist()
    with pytest.raises(DataError, match="num_train=1000 exceeds"):
        wn.load_wordnet_nouns(str(fake_dir), num_train=1000)


def test_fingerprint_covers_texts_labels_and_offsets():
    texts, y, off = ("a b", "c"), np.array([0, 1], np.int32), np.array([5, 9], np.int64)
    base = wn.fingerprint_texts("x", [(texts, y, off)])
    assert len(base) == 16 and base == wn.fingerprint_texts("x", [(texts, y.copy(), off.copy())])
    assert base != wn.fingerprint_texts("y", [(texts, y, off)])
    assert base != wn.fingerprint_texts("x", [(("a", "b c"), y, off)])
    assert base != wn.fingerprint_texts("x", [(texts, y[::-1].copy(), off)])
    assert base != wn.fingerprint_texts("x", [(texts, y, off + 1)])
    assert base != wn.fingerprint_texts("x", [(texts[:1], y[:1], off[:1]), (texts[1:], y[1:], off[1:])])


# -- tokenizer and vocabulary ------------------------------------------------------------------------

def test_tokenize():
    assert wn.tokenize('The Dog\'s "bark-like" cry; e.g. 3.5 km_long \'quoted\'') == [
        "the", "dog's", "bark", "like", "cry", "e", "g", "3", "5", "km", "long", "quoted"]
    assert wn.tokenize("  ") == [] and wn.tokenize("Café don't") == ["café", "don't"]


TEXTS = ["the cat sat", "the dog sat", "a cat and a dog", "the end", "zebra"]


def test_vocabulary_build_order_and_determinism():
    v = wn.Vocabulary.build(TEXTS, min_count=1)
    # counts: the 3, a 2, cat 2, dog 2, sat 2, then the singletons alphabetically
    assert v.tokens == ("the", "a", "cat", "dog", "sat", "and", "end", "zebra")
    assert v.size == len(v) == 10 and v.token_id("the") == 2 and v.token_id("nope") == wn.UNK_ID
    assert v.id_token(0) == "<pad>" and v.id_token(1) == "<unk>" and v.id_token(3) == "a"
    shuffled = wn.Vocabulary.build(list(reversed(TEXTS)), min_count=1)
    assert shuffled == v and shuffled.fingerprint == v.fingerprint and len(v.fingerprint) == 16
    assert wn.Vocabulary.build(TEXTS).tokens == ("the", "a", "cat", "dog", "sat")  # min_count=2
    assert wn.Vocabulary.build(TEXTS, max_size=4, min_count=1).tokens == ("the", "a")
    assert wn.Vocabulary.build(TEXTS, max_size=4).fingerprint != v.fingerprint
    with pytest.raises(TypeError, match="single str"):
        wn.Vocabulary.build("the cat")
    with pytest.raises(ValueError, match="max_size"):
        wn.Vocabulary.build(TEXTS, max_size=1)


def test_encode_pads_truncates_and_marks_unknown_words():
    v = wn.Vocabulary.build(TEXTS)  # the=2 a=3 cat=4 dog=5 sat=6
    x = v.encode(["The CAT sat", "a purple dog", "", "the cat sat the dog sat"], max_len=4)
    assert x.dtype == np.int32 and x.shape == (4, 4)
    assert x.tolist() == [[2, 4, 6, 0], [3, 1, 5, 0], [0, 0, 0, 0], [2, 4, 6, 2]]
    assert v.encode([], max_len=3).shape == (0, 3)
    with pytest.raises(ValueError, match="max_len"):
        v.encode(["a"], max_len=0)


def test_vocabulary_json_round_trip():
    v = wn.Vocabulary.build(TEXTS, min_count=1)
    w = wn.Vocabulary.from_json(v.to_json())
    assert w == v and w.fingerprint == v.fingerprint
    assert w.encode(TEXTS, 6).tolist() == v.encode(TEXTS, 6).tolist()
    tampered = v.to_json().replace('"zebra"', '"zebu"')
    with pytest.raises(ValueError, match="fingerprint"):
        wn.Vocabulary.from_json(tampered)
    with pytest.raises(ValueError, match="semcom-vocabulary"):
        wn.Vocabulary.from_json('{"tokens": []}')
    with pytest.raises(ValueError, match="occurs twice"):
        wn.Vocabulary(["a", "a"])


# -- the real WordNet 3.0 files ----------------------------------------------------------------------

@pytest.mark.skipif(not (REAL_DIR / "data.noun").is_file(),
                    reason=f"WordNet 3.0 not installed in {REAL_DIR} (sudo apt-get install wordnet-base)")
def test_real_wordnet_nouns():
    ds = wn.load_wordnet_nouns(str(REAL_DIR))
    assert ds.num_classes == 26 and ds.class_names == wn.CLASS_NAMES
    total = ds.num_train + ds.num_test
    assert 80_000 <= total <= 84_000
    train_counts, test_counts = np.bincount(ds.y_train, minlength=26), np.bincount(ds.y_test, minlength=26)
    assert np.all(train_counts > 0) and np.all(test_counts > 0)
    assert np.all(np.abs(test_counts - 0.2 * (train_counts + test_counts)) <= 1)
    assert all(ds.texts_train) and all(t == t.lower() for t in ds.texts_test[:1000])
    wn.clear_cache()
    again = wn.load_wordnet_nouns(str(REAL_DIR))
    assert again is not ds and again.fingerprint == ds.fingerprint
    assert again.offsets_test.tolist() == ds.offsets_test.tolist()


def test_import_does_not_pull_tensorflow():
    code = ("import sys, semcom_sim.data.wordnet; "
            "print(','.join(m for m in ('tensorflow', 'keras', 'sionna', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
