"""French clinical prompt presets (assets/prompts_fr.yaml): realistic questions for instruct models and texts to
continue for base/DAPT models, in plain French, for demos to clinicians."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from backend.generation.config import GenerationError
from frbio_core.settings import PROJECT_ROOT

PROMPTS_FILE = PROJECT_ROOT / "assets" / "prompts_fr.yaml"


@lru_cache(maxsize=4)
def _read(path: str, mtime: float) -> tuple[dict, ...]:
    try:
        items = yaml.safe_load(Path(path).read_text("utf-8")) or []
    except (OSError, yaml.YAMLError) as exc:
        raise GenerationError(f"{Path(path).name}: cannot read the prompt presets ({exc})") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("id") and i.get("text") for i in items):
        raise GenerationError(f"{Path(path).name}: expected a list of {{id, title, style, text}}")
    return tuple({"id": i["id"], "title": i.get("title") or i["id"], "style": i.get("style", "question"),
                  "text": str(i["text"]).strip()} for i in items)


def load_prompts(path: Path | str = PROMPTS_FILE) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise GenerationError(f"prompt presets not found: {path}")
    return list(_read(str(path), path.stat().st_mtime))


def prompt_text(key: str, path: Path | str = PROMPTS_FILE) -> str:
    """A preset's text by id or title."""
    for item in load_prompts(path):
        if key in (item["id"], item["title"]):
            return item["text"]
    raise GenerationError(f"unknown prompt preset '{key}'")
