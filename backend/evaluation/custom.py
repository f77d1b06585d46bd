"""Custom multiple-choice benchmarks: a JSONL file uploaded by a user becomes an lm-eval task (accuracy of the most
likely answer label), stored under <home>/benchmarks/<slug>/ with its items, its task YAML (whose `metadata.frbio`
says what the benchmark is, like every benchmark folder: backend/evaluation/benchmarks.py) and benchmark.json (the
upload's record: owner, source file, counts).

Schema, one JSON object per line:
    {"question": "…", "choices": {"A": "…", "B": "…", …}, "answer": "B"}
  - `choices`: a mapping label → text (2 to 26 options), or a list of texts (labelled A, B, C, …);
  - `answer`: the correct label (or `answers`: a list holding exactly one label);
  - optional `id` (kept for the drill-down) and `split`: items marked "train", "dev" or "fewshot" are the pool of
    worked examples shown before each question; every other item is evaluated.
Every line is checked; the first errors are reported with their line numbers and nothing is stored.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import string
import uuid
from pathlib import Path

from backend.evaluation.config import EvalError
from backend.evaluation.benchmarks import frbio_block
from backend.evaluation.tasks import PREFIX, TASKS_DIR, custom_root
from frbio_core.registry import now
from frbio_core.settings import Settings

TEMPLATE = TASKS_DIR / "custom_multiple_choice.yaml.in"
FEWSHOT_SPLITS = {"train", "dev", "fewshot", "validation"}
MAX_ERRORS = 5
MAX_BYTES = 200 * 2**20


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40]


def _item(line_no: int, raw: str) -> tuple[dict | None, str | None]:
    try:
        obj = json.loads(raw)
    except ValueError as exc:
        return None, f"line {line_no}: not valid JSON ({exc.msg})"
    if not isinstance(obj, dict):
        return None, f"line {line_no}: expected a JSON object, got {type(obj).__name__}"
    question = obj.get("question")
    if not isinstance(question, str) or not question.strip():
        return None, f"line {line_no}: missing field 'question' (a non-empty text)"
    choices = obj.get("choices")
    if isinstance(choices, list):
        choices = dict(zip(string.ascii_uppercase, choices))
    if choices is None:
        return None, f"line {line_no}: missing field 'choices' (a mapping label → text, or a list of texts)"
    if not isinstance(choices, dict):
        return None, f"line {line_no}: 'choices' must be a mapping label → text, or a list of texts"
    if not 2 <= len(choices) <= 26:
        return None, f"line {line_no}: 'choices' has {len(choices)} option(s); 2 to 26 are needed"
    if any(not isinstance(v, str) or not v.strip() for v in choices.values()):
        return None, f"line {line_no}: every choice must be a non-empty text"
    labels = [str(k).strip() for k in choices]
    if any(not k for k in labels) or len(set(labels)) != len(labels):
        return None, f"line {line_no}: choice labels must be distinct and non-empty"
    if "answer" in obj:
        answer = obj["answer"]
    elif isinstance(obj.get("answers"), list) and len(obj["answers"]) == 1:
        answer = obj["answers"][0]
    elif isinstance(obj.get("answers"), list):
        return None, (f"line {line_no}: 'answers' must hold exactly one label for a multiple-choice benchmark "
                      f"(got {len(obj['answers'])})")
    else:
        return None, f"line {line_no}: missing field 'answer' (the correct choice label)"
    answer = str(answer).strip()
    if answer not in labels:
        return None, f"line {line_no}: answer '{answer}' is not among the choices ({', '.join(labels)})"
    split = str(obj.get("split") or "test").strip().lower()
    return {"id": str(obj.get("id") or f"item-{line_no}"), "question": question.strip(), "labels": labels,
            "texts": [choices[k].strip() for k in choices], "answer": answer,
            "split": "fewshot" if split in FEWSHOT_SPLITS else "test"}, None


def read_items(path: Path | str) -> list[dict]:
    """The items of an uploaded JSONL, validated; EvalError listing the first problems otherwise."""
    path = Path(path)
    if not path.is_file():
        raise EvalError(f"{path}: file not found")
    if path.stat().st_size > MAX_BYTES:
        raise EvalError(f"{path.name}: larger than {MAX_BYTES // 2**20} MB")
    items, errors = [], []
    try:
        with open(path, encoding="utf-8") as f:
            for line_no, raw in enumerate(f, 1):
                if not raw.strip():
                    continue
                item, error = _item(line_no, raw)
                if error:
                    errors.append(error)
                    if len(errors) >= MAX_ERRORS:
                        break
                else:
                    items.append(item)
    except UnicodeDecodeError:
        raise EvalError(f"{path.name}: not a UTF-8 text file (expected JSONL, one JSON object per line)") from None
    if errors:
        raise EvalError(f"{path.name}: " + "; ".join(errors) + (" (first errors only)" if len(errors) >= MAX_ERRORS
                                                                  else ""))
    if not items:
        raise EvalError(f"{path.name}: the file is empty (no items)")
    if not any(i["split"] == "test" for i in items):
        raise EvalError(f"{path.name}: every item is a few-shot example (split train/dev/fewshot): nothing to evaluate")
    return items


def _taken(folder: Path, slug: str) -> EvalError:
    try:
        owner = json.loads((folder / "benchmark.json").read_text("utf-8")).get("owner")
    except (OSError, ValueError):
        owner = None
    return EvalError(f"a benchmark named '{slug}' already exists (owner: {owner or 'none'}): choose another name")


def add_benchmark(settings: Settings, path: Path | str, name: str, domain: str = "medical", language: str = "fr",
                  owner: str | None = None, db=None) -> dict:
    """Validate and store an uploaded benchmark, owned by `owner`; returns its benchmark.json (with `task`, the task
    name). A name already used is refused, naming its owner. With the registry `db`, the addition is audited."""
    slug = _slug(name or Path(path).stem)
    if not slug:
        raise EvalError("benchmark name: use letters or digits")
    if domain not in ("medical", "general"):
        raise EvalError(f"domain: 'medical' or 'general', not '{domain}'")
    if language not in ("fr", "en"):
        raise EvalError(f"language: 'fr' or 'en', not '{language}'")
    items = read_items(path)
    root = custom_root(settings)
    final = root / slug
    if final.exists():
        raise _taken(final, slug)
    test = [dict(i, language=language) for i in items if i["split"] == "test"]
    pool = [dict(i, language=language) for i in items if i["split"] == "fewshot"]
    task = f"{PREFIX}custom_{slug}"
    files = {"test.jsonl": test, **({"fewshot.jsonl": pool} if pool else {})}
    yaml_text = TEMPLATE.read_text("utf-8").replace("@TASK@", task)
    yaml_text = (yaml_text.replace("@FEWSHOT_FILE@", '    train: "@DATA@/fewshot.jsonl"' if pool else "")
                 .replace("@FEWSHOT@", "fewshot_split: train" if pool else "num_fewshot: 0"))
    meta = {"name": name or slug, "slug": slug, "task": task, "title": f"{name or slug} (uploaded)",
            "domain": domain, "language": language, "n_items": len(test), "n_fewshot_items": len(pool),
            "data_files": sorted(files), "source_file": Path(path).name, "owner": owner, "created_at": now(),
            "note": f"Uploaded multiple-choice benchmark: {len(test)} items, accuracy of the most likely label."}
    yaml_text = yaml_text.rstrip("\n") + "\n" + frbio_block({
        "title": {"en": meta["title"], "fr": f"{name or slug} (importé)"}, "domain": domain, "language": language,
        "metrics": ["acc"], "fewshot": bool(pool), "default": False, "study": False, "test_items": len(test),
        "data_files": sorted(files),
        "note": {"en": meta["note"], "fr": f"Test à choix multiple importé : {len(test)} questions, exactitude de "
                                           "l'étiquette la plus probable."}})
    tmp = root / f".{slug}.tmp-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    tmp.mkdir(parents=True)
    try:
        for fname, rows in files.items():
            (tmp / fname).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
        (tmp / "task.yaml").write_text(yaml_text, "utf-8")
        (tmp / "benchmark.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False), "utf-8")
        try:
            os.rename(tmp, final)
        except OSError:
            raise _taken(final, slug) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if db is not None:
        from frbio_core import users

        users.audit(db, owner, "benchmark_add", task, items=len(test))
    return meta


def list_benchmarks(settings: Settings) -> list[dict]:
    out = []
    for meta in sorted(custom_root(settings).glob("*/benchmark.json")):
        try:
            out.append(json.loads(meta.read_text("utf-8")))
        except (OSError, ValueError):
            continue
    return out
