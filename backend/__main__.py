"""Command line: `python -m backend corpus sources --json`, `python -m backend corpus build --recipe FILE --json`,
`python -m backend models import-default`. Errors print one clear line and exit with status 2."""
from __future__ import annotations

import argparse
import json
import sys

from backend.config import add_arguments, values_from_args
from backend.corpus.readers import CorpusInputError
from backend.settings import Settings


def _emit(args, payload, text: str) -> None:
    print(json.dumps(payload, indent=1, ensure_ascii=False, default=str) if args.json else text)


def cmd_sources(studio, args):
    from backend.corpus.tokens import source_tokens

    rows = studio.scan_sources()
    if args.tokens:
        counts = source_tokens(studio.db, [r for r in rows if r["status"] == "ok"], args.tokens, studio.home)
        for r in rows:
            r["n_tokens"] = counts.get(r["name"])
    keep = ("name", "kind", "split", "language", "license", "commercial_use", "document_type", "n_docs", "n_words",
            "n_tokens", "status", "error", "path")
    rows = [{k: (bool(r[k]) if k == "commercial_use" else r.get(k)) for k in keep} for r in rows]
    lines = [f"{r['name']:<28} {r['kind']:<8} {'commercial' if r['commercial_use'] else 'research':<10} "
             f"{r['n_docs'] or 0:>7,} docs {r['n_words'] or 0:>10,} words  {r['license'] or ''}"
             + (f"  ERROR: {r['error']}" if r["status"] != "ok" else "") for r in rows]
    _emit(args, rows, "\n".join(lines))


def cmd_build(studio, args):
    from backend.corpus.recipe import Recipe, load_recipe, parse_recipe
    from backend.corpus.snapshot import build_snapshot

    base = load_recipe(args.recipe).model_dump() if args.recipe else {}
    flags = values_from_args(args, Recipe)
    if "cleaning" in flags:  # a --cleaning JSON overrides single steps, not the whole block
        flags["cleaning"] = {**base.get("cleaning", {}), **flags["cleaning"]}
    recipe = parse_recipe({**base, **flags})
    studio.scan_sources()
    progress = None if args.json else (lambda f, m: print(f"[{f:4.0%}] {m}", file=sys.stderr))
    result = build_snapshot(studio.db, studio.home, recipe, progress=progress)
    _emit(args, result, json.dumps(result, indent=1, ensure_ascii=False))


def cmd_snapshots(studio, args):
    from backend.corpus.snapshot import list_snapshots

    rows = list_snapshots(studio.db)
    _emit(args, rows, "\n".join(f"{r['id']}  {r['name']:<30} {'commercial' if r['commercial_use'] else 'NON-COMMERCIAL'}"
                                f"  {r['n_train_docs']:,} train docs  {r['n_tokens']:,} tokens" for r in rows))


def cmd_hub(studio, args):
    from backend.corpus.hub import import_hub_dataset

    rows = import_hub_dataset(studio.db, studio.settings.folder("uploads"), args.dataset, args.split)
    _emit(args, rows, "\n".join(f"imported {r['name']}: {r['n_docs']:,} docs" for r in rows))


def cmd_add(studio, args):
    from backend.corpus.catalogue import import_upload

    rows = import_upload(studio.db, studio.settings.folder("uploads"), args.file, args.name, args.license,
                         args.commercial, args.document_type, args.kind)
    _emit(args, rows, "\n".join(f"added {r['name']}: {r['n_docs']:,} docs, {r['n_words']:,} words" for r in rows))


def cmd_import_default(studio, args):
    from backend.default_model import import_default_model

    path = import_default_model(studio.home, force=args.force, log=lambda m: print(m, file=sys.stderr))
    _emit(args, {"path": str(path)}, str(path))


def build_parser() -> argparse.ArgumentParser:
    from backend.corpus.recipe import Recipe

    parser = argparse.ArgumentParser(prog="python -m backend", description="FrBio Studio command line")
    add_arguments(parser.add_argument_group("settings"), Settings, env_prefix="FRBIO_")
    top = parser.add_subparsers(dest="group", required=True)

    corpus = top.add_parser("corpus", help="sources, recipes and snapshots").add_subparsers(dest="cmd", required=True)
    p = corpus.add_parser("sources", help="scan data folders and list the source catalogue")
    p.add_argument("--tokens", metavar="TOKENIZER", help="also count tokens with this tokenizer (e.g. default)")
    p.set_defaults(func=cmd_sources)
    p = corpus.add_parser("build", help="build a snapshot from a recipe (YAML/JSON file and/or flags)")
    p.add_argument("--recipe", help="recipe file (YAML or JSON); flags below override its fields")
    add_arguments(p.add_argument_group("recipe fields"), Recipe)
    p.set_defaults(func=cmd_build)
    p = corpus.add_parser("snapshots", help="list built snapshots")
    p.set_defaults(func=cmd_snapshots)
    p = corpus.add_parser("hub", help="import a Hub dataset (e.g. HealthDataHub/PARCOMED) as sources")
    p.add_argument("dataset", nargs="?", default="HealthDataHub/PARCOMED")
    p.add_argument("--split", default="train")
    p.set_defaults(func=cmd_hub)
    p = corpus.add_parser("add", help="add a corpus file (JSONL, gzip JSONL, parquet, .txt) as a source")
    p.add_argument("file")
    p.add_argument("--name", default="")
    p.add_argument("--license", default="unknown")
    p.add_argument("--commercial", action="store_true", help="the licence allows commercial use")
    p.add_argument("--document-type", default="unknown")
    p.add_argument("--kind", choices=["domain", "general"], default="domain")
    p.set_defaults(func=cmd_add)

    models = top.add_parser("models", help="model registry").add_subparsers(dest="cmd", required=True)
    p = models.add_parser("import-default", help="convert the offline default model (SmolLM2-135M) once")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_import_default)
    for sub in (corpus, models):
        for choice in sub.choices.values():
            choice.add_argument("--json", action="store_true", help="print JSON")
    from jobs.cli import add_jobs_commands
    add_jobs_commands(top)
    return parser


def main(argv: list[str] | None = None) -> int:
    from backend.settings import load_settings
    from backend.studio import Studio

    args = build_parser().parse_args(argv)
    studio = Studio(load_settings(**values_from_args(args, Settings)))
    try:
        args.func(studio, args)
    except (CorpusInputError, RuntimeError, OSError) as exc:
        if getattr(args, "json", False):
            print(json.dumps({"error": str(exc)}, ensure_ascii=False))
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
