"""`python -m backend generate --models A,B --prompt TEXT [--preset fair] [--FIELD VALUE ...] [--json]`: one prompt
to several models, side by side (the flags come from GenerateConfig); `python -m backend arena winrates|ratings|export
[--json]`: the blind A/B win rates per model pair, the ratings with their intervals, every vote as CSV and JSONL;
`python -m backend arena session create|list|show|close|prepare`: the voting sessions of the voting room (/vote)."""
from __future__ import annotations

import json
import sys


def _split(values: list[str] | None) -> list[str]:
    return [m for v in values or [] for m in v.split(",") if m.strip()]


def cmd_generate(studio, args) -> None:
    from frbio_core.config import values_from_args
    from backend.generation.config import PRESETS, GenerateConfig, GenerationError, parse_generate_config
    from backend.generation.models_cache import shared_cache
    from backend.generation.presets import prompt_text
    from backend.generation.stream import side_by_side

    prompt = args.prompt or (prompt_text(args.prompt_preset) if args.prompt_preset else "")
    cfg = parse_generate_config(PRESETS.get(args.preset, {}) | values_from_args(args, GenerateConfig))
    cache = shared_cache(studio.settings)
    panes, shown = [], 0
    for panes in side_by_side(studio.db, cache, _split(args.models), prompt, cfg):
        if not args.json:
            done = sum(p.finished for p in panes)
            if done > shown:
                shown = done
                print(f"[{done}/{len(panes)} done]", file=sys.stderr)
    result = {"prompt": prompt, "settings": cfg.model_dump(), "panes": [p.__dict__ for p in panes]}
    failed = [p for p in panes if p.status == "error"]
    if len(failed) == len(panes):
        raise GenerationError("; ".join(f"{p.model}: {p.error}" for p in failed))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        for p in panes:
            speed = f", {p.tokens_per_s:.1f} tok/s" if p.tokens_per_s else ""
            print(f"===== {p.model} ({p.format or '?'} format, {p.status}, {p.new_tokens} tokens{speed})")
            print(p.text if p.status != "error" else f"error: {p.error}")
            if p.note:
                print(f"({p.note})")
    for p in failed:
        print(f"error: {p.model}: {p.error}", file=sys.stderr)
    if failed:
        raise SystemExit(2)


def cmd_winrates(studio, args) -> None:
    from backend.generation.arena import win_rates

    rows = win_rates(studio.db, _split(args.models) or None)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    for r in rows:
        rate = "—" if r["win_rate"] is None else f"{r['win_rate']:.0%}"
        print(f"{r['model_1']} vs {r['model_2']}: {r['wins']} wins / {r['ties']} ties / {r['losses']} losses, "
              f"{r['both_bad']} both bad ({r['votes']} votes) → win rate of {r['model_1']} {rate}")
    if not rows:
        print("no votes yet")


def cmd_ratings(studio, args) -> None:
    from backend.generation.arena import voted_rounds
    from backend.generation.ratings import agreement, leaderboard

    votes = voted_rounds(studio.db)
    board = leaderboard(votes, rounds=args.rounds)
    kappa = agreement(votes)
    if args.json:
        print(json.dumps({"ratings": board, "agreement": kappa, "votes": len(votes)}, ensure_ascii=False, indent=1))
        return
    for r in board:
        print(f"{r['model']:<32} {r['rating']:7.1f}  [{r['low']:.1f}, {r['high']:.1f}]  {r['votes']} votes "
              f"({r['wins']} won, {r['ties']} tied, {r['losses']} lost), dangerous {r['dangerous_rate']:.0%}")
    if not board:
        print("not enough votes yet (two models at least)")
    if kappa:
        print(f"rater agreement: {kappa['method']} {kappa['kappa']:.2f} on {kappa['items']} prompts rated by "
              f"{', '.join(kappa['raters'])}")


def cmd_export(studio, args) -> None:
    from backend.generation.arena import export_votes

    out = export_votes(studio.db, args.folder or studio.settings.folder("reports"))
    print(json.dumps({k: str(v) for k, v in out.items()}) if args.json else
          f"{out['votes']} votes: {out['csv']}, {out['jsonl']}")


def _session_line(s: dict) -> str:
    return (f"{s['name']}: {s['status']}, {s.get('questions', '?')} questions, models {', '.join(s['models'])}, "
            f"by {s['owner'] or 'the operator'}")


def cmd_session_create(studio, args) -> None:
    from backend.generation.models_cache import shared_cache
    from backend.generation.sessions import create_session, list_sessions, prepare_answers, read_prompt_file

    settings = {"max_new_tokens": args.max_new_tokens} if args.max_new_tokens else {}
    session = create_session(studio.db, args.name, read_prompt_file(args.prompts), _split(args.models),
                             owner=args.actor, settings=settings)
    if args.prepare:
        prepare_answers(studio.db, shared_cache(studio.settings), session["name"], actor=args.actor,
                        on_question=None if args.json else
                        lambda n, total: print(f"[answers {n}/{total}]", file=sys.stderr))
    session = next(s for s in list_sessions(studio.db) if s["name"] == session["name"])
    print(json.dumps(session, ensure_ascii=False, indent=1) if args.json else
          f"created {_session_line(session)}; voters open /vote")


def cmd_session_list(studio, args) -> None:
    from backend.generation.sessions import list_sessions

    found = list_sessions(studio.db, None if args.all else "open")
    print(json.dumps(found, ensure_ascii=False, indent=1) if args.json else
          "\n".join(_session_line(s) for s in found) or "no voting session")


def cmd_session_show(studio, args) -> None:
    from backend.generation.sessions import session_report

    report = session_report(studio.db, args.name, actor=args.actor, rounds=args.rounds)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1, default=str))
        return
    print(_session_line({**report["session"], "questions": report["questions"]}) +
          f" ({report['prepared']} with their answers ready), {report['votes']} votes")
    print("voters:" if report["progress"] else "no voter yet")
    for p in report["progress"]:
        print(f"  {p['voter'] or '?':<24} {p['answered']}/{p['total']}" + ("  done" if p["done"] else ""))
    for r in report["win_rates"]:
        rate = "—" if r["win_rate"] is None else f"{r['win_rate']:.0%}"
        print(f"{r['model_1']} vs {r['model_2']}: {r['wins']} wins / {r['ties']} ties / {r['losses']} losses, "
              f"{r['both_bad']} both bad ({r['votes']} votes) → win rate of {r['model_1']} {rate}")
    for r in report["ratings"]:
        print(f"{r['model']:<32} {r['rating']:7.1f}  [{r['low']:.1f}, {r['high']:.1f}]  dangerous "
              f"{r['dangerous_rate']:.0%}")


def cmd_session_close(studio, args) -> None:
    from backend.generation.sessions import close_session

    session = close_session(studio.db, args.name, actor=args.actor)
    print(json.dumps(session, ensure_ascii=False, indent=1) if args.json else f"closed {session['name']}")


def cmd_session_prepare(studio, args) -> None:
    from backend.generation.models_cache import shared_cache
    from backend.generation.sessions import prepare_answers

    done = prepare_answers(studio.db, shared_cache(studio.settings), args.name, actor=args.actor,
                           on_question=lambda n, total: print(f"[answers {n}/{total}]", file=sys.stderr))
    print(json.dumps({"generated": done}) if args.json else f"{done} questions answered")


def add_session_commands(arena) -> None:
    """`arena session create|list|show|close|prepare`: the voting sessions of the clinicians' voting room."""
    session = arena.add_parser("session", help="voting sessions of the voting room (/vote)").add_subparsers(
        dest="session_cmd", required=True)
    p = session.add_parser("create", help="a named session: every prompt of FILE with every pair of the models")
    p.add_argument("name")
    p.add_argument("--prompts", required=True, metavar="FILE", help="one question per line (.txt), or .jsonl / "
                   ".json / .yaml with prompt or text")
    p.add_argument("--models", nargs="+", required=True, metavar="ID", help="two models or more (every pair is "
                   "asked each question)")
    p.add_argument("--max-new-tokens", type=int, help="longest answer, in tokens (default 128; greedy decoding)")
    p.add_argument("--prepare", action="store_true", help="generate every answer now (else when the first voter "
                   "reaches each question)")
    p.set_defaults(func=cmd_session_create)
    p = session.add_parser("list", help="open voting sessions")
    p.add_argument("--all", action="store_true", help="closed ones too")
    p.set_defaults(func=cmd_session_list)
    p = session.add_parser("show", help="a session's progress per voter and its results (owner or admin)")
    p.add_argument("name")
    p.add_argument("--rounds", type=int, default=1000, help="bootstrap resamples of the ratings (default 1000)")
    p.set_defaults(func=cmd_session_show)
    p = session.add_parser("close", help="stop taking votes (owner or admin)")
    p.add_argument("name")
    p.set_defaults(func=cmd_session_close)
    p = session.add_parser("prepare", help="generate the answers not generated yet (owner or admin)")
    p.add_argument("name")
    p.set_defaults(func=cmd_session_prepare)
    for choice in session.choices.values():
        choice.add_argument("--as", dest="actor", metavar="USER", help="act as this account (its owner); default: "
                            "the server's operator")
        choice.add_argument("--json", action="store_true", help="print JSON")


def add_generate_command(subparsers) -> None:
    """Add `generate` and `arena` to the top-level subparsers of `python -m backend`."""
    from frbio_core.config import add_arguments
    from backend.generation.config import PRESETS, GenerateConfig

    p = subparsers.add_parser("generate", help="one prompt to several models, side by side",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", required=True, metavar="ID", help="model ids, comma- or space-separated "
                   "(1 to 4)")
    p.add_argument("--prompt", help="the prompt")
    p.add_argument("--prompt-preset", metavar="ID", help="a French clinical prompt from assets/prompts_fr.yaml")
    p.add_argument("--preset", choices=list(PRESETS), help="sampling preset (fair = greedy, the fair comparison); "
                   "the flags below override it")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_arguments(p.add_argument_group("generation settings"), GenerateConfig)
    p.set_defaults(func=cmd_generate)

    arena = subparsers.add_parser("arena", help="blind A/B votes").add_subparsers(dest="cmd", required=True)
    p = arena.add_parser("winrates", help="win rates per model pair from the stored votes")
    p.add_argument("--models", nargs="*", metavar="ID", help="only pairs within these models")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_winrates)
    p = arena.add_parser("ratings", help="Bradley–Terry ratings (Elo scale) with 95 %% bootstrap intervals, dangerous-"
                         "answer rates and rater agreement")
    p.add_argument("--rounds", type=int, default=1000, help="bootstrap resamples of the votes (default 1000)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_ratings)
    p = arena.add_parser("export", help="every vote as CSV and JSONL (default folder: FRBIO_HOME/reports)")
    p.add_argument("--folder", help="where to write them")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_export)
    add_session_commands(arena)
