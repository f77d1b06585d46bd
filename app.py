"""FrBio Studio: `python app.py --help`. Starts the app on its embedded defaults (SQLite registry under
./frbio_home, data from ./data and ../shared/data, the offline default model)."""
from __future__ import annotations

import argparse
import faulthandler
import os
import signal
import sys

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"   # no analytics or telemetry, whatever the environment says
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"


def login_check(db_path):
    """Gradio's `auth=` callable (frbio_ui.web): throttled, audited with the client's address."""
    from frbio_ui.web import login_check as check

    return check(db_path)


def auth_kwargs(settings, db) -> dict:
    """`auth=` for launch when logins are needed: beyond 127.0.0.1, with --auth, or whenever the home has an enabled
    account (then the app never acts for whoever reaches it without one); SystemExit with a clear message when they
    are needed but no account can log in; a loud warning when the insecure flag turns them off."""
    from frbio_core import users
    from frbio_core.settings import is_loopback, needs_auth

    has_accounts = any(not u["disabled"] for u in users.list_users(db))
    if has_accounts and not needs_auth(settings) and is_loopback(settings.host):
        print(f"logins are on: {settings.home_path} has accounts (every visitor logs in, even on "
              f"{settings.host})", file=sys.stderr, flush=True)
    elif not needs_auth(settings):
        if not is_loopback(settings.host):
            print("=" * 100 + f"\nWARNING: --insecure-no-auth-on-public-address: serving {settings.host}:"
                  f"{settings.port} WITHOUT LOGIN. Anyone who reaches this port can launch, cancel and read every job, "
                  "model and corpus.\n" + "=" * 100, file=sys.stderr, flush=True)
        return {}
    if not has_accounts:
        where = "on " + settings.host if not is_loopback(settings.host) else "with --auth"
        raise SystemExit(f"error: refusing to start {where} without login: no enabled account. Create one with\n"
                         f"  python -m backend --home {settings.home_path} users add NAME --admin\n"
                         "(or bind 127.0.0.1 for a single-user session).")
    return {"auth": login_check(settings.db_path),
            "auth_message": "FrBio Studio — connectez-vous / please log in"}


def main(argv: list[str] | None = None) -> int:
    from frbio_core.config import add_arguments, values_from_args
    from frbio_core.settings import Settings, load_settings

    parser = argparse.ArgumentParser(prog="python app.py", description="FrBio Studio web app. Every option can "
                                     "also be set by an FRBIO_<OPTION> environment variable.")
    add_arguments(parser, Settings, env_prefix="FRBIO_")
    args = parser.parse_args(argv)
    if hasattr(signal, "SIGUSR1"):   # `kill -USR1 PID` writes every thread's stack to the log: for a stuck handler
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    settings = load_settings(**values_from_args(args, Settings))

    from backend.studio import Studio
    from frbio_ui.app_ui import build_app

    import sqlite3

    try:
        studio = Studio(settings)
        auth = auth_kwargs(settings, studio.db)   # before anything slow: refuse at once when no one could log in
    except sqlite3.DatabaseError as exc:       # a corrupt registry, a full disk: one line, not a traceback
        raise SystemExit(f"error: the registry {settings.db_path} cannot be used ({exc}): free some disk space, or "
                         "restore it from a backup (python -m backend backup) and move the damaged file aside")
    if settings.import_default_model:
        from backend.default_model import DefaultModelError
        from backend.models.importing import register_default
        from backend.models.registry import ModelError
        try:  # converts SmolLM2 once, then only re-registers it
            register_default(studio.db, studio.home, log=lambda m: print(m, flush=True))
        except (DefaultModelError, ModelError) as exc:
            print(f"warning: {exc}", file=sys.stderr)
    studio.scan_sources()
    studio.scheduler.reconcile()  # 'running' rows left by a previous app whose worker is gone → failed (resumable)
    studio.scheduler.start()      # launches queued jobs; the jobs themselves outlive the app
    print(f"FrBio Studio: http://{settings.host}:{settings.port}  (home {settings.home_path})", flush=True)
    from frbio_ui.web import serve

    serve(studio, build_app(studio).queue(default_concurrency_limit=4), auth=bool(auth),
          auth_message=auth.get("auth_message", ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
