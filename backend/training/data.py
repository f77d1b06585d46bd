"""Training data from a corpus snapshot: packed blocks with no padding, an order that resumes exactly, and the
validation sets (domain, and general-domain per language) as perplexity inputs.

Every document of a split is tokenized once (no special tokens), followed by the tokenizer's EOS, and the whole
split is concatenated into one token stream. The train stream is cut into `block_size` chunks (the few tokens after
the last full block are left out: padding is 0 by construction); the order of the blocks is a permutation per epoch
drawn from (seed, epoch), so the blocks of any step are a pure function of the step (`BlockSampler`) and a resumed
run sees exactly the blocks an uninterrupted one would have.

Token streams are cached as .npy files (uint16 when the vocabulary allows) in `<snapshot>/.tokens/<tokenizer key>/`
— or, when the snapshot folder is read-only, in the job's folder — written to a temporary folder and renamed, so a
resumed job or a second run on the same snapshot and tokenizer does not tokenize again.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from backend.errors import TrainError

SPLITS = {"train": "train.parquet", "validation": "validation.parquet",
          "general_validation": "general_validation.parquet"}
CACHE_DIR = ".tokens"
CACHE_VERSION = 1
EVAL_SHUFFLE_SEED = 0     # validation documents are shuffled with a fixed seed: every run evaluates the same blocks
BATCH = 512


def tokenizer_key(tokenizer) -> str:
    """A short content key for a tokenizer (its full serialisation and EOS id), naming its token cache."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    text = backend.to_str() if backend is not None else json.dumps(sorted(tokenizer.get_vocab().items()))
    h = hashlib.sha256(text.encode("utf-8"))
    h.update(f"|eos={eos_id(tokenizer)}|v{CACHE_VERSION}".encode())
    return h.hexdigest()[:16]


def eos_id(tokenizer) -> int:
    for attr in ("eos_token_id", "sep_token_id", "pad_token_id"):
        value = getattr(tokenizer, attr, None)
        if value is not None:
            return int(value)
    raise TrainError("the model's tokenizer has no end-of-sequence token to separate packed documents")


def encode(texts: list[str], tokenizer) -> list[list[int]]:
    """Token ids per text, without special tokens (the Rust tokenizer straight, when there is one)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        return [e.ids for e in backend.encode_batch_fast(texts, add_special_tokens=False)]
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


def token_dtype(vocab_size: int):
    return np.uint16 if vocab_size <= np.iinfo(np.uint16).max + 1 else np.uint32


def pack(docs: list[list[int]], eos: int, dtype) -> np.ndarray:
    """One stream: each document's tokens followed by EOS."""
    if not docs:
        return np.zeros(0, dtype=dtype)
    lengths = np.fromiter((len(d) + 1 for d in docs), dtype=np.int64, count=len(docs))
    out = np.empty(int(lengths.sum()), dtype=dtype)
    ends = np.cumsum(lengths)
    start = 0
    for doc, end in zip(docs, ends):
        out[start:end - 1] = doc
        out[end - 1] = eos
        start = int(end)
    return out


def _read_split(path: Path) -> tuple[list[str], list[str]]:
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    columns = ["text"] + (["language"] if "language" in schema.names else [])
    table = pq.read_table(path, columns=columns).to_pydict()
    texts = table["text"]
    languages = table.get("language") or [None] * len(texts)
    return texts, [str(lang or "fr").lower() for lang in languages]


def eval_set_name(language: str) -> str:
    """'fr' → 'general' (the snapshot's general-domain French), 'en' → 'general_en', 'de' → 'general_de'."""
    return "general" if language in ("fr", "", "none") else f"general_{language}"


def tokenize_snapshot(folder: Path, tokenizer, vocab_size: int, should_stop: Callable[[], bool] | None = None,
                      progress: Callable[[float, str], None] | None = None) -> dict[str, np.ndarray]:
    """Token streams of a snapshot folder: 'train', 'domain' (its validation split) and one general-domain set per
    language ('general', 'general_en', …). Validation documents are shuffled with a fixed seed before packing."""
    eos, dtype = eos_id(tokenizer), token_dtype(vocab_size)
    streams: dict[str, np.ndarray] = {}
    for split, file in SPLITS.items():
        path = folder / file
        if not path.is_file():
            if split == "train":
                raise TrainError(f"snapshot folder {folder} has no {file}")
            continue
        texts, languages = _read_split(path)
        ids: list[list[int]] = []
        for i in range(0, len(texts), BATCH):
            if should_stop is not None and should_stop():
                raise InterruptedError("stopped while tokenizing")
            ids.extend(encode(texts[i:i + BATCH], tokenizer))
            if progress is not None:
                progress(min(1.0, (i + BATCH) / max(1, len(texts))), f"tokenizing {split}")
        if split == "train":
            streams["train"] = pack(ids, eos, dtype)
            continue
        order = np.random.default_rng(EVAL_SHUFFLE_SEED).permutation(len(ids))
        if split == "validation":
            streams["domain"] = pack([ids[i] for i in order], eos, dtype)
            continue
        for lang in sorted(set(languages)):
            streams[eval_set_name(lang)] = pack([ids[i] for i in order if languages[i] == lang], eos, dtype)
    return streams


def load_streams(snapshot_folder: Path, tokenizer, vocab_size: int, fallback_cache: Path | None = None,
                 should_stop=None, progress=None, log=None) -> tuple[dict[str, np.ndarray], Path, bool]:
    """The snapshot's token streams, from the cache when present, else tokenized and cached.
    Returns (streams, cache folder, whether they came from the cache)."""
    key = tokenizer_key(tokenizer)
    candidates = [Path(snapshot_folder) / CACHE_DIR / key]
    if fallback_cache is not None:
        candidates.append(Path(fallback_cache) / key)
    for folder in candidates:
        cached = _read_cache(folder)
        if cached is not None:
            return cached, folder, True
    streams = tokenize_snapshot(Path(snapshot_folder), tokenizer, vocab_size, should_stop, progress)
    for folder in candidates:
        try:
            _write_cache(folder, streams, key)
            return streams, folder, False
        except OSError as exc:  # a read-only snapshot folder or a full disk: try the next place, else no cache
            if log is not None:
                log(f"token cache not written in {folder}: {exc}")
    return streams, candidates[-1], False


def _read_cache(folder: Path) -> dict[str, np.ndarray] | None:
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text("utf-8"))
        return {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in meta["streams"]}
    except (OSError, ValueError, KeyError):
        return None


def _write_cache(folder: Path, streams: dict[str, np.ndarray], key: str) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    tmp.mkdir()
    try:
        for name, array in streams.items():
            np.save(tmp / f"{name}.npy", array)
        meta = {"version": CACHE_VERSION, "tokenizer_key": key,
                "streams": {name: int(len(a)) for name, a in streams.items()}}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1), "utf-8")  # written last: marks it complete
        try:
            os.rename(tmp, folder)
        except OSError:
            if _read_cache(folder) is None:  # not a concurrent writer that finished first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------------------------------------- blocks


@dataclass
class PackedBlocks:
    """A token stream cut into `block_size` blocks; the tail shorter than a block is left out of training."""
    tokens: np.ndarray
    block_size: int

    @property
    def n_blocks(self) -> int:
        return len(self.tokens) // self.block_size

    @property
    def dropped_tokens(self) -> int:
        return len(self.tokens) - self.n_blocks * self.block_size

    def gather(self, indices) -> np.ndarray:
        b = self.block_size
        return np.stack([np.asarray(self.tokens[i * b:(i + 1) * b], dtype=np.int64) for i in indices])

    def stats(self) -> dict:
        n = len(self.tokens)
        return {"train_tokens": n, "blocks": self.n_blocks, "block_size": self.block_size,
                "dropped_tokens": self.dropped_tokens, "padding_tokens": 0, "padding_fraction": 0.0,
                "used_fraction": round(self.n_blocks * self.block_size / n, 6) if n else 0.0}


class BlockSampler:
    """Which blocks each (step, micro-batch, rank) trains on. Sample k of the run (k = ((step × grad_accum + micro)
    × world + rank) × micro_batch + row) is block perm_e[k mod n] of epoch e = k div n, perm_e a permutation drawn
    from (seed, e): no state but the step, so resuming at step s reproduces the uninterrupted order exactly."""

    def __init__(self, n_blocks: int, seed: int, micro_batch: int, grad_accum: int, world: int = 1, rank: int = 0):
        if n_blocks < 1:
            raise TrainError("the training split holds less than one block of tokens")
        self.n, self.seed, self.micro, self.accum, self.world, self.rank = (
            n_blocks, seed, micro_batch, grad_accum, world, rank)
        self._perms: dict[int, np.ndarray] = {}

    def permutation(self, epoch: int) -> np.ndarray:
        if epoch not in self._perms:
            if len(self._perms) > 4:
                self._perms.clear()
            self._perms[epoch] = np.random.default_rng([self.seed, epoch]).permutation(self.n)
        return self._perms[epoch]

    def first_sample(self, step: int, micro: int) -> int:
        return ((step * self.accum + micro) * self.world + self.rank) * self.micro

    def indices(self, step: int, micro: int) -> list[int]:
        start = self.first_sample(step, micro)
        return [int(self.permutation(k // self.n)[k % self.n]) for k in range(start, start + self.micro)]

    def epoch(self, step: int) -> float:
        """Epochs completed by the end of `step` (global samples over blocks)."""
        return (step * self.accum * self.world * self.micro) / self.n


def eval_blocks(tokens: np.ndarray, block_size: int, max_blocks: int) -> list[np.ndarray]:
    """The first `max_blocks` blocks of a validation stream (the last one may be shorter; at least 2 tokens)."""
    out = []
    for start in range(0, len(tokens), block_size):
        if len(out) >= max_blocks:
            break
        chunk = np.asarray(tokens[start:start + block_size], dtype=np.int64)
        if len(chunk) >= 2:
            out.append(chunk)
    return out
