"""Voting sessions: the clinicians' voting room (the `/vote` page, `python -m backend arena session …`).

An organiser prepares a session: a name, a list of prompts and the models to compare. Every prompt is asked of every
pair of those models, prompt by prompt, in the order of the list: a question is a prompt and a pair. Its two answers
are generated once (up front with `prepare_answers`, else when the first voter reaches it) with the session's
settings (the fair comparison, greedy decoding, by default), and every voter judges the same answers. A voter takes
the questions one at a time, in order. Each is a round of backend.generation.arena for that voter: a row of `votes`
with the session and the question, in its own random A/B order, so the names stay hidden until the vote, the vote
keeps its criteria, flags and comment, and the ratings and win rates read it like any other vote. A voter's progress
is the number of their voted rows in the session: it follows the account, from any browser or tablet.

Who may do what (frbio_core.users, refusals audited): anyone logged in creates a session (and owns it) and votes in
an open one; only its owner or an admin prepares its answers, sees its progress and results, or closes it.
Messages are in English, as the arena's; their French is in messages_fr.py."""
from __future__ import annotations

import itertools
import json
import random
import sqlite3
import threading
from pathlib import Path

import sqlite_utils

from backend.errors import ArenaError
from backend.generation import arena
from backend.generation.config import PRESETS, GenerateConfig, GenerationError, parse_generate_config
from backend.generation.models_cache import ModelCache
from frbio_core import users
from frbio_core.registry import now, rows

MAX_NAME = 80
MAX_PROMPTS = 500
MAX_PROMPT_CHARS = 4000
MAX_QUESTIONS = 2000


# ------------------------------------------------------------------------------------------------------ prompts

def parse_prompts(text: str, suffix: str = ".txt") -> list[str]:
    """The prompts of a file's text. `.txt`: one per line (blank lines and lines starting with '#' skipped);
    `.jsonl`: one JSON object per line with `prompt` or `text` (or a JSON string); `.json`, `.yaml`, `.yml`: a list of
    strings or of such objects (the format of assets/prompts_fr.yaml)."""
    import yaml

    if suffix == ".jsonl":
        items = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    items.append(json.loads(line))
                except ValueError:
                    raise ArenaError(f"Question file: line {number} is not valid JSON.") from None
    elif suffix in (".json", ".yaml", ".yml"):
        try:
            items = yaml.safe_load(text) or []
        except yaml.YAMLError as exc:
            raise ArenaError(f"Unreadable question file ({str(exc).splitlines()[0]}).") from None
        if not isinstance(items, list):
            raise ArenaError("Question file: a list of questions is expected.")
    else:
        items = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    prompts = []
    for number, item in enumerate(items, 1):
        value = (item.get("prompt") or item.get("text")) if isinstance(item, dict) else item
        if value is not None and not isinstance(value, str):
            raise ArenaError(f"Question file: entry {number} is not a text.")
        if value and value.strip():
            prompts.append(value.strip())
    return prompts


def read_prompt_file(path: str | Path) -> list[str]:
    """The prompts of a file (see parse_prompts for its formats)."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise ArenaError(f"Question file not found: {path}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ArenaError(f"Unreadable question file: {path.name} ({exc.__class__.__name__}).") from None
    return parse_prompts(text, "".join(path.suffixes[-1:]).lower())


# ----------------------------------------------------------------------------------------------------- sessions

def _public(row: dict) -> dict:
    return {**row, "models": json.loads(row["models"]), "settings": json.loads(row["settings"])}


def find_session(db: sqlite_utils.Database, name: str | None) -> dict | None:
    found = rows(db, "SELECT * FROM arena_sessions WHERE name = ?", [(name or "").strip()])
    return _public(found[0]) if found else None


def get_session(db: sqlite_utils.Database, name: str | None) -> dict:
    session = find_session(db, name)
    if session is None:
        if not (name or "").strip():
            raise ArenaError("Choose a voting session.")
        raise ArenaError(f"Voting session '{name}' not found.")
    return session


def _count(db, sql: str, args: list) -> int:
    return int(db.execute(sql, args).fetchone()[0] or 0)


def _check_models(db, models: list[str]) -> list[str]:
    from backend.models.registry import find_model

    models = list(dict.fromkeys(m.strip() for m in models or [] if m and m.strip()))
    for model in models:
        row = find_model(db, model)
        if row is None:
            known = ", ".join(r[0] for r in db.execute("SELECT id FROM models WHERE status = 'ok' ORDER BY id"))
            raise ArenaError(f"Unknown model: '{model}' (registered models: {known or 'none'}).")
        if row["status"] != "ok":
            raise ArenaError(f"Model '{model}' cannot be used: {row.get('error') or 'unreadable folder'}.")
    if len(models) < 2:
        raise ArenaError("Choose at least two different models.")
    return models


def create_session(db: sqlite_utils.Database, name: str, prompts: list[str], models: list[str],
                   owner: str | None = None, settings: dict | GenerateConfig | None = None) -> dict:
    """A new open session owned by `owner`: every prompt with every pair of `models` (the fair preset unless
    `settings` say otherwise); audited. One clear ArenaError for a bad name, no prompt, an unknown model."""
    users.require(db, owner, "user", "create a voting session", name)
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_NAME:
        raise ArenaError(f"Give the session a name (1 to {MAX_NAME} characters).")
    prompts = [p.strip() for p in prompts or [] if p and p.strip()]
    if not prompts:
        raise ArenaError("No question: the question file (or list) is empty.")
    if len(prompts) > MAX_PROMPTS or any(len(p) > MAX_PROMPT_CHARS for p in prompts):
        raise ArenaError(f"Too many questions or a question too long (at most {MAX_PROMPTS} questions of "
                         f"{MAX_PROMPT_CHARS} characters).")
    models = _check_models(db, models)
    pairs = list(itertools.combinations(models, 2))
    if len(prompts) * len(pairs) > MAX_QUESTIONS:
        raise ArenaError(f"{len(prompts) * len(pairs)} questions: at most {MAX_QUESTIONS} (fewer models or "
                         "questions).")
    if isinstance(settings, GenerateConfig):
        settings = settings.model_dump()
    try:
        cfg = parse_generate_config({**PRESETS["fair"], **(settings or {})})
    except GenerationError as exc:
        raise ArenaError(f"Invalid settings: {exc}") from None
    existing = find_session(db, name)
    if existing is not None:
        raise ArenaError(f"A voting session '{name}' already exists (created by "
                         f"{existing['owner'] or 'the operator'}).")
    # one transaction on a connection of its own (the app's registry connection is shared by its threads)
    conn = sqlite3.connect(db.execute("PRAGMA database_list").fetchone()[2], timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        cursor = conn.execute("INSERT INTO arena_sessions (name, owner, models, settings, status, created_at) "
                              "VALUES (?, ?, ?, ?, 'open', ?)", [name, owner, json.dumps(models),
                                                                   cfg.model_dump_json(), now()])
        conn.executemany("INSERT INTO arena_questions (session_id, position, prompt, model_1, model_2) "
                         "VALUES (?, ?, ?, ?, ?)",
                         [(cursor.lastrowid, position, prompt, m1, m2) for position, (prompt, (m1, m2))
                          in enumerate(itertools.product(prompts, pairs), 1)])
        conn.execute("COMMIT")
    except sqlite3.IntegrityError:
        raise ArenaError(f"A voting session '{name}' already exists.") from None
    finally:
        conn.close()   # an unfinished transaction is rolled back
    users.audit(db, owner, "arena_session_create", name, models=models, prompts=len(prompts),
                questions=len(prompts) * len(pairs))
    return get_session(db, name)


def list_sessions(db: sqlite_utils.Database, status: str | None = None, actor: str | None = None,
                  managed: bool = False) -> list[dict]:
    """Sessions, newest first, with their number of questions: those of a status ('open', 'closed'), and with
    `managed` only those `actor` may manage (their own; every one for an admin)."""
    where, args = ("WHERE status = ?", [status]) if status else ("", [])
    found = rows(db, "SELECT s.*, (SELECT COUNT(*) FROM arena_questions q WHERE q.session_id = s.id) AS questions "
                     f"FROM arena_sessions s {where} ORDER BY s.id DESC", args)
    return [_public(r) for r in found if not managed or users.allowed(db, actor, "owner", r["owner"])]


def _require_owner(db, actor: str | None, session: dict, action: str) -> None:
    users.require(db, actor, "owner", action, f"voting session {session['name']}", session["owner"],
                  target=session["name"])


def close_session(db: sqlite_utils.Database, name: str, actor: str | None = None) -> dict:
    """No more votes (its owner or an admin; audited); its results stay."""
    session = get_session(db, name)
    _require_owner(db, actor, session, "close")
    if session["status"] != "closed":
        db.execute("UPDATE arena_sessions SET status = 'closed', closed_at = ? WHERE id = ?", [now(), session["id"]])
        users.audit(db, actor, "arena_session_close", session["name"])
    return get_session(db, name)


# ------------------------------------------------------------------------------------------------------ answers

_LOCKS: dict[tuple[int, int], threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _question(db, session_id: int, position: int) -> dict:
    found = rows(db, "SELECT * FROM arena_questions WHERE session_id = ? AND position = ?", [session_id, position])
    if not found:
        raise ArenaError(f"Question {position} not found in this session.")
    return found[0]


def question_answers(db: sqlite_utils.Database, cache: ModelCache, session: dict, position: int) -> tuple[str, str]:
    """The question's two answers (model_1's, model_2's), generated once for every voter (one at a time per
    question in this process; a concurrent writer elsewhere loses to the first). A failure names no model."""
    from backend.generation.stream import generate_all

    question = _question(db, session["id"], position)
    if question["answer_1"] is None:
        with _LOCKS_GUARD:
            lock = _LOCKS.setdefault((session["id"], position), threading.Lock())
        with lock:
            question = _question(db, session["id"], position)
            if question["answer_1"] is None:
                models = [question["model_1"], question["model_2"]]
                panes = generate_all(db, cache, models, question["prompt"], GenerateConfig(**session["settings"]))
                failed = [p for p in panes if p.status != "done"]
                if failed:
                    reason = failed[0].error or "generation interrupted"
                    for model in models:
                        reason = reason.replace(model, "a model")
                    raise ArenaError(f"The answers to question {position} could not be produced ({reason}): tell "
                                     "the session's organiser.")
                db.execute("UPDATE arena_questions SET answer_1 = ?, answer_2 = ? WHERE session_id = ? AND "
                           "position = ? AND answer_1 IS NULL", [panes[0].text.strip(), panes[1].text.strip(),
                                                                 session["id"], position])
                question = _question(db, session["id"], position)
    return question["answer_1"], question["answer_2"]


def prepare_answers(db: sqlite_utils.Database, cache: ModelCache, name: str, actor: str | None = None,
                    on_question=None) -> int:
    """Generate every answer not yet generated (its owner or an admin), calling on_question(position, total) before
    each; returns how many questions were generated."""
    session = get_session(db, name)
    _require_owner(db, actor, session, "prepare the answers of")
    pending = [r["position"] for r in rows(db, "SELECT position FROM arena_questions WHERE session_id = ? AND "
                                               "answer_1 IS NULL ORDER BY position", [session["id"]])]
    for done, position in enumerate(pending, 1):
        if on_question:
            on_question(done, len(pending))
        question_answers(db, cache, session, position)
    if pending:
        users.audit(db, actor, "arena_session_prepare", session["name"], questions=len(pending))
    return len(pending)


# ------------------------------------------------------------------------------------------------------- voters

def _progress(db, session: dict, voter: str | None) -> dict:
    total = _count(db, "SELECT COUNT(*) FROM arena_questions WHERE session_id = ?", [session["id"]])
    answered = _count(db, "SELECT COUNT(*) FROM votes WHERE session_id = ? AND owner IS ? AND vote IS NOT NULL",
                      [session["id"], voter])
    return {"session": session["name"], "status": session["status"], "total": total, "answered": answered,
            "done": answered >= total}


def _open_for_votes(db, name: str, voter: str | None) -> dict:
    users.require(db, voter, "user", "vote in a voting session", name)
    session = get_session(db, name)
    if session["status"] != "open":
        raise ArenaError(f"Session '{session['name']}' is closed: it takes no more votes.")
    return session


def next_question(db: sqlite_utils.Database, cache: ModelCache, name: str, voter: str | None,
                  rng: random.Random | None = None) -> dict:
    """The voter's progress and, unless `done`, their next question as they may see it (round id, position, prompt,
    the anonymous answers A and B): a round opened and not voted yet (a reloaded page) comes back as it was."""
    session = _open_for_votes(db, name, voter)
    state = _progress(db, session, voter)
    mine = rows(db, "SELECT id, question, vote FROM votes WHERE session_id = ? AND owner IS ? ORDER BY question",
                [session["id"], voter])
    pending = [r["question"] for r in mine if r["vote"] is None]
    voted = {r["question"] for r in mine if r["vote"] is not None}
    position = pending[0] if pending else next((p for p in range(1, state["total"] + 1) if p not in voted), None)
    if position is None:
        return {**state, "done": True}
    answers = question_answers(db, cache, session, position)
    if not pending:
        question = _question(db, session["id"], position)
        flip = (rng or random.SystemRandom()).random() < 0.5
        model_a, model_b = (question["model_2"], question["model_1"]) if flip else (question["model_1"],
                                                                                   question["model_2"])
        answer_a, answer_b = answers[::-1] if flip else answers
        db.execute("INSERT OR IGNORE INTO votes (prompt, model_a, model_b, answer_a, answer_b, settings, vote, owner, "
                   "created_at, voted_at, session_id, question) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, NULL, ?, ?)",
                   [question["prompt"], model_a, model_b, answer_a, answer_b, json.dumps(session["settings"]),
                    voter, now(), session["id"], position])
    row = rows(db, "SELECT id FROM votes WHERE session_id = ? AND owner IS ? AND question = ?",
               [session["id"], voter, position])[0]
    return {**state, "done": False, "position": position, **arena.public_round(db, row["id"])}


def session_vote(db: sqlite_utils.Database, name: str, round_id: int, choice: str, voter: str | None,
                 criteria: list[str] | tuple = (), dangerous_a: bool = False, dangerous_b: bool = False,
                 comment: str = "") -> dict:
    """The voter's vote on their round of the session (arena.vote: once, with its reasons, audited), the round
    revealed, and their progress."""
    session = _open_for_votes(db, name, voter)
    found = rows(db, "SELECT session_id, question FROM votes WHERE id = ?", [round_id]) if round_id else []
    if not found or found[0]["session_id"] != session["id"]:
        raise ArenaError(f"This question does not belong to session '{session['name']}'.")
    revealed = arena.vote(db, round_id, choice, owner=voter, criteria=criteria, dangerous_a=dangerous_a,
                          dangerous_b=dangerous_b, comment=comment, session=session["name"])
    return {**revealed, **_progress(db, session, voter), "position": found[0]["question"]}


# -------------------------------------------------------------------------------------------------- organisers

def session_report(db: sqlite_utils.Database, name: str, actor: str | None = None, rounds: int = 500) -> dict:
    """What the organiser sees (its owner or an admin): the session, its questions (how many have their answers),
    each voter's progress, the win rates per pair, the Bradley–Terry ratings with their intervals and the raters'
    agreement, from this session's votes only."""
    from backend.generation.ratings import agreement, leaderboard

    session = get_session(db, name)
    _require_owner(db, actor, session, "see the results of")
    total = _count(db, "SELECT COUNT(*) FROM arena_questions WHERE session_id = ?", [session["id"]])
    prepared = _count(db, "SELECT COUNT(*) FROM arena_questions WHERE session_id = ? AND answer_1 IS NOT NULL",
                      [session["id"]])
    voters = rows(db, "SELECT owner AS voter, COUNT(vote) AS answered, MAX(voted_at) AS last_vote_at FROM votes "
                      "WHERE session_id = ? GROUP BY owner ORDER BY owner", [session["id"]])
    votes = arena.voted_rounds(db, session["id"])
    return {"session": session, "questions": total, "prepared": prepared,
            "progress": [{**v, "total": total, "done": v["answered"] >= total} for v in voters],
            "votes": len(votes), "win_rates": arena.win_rates(db, session_id=session["id"]),
            "ratings": leaderboard(votes, rounds=rounds), "agreement": agreement(votes),
            "dangerous": sum(v["dangerous_a"] + v["dangerous_b"] for v in votes)}
