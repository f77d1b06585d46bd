"""`python -m backend users add|list|disable|enable|admin|password`, `python -m backend audit`,
`python -m backend trust-remote-code MODEL` and `python -m backend backup DEST`: accounts, the audit log, the
per-model opt-in to a model's own code, and an online copy of the registry.

Passwords never go on the command line (other users of the server see it in `ps`): they are asked for on a
terminal, or read from standard input with --password-stdin (one line).
"""
from __future__ import annotations

import getpass
import json
import sqlite3
import sys
import time
from pathlib import Path

from frbio_core import users


def _emit(args, payload, text: str) -> None:
    print(json.dumps(payload, indent=1, ensure_ascii=False, default=str) if args.json else text)


def _when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"


def _user_line(row: dict) -> str:
    flags = [f for f, on in (("admin", row["is_admin"]), ("DISABLED", row["disabled"])) if on]
    return f"{row['name']:<20} {' '.join(flags) or 'user':<15} {row['language'] or '-':<4} {_when(row['created_at'])}"


def _read_password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise users.UserError("no terminal to ask for the password: pipe it with --password-stdin")
    first = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("again: ") != first:
        raise users.UserError("the two passwords differ")
    return first


def cmd_add(studio, args):
    row = users.add_user(studio.db, args.name, _read_password(args), admin=args.admin, language=args.language)
    _emit(args, row, f"added {_user_line(row)}")


def cmd_list(studio, args):
    rows = users.list_users(studio.db)
    _emit(args, rows, "\n".join(_user_line(r) for r in rows) or "no accounts (the app runs without login on "
                                                                 "127.0.0.1 only)")


def cmd_disable(studio, args):
    row = users.set_disabled(studio.db, args.name, True)
    _emit(args, row, f"disabled {row['name']}: it can no longer log in (its jobs and models stay)")


def cmd_enable(studio, args):
    row = users.set_disabled(studio.db, args.name, False)
    _emit(args, row, f"enabled {row['name']}")


def cmd_admin(studio, args):
    row = users.set_admin(studio.db, args.name, not args.revoke)
    _emit(args, row, f"{row['name']} is {'now' if row['is_admin'] else 'no longer'} an admin")


def cmd_password(studio, args):
    row = users.set_password(studio.db, args.name, _read_password(args))
    _emit(args, row, f"password of {row['name']} changed")


def cmd_audit(studio, args):
    rows = users.list_audit(studio.db, limit=args.limit, actor=args.actor, action=args.action, target=args.target)
    lines = [f"{_when(r['at'])}  {r['actor'] or '(cli)':<14} {r['action']:<14} {r['target'] or '':<16} "
             f"{json.dumps(r['detail'], ensure_ascii=False) if r['detail'] else ''}" for r in rows]
    _emit(args, rows, "\n".join(lines) or "no audit rows")


def backup_registry(db_path: Path, dest: Path | str) -> Path:
    """A consistent copy of the SQLite registry while the app and workers keep writing (SQLite's online backup API);
    `dest` is a folder (a timestamped file is created in it) or a file name. Written to a temp name, then renamed."""
    folder = str(dest).endswith("/") or Path(dest).is_dir()
    dest = Path(dest)
    target = dest / f"frbio-{time.strftime('%Y%m%d-%H%M%S')}.db" if folder else dest
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    source = sqlite3.connect(str(db_path), timeout=30)
    copy = sqlite3.connect(str(tmp))
    try:
        source.backup(copy, pages=1024, sleep=0.005)
        ok = copy.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        copy.close()
        source.close()
    if ok != "ok":
        tmp.unlink(missing_ok=True)
        raise OSError(f"the backup copy failed its integrity check: {ok}")
    tmp.replace(target)
    return target


def cmd_backup(studio, args):
    path = backup_registry(studio.settings.db_path, args.dest)
    _emit(args, {"path": str(path), "bytes": path.stat().st_size},
          f"registry copied to {path} ({path.stat().st_size / 1e6:,.1f} MB); copy the artefact folders "
          f"({studio.home}/snapshots, models, jobs, evals) with rsync")


def cmd_trust(studio, args):
    from backend.models.trust import set_allowed

    row = set_allowed(studio.db, args.model, not args.revoke, actor=args.actor)
    state = "ALLOWED to run" if row["trust_remote_code"] else "never run"
    _emit(args, row, f"{row['id']}: its own code (trust_remote_code) is {state}")


def add_users_command(top) -> None:
    """Add the `users`, `audit` and `backup` commands to the top-level subparsers of `python -m backend`."""
    group = top.add_parser("users", help="accounts: add, list, disable, enable, admin, password")
    sub = group.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("add", help="create an account (password asked on the terminal, or --password-stdin)")
    p.add_argument("name")
    p.add_argument("--admin", action="store_true", help="may cancel or delete anyone's jobs and manage accounts")
    p.add_argument("--language", choices=users.LANGUAGES, help="interface language")
    p.set_defaults(func=cmd_add)
    sub.add_parser("list", help="accounts").set_defaults(func=cmd_list)
    for name, func, text in (("disable", cmd_disable, "forbid logging in (jobs and models stay)"),
                             ("enable", cmd_enable, "allow logging in again")):
        p = sub.add_parser(name, help=text)
        p.add_argument("name")
        p.set_defaults(func=func)
    p = sub.add_parser("admin", help="make an account an admin (--revoke: no longer)")
    p.add_argument("name")
    p.add_argument("--revoke", action="store_true")
    p.set_defaults(func=cmd_admin)
    p = sub.add_parser("password", help="set a new password")
    p.add_argument("name")
    p.set_defaults(func=cmd_password)
    for name in ("add", "password"):
        sub.choices[name].add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p = top.add_parser("audit", help="the audit log: launches, cancellations, deletions, account changes, logins")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--actor")
    p.add_argument("--action")
    p.add_argument("--target")
    p.set_defaults(func=cmd_audit)
    for choice in [*sub.choices.values(), p]:
        choice.add_argument("--json", action="store_true", help="print JSON")
    p = top.add_parser("trust-remote-code", help="allow one model's own Python code (auto_map) to run when it is "
                                                 "loaded; off for every model by default (admins only)")
    p.add_argument("model")
    p.add_argument("--revoke", action="store_true", help="forbid it again")
    p.add_argument("--as", dest="actor", metavar="USER", help="act as this account (must be an admin); default: the "
                                                               "server's operator")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_trust)
    p = top.add_parser("backup", help="copy the registry (SQLite online backup) while the app runs")
    p.add_argument("dest", help="folder (a timestamped frbio-*.db is written in it) or file name")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_backup)
