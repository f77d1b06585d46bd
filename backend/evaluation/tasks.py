"""The benchmarks: lm-eval tasks, each a folder holding its YAML (assets/benchmarks/<task>/, a data folder's
benchmarks/<name>/, uploaded ones under frbio_home/benchmarks/<slug>/; found by backend.evaluation.benchmarks), and
the perplexity task (domain vs general, measured by the training code; declared here, not an lm-eval task).

lm-eval needs literal data paths, so each task is *rendered*: its YAML with `@DATA@` replaced by the folder holding
its JSONL files, next to a copy of its utils.py, in `<home>/cache/lm_eval_tasks/<task>-<hash>/`. That folder is what
our runner loads (`TaskManager(include_path=folder, include_defaults=False)`) and what the `lm_eval` command line
gets as `--include_path`. A built-in task's data folder is `$FRBIO_BENCH_DIR`, else the first `bench/` of the data
folders (Settings.data) holding the task's files; any other benchmark's is its own folder.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

from backend.evaluation.benchmarks import (PERPLEXITY, PREFIX, TASKS_DIR, UTILS, TaskSpec,  # noqa: F401 (re-exported)
                                           discover, without_frbio)
from backend.evaluation.config import EvalConfig, EvalError
from frbio_core.settings import Settings

PLACEHOLDER = "@DATA@"

PERPLEXITY_SPEC = TaskSpec(
    PERPLEXITY, "Perplexity (domain vs general)", "general", "fr", ("domain_ppl", "general_ppl", "general_ppl_en"),
    fewshot=False, title_fr="Perplexité (domaine vs général)",
    note="Perplexity on the snapshot's validation split (domain) and on general French and English text "
         "(lower is better).",
    note_fr="Perplexité sur la partie validation du corpus (domaine) et sur du texte général en français et en "
            "anglais (plus bas = mieux).")


def canonical_name(name: str) -> str:
    """'frenchmedmcqa_single' → 'frbio_frenchmedmcqa_single'; 'ppl' → 'perplexity'; other names unchanged."""
    name = str(name).strip()
    if name in ("ppl", PERPLEXITY):
        return PERPLEXITY
    return name if name.startswith(PREFIX) else PREFIX + name


def custom_root(settings: Settings) -> Path:
    """Where uploaded benchmarks are stored (created on demand)."""
    return settings.folder("benchmarks")


def all_tasks(settings: Settings) -> dict[str, TaskSpec]:
    """Every benchmark found in the benchmark folders: the built-in ones, perplexity, then those of the data folders
    and the uploaded ones."""
    found = discover(settings)[0].values()
    return {s.name: s for s in [*(s for s in found if s.source == "builtin"), PERPLEXITY_SPEC,
                                *(s for s in found if s.source != "builtin")]}


def benchmark_errors(settings: Settings) -> list[tuple[Path, str]]:
    """The benchmark folders that were skipped, with the reason."""
    return discover(settings)[1]


def get_task(settings: Settings, name: str) -> TaskSpec:
    tasks = all_tasks(settings)
    spec = tasks.get(canonical_name(name))
    if spec is None:
        known = ", ".join(s.short for s in tasks.values())
        shown = name[len(PREFIX):] if name.startswith(PREFIX) else name
        raise EvalError(f"unknown task '{shown}' (known: {known})")
    return spec


# ------------------------------------------------------------------------------------------------- data

def bench_dirs(settings: Settings) -> list[Path]:
    """Where benchmark JSONL files are looked for: $FRBIO_BENCH_DIR, then <data folder>/bench for each data folder."""
    dirs = [Path(os.environ["FRBIO_BENCH_DIR"]).expanduser()] if os.environ.get("FRBIO_BENCH_DIR") else []
    return dirs + [p / "bench" for p in settings.data_paths]


def data_dir(settings: Settings, spec: TaskSpec) -> Path:
    """The folder holding every data file of `spec`; EvalError naming the missing file(s) otherwise."""
    if spec.data_dir is not None:
        candidates = [spec.data_dir]
    else:
        candidates = bench_dirs(settings)
    for folder in candidates:
        if all((folder / f).is_file() for f in spec.data_files):
            return folder.resolve()
    missing = ", ".join(spec.data_files)
    if spec.data_dir is not None:
        raise EvalError(f"{spec.short}: benchmark data not found ({missing}) in its folder {spec.data_dir}")
    raise EvalError(f"{spec.short}: benchmark data not found ({missing}) in "
                    f"{', '.join(str(c) for c in candidates) or 'no folder'}; set FRBIO_BENCH_DIR or add a data "
                    "folder holding bench/")


_file_hashes: dict[tuple, str] = {}


def file_hash(path: Path) -> str:
    """sha256 of a data file, memoised by (path, size, mtime)."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _file_hashes:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        _file_hashes[key] = digest.hexdigest()
    return _file_hashes[key]


def fingerprint(settings: Settings, spec: TaskSpec) -> str:
    """What defines a task's scores apart from the model and the run settings: its YAML (without the `frbio`
    metadata block: retitling a benchmark keeps its cached results), utils.py and the content of its data files (not
    their location: the same files elsewhere give the same cached results)."""
    folder = data_dir(settings, spec)
    template = without_frbio(spec.template.read_bytes().decode("utf-8")).encode("utf-8")
    digest = hashlib.sha256(template + b"\0" + spec.utils.read_bytes())
    for name in spec.data_files:
        digest.update(f"\0{name}\0{file_hash(folder / name)}".encode())
    return digest.hexdigest()[:16]


def render(settings: Settings, spec: TaskSpec) -> Path:
    """The include folder for lm-eval holding this task (YAML with its data path, utils.py); built once per
    content, written to a temporary folder and renamed."""
    folder = data_dir(settings, spec)
    literal = json.dumps(str(folder), ensure_ascii=False)[1:-1]  # the path inside a double-quoted YAML string
    text = spec.template.read_text("utf-8").replace(PLACEHOLDER, literal)
    utils = spec.utils.read_text("utf-8")
    key = hashlib.sha256((text + "\0" + utils).encode()).hexdigest()[:12]
    target = settings.folder("cache") / "lm_eval_tasks" / f"{spec.name}-{key}"
    if (target / f"{spec.name}.yaml").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    tmp.mkdir()
    try:
        (tmp / "utils.py").write_text(utils, "utf-8")
        (tmp / f"{spec.name}.yaml").write_text(text, "utf-8")
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / f"{spec.name}.yaml").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


# --------------------------------------------------------------------------------------------- settings

def num_fewshot(spec: TaskSpec, cfg: EvalConfig) -> int:
    if not spec.fewshot:
        return 0
    return cfg.fewshot_medical if spec.domain == "medical" else cfg.fewshot_general


def run_settings(db, settings: Settings, spec: TaskSpec, cfg: EvalConfig) -> dict:
    """The settings that change this task's scores (the cache key's third part). Batch size and device do not."""
    if spec.kind == PERPLEXITY:
        return {"snapshot": resolve_snapshot_id(db, cfg.snapshot), "block_size": cfg.ppl_block_size,
                "max_blocks": cfg.ppl_max_blocks, "version": 1}
    import importlib.metadata

    return {"task": fingerprint(settings, spec), "num_fewshot": num_fewshot(spec, cfg), "limit": cfg.limit,
            "fewshot_seed": cfg.fewshot_seed, "lm_eval": importlib.metadata.version("lm_eval")}


def resolve_snapshot_id(db, snapshot: str) -> str:
    """The snapshot the perplexity task measures: the one named, else the newest; EvalError when there is none."""
    if snapshot:
        row = next(iter(db["snapshots"].rows_where("id = ? OR name = ?", [snapshot, snapshot], limit=1)), None)
        if row is None:
            raise EvalError(f"perplexity: unknown snapshot '{snapshot}'")
        return row["id"]
    row = next(iter(db["snapshots"].rows_where(order_by="created_at DESC", limit=1)), None)
    if row is None:
        raise EvalError("perplexity needs a corpus snapshot (its validation split is the domain text): build one "
                        "in the Corpus tab or with `python -m backend corpus build`")
    return row["id"]
