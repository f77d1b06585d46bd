"""List the sentences the code writes that have no French template yet (frbio_core.translations).

    .venv/bin/python tools/untranslated.py [PATH ...]      # default: frbio_core jobs backend frbio_ui

Reads the code with `ast` and finds: the message of every `raise` of a UserError subclass; the message of every
progress call (`job.progress(f, "…")`, `progress(f, "…")`, `report(f, "…")`, `step(f, "…")`); and the first
argument of every `translated("…", lang)`. A message built at run time (a variable, `str(exc)`) is not listed. Prints
`path:line: template` per sentence missing from the loaded catalogues, and exits 1 when there is one."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("frbio_core", "jobs", "backend", "frbio_ui")
PROGRESS_CALLS = {"progress", "report", "step"}
HOLE = "\x00"


def error_classes(files: list[Path]) -> set[str]:
    """Names of UserError and every class that derives from it, anywhere in `files`."""
    bases: dict[str, set[str]] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases.setdefault(node.name, set()).update(_name(b) for b in node.bases)
    found = {"UserError"}
    while True:
        more = {name for name, parents in bases.items() if parents & found} - found
        if not more:
            return found
        found |= more


def template(node: ast.AST) -> str | None:
    """The sentence a string expression writes, with HOLE where a value goes; None when it is built otherwise."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else HOLE for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = template(node.left), template(node.right)
        return None if left is None or right is None else left + right
    return None


def sentences(path: Path, errors: set[str]) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and _name(node.exc.func) in errors:
            args = node.exc.args
            found.append((node.lineno, template(args[0]) if args else None))
        elif isinstance(node, ast.Call) and _name(node.func) in PROGRESS_CALLS and len(node.args) >= 2:
            found.append((node.lineno, template(node.args[1])))
        elif isinstance(node, ast.Call) and _name(node.func) == "translated" and node.args:
            found.append((node.lineno, template(node.args[0])))
    return [(line, text) for line, text in found if text and any(c.isalpha() for c in text.replace(HOLE, ""))]


def normalized(english: str) -> str:
    """A catalogue template as `template` writes the same sentence."""
    from frbio_core.translations import FIELD

    return FIELD.sub(HOLE, english).replace("{{", "{").replace("}}", "}")


def missing(paths: list[Path]) -> list[str]:
    from frbio_core import translations

    translations.load(*PACKAGES)
    known = {normalized(e) for e in translations.entries()}
    files = sorted(f for p in paths for f in ([p] if p.is_file() else p.rglob("*.py")))
    errors = error_classes(sorted(f for p in PACKAGES for f in (ROOT / p).rglob("*.py")))
    return [f"{f.relative_to(ROOT)}:{line}: {text.replace(HOLE, '{…}')}"
            for f in files for line, text in sentences(f, errors) if text not in known]


def _name(node: ast.AST) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    paths = [Path(a).resolve() for a in argv] or [ROOT / p for p in PACKAGES]
    lines = missing(paths)
    print("\n".join(lines) or "every sentence has its French")
    if lines:
        print(f"{len(lines)} sentence(s) without French", file=sys.stderr)
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
