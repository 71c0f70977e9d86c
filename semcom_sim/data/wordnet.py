"""A real text-classification set: WordNet 3.0 noun glosses labelled with their lexicographer file.

    from semcom_sim.data.wordnet import Vocabulary, load_wordnet_nouns

    ds = load_wordnet_nouns()                 # 82,115 noun synsets, 26 classes (noun.Tops .. noun.time)
    vocab = Vocabulary.build(ds.texts_train)
    x = vocab.encode(ds.texts_train, max_len=32)   # int32 [N, 32], 0 = padding, 1 = unknown word

**Samples.** One sample per noun synset of ``data.noun``. Its text is the synset's gloss exactly as
WordNet gives it (the definition followed by any quoted examples, e.g. ``a member of the genus canis
...; "the dog barked all night"``), lower-cased and with runs of whitespace collapsed to one space.
The synset's own words (lemmas) are *not* prepended, and are *not* removed from the examples where
they occur: the task is "which category does this definition describe". Its label is the
synset's lexicographer file (``lex_filenum`` 3..28 = ``noun.Tops`` .. ``noun.time``, mapped to
0..25 in that order, see :data:`CLASS_NAMES`); its stable id is the synset offset.

**Files.** Directory search order: ``data_dir``, else ``$SEMCOM_WORDNET``, else
``/usr/share/wordnet`` (Debian package ``wordnet-base``). Only ``data.noun`` is required. The
Debian package does not ship the ``lexnames`` file (see its README.Debian: the WordNet library has
the list compiled in), so the WordNet 3.0 list is built in here (:data:`LEXNAMES`); a ``lexnames``
file in the directory, if present, is read instead (its ``noun.*`` entries become the classes, in
file-number order). The data file format is ``wndb(5WN)``; it is parsed here, without nltk.

**Split.** Fixed and stratified: within each class the synsets are ranked by
``sha256(f"{offset:08d}")`` and the ``floor(test_fraction * n_class + 0.5)`` first ones (at least one and
at most ``n_class - 1`` for classes of two or more) go to test. The split therefore depends neither
on the order of the lines in the file nor on any random generator, and a larger ``test_fraction``
only moves more synsets into test. ``seed`` only draws the optional ``num_train`` / ``num_test``
class-stratified subsets. Samples are kept in ascending offset order.

This module imports numpy and the standard library only (no TensorFlow, Keras, Sionna or torch).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from semcom_sim.data.base import DataError, read_only, resolve_data_dir, seeded_rng, stratified_indices

__all__ = [
    "NAME", "DEFAULT_WORDNET_DIR", "ENV_VAR", "DATA_FILE", "LEXNAMES_FILE", "LEXNAMES", "CLASS_NAMES",
    "PAD_ID", "UNK_ID", "TextDataset", "Vocabulary", "tokenize", "find_wordnet_dir", "parse_data_file",
    "parse_lexnames", "split_mask", "fingerprint_texts", "load_wordnet_nouns", "clear_cache",
]

NAME = "wordnet-nouns"
DEFAULT_WORDNET_DIR = "/usr/share/wordnet"
ENV_VAR = "SEMCOM_WORDNET"
DATA_FILE = "data.noun"
LEXNAMES_FILE = "lexnames"
# The WordNet 3.0 lexicographer files (lexnames(5WN)), index = lex_filenum.
LEXNAMES = (
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact",
    "noun.attribute", "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling",
    "noun.food", "noun.group", "noun.location", "noun.motive", "noun.object", "noun.person",
    "noun.phenomenon", "noun.plant", "noun.possession", "noun.process", "noun.quantity", "noun.relation",
    "noun.shape", "noun.state", "noun.substance", "noun.time", "verb.body", "verb.change",
    "verb.cognition", "verb.communication", "verb.competition", "verb.consumption", "verb.contact",
    "verb.creation", "verb.emotion", "verb.motion", "verb.perception", "verb.possession", "verb.social",
    "verb.stative", "verb.weather", "adj.ppl",
)
CLASS_NAMES = tuple(n for n in LEXNAMES if n.startswith("noun."))  # 26: lex_filenum 3..28 -> 0..25
PAD_ID, UNK_ID = 0, 1
_SUBSET_TRAIN_STREAM, _SUBSET_TEST_STREAM = 101, 102
_POINTER_POS = frozenset("nvasr")
_HEX = frozenset("0123456789abcdefABCDEF")


# -- the dataset container ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, eq=False)
class TextDataset:
    """A text classification dataset, split into train and test.

    Arrays are read-only (they may be shared with an in-process cache); equality is identity
    (``eq=False``): compare :attr:`fingerprint` to compare contents.

    :param name: ``"wordnet-nouns"``.
    :param texts_train: ``N`` texts (gloss, lower-cased, whitespace collapsed).
    :param y_train: int32 ``[N]``, values in ``0 .. num_classes - 1``.
    :param texts_test: ``M`` texts.
    :param y_test: int32 ``[M]``.
    :param offsets_train: int64 ``[N]`` synset offsets in ``data.noun`` (stable sample ids), ascending.
    :param offsets_test: int64 ``[M]``, ascending.
    :param num_classes: number of classes (26 for WordNet 3.0).
    :param class_names: lexicographer file names, index = label (``"noun.Tops"``, ``"noun.act"``, ...).
    :param fingerprint: first 16 hex chars of a sha256 over ``name`` and, per split, the offsets,
        labels and texts (see :func:`fingerprint_texts`).
    """

    name: str
    texts_train: tuple[str, ...] = dataclasses.field(repr=False)
    y_train: np.ndarray = dataclasses.field(repr=False)
    texts_test: tuple[str, ...] = dataclasses.field(repr=False)
    y_test: np.ndarray = dataclasses.field(repr=False)
    offsets_train: np.ndarray = dataclasses.field(repr=False)
    offsets_test: np.ndarray = dataclasses.field(repr=False)
    num_classes: int
    class_names: tuple[str, ...] = dataclasses.field(repr=False)
    fingerprint: str

    def __post_init__(self):
        for split in ("train", "test"):
            texts, y, off = (getattr(self, f"{k}_{split}") for k in ("texts", "y", "offsets"))
            if not isinstance(texts, tuple):
                raise ValueError(f"texts_{split} must be a tuple of str, got {type(texts).__name__}")
            if y.dtype != np.int32 or y.shape != (len(texts),):
                raise ValueError(f"y_{split} must be int32 [{len(texts)}], got {y.dtype} {y.shape}")
            if off.dtype != np.int64 or off.shape != (len(texts),):
                raise ValueError(f"offsets_{split} must be int64 [{len(texts)}], got {off.dtype} {off.shape}")
        if len(self.class_names) != self.num_classes:
            raise ValueError(f"{len(self.class_names)} class names for {self.num_classes} classes")

    @property
    def num_train(self) -> int:
        """Number of training samples ``N``."""
        return len(self.texts_train)

    @property
    def num_test(self) -> int:
        """Number of test samples ``M``."""
        return len(self.texts_test)


# -- tokenizer and vocabulary ------------------------------------------------------------------------

_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens of ``text``: maximal runs of letters and digits (Unicode aware), where
    an apostrophe *between* two such runs stays inside the word (``"don't"``, ``"men's"``) and every
    other character (spaces, punctuation, quotes, hyphens, underscores, leading/trailing
    apostrophes) separates words. ``tokenize('The dog\\'s "bark-like" cry')`` ->
    ``['the', "dog's", 'bark', 'like', 'cry']``.
    """
    return _TOKEN.findall(text.lower())


def _check_texts(texts, what: str) -> list[str]:
    if isinstance(texts, str):
        raise TypeError(f"{what} expects a sequence of texts, got a single str; wrap it in a list")
    texts = list(texts)
    for t in texts:
        if not isinstance(t, str):
            raise TypeError(f"{what} expects str texts, got {type(t).__name__}")
    return texts


class Vocabulary:
    """A word-level vocabulary: id 0 = padding, 1 = unknown word, then words by descending count in
    the texts it was built from (ties alphabetical), so building is deterministic.

    Immutable; two vocabularies are equal when they map the same words to the same ids.
    """

    __slots__ = ("_tokens", "_index", "_fingerprint")

    def __init__(self, tokens: Sequence[str]):
        """:param tokens: the words of ids ``2, 3, ...`` in order (distinct, non-empty str)."""
        tokens = tuple(tokens)
        index = {}
        for i, t in enumerate(tokens):
            if not isinstance(t, str) or not t:
                raise ValueError(f"vocabulary word {i} must be a non-empty str, got {t!r}")
            if t in index:
                raise ValueError(f"vocabulary word {t!r} occurs twice (ids {index[t]} and {i + 2})")
            index[t] = i + 2
        self._tokens = tokens
        self._index = index
        h = hashlib.sha256(b"semcom-vocabulary")
        for t in tokens:
            b = t.encode()
            h.update(len(b).to_bytes(4, "little"))
            h.update(b)
        self._fingerprint = h.hexdigest()[:16]

    @classmethod
    def build(cls, texts: Iterable[str], max_size: int = 20000, min_count: int = 2) -> Vocabulary:
        """The words of ``texts`` (see :func:`tokenize`) seen at least ``min_count`` times, most frequent
        first (ties alphabetical), keeping ``max_size`` ids in all (the 2 reserved ones included)."""
        texts = _check_texts(texts, "Vocabulary.build")
        if int(max_size) < 2:
            raise ValueError(f"max_size must be >= 2 (ids 0 and 1 are reserved), got {max_size}")
        if int(min_count) < 1:
            raise ValueError(f"min_count must be >= 1, got {min_count}")
        counts = Counter()
        for t in texts:
            counts.update(tokenize(t))
        ranked = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        return cls(ranked[: int(max_size) - 2])

    @property
    def tokens(self) -> tuple[str, ...]:
        """The words of ids ``2, 3, ...``."""
        return self._tokens

    @property
    def size(self) -> int:
        """Number of ids, the 2 reserved ones included (the embedding's input dimension)."""
        return len(self._tokens) + 2

    def __len__(self) -> int:
        return self.size

    @property
    def fingerprint(self) -> str:
        """First 16 hex chars of a sha256 over the words in id order."""
        return self._fingerprint

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocabulary) and self._tokens == other._tokens

    def __hash__(self) -> int:
        return hash(self._tokens)

    def __repr__(self) -> str:
        return f"Vocabulary(size={self.size}, fingerprint={self._fingerprint!r})"

    def token_id(self, word: str) -> int:
        """The id of ``word`` (as :func:`tokenize` gives it), :data:`UNK_ID` if unknown."""
        return self._index.get(word, UNK_ID)

    def id_token(self, i: int) -> str:
        """The word of id ``i``; ``"<pad>"`` for 0 and ``"<unk>"`` for 1."""
        if i == PAD_ID:
            return "<pad>"
        if i == UNK_ID:
            return "<unk>"
        return self._tokens[i - 2]

    def encode(self, texts: Iterable[str], max_len: int) -> np.ndarray:
        """int32 ``[len(texts), max_len]``: the ids of each text's first ``max_len`` tokens, unknown
        words as :data:`UNK_ID`, followed by :data:`PAD_ID` up to ``max_len`` (post-padding; longer
        texts are truncated at the end)."""
        texts = _check_texts(texts, "Vocabulary.encode")
        if int(max_len) < 1:
            raise ValueError(f"max_len must be >= 1, got {max_len}")
        max_len = int(max_len)
        out = np.zeros((len(texts), max_len), dtype=np.int32)
        get = self._index.get
        for row, t in enumerate(texts):
            ids = [get(w, UNK_ID) for w in tokenize(t)[:max_len]]
            out[row, : len(ids)] = ids
        return out

    def to_json(self) -> str:
        """A JSON document that :meth:`from_json` reads back to an equal vocabulary."""
        return json.dumps({"format": "semcom-vocabulary", "version": 1, "pad_id": PAD_ID, "unk_id": UNK_ID,
                           "fingerprint": self._fingerprint, "tokens": list(self._tokens)})

    @classmethod
    def from_json(cls, text: str) -> Vocabulary:
        """The vocabulary of a :meth:`to_json` document; a wrong format or fingerprint raises ValueError."""
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a vocabulary JSON document: {exc}") from None
        if not isinstance(doc, dict) or doc.get("format") != "semcom-vocabulary" or doc.get("version") != 1:
            raise ValueError("not a semcom-vocabulary version 1 JSON document")
        if not isinstance(doc.get("tokens"), list):
            raise ValueError("vocabulary JSON has no 'tokens' list")
        vocab = cls(doc["tokens"])
        if doc.get("fingerprint") not in (None, vocab.fingerprint):
            raise ValueError(f"vocabulary JSON fingerprint {doc['fingerprint']} does not match its tokens "
                             f"({vocab.fingerprint}); the document was edited or corrupted")
        return vocab


# -- files -------------------------------------------------------------------------------------------

def find_wordnet_dir(data_dir: str | None = None) -> tuple[Path, str]:
    """The directory to read and where that choice came from (``"data_dir"``, ``"$SEMCOM_WORDNET"``
    or ``"default"``)."""
    return resolve_data_dir(data_dir, ENV_VAR, DEFAULT_WORDNET_DIR, "data_dir")


def _not_found(directory: Path, source: str) -> DataError:
    where = str(directory) if source == "default" else f"{directory} (from {source})"
    return DataError(
        f"WordNet 3.0 not found in {where}: install the Debian package wordnet-base "
        f"(sudo apt-get install wordnet-base), or set ${ENV_VAR} to a directory with {DATA_FILE} "
        f"(and optionally {LEXNAMES_FILE})")


def _corrupt(path: Path, lineno: int, why: str) -> DataError:
    return DataError(f"{path}, line {lineno}: corrupt WordNet line ({why}); "
                     "reinstall wordnet-base or fix the file")


def _read_lines(path: Path) -> list[str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({type(exc).__name__}: {exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise _corrupt(path, line, f"not UTF-8 text at byte {exc.start}") from None
    return text.split("\n")


def parse_lexnames(path: str | Path) -> tuple[str, ...]:
    """The lexicographer file names of a ``lexnames`` file (``NN<tab>name<tab>category`` lines),
    index = file number; numbers must run 0, 1, 2, ... without gaps."""
    path = Path(path)
    names: list[str] = []
    for lineno, line in enumerate(_read_lines(path), 1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 3 or not fields[0].isdigit() or not fields[2].isdigit():
            raise _corrupt(path, lineno, "expected 'number<tab>name<tab>category'")
        if int(fields[0]) != len(names):
            raise _corrupt(path, lineno, f"file number {fields[0]}, expected {len(names):02d}")
        names.append(fields[1])
    if not any(n.startswith("noun.") for n in names):
        raise DataError(f"{path}: no noun.* lexicographer files listed; not a WordNet lexnames file")
    return tuple(names)


def _parse_line(line: str, path: Path, lineno: int, lexnum_to_class: dict[int, int]) -> tuple[int, int, str]:
    """(offset, class, normalised gloss) of one synset line of ``data.noun`` (wndb(5WN) format)."""
    head, sep, gloss = line.partition(" | ")
    if not sep:
        raise _corrupt(path, lineno, "no ' | ' before the gloss")
    f = head.split(" ")
    if len(f) < 6:
        raise _corrupt(path, lineno, f"{len(f)} fields before the gloss, a synset has at least 6")
    offset, lex, ss_type, w_hex = f[:4]
    if len(offset) != 8 or not offset.isdigit():
        raise _corrupt(path, lineno, f"synset offset {offset!r} is not 8 decimal digits")
    if len(lex) != 2 or not lex.isdigit():
        raise _corrupt(path, lineno, f"lex_filenum {lex!r} is not 2 decimal digits")
    if ss_type != "n":
        raise _corrupt(path, lineno, f"ss_type {ss_type!r}, a noun synset has 'n'")
    if len(w_hex) != 2 or not set(w_hex) <= _HEX or int(w_hex, 16) == 0:
        raise _corrupt(path, lineno, f"w_cnt {w_hex!r} is not 2 hexadecimal digits >= 01")
    w_cnt = int(w_hex, 16)
    p_at = 4 + 2 * w_cnt
    if len(f) <= p_at:
        raise _corrupt(path, lineno, f"w_cnt says {w_cnt} words, the line ends before their pointer count")
    for k in range(4, p_at, 2):
        if not f[k] or len(f[k + 1]) != 1 or f[k + 1] not in _HEX:
            raise _corrupt(path, lineno, f"word {(k - 4) // 2 + 1} is {f[k]!r} with lex_id {f[k + 1]!r} "
                                         f"(is w_cnt {w_hex} right?)")
    p_str = f[p_at]
    if len(p_str) != 3 or not p_str.isdigit():
        raise _corrupt(path, lineno, f"p_cnt {p_str!r} is not 3 decimal digits (is w_cnt {w_hex} right?)")
    p_cnt = int(p_str)
    if len(f) != p_at + 1 + 4 * p_cnt:
        raise _corrupt(path, lineno, f"{len(f) - p_at - 1} pointer fields, p_cnt {p_cnt} needs {4 * p_cnt}")
    for k in range(p_at + 1, len(f), 4):
        symbol, target, pos, st = f[k:k + 4]
        if (not symbol or len(target) != 8 or not target.isdigit() or pos not in _POINTER_POS
                or len(st) != 4 or not set(st) <= _HEX):
            raise _corrupt(path, lineno, f"pointer {(k - p_at - 1) // 4 + 1} is {' '.join(f[k:k + 4])!r}")
    cls = lexnum_to_class.get(int(lex))
    if cls is None:
        raise _corrupt(path, lineno, f"lex_filenum {lex} is not a noun.* lexicographer file")
    text = " ".join(gloss.split()).lower()
    if not text:
        raise _corrupt(path, lineno, "empty gloss")
    return int(offset), cls, text


def parse_data_file(path: str | Path, lexnames: Sequence[str] = LEXNAMES
                    ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """Parses a WordNet ``data.noun`` file.

    Lines starting with two spaces (the license header) are skipped; every other non-empty line
    must be a well-formed noun synset. Synsets are returned in ascending offset order.

    :param lexnames: lexicographer file names, index = ``lex_filenum``; its ``noun.*`` entries are the
        classes, labelled 0, 1, ... in file-number order.
    :returns: (offsets int64 ``[K]``, labels int32 ``[K]``, texts, class names).
    :raises DataError: a corrupt line (naming the file and line number), a duplicated offset, or no synset.
    """
    path = Path(path)
    nouns = [(num, name) for num, name in enumerate(lexnames) if name.startswith("noun.")]
    lexnum_to_class = {num: cls for cls, (num, _) in enumerate(nouns)}
    class_names = tuple(name for _, name in nouns)
    rows = []
    lines = _read_lines(path)
    if lines and lines[-1] == "":
        lines.pop()  # the final newline
    for lineno, line in enumerate(lines, 1):
        if line.startswith("  "):
            continue
        rows.append((*_parse_line(line.rstrip("\r"), path, lineno, lexnum_to_class), lineno))
    if not rows:
        raise DataError(f"{path}: no synset lines; not a WordNet data file")
    rows.sort()
    for a, b in zip(rows, rows[1:]):
        if a[0] == b[0]:
            raise _corrupt(path, b[3], f"synset offset {a[0]:08d} already on line {a[3]}")
    offsets = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    labels = np.fromiter((r[1] for r in rows), dtype=np.int32, count=len(rows))
    return read_only(offsets), read_only(labels), tuple(r[2] for r in rows), class_names


def _stat_key(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=4)
def _load_dir(directory: str, _stamp) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """Parsed ``data.noun`` of ``directory`` (with its ``lexnames`` if present), cached in-process
    per resolved directory and file modification stamp."""
    d = Path(directory)
    lexnames = parse_lexnames(d / LEXNAMES_FILE) if (d / LEXNAMES_FILE).is_file() else LEXNAMES
    return parse_data_file(d / DATA_FILE, lexnames)


# -- split, subsets and fingerprint ------------------------------------------------------------------

def _offset_keys(offsets: np.ndarray) -> np.ndarray:
    """uint64 ``[K]``: the first 8 bytes of ``sha256(f"{offset:08d}")`` of each offset."""
    return np.fromiter((int.from_bytes(hashlib.sha256(f"{int(o):08d}".encode()).digest()[:8], "big")
                        for o in offsets), dtype=np.uint64, count=len(offsets))


def split_mask(offsets: np.ndarray, labels: np.ndarray, test_fraction: float) -> np.ndarray:
    """bool ``[K]``, True for test: per class, the ``floor(test_fraction * n + 0.5)`` synsets (clipped to
    ``1 .. n - 1`` for ``n >= 2``) with the smallest offset hash (ties: smaller offset)."""
    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    offsets = np.asarray(offsets, dtype=np.int64)
    labels = np.asarray(labels)
    keys = _offset_keys(offsets)
    mask = np.zeros(len(offsets), dtype=bool)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        n = len(members)
        k = int(np.floor(test_fraction * n + 0.5))
        if n >= 2:
            k = min(max(k, 1), n - 1)
        order = np.lexsort((offsets[members], keys[members]))
        mask[members[order[:k]]] = True
    return mask


def fingerprint_texts(name: str, splits: Sequence[tuple[Sequence[str], np.ndarray, np.ndarray]]) -> str:
    """First 16 hex chars of a sha256 over ``name`` and, per split, its offsets, labels and texts
    (each text UTF-8, length-prefixed). ``splits``: (texts, labels, offsets) per split."""
    h = hashlib.sha256(name.encode())
    for i, (texts, labels, offsets) in enumerate(splits):
        h.update(f"|split{i}|{len(texts)}|".encode())
        for a in (np.asarray(offsets, dtype="<i8"), np.asarray(labels, dtype="<i4")):
            h.update(np.ascontiguousarray(a).tobytes())
        h.update(b"".join(len(b).to_bytes(4, "little") + b for b in (t.encode() for t in texts)))
    return h.hexdigest()[:16]


def _subset(idx: np.ndarray, labels: np.ndarray, n: int | None, seed: int, stream: int, what: str) -> np.ndarray:
    """``idx`` (indices into the full set), reduced to a class-stratified random subset of ``n``."""
    if n is None:
        return idx
    if int(n) < 1:
        raise ValueError(f"{what} must be >= 1 or None, got {n}")
    return idx[stratified_indices(labels[idx], int(n), seeded_rng(seed, stream), what)]


@functools.lru_cache(maxsize=8)
def _load_cached(directory: str, stamp, test_fraction: float, seed: int, num_train: int | None,
                 num_test: int | None) -> TextDataset:
    offsets, labels, texts, class_names = _load_dir(directory, stamp)
    test = split_mask(offsets, labels, test_fraction)
    idx_train = _subset(np.flatnonzero(~test), labels, num_train, seed, _SUBSET_TRAIN_STREAM, "num_train")
    idx_test = _subset(np.flatnonzero(test), labels, num_test, seed, _SUBSET_TEST_STREAM, "num_test")
    parts = []
    for idx in (idx_train, idx_test):
        parts.append((tuple(texts[i] for i in idx), read_only(labels[idx]), read_only(offsets[idx])))
    (t_tr, y_tr, o_tr), (t_te, y_te, o_te) = parts
    return TextDataset(name=NAME, texts_train=t_tr, y_train=y_tr, texts_test=t_te, y_test=y_te,
                       offsets_train=o_tr, offsets_test=o_te, num_classes=len(class_names),
                       class_names=class_names, fingerprint=fingerprint_texts(NAME, parts))


def load_wordnet_nouns(data_dir: str | None = None, *, test_fraction: float = 0.2, seed: int = 0,
                       num_train: int | None = None, num_test: int | None = None) -> TextDataset:
    """WordNet 3.0 noun glosses labelled with their lexicographer file (see the module docstring).

    :param data_dir: directory holding ``data.noun`` (and optionally ``lexnames``); ``None``:
        ``$SEMCOM_WORDNET``, else :data:`DEFAULT_WORDNET_DIR`.
    :param test_fraction: share of each class in the test split, in (0, 1).
    :param seed: seed of the ``num_train`` / ``num_test`` subset draws (the split itself is fixed).
    :param num_train: use a class-stratified random subset of this many training samples (``None``: all).
    :param num_test: likewise for the test split.
    :returns: a :class:`TextDataset` (cached in-process; its arrays are read-only). With the Debian
        files: 82,115 samples, 26 classes.
    :raises DataError: directory or ``data.noun`` missing (one line saying what to install), a corrupt
        line (file and line number), or a subset larger than its split.
    """
    directory, source = find_wordnet_dir(data_dir)
    data_path = directory / DATA_FILE
    if not data_path.is_file():
        raise _not_found(directory, source)
    resolved = directory.resolve()
    stamp = (_stat_key(resolved / DATA_FILE), _stat_key(resolved / LEXNAMES_FILE))
    return _load_cached(str(resolved), stamp, float(test_fraction), int(seed),
                        None if num_train is None else int(num_train), None if num_test is None else int(num_test))


def clear_cache() -> None:
    """Forgets the parsed files and loaded datasets of this process."""
    _load_dir.cache_clear()
    _load_cached.cache_clear()
