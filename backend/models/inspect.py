"""What a Hugging Face model folder holds, read without loading a weight: architecture, parameter count (from the
safetensors headers), dtype, size on disk, context length, vocabulary, tokenizer, licence and a content hash of the
weights. Every problem is a `ModelError` whose message is shown as is in the UI and the CLI."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import struct
from collections import Counter
from pathlib import Path

from backend.models.registry import ModelError

HASH_CACHE = ".frbio_hash.json"    # beside the weights: {"files": [[name, size, mtime_ns], ...], "sha256": ...}
MARKER = "frbio_model.json"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "tiktoken.model", "vocab.txt", "spiece.model")
CAUSAL_SUFFIXES = ("ForCausalLM", "LMHeadModel")
SAFETENSORS_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64",
                      "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool",
                      "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2"}
_hash_memo: dict[tuple, str] = {}


def inspect_folder(folder: Path | str, require_tokenizer: bool = True) -> dict:
    """Facts about a model folder (the columns of the `models` table). With require_tokenizer=False a folder without
    a tokenizer is described (tokenizer 'none') instead of refused."""
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise ModelError(f"Model folder not found: {folder}")
    if not folder.is_dir():
        raise ModelError(f"Not a folder: {folder} (expected a Hugging Face model folder with config.json, "
                         "weights and a tokenizer)")
    config = read_config(folder)
    architecture = _architecture(folder, config)
    weights = weight_files(folder)
    text_config = config.get("text_config") if isinstance(config.get("text_config"), dict) else config
    if weights[0].suffix == ".safetensors":
        n_params, dtype = _count_safetensors(weights)
    else:
        n_params, dtype = estimate_parameters(text_config), None
    dtype = dtype or str(config.get("dtype") or config.get("torch_dtype") or text_config.get("torch_dtype")
                         or "float32")
    tokenizer = tokenizer_class(folder)
    if tokenizer == "none" and require_tokenizer:
        raise ModelError(f"No tokenizer in {folder}: expected tokenizer.json (or tokenizer.model / vocab.json) "
                         "beside config.json. Save it with tokenizer.save_pretrained(folder).")
    return {
        "architecture": architecture,
        "n_params": n_params,
        "dtype": dtype,
        "size_bytes": sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not _hidden(p, folder)),
        "context_length": _first(text_config, "max_position_embeddings", "n_positions", "n_ctx", "seq_length"),
        "vocab_size": _first(text_config, "vocab_size"),
        "tokenizer": tokenizer,
        "chat_template": has_chat_template(folder),
        "license": read_license(folder),
        "content_hash": content_hash(weights),
    }


def has_chat_template(folder: Path) -> bool:
    """Whether the tokenizer carries a chat template (its own file, or the `chat_template` of tokenizer_config.json)."""
    if (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file():
        return True
    try:
        return bool(json.loads((folder / "tokenizer_config.json").read_text("utf-8")).get("chat_template"))
    except (OSError, ValueError, AttributeError):
        return False


def read_config(folder: Path) -> dict:
    path = folder / "config.json"
    if not path.is_file():
        if not any(folder.iterdir()):
            raise ModelError(f"The model folder {folder} is empty")
        if (folder / "adapter_config.json").is_file():
            raise ModelError(f"{folder} holds a LoRA adapter (adapter_config.json), not a full model: merge it into "
                             "its base model first (peft's merge_and_unload) and save that folder")
        raise ModelError(f"No config.json in {folder}: not a Hugging Face model folder")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"config.json in {folder} is not valid JSON ({exc})") from None
    if not isinstance(config, dict):
        raise ModelError(f"config.json in {folder} is not a JSON object")
    return config


def _architecture(folder: Path, config: dict) -> str:
    names = config.get("architectures") or []
    if not names:
        model_type = config.get("model_type")
        if not model_type:
            raise ModelError(f"config.json in {folder} names no architecture (no 'architectures' nor 'model_type')")
        from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

        if model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
            raise ModelError(f"{folder}: model type '{model_type}' is not a causal language model "
                             "(FrBio Studio trains and merges decoder-only models such as Llama, Qwen, Mistral)")
        return MODEL_FOR_CAUSAL_LM_MAPPING_NAMES[model_type]
    architecture = names[0]
    if not str(architecture).endswith(CAUSAL_SUFFIXES):
        raise ModelError(f"{folder}: {architecture} is not a causal language model (FrBio Studio trains and merges "
                         "decoder-only models, e.g. LlamaForCausalLM)")
    return architecture


def weight_files(folder: Path) -> list[Path]:
    """The weight files, safetensors preferred; sharded checkpoints are checked against their index."""
    for pattern, index_name in (("*.safetensors", "model.safetensors.index.json"),
                                ("pytorch_model*.bin", "pytorch_model.bin.index.json")):
        index = folder / index_name
        if index.is_file():
            try:
                shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
                raise ModelError(f"{index_name} in {folder} is not a valid shard index") from None
            missing = [s for s in shards if not (folder / s).is_file()]
            if missing:
                raise ModelError(f"{folder} is incomplete: {len(missing)} weight shard(s) listed in {index_name} are "
                                 f"missing ({', '.join(missing[:3])}{'…' if len(missing) > 3 else ''})")
            return [folder / s for s in shards]
        files = sorted(p for p in folder.glob(pattern) if p.is_file() and not p.name.startswith("adapter_"))
        if files:
            return files
    raise ModelError(f"No weights in {folder}: expected model.safetensors (or sharded *.safetensors, or "
                     "pytorch_model.bin)")


def read_safetensors_header(path: Path) -> dict:
    """The JSON header of a safetensors file, validated against the file size (no tensor data is read)."""
    size = path.stat().st_size
    bad = f"{path.name} in {path.parent} is corrupt or truncated"
    try:
        with open(path, "rb") as f:
            if size < 8:
                raise ModelError(f"{bad} (file of {size} bytes)")
            (length,) = struct.unpack("<Q", f.read(8))
            if length > min(size - 8, 100_000_000):
                raise ModelError(f"{bad} (header length {length} does not fit in a {size}-byte file)")
            header = json.loads(f.read(length).decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ModelError(f"{bad} (unreadable header)") from None
    if not isinstance(header, dict):
        raise ModelError(f"{bad} (header is not a JSON object)")
    end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            start, stop = info["data_offsets"]
            shape, dtype = [int(d) for d in info["shape"]], info["dtype"]
        except (KeyError, TypeError, ValueError):
            raise ModelError(f"{bad} (tensor '{name}' is described wrongly)") from None
        if not (0 <= start <= stop) or not isinstance(dtype, str):
            raise ModelError(f"{bad} (tensor '{name}' has invalid offsets)")
        end = max(end, stop)
    if 8 + length + end != size:
        raise ModelError(f"{bad} (header describes {8 + length + end} bytes, the file has {size})")
    return header


def _count_safetensors(files: list[Path]) -> tuple[int, str | None]:
    total, by_dtype = 0, Counter()
    for path in files:
        for name, info in read_safetensors_header(path).items():
            if name == "__metadata__":
                continue
            n = 1
            for d in info["shape"]:
                n *= int(d)
            total += n
            by_dtype[info["dtype"]] += n
    dtype = by_dtype.most_common(1)[0][0] if by_dtype else None
    return total, SAFETENSORS_DTYPES.get(dtype, dtype.lower() if dtype else None)


def estimate_parameters(config: dict) -> int | None:
    """Parameter count from the config (for .bin checkpoints, whose headers cannot be read without unpickling):
    exact for Llama-family models, approximate for GPT-2-like ones."""
    h = _first(config, "hidden_size", "n_embd", "d_model")
    layers = _first(config, "num_hidden_layers", "n_layer", "num_layers")
    vocab = _first(config, "vocab_size")
    if not (h and layers and vocab):
        return None
    tied = config.get("tie_word_embeddings", True)
    inter = _first(config, "intermediate_size", "n_inner", "ffn_dim")
    heads = _first(config, "num_attention_heads", "n_head") or 1
    if config.get("intermediate_size"):  # Llama / Mistral / Qwen: q, k, v, o, gated MLP, two RMSNorms
        head_dim = config.get("head_dim") or h // heads
        kv = (config.get("num_key_value_heads") or heads) * head_dim
        per_layer = h * heads * head_dim * 2 + 2 * h * kv + 3 * h * inter + 2 * h
        return vocab * h * (1 if tied else 2) + layers * per_layer + h
    inter = inter or 4 * h  # GPT-2-like: attention 4h², MLP 2·h·inter, biases and layer norms
    positions = _first(config, "n_positions", "max_position_embeddings") or 0
    return vocab * h + positions * h + layers * (4 * h * h + 2 * h * inter + 9 * h + inter) + 2 * h


def tokenizer_class(folder: Path) -> str:
    """The tokenizer class named by tokenizer_config.json, or 'none' when the folder has no tokenizer files."""
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        return "none"
    try:
        cfg = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
        return str(cfg.get("tokenizer_class") or "PreTrainedTokenizerFast")
    except (OSError, json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return "PreTrainedTokenizerFast" if (folder / "tokenizer.json").is_file() else "unknown"


def read_license(folder: Path) -> str | None:
    """`license` from the README.md YAML front matter (license_name when it says 'other'), else frbio_model.json."""
    readme = folder / "README.md"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8", errors="replace")
        if text.startswith("---"):
            import yaml

            try:
                front = yaml.safe_load(text.split("---", 2)[1]) or {}
            except (yaml.YAMLError, IndexError):
                front = {}
            if isinstance(front, dict) and front.get("license"):
                value = front["license"]
                value = value[0] if isinstance(value, list) and value else value
                if value == "other" and front.get("license_name"):
                    return str(front["license_name"])
                return str(value)
    try:
        return json.loads((folder / MARKER).read_text(encoding="utf-8")).get("license") or None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return None


def content_hash(files: list[Path]) -> str:
    """sha256 over the weight files' names and bytes (streamed). Cached in memory and in .frbio_hash.json beside
    the weights, keyed by each file's (name, size, mtime): recomputed only when a weight file changes."""
    stamp = [[p.name, (s := p.stat()).st_size, s.st_mtime_ns] for p in files]
    key = (str(files[0].parent.resolve()), json.dumps(stamp))
    if key in _hash_memo:
        return _hash_memo[key]
    cache = files[0].parent / HASH_CACHE
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if cached.get("files") == stamp and isinstance(cached.get("sha256"), str):
            _hash_memo[key] = cached["sha256"]
            return cached["sha256"]
    except (OSError, json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        pass
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0")
        with open(path, "rb") as f:
            while chunk := f.read(8 << 20):
                digest.update(chunk)
    value = "sha256:" + digest.hexdigest()
    _hash_memo[key] = value
    try:  # best effort: a read-only folder (e.g. the Hub cache) is hashed again in the next process
        tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"files": stamp, "sha256": value}), encoding="utf-8")
        os.replace(tmp, cache)
    except OSError:
        pass
    return value


def _first(config: dict, *keys: str):
    for key in keys:
        if config.get(key) is not None:
            return config[key]
    return None


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def decoder_layer_class(folder: Path | str | None) -> str | None:
    """The class FSDP wraps one unit at a time (e.g. 'Qwen3DecoderLayer', 'LlamaDecoderLayer'): the first entry of
    the model class's `_no_split_modules`, read from transformers' modeling file for the folder's `model_type`
    (no torch import in the scheduler), else '<Arch>DecoderLayer' guessed from `architectures`; None if unknown
    (accelerate then falls back to the model's `_no_split_modules` at run time)."""
    if folder is None:
        return None
    try:
        config = json.loads((Path(folder) / "config.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    model_type = str(config.get("model_type") or "")
    if re.fullmatch(r"[a-z0-9_]+", model_type or "-"):
        spec = importlib.util.find_spec("transformers")
        if spec is not None and spec.origin:
            modeling = Path(spec.origin).parent / "models" / model_type / f"modeling_{model_type}.py"
            try:
                match = re.search(r"_no_split_modules\s*=\s*\[\s*[\"'](\w+)[\"']", modeling.read_text("utf-8"))
            except OSError:
                match = None
            if match:
                return match.group(1)
    for arch in config.get("architectures") or []:
        if isinstance(arch, str) and arch.endswith("ForCausalLM"):
            return arch[: -len("ForCausalLM")] + "DecoderLayer"
    return None
