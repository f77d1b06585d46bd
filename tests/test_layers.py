"""The house keeps standing: every import of the application, read with `ast` (those inside functions too), goes
down the layers of docs/ARCHITECTURE.md, never up or sideways; and no module grows past 400 lines.

    frbio_core → jobs → backend (domain base → corpus, models → training, generation → merge, evaluation → study
    → the CLI and the wiring) → frbio_ui → app.py
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("frbio_core", "jobs", "backend", "frbio_ui")
FEATURES = ("corpus", "models", "training", "generation", "merge", "evaluation", "study")
# rank of a layer: a module may import only modules of its own rank or below (its own feature package excepted)
RANKS = {"frbio_core": 0, "jobs": 1,
         "backend.errors": 2, "backend.lineage": 2, "backend.hub_licences": 2, "backend.actions": 2,
         "backend.default_model": 2, "backend.presets": 2,
         "backend.corpus": 3, "backend.models": 3, "backend.training": 4, "backend.generation": 4,
         "backend.merge": 5, "backend.evaluation": 5, "backend.study": 6,
         "backend.kinds": 7, "backend.studio": 7, "backend.action_cli": 7, "backend.admin_cli": 7, "backend.presets_cli": 7,
         "backend.__main__": 7, "backend": 7, "frbio_ui": 8, "app": 9}
MAX_LINES = 400


def layer(module: str) -> str:
    """'backend.merge.save' → 'backend.merge'; 'jobs.store' → 'jobs'; 'backend.errors' → 'backend.errors'."""
    parts = module.split(".")
    if parts[0] == "backend" and len(parts) > 1:
        return ".".join(parts[:2])
    return parts[0]


def imports_of(path: Path, root: Path = ROOT) -> list[tuple[str, int]]:
    """(imported module, line) for every import in the file, relative ones resolved."""
    module = ".".join(path.relative_to(root).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base
                                                                                                   else []))
            found.append((base, node.lineno))
            found += [(f"{base}.{a.name}", node.lineno) for a in node.names if f"{base}.{a.name}" != base]
    return found


def application_modules() -> list[Path]:
    files = [ROOT / "app.py"]
    for package in PACKAGES:
        files += sorted((ROOT / package).rglob("*.py"))
    return files


def module_name(path: Path, root: Path = ROOT) -> str:
    return ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")


def violations(files: list[Path], root: Path = ROOT) -> list[str]:
    """Imports that go up the layers (or gradio outside the UI)."""
    out = []
    for path in files:
        me = module_name(path, root)
        mine = layer(me)
        for target, line in imports_of(path, root):
            top = target.split(".")[0]
            if top not in PACKAGES and top != "app":
                if top == "gradio" and not mine.startswith(("frbio_ui", "app")):
                    out.append(f"{path.relative_to(root)}:{line} imports gradio (only the UI may)")
                continue
            theirs = layer(target)
            if theirs == mine or target in ("backend",):
                continue
            if RANKS.get(theirs, RANKS.get(top)) > RANKS.get(mine, RANKS.get(me.split(".")[0])):
                out.append(f"{path.relative_to(root)}:{line} ({mine}) imports {target} ({theirs}): upward")
    return out


def rule_breaks(files: list[Path], root: Path = ROOT) -> list[str]:
    """The rules the architecture names, each with its own message."""
    bad = []
    for path in files:
        me = layer(module_name(path, root))
        for target, line in imports_of(path, root):
            theirs = layer(target)
            if me == "jobs" and target.split(".")[0] == "backend":
                bad.append(f"{path.name}:{line}: the job runtime imports {target}")
            if me.startswith("backend") and target.split(".")[0] in ("frbio_ui", "gradio"):
                bad.append(f"{path.name}:{line}: the backend imports {target}")
            if me.startswith("frbio_core") and target.split(".")[0] in ("jobs", "backend", "frbio_ui", "gradio"):
                bad.append(f"{path.name}:{line}: the base layer imports {target}")
            if me.startswith("backend.") and theirs.startswith("backend.") and theirs != me:
                a, b = me.split(".")[1], theirs.split(".")[1]
                if a in FEATURES and b in FEATURES and RANKS[theirs] >= RANKS[me]:
                    bad.append(f"{path.name}:{line}: feature {a} imports feature {b} (same level or later)")
    return bad


def test_every_import_goes_down_the_layers():
    assert violations(application_modules()) == []


def test_the_rules_named_by_the_architecture_hold():
    assert rule_breaks(application_modules()) == []


@pytest.mark.parametrize("source, target, rule", [
    ("jobs/scheduler.py", "from backend.study import state", "the job runtime imports backend"),
    ("jobs/store.py", "    from backend.studio import Studio", "the job runtime imports backend"),
    ("backend/merge/save.py", "import gradio as gr", "the backend imports gradio"),
    ("backend/corpus/snapshot.py", "from frbio_ui.i18n import tr", "the backend imports frbio_ui"),
    ("backend/corpus/snapshot.py", "from backend.training.loop import evaluate", "feature corpus imports feature"),
    ("backend/training/loop.py", "from backend.generation.stream import side_by_side", "feature training imports"),
    ("frbio_core/registry.py", "from jobs import store", "the base layer imports jobs"),
])
def test_the_check_fails_on_the_imports_the_issue_names(tmp_path, source, target, rule):
    """Each forbidden import, added to a copy of a real module, is caught (the test would fail on it)."""
    copy = tmp_path / source
    copy.parent.mkdir(parents=True, exist_ok=True)
    text = (ROOT / source).read_text("utf-8")
    text = text + f"\n\ndef _probe():\n{target}\n" if target.startswith(" ") else target + "\n" + text
    copy.write_text(text, "utf-8")
    assert any(rule in v for v in rule_breaks([copy], tmp_path)), rule_breaks([copy], tmp_path)


def test_no_module_is_longer_than_400_lines():
    files = application_modules() + sorted((ROOT / "bench").glob("*.py")) + sorted((ROOT / "tests").rglob("*.py"))
    long = {str(p.relative_to(ROOT)): n for p in files if (n := len(p.read_text("utf-8").splitlines())) > MAX_LINES}
    assert long == {}
