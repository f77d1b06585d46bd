"""`python -m backend generate --models A,B --prompt TEXT [--preset fair] [--FIELD VALUE ...] [--json]`: one prompt
to several models, side by side (the flags come from GenerateConfig); `python -m backend arena winrates|ratings|export
[--json]`: the blind A/B win rates per model pair, the ratings with their intervals, every vote as CSV and JSONL."""
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
