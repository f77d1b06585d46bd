"""Can these two models be merged? Same architecture and shape settings, the same tensors with the same shapes, the
same tokenizer vocabulary — read from config.json, the safetensors headers and the tokenizer files, no weight
loaded. A refusal names the first differing setting, tensor or token."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from backend.merge.methods import MergeError

# Settings that change the shape or the meaning of the weights, in the order a person would check them.
SETTINGS = ("architectures", "model_type", "num_hidden_layers", "hidden_size", "intermediate_size",
            "num_attention_heads", "num_key_value_heads", "head_dim", "vocab_size", "tie_word_embeddings",
            "max_position_embeddings", "rope_theta", "rope_parameters", "hidden_act", "rms_norm_eps")
SHAPE_SETTINGS = {"architectures", "model_type", "num_hidden_layers", "hidden_size", "intermediate_size",
                  "num_attention_heads", "num_key_value_heads", "head_dim", "vocab_size", "tie_word_embeddings"}


@dataclass
class Compatibility:
    ok: bool
    message: str
    warnings: list[str] = field(default_factory=list)
    n_tensors: int = 0


def _config(folder: Path) -> dict:
    from backend.models.inspect import read_config

    config = read_config(folder)
    return config.get("text_config") if isinstance(config.get("text_config"), dict) else config


def _tensors(folder: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    from backend.models.inspect import read_safetensors_header, weight_files

    out = {}
    for f in weight_files(folder):
        if f.suffix != ".safetensors":
            raise MergeError(f"{folder.name}: weights in {f.name} (pickle) — the studio merges safetensors models only")
        for name, info in read_safetensors_header(f).items():
            if name != "__metadata__":
                out[name] = (tuple(info["shape"]), info["dtype"])
    return out


def _natural(name: str):
    """model.layers.10.x after model.layers.2.x: the first difference found is the first in the network."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def _vocab(folder: Path) -> dict[str, int] | None:
    """token → id from tokenizer.json (model vocabulary plus added tokens); None when there is no tokenizer.json."""
    path = folder / "tokenizer.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text("utf-8"))
    vocab = data.get("model", {}).get("vocab")
    if isinstance(vocab, list):  # unigram: [[piece, score], ...]
        vocab = {piece: i for i, (piece, _score) in enumerate(vocab)}
    vocab = dict(vocab or {})
    for tok in data.get("added_tokens") or []:
        vocab[tok["content"]] = tok["id"]
    return vocab


def _tokenizer_difference(base: Path, dapt: Path, names: tuple[str, str]) -> str | None:
    a, b = _vocab(base), _vocab(dapt)
    if a is None or b is None:
        from transformers import AutoTokenizer

        a = AutoTokenizer.from_pretrained(str(base), local_files_only=True).get_vocab()
        b = AutoTokenizer.from_pretrained(str(dapt), local_files_only=True).get_vocab()
    if len(a) != len(b):
        return f"tokenizer: vocabulary of {len(a):,} tokens in {names[0]}, {len(b):,} in {names[1]}"
    for token in sorted(a, key=lambda t: a[t]):
        if b.get(token) != a[token]:
            other = b.get(token)
            where = f"id {other}" if other is not None else "absent"
            return f"tokenizer: token {token!r} has id {a[token]} in {names[0]}, {where} in {names[1]}"
    return None


def compatibility(base: Path | str, dapt: Path | str, names: tuple[str, str] = ("the base", "the DAPT model")
                  ) -> Compatibility:
    """Whether `dapt` can be merged into `base`; the message names the first mismatch (or says what matches)."""
    from backend.models.registry import ModelError

    base, dapt = Path(base), Path(dapt)
    if base.resolve() == dapt.resolve():
        return Compatibility(False, "base and DAPT model are the same folder: choose two different models")
    try:
        ca, cb = _config(base), _config(dapt)
        warnings = []
        for key in SETTINGS:
            va, vb = ca.get(key), cb.get(key)
            if va != vb:
                if key in SHAPE_SETTINGS:
                    return Compatibility(False, f"{key} differs: {va} in {names[0]}, {vb} in {names[1]}")
                warnings.append(f"{key}: {va} in {names[0]}, {vb} in {names[1]} (the base's is kept)")
        ta, tb = _tensors(base), _tensors(dapt)
        for name in sorted(set(ta) | set(tb), key=_natural):
            if name not in tb:
                return Compatibility(False, f"tensor {name} is in {names[0]} but not in {names[1]}")
            if name not in ta:
                return Compatibility(False, f"tensor {name} is in {names[1]} but not in {names[0]}")
            (sa, da), (sb, db) = ta[name], tb[name]
            if sa != sb:
                return Compatibility(False, f"tensor {name} has shape {list(sa)} in {names[0]}, {list(sb)} in "
                                            f"{names[1]}")
            if da != db and f"dtype {da}/{db}" not in " ".join(warnings):
                warnings.append(f"dtype {da}/{db}: tensors of {names[0]} and {names[1]} differ in precision "
                                "(merged in the wider one)")
        difference = _tokenizer_difference(base, dapt, names)
        if difference:
            return Compatibility(False, difference)
    except (ModelError, OSError, ValueError) as exc:
        return Compatibility(False, str(exc))
    layers = ca.get("num_hidden_layers")
    return Compatibility(True, f"compatible: {ca.get('architectures', ['?'])[0]}, {layers} layers, {len(ta)} tensors "
                               "with the same shapes, same tokenizer", warnings, len(ta))


def check_compatible(base: Path | str, dapt: Path | str, names: tuple[str, str] = ("the base", "the DAPT model")
                     ) -> Compatibility:
    result = compatibility(base, dapt, names)
    if not result.ok:
        raise MergeError(f"Cannot merge: {result.message}")
    return result


def check_registered(db, base_id: str, dapt_id: str) -> Compatibility:
    """Compatibility of two registered models (a refusal when one is unknown or broken), naming them by id."""
    from backend.merge.config import resolve_model

    try:
        base = resolve_model(db, base_id, "base_model")
        dapt = resolve_model(db, dapt_id, "dapt_model")
    except MergeError as exc:
        return Compatibility(False, str(exc))
    if base["id"] == dapt["id"]:
        return Compatibility(False, "base and DAPT model are the same model: choose the DAPT model trained from it")
    return compatibility(base["path"], dapt["path"], (f"the base {base['id']}", f"the DAPT model {dapt['id']}"))
