"""Tiny models for the merge tests: two tiny Llamas with identical architecture and different seeds, and a
"DAPT-like" model obtained by perturbing the base (small noise on every tensor, as continued pre-training moves the
weights a little), registered with the base as parent."""
from __future__ import annotations

import shutil
from pathlib import Path


def perturbed_copy(home: Path, db, base: dict, name: str, scale: float = 0.05, seed: int = 0,
                   commercial_use: bool | None = None, snapshot_id: str | None = None) -> dict:
    import torch
    from safetensors.torch import load_file, save_file

    from backend.models.registry import register_model

    folder = Path(home) / "models" / name
    shutil.copytree(base["path"], folder, ignore=shutil.ignore_patterns(".frbio_hash.json"))
    weights = folder / "model.safetensors"
    generator = torch.Generator().manual_seed(seed)
    tensors = {k: v + scale * v.float().std().clamp(min=1e-3) * torch.randn(v.shape, generator=generator)
               for k, v in load_file(weights).items()}
    save_file(tensors, weights, metadata={"format": "pt"})
    return register_model(db, folder, model_id=name, name=name, kind="dapt", origin="test", parents=[base["id"]],
                          license=base.get("license"), commercial_use=commercial_use, snapshot_id=snapshot_id)


def sharpen(db, row: dict, factor: float = 10.0) -> dict:
    """Scale the layers' matrices: a tiny random model at the usual init (std 0.02) only echoes its last input
    token, whatever its seed; scaled up, two seeds (and their merges) write different gibberish."""
    from safetensors.torch import load_file, save_file

    from backend.models.registry import register_model

    weights = Path(row["path"]) / "model.safetensors"
    tensors = {k: v * factor if v.ndim == 2 and "embed" not in k else v for k, v in load_file(weights).items()}
    save_file(tensors, weights, metadata={"format": "pt"})
    return register_model(db, Path(row["path"]), model_id=row["id"], name=row["name"], kind=row["kind"],
                          origin=row["origin"], license=row.get("license"), refresh=True)  # its facts read again


def tiny_models(home: Path, db, tokenizer_from=None, layers: int = 2) -> dict:
    """{'base', 'other' (another seed), 'dapt' (the base perturbed)}: registry rows."""
    from backend.models.importing import make_tiny_model

    base = sharpen(db, make_tiny_model(home, name="tiny-base", seed=1, tokenizer_from=tokenizer_from, layers=layers,
                                       db=db))
    other = sharpen(db, make_tiny_model(home, name="tiny-other", seed=2, tokenizer_from=tokenizer_from,
                                        layers=layers, db=db))
    dapt = perturbed_copy(home, db, base, "tiny-dapt")
    return {"base": base, "other": other, "dapt": dapt}
