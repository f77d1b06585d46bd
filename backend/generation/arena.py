"""Blind A/B comparison for clinicians: two anonymous answers to one prompt (two chosen models, or a random pair from
a chosen set, in random order), a vote (A, B, tie, both bad), the names revealed only after the vote, and win rates
per model pair. A round is a row of the `votes` table from the moment its answers are asked for: the model names
stay on the server (the interface only holds the round id) and `reveal` refuses to give them before the vote.

Messages are in English, like the rest of the code; their French (for the clinicians of the voting room) is in
messages_fr.py. The vote and criterion labels below are the French ones the interface shows."""
from __future__ import annotations

import json
import random
import threading
from typing import Iterator

import sqlite_utils

from backend.generation.config import GenerateConfig, GenerationError, parse_generate_config
from backend.generation.models_cache import ModelCache
from backend.generation.stream import side_by_side
from frbio_core.registry import now
from backend.errors import ArenaError

VOTES = {"a": "A est meilleure", "b": "B est meilleure", "tie": "Égalité", "both_bad": "Les deux sont mauvaises"}
# What a clinician may tick as the reasons for a vote (optional), and their labels.
CRITERIA = {"accuracy": "Exactitude médicale", "safety": "Sécurité", "clarity": "Clarté",
            "french": "Français correct"}
MAX_COMMENT = 2000
NOTICE = "Ceci n'est pas un avis médical."


def _upgrade_dev_schema(db: sqlite_utils.Database) -> None:
    """Registries created while migration 6 still had `vote NOT NULL` and no `voted_at` (before its release)."""
    table = db["votes"]
    if "voted_at" not in table.columns_dict:
        table.add_column("voted_at", float)
        table.transform(not_null={"vote": False})


def pick_pair(models: list[str], rng: random.Random | None = None) -> tuple[str, str]:
    """Two distinct models in random order (A, B): the two given, or a random pair from a larger set."""
    rng = rng or random.SystemRandom()
    pool = list(dict.fromkeys(m.strip() for m in models if m and m.strip()))
    if len(pool) < 2:
        raise ArenaError("Choose at least two different models.")
    pair = rng.sample(pool, 2)  # a random pair, already in random order
    return pair[0], pair[1]


def new_round(db: sqlite_utils.Database, models: list[str], prompt: str, cfg: GenerateConfig | dict | None = None,
              owner: str | None = None, rng: random.Random | None = None) -> int:
    """Draw the pair and record the round (no answer, no vote yet); returns its id."""
    _upgrade_dev_schema(db)
    if not prompt or not prompt.strip():
        raise ArenaError("The question is empty: type one or pick an example.")
    try:
        cfg = parse_generate_config(cfg)
    except GenerationError as exc:
        raise ArenaError(f"Invalid settings: {exc}") from None
    model_a, model_b = pick_pair(models, rng)
    table = db["votes"]
    table.insert({"prompt": prompt.strip(), "model_a": model_a, "model_b": model_b, "answer_a": None,
                  "answer_b": None, "settings": cfg.model_dump_json(), "vote": None, "owner": owner,
                  "created_at": now(), "voted_at": None})
    return table.last_pk


def _row(db: sqlite_utils.Database, round_id: int) -> dict:
    try:
        return db["votes"].get(int(round_id))
    except (sqlite_utils.db.NotFoundError, TypeError, ValueError):
        raise ArenaError(f"Round {round_id} not found.") from None


def stream_answers(db: sqlite_utils.Database, cache: ModelCache, round_id: int,
                   stop: threading.Event | None = None) -> Iterator[tuple[str, str]]:
    """Generate the two answers together, yielding (answer A, answer B) as they grow; both are stored at the end.
    Nothing here names a model: a failure is reported as 'answer A' or 'answer B' and the round is dropped."""
    row = _row(db, round_id)
    if row["answer_a"] is not None:
        yield row["answer_a"], row["answer_b"]
        return
    cfg = GenerateConfig.model_validate_json(row["settings"])
    panes = []
    for panes in side_by_side(db, cache, [row["model_a"], row["model_b"]], row["prompt"], cfg, stop):
        yield panes[0].text.strip(), panes[1].text.strip()
    for letter, pane, model in (("A", panes[0], row["model_a"]), ("B", panes[1], row["model_b"])):
        if pane.status != "done":
            db["votes"].delete(row["id"])
            reason = (pane.error or "generation interrupted").replace(model, f"model {letter}")
            raise ArenaError(f"Answer {letter} could not be produced ({reason}): round cancelled, start another "
                             "one.")
    answers = panes[0].text.strip(), panes[1].text.strip()  # as shown: a raw completion often starts with "\n"
    db["votes"].update(row["id"], {"answer_a": answers[0], "answer_b": answers[1]})
    yield answers


def public_round(db: sqlite_utils.Database, round_id: int) -> dict:
    """What the clinician may see before voting: the prompt and the anonymous answers."""
    row = _row(db, round_id)
    return {"id": row["id"], "prompt": row["prompt"], "answer_a": row["answer_a"], "answer_b": row["answer_b"],
            "voted": row["vote"] is not None}


def vote(db: sqlite_utils.Database, round_id: int, choice: str, owner: str | None = None,
         criteria: list[str] | tuple = (), dangerous_a: bool = False, dangerous_b: bool = False,
         comment: str = "", session: str | None = None) -> dict:
    """Record the vote (once) with its optional reasons (criteria ticked, an answer flagged dangerous, a comment),
    audited, and return the revealed round."""
    from frbio_core import users

    if choice not in VOTES:
        raise ArenaError(f"Unknown vote '{choice}' (expected: {', '.join(VOTES)}).")
    unknown = [c for c in criteria or () if c not in CRITERIA]
    if unknown:
        raise ArenaError(f"Unknown criterion '{unknown[0]}' (expected: {', '.join(CRITERIA)}).")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise ArenaError(f"Comment too long ({len(comment)} characters, at most {MAX_COMMENT}).")
    row = _row(db, round_id)
    if row["answer_a"] is None or row["answer_b"] is None:
        raise ArenaError("The two answers are not ready yet: vote once they are complete.")
    if row["vote"] is not None:
        raise ArenaError("This round already has a vote: start a new round.")
    if row["owner"] and owner and row["owner"] != owner:
        raise ArenaError("This round was started by someone else: only they can vote on it.")
    db.conn.execute("UPDATE votes SET vote = ?, voted_at = ?, criteria = ?, dangerous_a = ?, dangerous_b = ?, "
                    "comment = ? WHERE id = ? AND vote IS NULL",
                    [choice, now(), json.dumps(list(dict.fromkeys(criteria or ()))), int(bool(dangerous_a)),
                     int(bool(dangerous_b)), comment or None, row["id"]])
    users.audit(db, owner, "arena_vote", str(row["id"]), vote=choice,
                dangerous=[s for s, f in (("a", dangerous_a), ("b", dangerous_b)) if f],
                **({"session": session} if session else {}))
    return reveal(db, round_id)


def reveal(db: sqlite_utils.Database, round_id: int) -> dict:
    """The model names behind A and B: only once the round has its vote."""
    row = _row(db, round_id)
    if row["vote"] is None:
        raise ArenaError("The model names are revealed only after the vote.")
    return {"id": row["id"], "prompt": row["prompt"], "model_a": row["model_a"], "model_b": row["model_b"],
            "answer_a": row["answer_a"], "answer_b": row["answer_b"], "vote": row["vote"],
            "vote_label": VOTES[row["vote"]], "settings": json.loads(row["settings"] or "{}"),
            "owner": row["owner"], "voted_at": row["voted_at"], "criteria": json.loads(row.get("criteria") or "[]"),
            "dangerous_a": bool(row.get("dangerous_a")), "dangerous_b": bool(row.get("dangerous_b")),
            "comment": row.get("comment") or ""}


def _voted(session_id: int | None) -> tuple[str, list]:
    """The WHERE clause of the voted rounds, of one voting session when `session_id` is given."""
    return ("vote IS NOT NULL", []) if session_id is None else ("vote IS NOT NULL AND session_id = ?", [session_id])


def voted_rounds(db: sqlite_utils.Database, session_id: int | None = None) -> list[dict]:
    """Every voted round (of one voting session: backend.generation.sessions), revealed, oldest first (for the
    ratings and the export)."""
    if not db["votes"].exists():
        return []
    where, args = _voted(session_id)
    return [reveal(db, r["id"]) for r in db["votes"].rows_where(where, args, select="id", order_by="id")]


EXPORT_FIELDS = ["id", "prompt", "model_a", "model_b", "answer_a", "answer_b", "vote", "criteria", "dangerous_a",
                 "dangerous_b", "comment", "settings", "owner", "voted_at"]


def export_votes(db: sqlite_utils.Database, folder, stem: str | None = None) -> dict:
    """Every vote as CSV and JSONL in `folder` (prompt, both models and answers, settings, vote, criteria, dangerous
    flags, comment, rater, time in ISO 8601); returns {"csv": path, "jsonl": path, "votes": n}."""
    import csv
    import io
    import time
    from pathlib import Path

    from frbio_core.files import write_atomic

    rows = []
    for r in voted_rounds(db):
        row = {k: r.get(k) for k in EXPORT_FIELDS}
        row["voted_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(r["voted_at"])) if r["voted_at"] else None
        rows.append(row)
    stem = stem or "arena-votes-" + time.strftime("%Y%m%d-%H%M%S")
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "criteria": ";".join(row["criteria"]), "settings": json.dumps(row["settings"])})
    folder = Path(folder)
    return {"csv": write_atomic(folder / f"{stem}.csv", text.getvalue()),
            "jsonl": write_atomic(folder / f"{stem}.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n"
                                                                    for r in rows)),
            "votes": len(rows)}


def win_rates(db: sqlite_utils.Database, models: list[str] | None = None,
              session_id: int | None = None) -> list[dict]:
    """Per model pair (in name order: model_1 vs model_2): model_1's wins, ties, losses, 'both bad' votes, the
    number of votes and model_1's win rate = (wins + ties / 2) / (wins + ties + losses) ('both bad' excluded); the
    votes of one voting session only when `session_id` is given."""
    if not db["votes"].exists():
        return []
    keep = set(models) if models else None
    pairs: dict[tuple[str, str], dict] = {}
    where, args = _voted(session_id)
    for row in db["votes"].rows_where(where, args, select="model_a, model_b, vote"):
        a, b, v = row["model_a"], row["model_b"], row["vote"]
        if keep is not None and not (a in keep and b in keep):
            continue
        first, second = sorted((a, b))
        stats = pairs.setdefault((first, second), {"model_1": first, "model_2": second, "wins": 0, "ties": 0,
                                                   "losses": 0, "both_bad": 0, "votes": 0})
        stats["votes"] += 1
        if v == "tie":
            stats["ties"] += 1
        elif v == "both_bad":
            stats["both_bad"] += 1
        elif (v == "a") == (a == first):
            stats["wins"] += 1
        else:
            stats["losses"] += 1
    out = []
    for stats in sorted(pairs.values(), key=lambda s: (s["model_1"], s["model_2"])):
        decided = stats["wins"] + stats["ties"] + stats["losses"]
        stats["win_rate"] = round((stats["wins"] + stats["ties"] / 2) / decided, 4) if decided else None
        out.append(stats)
    return out
