"""Command line: `python -m backend corpus sources|snapshots|hub|add|contamination|show`, `models list|import|info|tiny|publish|
import-default`, and one command per declared action (backend.actions: `corpus build`, `models download`, `train`,
`merge`, `merge sweep`, `eval`, `compare`, `reproduce`), generated from its declaration (backend.action_cli); the job
runtime's `jobs …`; `benchmarks`, `generate`, `users`. Errors print one clear line and exit with status 2."""
from __future__ import annotations

import argparse
import json
import sqlite3
import sys

from backend import lineage
from frbio_core.config import add_arguments, values_from_args
from frbio_core.errors import UserError
from frbio_core.settings import Settings


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
    lines = [f"{r['name']:<28} {r['kind']:<8} {lineage.SHORT[0 if r['commercial_use'] else 1]:<13} "
             f"{r['n_docs'] or 0:>7,} docs {r['n_words'] or 0:>10,} words  {r['license'] or ''}"
             + (f"  ERROR: {r['error']}" if r["status"] != "ok" else "") for r in rows]
    _emit(args, rows, "\n".join(lines))


def cmd_snapshots(studio, args):
    from backend.corpus.snapshot import list_snapshots

    rows = list_snapshots(studio.db)
    _emit(args, rows, "\n".join(f"{r['id']}  {r['name']:<30} {lineage.status(bool(r['commercial_use']))}"
                                f"  {r['n_train_docs']:,} train docs  {r['n_tokens']:,} tokens" for r in rows))


def cmd_hub(studio, args):
    from backend.corpus.hub import import_hub_dataset

    rows = import_hub_dataset(studio.db, studio.settings.folder("uploads"), args.dataset, args.split)
    _emit(args, rows, "\n".join(f"imported {r['name']}: {r['n_docs']:,} docs" for r in rows))


def cmd_add(studio, args):
    from backend.corpus.catalogue import import_upload

    rows = import_upload(studio.db, studio.settings.folder("uploads"), args.file, args.name, args.license,
                         args.commercial, args.document_type, args.kind, owner=args.actor, replace=args.replace)
    _emit(args, rows, "\n".join(f"added {r['name']}: {r['n_docs']:,} docs, {r['n_words']:,} words" for r in rows))


def cmd_contamination(studio, args):
    from backend.evaluation.contamination import check, summary_lines

    report = check(studio.db, studio.settings, args.snapshot, tasks=args.tasks or None, flag_n=args.flag_n,
                   min_n=args.min_n, actor=args.actor)
    _emit(args, report, "\n".join(summary_lines(report) + [f"({report['seconds']:.1f} s; written to the "
                                                               "snapshot's manifest.json and README.md)"]))


def cmd_import_default(studio, args):
    from backend.default_model import import_default_model
    from backend.models.importing import register_default

    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    if args.force:
        import_default_model(studio.home, force=True, log=log)
    row = register_default(studio.db, studio.home, log=log)
    _emit(args, {"path": row["path"], "id": row["id"]}, row["path"])


def _model_line(r: dict) -> str:
    params = f"{r['n_params'] / 1e6:,.1f}M" if r.get("n_params") else "?"
    return (f"{r['id']:<28} {r['kind']:<7} {r['architecture'] or '?':<22} {params:>9} {r['dtype'] or '?':<9} "
            f"{(r['size_bytes'] or 0) / 1e6:>9,.1f} MB  {r['license'] or 'unknown licence'}"
            + ("" if r.get("commercial_use", 1) else f"  {lineage.NON_COMMERCIAL}")
            + (f"  ERROR: {r['error']}" if r.get("status") == "error" else ""))


def cmd_models_list(studio, args):
    from backend.models.registry import check_models, list_models

    rows = check_models(studio.db) if args.check else list_models(studio.db, args.kind)
    rows = [r for r in rows if not args.kind or r["kind"] == args.kind]
    _emit(args, rows, "\n".join(_model_line(r) for r in rows) or "no models registered")


def cmd_models_import(studio, args):
    from backend.models.importing import import_local

    row = import_local(studio.db, studio.home, args.path, name=args.name, license=args.license, copy=args.copy,
                       actor=args.actor, roots=studio.settings.import_roots, replace=args.replace)
    _emit(args, row, _model_line(row))


def cmd_models_info(studio, args):
    from backend.models.registry import get_model, lineage

    row = get_model(studio.db, args.id)
    row["lineage"] = [{k: r[k] for k in ("id", "name", "kind", "origin", "license", "commercial_use",
                                         "snapshot_id")} for r in lineage(studio.db, row["id"])]
    text = "\n".join(f"{k:<15} {v}" for k, v in row.items() if k != "lineage")
    text += "\nlineage        " + " ← ".join(f"{r['id']} ({r['kind']})" for r in row["lineage"])
    _emit(args, row, text)


def cmd_models_tiny(studio, args):
    from backend.models.importing import make_tiny_model

    row = make_tiny_model(studio.home, name=args.name, seed=args.seed, db=studio.db,
                          tokenizer_from=None if args.byte_tokenizer else "default", owner=args.actor,
                          replace=args.replace)
    _emit(args, row, _model_line(row))


def cmd_models_publish(studio, args):
    from backend.models.publish import publish_model, publish_snapshot
    from backend.models.registry import ModelError, get_model

    try:
        get_model(studio.db, args.id)
        is_snapshot = args.snapshot
    except ModelError:
        if not args.snapshot and not args.id.startswith("snap-"):
            raise
        is_snapshot = True
    publish = publish_snapshot if is_snapshot else publish_model
    result = publish(studio.db, args.id, args.repo_id, private=not args.public, actor=args.actor)
    _emit(args, result, f"published {args.id} to {result['url']}")


def _as_flags(p, who: str) -> None:
    p.add_argument("--as", dest="actor", metavar="USER", help=who + "; default: the server's operator")
    p.add_argument("--replace", action="store_true", help="replace a model with that id (its owner or an admin; "
                   "audited) instead of refusing")


# commands that only read or change what exists: on a home without a registry (a mistyped --home) they say so
# instead of creating an empty one
EXISTING_HOME = {("models", "list"), ("models", "info"), ("models", "publish"), ("corpus", "snapshots"),
                 ("corpus", "show"),
                 ("jobs", "list"), ("jobs", "show"), ("jobs", "cancel"), ("jobs", "resume"), ("jobs", "delete"),
                 ("jobs", "wait"), ("users", "list"), ("users", "disable"), ("users", "enable"), ("users", "admin"),
                 ("users", "password"), ("audit", None), ("trust-remote-code", None), ("backup", None),
                 ("reproduce", "status"), ("reproduce", "resume"), ("reproduce", "cancel"), ("reproduce", "list")}


def build_parser() -> argparse.ArgumentParser:
    from backend.action_cli import add_action_commands
    from backend.studio import Studio  # noqa: F401  (registers every feature's job kinds and actions)

    parser = argparse.ArgumentParser(prog="python -m backend", description="FrBio Studio command line")
    add_arguments(parser.add_argument_group("settings"), Settings, env_prefix="FRBIO_")
    top = parser.add_subparsers(dest="group", required=True)

    corpus = top.add_parser("corpus", help="sources, recipes and snapshots").add_subparsers(dest="cmd", required=True)
    p = corpus.add_parser("sources", help="scan data folders and list the source catalogue")
    p.add_argument("--tokens", metavar="TOKENIZER", help="also count tokens with this tokenizer (e.g. default)")
    p.set_defaults(func=cmd_sources)
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
    p.add_argument("--as", dest="actor", metavar="USER", help="add it as this account (its owner)")
    p.add_argument("--replace", action="store_true", help="replace an uploaded source of that name (its owner or an "
                   "admin; audited) instead of refusing")
    p.set_defaults(func=cmd_add)
    p = corpus.add_parser("contamination", help="benchmark test items that share long word spans with a snapshot's "
                          "training split (written to its manifest and card)")
    p.add_argument("snapshot", help="snapshot id (snap-…) or name")
    p.add_argument("--tasks", nargs="*", metavar="TASK", help="benchmarks to check (default: every one)")
    p.add_argument("--flag-n", type=int, default=13, help="flag an item sharing this many consecutive words "
                   "(default 13, GPT-3's rule)")
    p.add_argument("--min-n", type=int, default=8, help="n-gram size of the lookup (default 8)")
    p.add_argument("--as", dest="actor", metavar="USER", help="record the check as this account")
    p.set_defaults(func=cmd_contamination)
    from backend.corpus.viewer_cli import add_show_command
    add_show_command(corpus)

    models = top.add_parser("models", help="model registry").add_subparsers(dest="cmd", required=True)
    p = models.add_parser("import-default", help="convert the offline default model (SmolLM2-135M) once and "
                          "register it")
    p.add_argument("--force", action="store_true", help="convert again even if the folder is complete")
    p.set_defaults(func=cmd_import_default)
    p = models.add_parser("list", help="list registered models")
    p.add_argument("--kind", choices=["base", "dapt", "checkpoint", "merged", "tiny"])
    p.add_argument("--check", action="store_true", help="re-inspect every folder and flag broken ones")
    p.set_defaults(func=cmd_models_list)
    p = models.add_parser("import", help="register a local Hugging Face model folder")
    p.add_argument("path")
    p.add_argument("--name", help="model id/name (default: the folder name)")
    p.add_argument("--copy", action="store_true", help="copy the folder under FRBIO_HOME/models instead of "
                   "registering it in place")
    p.add_argument("--license", help="licence identifier (default: from README.md front matter)")
    _as_flags(p, "import as this account (an admin; the folder must lie under --import-roots)")
    p.set_defaults(func=cmd_models_import)
    p = models.add_parser("info", help="one model with its facts and lineage")
    p.add_argument("id")
    p.set_defaults(func=cmd_models_info)
    p = models.add_parser("tiny", help="build and register a tiny random Llama model (for tests and demos)")
    p.add_argument("--name", default="tiny-llama")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--byte-tokenizer", action="store_true", help="a 259-token byte tokenizer instead of SmolLM2's")
    _as_flags(p, "build it as this account (its owner)")
    p.set_defaults(func=cmd_models_tiny)
    p = models.add_parser("publish", help="publish a model (or a corpus snapshot) to the Hub (token: $HF_TOKEN)")
    p.add_argument("id", help="model id, or snapshot id (snap-…)")
    p.add_argument("repo_id", help="owner/name on the Hub")
    p.add_argument("--public", action="store_true", help="create a public repository (default: private)")
    p.add_argument("--snapshot", action="store_true", help="ID is a corpus snapshot")
    p.add_argument("--as", dest="actor", metavar="USER", help="publish as this account (its own models and "
                   "snapshots only, unless an admin); default: the server's operator")
    p.set_defaults(func=cmd_models_publish)
    for sub in (corpus, models):
        for choice in sub.choices.values():
            choice.add_argument("--json", action="store_true", help="print JSON")

    # every declared action (backend.actions): its command generated from its declaration
    groups = {"corpus": corpus, "models": models}
    parsers = add_action_commands(top, groups)
    from backend.merge.cli import add_merge_tools
    add_merge_tools(groups["merge"])
    from backend.study.cli import add_reproduce_subcommands
    add_reproduce_subcommands(parsers["reproduce"])

    from jobs.cli import add_jobs_commands
    add_jobs_commands(top)
    from backend.evaluation.cli import add_benchmark_commands
    add_benchmark_commands(top)
    from backend.generation.cli import add_generate_command
    add_generate_command(top)
    from backend.admin_cli import add_users_command
    add_users_command(top)
    from backend.presets_cli import add_presets_command
    add_presets_command(top)
    return parser


def main(argv: list[str] | None = None) -> int:
    from backend.studio import Studio
    from frbio_core.settings import load_settings

    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(**values_from_args(args, Settings))
        if (args.group, getattr(args, "cmd", None)) in EXISTING_HOME and not settings.db_path.exists():
            raise UserError(f"no FrBio Studio registry in {settings.home_path} (no {settings.db_path.name}): check "
                            "--home (or FRBIO_HOME)")
        studio = Studio(settings)
        args.func(studio, args)
    except sqlite3.DatabaseError as exc:   # a corrupt registry, a full disk: one line, nothing half-written
        print(f"error: the registry {settings.db_path} cannot be used ({exc}): free some disk space, or restore it "
              "from a backup (python -m backend backup) and move the damaged file aside", file=sys.stderr)
        return 2
    except (UserError, RuntimeError, OSError, ValueError) as exc:
        if getattr(args, "json", False):
            print(json.dumps({"error": str(exc)}, ensure_ascii=False))
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
