"""Benchmarks are folders, found the way lm-eval finds tasks: each `<root>/<name>/` holds one lm-eval task YAML whose
`metadata:` mapping carries, under the key `frbio`, what FrBio Studio needs to know about it:

    metadata:
      version: 1.0
      frbio:
        title: {en: "SIB-200 French (general)", fr: "SIB-200 français (général)"}
        domain: general        # which few-shot count applies: medical or general
        language: fr
        metrics: [acc]         # headline first
        fewshot: true          # false: no few-shot pool
        default: true          # offered and ticked by default (Compare tab, eval default, study benchmarks)
        study: true            # one of the study's benchmarks
        order: 30              # optional: where it is listed (then by folder name)
        data_files: [sib200_fr_train.jsonl, sib200_fr_test.jsonl]
        note: {en: "…", fr: "…"}

The roots, in order (the first folder to declare a task name wins; a later one is reported):
  - `assets/benchmarks/*/`: the built-in benchmarks; their data files are searched in the bench folders;
  - `<data folder>/benchmarks/*/` for each data folder: a lab's own benchmark, its JSONL files beside its YAML
    (`@DATA@` in the YAML is that folder);
  - `<home>/benchmarks/*/`: uploaded benchmarks (an older upload without the `frbio` block is read from its
    benchmark.json).
`utils.py` beside a task's YAML is that task's functions file; without one, the shared `assets/benchmarks/utils.py`.
A folder that cannot be read is skipped and reported (`python -m backend benchmarks list`), never fatal.
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from frbio_core.settings import PROJECT_ROOT, Settings

TASKS_DIR = PROJECT_ROOT / "assets" / "benchmarks"
UTILS = TASKS_DIR / "utils.py"
PERPLEXITY = "perplexity"
PREFIX = "frbio_"
BUILTIN, DATA, UPLOADED = "builtin", "data", "uploaded"
_FRBIO_LINE = re.compile(r"^  frbio:[ \t]*(#.*)?$")


@dataclass(frozen=True)
class TaskSpec:
    name: str                      # the lm-eval task name ('frbio_…'), or 'perplexity'
    title: str                     # English title
    domain: str                    # 'medical' or 'general': which few-shot count applies
    language: str                  # 'fr' or 'en'
    metrics: tuple[str, ...]       # reported metrics, headline first
    template: Path | None = None   # the YAML (with @DATA@) for lm-eval tasks
    data_files: tuple[str, ...] = ()
    data_dir: Path | None = None   # fixed data folder (a data folder's or uploaded benchmark); None: the bench folders
    fewshot: bool = True           # False: the task has no few-shot pool (0 examples whatever the config says)
    note: str = ""
    extra: dict = field(default_factory=dict, compare=False)   # an upload's benchmark.json
    title_fr: str = ""
    note_fr: str = ""
    default: bool = False          # offered and ticked by default
    study: bool = False            # one of the study's benchmarks
    source: str = BUILTIN          # 'builtin', 'data' (a data folder's benchmarks/) or 'uploaded'
    folder: Path | None = None     # the benchmark's folder
    utils: Path = UTILS            # the functions file lm-eval's `!function utils.…` refers to
    order: int = 100               # where it is listed among the benchmarks of its root (then by folder name)
    test_items: int | None = None  # items of its test split, when the metadata says
    seconds_per_item: float | None = None   # a measured evaluation time per item (the metadata's reference machine)

    @property
    def kind(self) -> str:
        return PERPLEXITY if self.name == PERPLEXITY else "lm_eval"

    @property
    def short(self) -> str:
        return self.name[len(PREFIX):] if self.name.startswith(PREFIX) else self.name


# ------------------------------------------------------------------------------------------------ the YAML

class _Loader(yaml.SafeLoader):
    """lm-eval's YAML: `!function utils.NAME` (and any other tag) read as plain values."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: (
    loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else
    loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode) else loader.construct_mapping(node)))


def without_frbio(text: str) -> str:
    """The task YAML without its `  frbio:` block (the metadata mapping's entry and every line indented under it):
    what lm-eval scores, hence what the fingerprint hashes (the text before the block was appended)."""
    lines = text.splitlines(keepends=True)
    start, section = None, ""
    for i, line in enumerate(lines):
        if line.strip() and not line[0].isspace() and not line.startswith("#"):
            section = line.split(":", 1)[0]
        elif section == "metadata" and _FRBIO_LINE.match(line.rstrip("\r\n")):
            start = i
            break
    if start is None:
        return text
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end].startswith("   ")
                                or (lines[end].lstrip().startswith("#") and lines[end].startswith("  "))):
        end += 1
    return "".join(lines[:start] + lines[end:])


def frbio_block(meta: dict) -> str:
    """The `  frbio:` block to append after a task YAML's `metadata:` mapping."""
    text = yaml.safe_dump({"frbio": meta}, allow_unicode=True, sort_keys=False, width=1000)
    return "".join("  " + line for line in text.splitlines(keepends=True))


def read_yaml(path: Path) -> dict:
    data = yaml.load(path.read_text("utf-8"), Loader=_Loader)  # noqa: S506 — a SafeLoader subclass
    if not isinstance(data, dict):
        raise ValueError("not a YAML mapping")
    return data


def _texts(value, what: str) -> tuple[str, str]:
    """(English, French) from {en: …, fr: …} or one text for both."""
    if isinstance(value, dict):
        en, fr = value.get("en"), value.get("fr")
        if not isinstance(en or fr, str):
            raise ValueError(f"{what}: give {{en: …, fr: …}} or a text")
        return str(en or fr), str(fr or en)
    if value is None:
        return "", ""
    return str(value), str(value)


def spec_from_meta(task: str, meta: dict, template: Path, source: str, data_dir: Path | None,
                   extra: dict | None = None) -> TaskSpec:
    """A TaskSpec from a `frbio` mapping; ValueError naming what is wrong."""
    if not isinstance(meta, dict):
        raise ValueError("metadata.frbio must be a mapping")
    title, title_fr = _texts(meta.get("title"), "title")
    if not title:
        raise ValueError("metadata.frbio.title is missing")
    if meta.get("domain") not in ("medical", "general"):
        raise ValueError(f"metadata.frbio.domain: 'medical' or 'general', not {meta.get('domain')!r}")
    if meta.get("language") not in ("fr", "en"):
        raise ValueError(f"metadata.frbio.language: 'fr' or 'en', not {meta.get('language')!r}")
    metrics = meta.get("metrics")
    if isinstance(metrics, str):
        metrics = [metrics]
    if not metrics or not all(isinstance(m, str) and m for m in metrics):
        raise ValueError("metadata.frbio.metrics: a list of metric names, headline first")
    files = meta.get("data_files")
    if files is None and data_dir is not None:
        files = sorted(p.name for p in data_dir.glob("*.jsonl"))
    if not isinstance(files, list) or not all(isinstance(f, str) and f and "/" not in f for f in files):
        raise ValueError("metadata.frbio.data_files: a list of file names")
    note, note_fr = _texts(meta.get("note"), "note")
    folder = template.parent
    own_utils = folder / "utils.py"
    return TaskSpec(task, title, meta["domain"], meta["language"], tuple(metrics), template, tuple(files),
                    data_dir=data_dir, fewshot=bool(meta.get("fewshot", True)), note=note, extra=extra or {},
                    title_fr=title_fr, note_fr=note_fr, default=bool(meta.get("default", False)),
                    study=bool(meta.get("study", False)), source=source, folder=folder,
                    utils=own_utils if own_utils.is_file() else UTILS, order=int(meta.get("order", 100)),
                    test_items=int(meta["test_items"]) if meta.get("test_items") else None,
                    seconds_per_item=float(meta["seconds_per_item"]) if meta.get("seconds_per_item") else None)


# ------------------------------------------------------------------------------------------------ a folder

def _task_yaml(folder: Path) -> Path:
    found = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    named = [p for p in found if p.stem == folder.name]
    if len(found) == 1 or len(named) == 1:
        return found[0] if len(found) == 1 else named[0]
    if not found:
        raise ValueError("no task YAML in the folder")
    names = ", ".join(p.name for p in found)
    raise ValueError(f"several YAML files ({names}): keep one, or name the task's {folder.name}.yaml")


def read_folder(folder: Path, source: str) -> TaskSpec:
    """The benchmark a folder holds; ValueError (or OSError) saying why it cannot be used."""
    legacy = folder / "benchmark.json" if source == UPLOADED else None
    path = _task_yaml(folder)
    try:
        data = read_yaml(path)
    except yaml.YAMLError as exc:
        raise ValueError(f"{path.name}: not valid YAML ({str(exc).splitlines()[0]})") from None
    task = data.get("task")
    if not isinstance(task, str) or not task.startswith(PREFIX) or task == PREFIX:
        raise ValueError(f"{path.name}: its task name must start with '{PREFIX}' (found {task!r})")
    data_dir = None if source == BUILTIN else folder
    extra = {}
    if legacy is not None and legacy.is_file():
        extra = json.loads(legacy.read_text("utf-8"))
    meta = (data.get("metadata") or {}).get("frbio") if isinstance(data.get("metadata"), dict) else None
    if meta is None and extra:   # an upload made before the metadata lived in its YAML
        meta = {"title": {"en": extra["title"], "fr": extra.get("title_fr") or extra["title"]},
                "domain": extra["domain"], "language": extra["language"], "metrics": ["acc"],
                "fewshot": bool(extra.get("n_fewshot_items")), "data_files": extra["data_files"],
                "note": extra.get("note", "")}
    if meta is None:
        raise ValueError(f"{path.name}: no `frbio` entry under `metadata:` (title, domain, language, metrics…)")
    return spec_from_meta(task, meta, path, source, data_dir, extra)


# ---------------------------------------------------------------------------------------------- discovery

def roots(settings: Settings | None) -> list[tuple[Path, str]]:
    """The folders whose sub-folders are benchmarks, in order, with what they are."""
    out = [(TASKS_DIR, BUILTIN)]
    if settings is not None:
        out += [(p / "benchmarks", DATA) for p in settings.data_paths]
        out.append((settings.home_path / "benchmarks", UPLOADED))
    return out


def discover(settings: Settings | None) -> tuple[dict[str, TaskSpec], list[tuple[Path, str]]]:
    """({task name: spec}, [(folder, why it was skipped)]): every benchmark folder, built-in ones first (only
    those without settings)."""
    specs: dict[str, TaskSpec] = {}
    errors: list[tuple[Path, str]] = []
    for root, source in roots(settings):
        try:
            folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
        except OSError:
            continue
        found = []
        for folder in folders:
            try:
                found.append(builtin_folder(folder) if source == BUILTIN else read_folder(folder, source))
            except Exception as exc:  # noqa: BLE001 — an unreadable folder is reported, never fatal
                errors.append((folder, str(exc) or type(exc).__name__))
        for spec in sorted(found, key=lambda s: (s.order, s.folder.name)):
            if spec.name in specs:
                errors.append((spec.folder, f"task {spec.name} is already defined by {specs[spec.name].folder}"))
                continue
            specs[spec.name] = spec
    if settings is not None:
        _seen_study.update(s.short for s in specs.values() if s.study)
    return specs, errors


@functools.lru_cache(maxsize=None)
def _builtin_folder(folder: Path, mtime: int) -> TaskSpec:
    return read_folder(folder, BUILTIN)


def builtin_folder(folder: Path) -> TaskSpec:
    """A built-in benchmark folder, read once (again when its YAML changes)."""
    path = _task_yaml(folder)
    return _builtin_folder(folder, path.stat().st_mtime_ns)


def builtin() -> dict[str, TaskSpec]:
    """The built-in benchmarks (assets/benchmarks)."""
    return discover(None)[0]


_seen_study: set[str] = set()


def study_names(settings: Settings | None = None) -> list[str]:
    """Short names of the benchmarks whose metadata says `study: true` (built-in ones first)."""
    return [s.short for s in discover(settings)[0].values() if s.study]


def known_study_name(name: str) -> bool:
    """Whether `name` (short) is a study benchmark: a built-in one, one discovered in this process with settings,
    or one found with the settings of the environment (FRBIO_DATA, FRBIO_HOME: what a job's worker gets)."""
    if name in study_names() or name in _seen_study:
        return True
    try:
        from frbio_core.settings import load_settings

        return name in study_names(load_settings())
    except Exception:  # noqa: BLE001 — a broken environment is not this check's business
        return False
