"""Saving a merge: mergekit's `run_merge` writes the merged Hugging Face folder into a hidden temporary folder
beside its final place (with `mergekit_config.yml`, the YAML `mergekit-yaml` re-runs), our model card (parents,
method, parameters, licence and commercial-use flag inherited from the parents and the DAPT model's corpus) replaces
mergekit's, then the folder is renamed into place and registered as kind 'merged' with its lineage. Every check
runs before anything is written; a failure leaves nothing registered and no folder under models/."""
from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Callable

from backend.lineage import merge_allowed, merged_licence, sentence
from backend.merge.compat import check_compatible
from backend.merge.config import MergeConfig, mergekit_config, resolve_model, to_yaml
from backend.merge.methods import MergeError, method_info

MARKER = "frbio_model.json"
YAML_NAME = "mergekit_config.yml"
SIZE_MARGIN = 1.05          # the merged folder is the base's size (same tensors and dtype) plus a little
RANDOM_METHODS = ("dare", "della")


def free_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free


def estimated_bytes(base_row: dict) -> int:
    from backend.models.inspect import weight_files

    weights = sum(f.stat().st_size for f in weight_files(Path(base_row["path"])))
    return int(max(weights, base_row.get("size_bytes") or 0) * SIZE_MARGIN) + 16 * 1024 * 1024


def output_id(cfg: MergeConfig, dapt_id: str, job_id: str | None) -> str:
    from backend.models.registry import slug

    return slug(cfg.output_name) if cfg.output_name else slug(f"{dapt_id}-{cfg.method}-{job_id or uuid.uuid4().hex[:6]}")


def check_merge(db, home: Path, cfg: MergeConfig, job_id: str | None = None) -> dict:
    """Everything that would make the merge fail, checked before a job is queued or a byte written: parents
    registered and readable, compatible, output name free, room on disk. Returns the parents and the estimate."""
    from backend.models.registry import slug

    base = resolve_model(db, cfg.base_model, "base_model")
    dapt = resolve_model(db, cfg.dapt_model, "dapt_model")
    if base["id"] == dapt["id"]:
        raise MergeError("dapt_model: the same model as base_model: choose the DAPT model trained from it")
    compat = check_compatible(base["path"], dapt["path"], (f"the base {base['id']}", f"the DAPT model {dapt['id']}"))
    if cfg.output_name:
        name = cfg.output_name.strip()
        if slug(name) != name.lower():
            raise MergeError(f"output_name: '{name}' would be stored as '{slug(name)}': use lower-case letters, "
                             "digits, '-' and '.' only")
        from backend.models.registry import find_model

        taken = find_model(db, slug(name))
        if taken or (Path(home) / "models" / slug(name)).exists():
            whose = f" (owner: {taken.get('owner') or 'none'})" if taken else ""
            raise MergeError(f"output_name: a model named '{slug(name)}' already exists{whose}: choose another")
    models = Path(home) / "models"
    models.mkdir(parents=True, exist_ok=True)
    need, free = estimated_bytes(base), free_bytes(models)
    if need > free:
        raise MergeError(f"Not enough disk space for the merged model: about {need / 1e9:.2f} GB needed, "
                         f"{free / 1e9:.2f} GB free in {models}")
    return {"base": base, "dapt": dapt, "compatibility": compat.message, "warnings": compat.warnings,
            "estimated_bytes": need, "free_bytes": free}


def _snapshot(db, snap_id: str | None) -> dict | None:
    if not snap_id:
        return None
    from backend.corpus.snapshot import existing_snapshot

    row = existing_snapshot(db, snap_id)
    if row is None:
        return {"id": snap_id, "commercial_use": True, "licenses": []}
    manifest = json.loads((Path(row["path"]) / "manifest.json").read_text("utf-8"))
    return {"id": snap_id, "commercial_use": bool(row["commercial_use"]), "licenses": manifest.get("licenses") or []}


def card_parameters(cfg: MergeConfig) -> dict:
    out = {"method": cfg.method}
    for name, value in cfg.parameters.items():
        if value in (None, []):
            continue
        out[name] = ", ".join(f"{v:g}" for v in value) if isinstance(value, list) else value
    if cfg.method.startswith(RANDOM_METHODS):
        out["seed"] = cfg.seed
    return out


def _write_card(folder: Path, model_id: str, cfg: MergeConfig, base: dict, dapt: dict, snapshot: dict | None,
                licence: str | None, commercial: bool, job_id: str | None, yaml_text: str) -> None:
    from backend.models.cards import write_model_card

    info = method_info(cfg.method)
    seed = f" --random-seed {cfg.seed}" if cfg.method.startswith(RANDOM_METHODS) else ""
    description = (f"Merge of the DAPT model `{dapt['id']}` with its base `{base['id']}` by mergekit's {info.title}"
                   + (f" ({info.reference_url})" if info.reference_url else "") + ", made with FrBio Studio"
                   + (f" (job {job_id})" if job_id else "") + "."
                   + " " + sentence(commercial, "merged"))
    path = write_model_card(folder, title=model_id, parents=[base, dapt], relation="merge", snapshot=snapshot,
                            method=f"merge-{cfg.method}", hyperparameters=card_parameters(cfg), license=licence,
                            description=description)
    lineage = [f"- base: `{base['id']}` ({base.get('origin') or base['kind']}, licence {base.get('license') or '?'})",
               f"- DAPT: `{dapt['id']}` ("
               + (f"trained on snapshot `{dapt['snapshot_id']}`" if dapt.get("snapshot_id") else "no training snapshot "
                  "recorded") + f", licence {dapt.get('license') or '?'})"]
    text = path.read_text("utf-8") + "\n## Lineage\n\n" + "\n".join(lineage) + (
        f"\n\n## mergekit configuration\n\nRe-run with `mergekit-yaml {YAML_NAME} OUTPUT_FOLDER{seed}`:\n\n"
        f"```yaml\n{yaml_text}```\n")
    path.write_text(text, "utf-8")


def same_merge(db, base_id: str, dapt_id: str, cfg: MergeConfig) -> dict | None:
    """A merged model already saved from the same parents with the same method, parameters (and seed, for the
    random methods): the same weights, so an unnamed merge reuses it instead of writing them again."""
    from backend.models.registry import list_models

    for row in list_models(db, "merged"):
        if row["parents"] != [base_id, dapt_id] or row.get("status") != "ok":
            continue
        try:
            marker = json.loads((Path(row["path"]) / MARKER).read_text("utf-8"))
        except (OSError, ValueError):
            continue
        seeded = cfg.method.startswith(RANDOM_METHODS)
        if (marker.get("method"), marker.get("parameters")) == (cfg.method, cfg.parameters) and \
                (not seeded or marker.get("seed") == cfg.seed):
            return row
    return None


def save_merge(db, home: Path, cfg: MergeConfig, job_id: str | None = None, owner: str | None = None,
               progress: Callable[[float, str], None] | None = None, device: str = "cpu") -> dict:
    """Merge `cfg` to disk with mergekit and register the result; returns the registry row and the YAML path."""
    from mergekit.config import MergeConfiguration
    from mergekit.merge import run_merge
    from mergekit.options import MergeOptions

    from backend.models.inspect import inspect_folder
    from backend.models.registry import register_model

    report = progress or (lambda f, m: None)
    checked = check_merge(db, home, cfg, job_id)
    base, dapt = checked["base"], checked["dapt"]
    existing = None if cfg.output_name else same_merge(db, base["id"], dapt["id"], cfg)
    if existing is not None:
        report(1.0, f"the same merge is already saved as {existing['id']}: reused")
        return {"model_id": existing["id"], "path": existing["path"], "yaml": str(Path(existing["path"]) / YAML_NAME),
                "method": cfg.method, "parameters": cfg.parameters, "parents": [base["id"], dapt["id"]],
                "license": existing.get("license"), "commercial_use": bool(existing.get("commercial_use", 1)),
                "reused": True}
    model_id = output_id(cfg, dapt["id"], job_id)
    models = Path(home) / "models"
    final = models / model_id
    if final.exists():
        raise MergeError(f"output_name: a folder {final} already exists: choose another name")
    config = mergekit_config(cfg.method, cfg.parameters, base["path"], dapt["path"])
    header = (f"FrBio Studio merge {model_id}: DAPT model {dapt['id']} into base {base['id']}"
              + (f" (job {job_id})" if job_id else "")
              + (f"\nrandomised method: re-run with --random-seed {cfg.seed}" if cfg.method.startswith(RANDOM_METHODS)
                 else ""))
    yaml_text = to_yaml(config, header)
    snapshot = _snapshot(db, dapt.get("snapshot_id"))
    commercial = merge_allowed([base, dapt], snapshot)
    licence = merged_licence([base, dapt])
    tmp = models / f".{model_id}.tmp-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    try:
        report(0.05, f"merging {dapt['id']} into {base['id']} ({cfg.method}) with mergekit")
        options = MergeOptions(random_seed=cfg.seed, quiet=True, copy_tokenizer=True, write_model_card=True,
                               device=device)
        try:
            run_merge(MergeConfiguration.model_validate(config), str(tmp), options, config_source=yaml_text)
        except (RuntimeError, ValueError, TypeError) as exc:
            raise MergeError(f"mergekit failed: {exc}") from None
        report(0.9, "writing the model card")
        _write_card(tmp, model_id, cfg, base, dapt, snapshot, licence, commercial, job_id, yaml_text)
        (tmp / MARKER).write_text(json.dumps({
            "name": model_id, "kind": "merged", "job_id": job_id, "parents": [base["id"], dapt["id"]],
            "method": cfg.method, "parameters": cfg.parameters, "seed": cfg.seed, "license": licence,
            "commercial_use": commercial, "source": f"job:{job_id}" if job_id else "merge"}, indent=1) + "\n", "utf-8")
        inspect_folder(tmp)
        os.rename(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    try:
        row = register_model(db, final, model_id=model_id, name=model_id, kind="merged",
                             origin=f"job:{job_id}" if job_id else "merge", parents=[base["id"], dapt["id"]],
                             snapshot_id=dapt.get("snapshot_id"), license=licence, commercial_use=commercial,
                             job_id=job_id, owner=owner)
    except Exception:
        shutil.rmtree(final, ignore_errors=True)   # not registered: no orphan folder either
        raise
    report(1.0, f"registered {model_id}")
    return {"model_id": row["id"], "path": row["path"], "yaml": str(final / YAML_NAME), "method": cfg.method,
            "parameters": cfg.parameters, "parents": [base["id"], dapt["id"]], "license": licence,
            "commercial_use": commercial}
