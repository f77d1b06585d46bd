"""FrBio Studio: `python app.py --help`. Starts the app on its embedded defaults (SQLite registry under
./frbio_home, data from ./data and ../shared/data, the offline default model)."""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def main(argv: list[str] | None = None) -> int:
    from backend.config import add_arguments, values_from_args
    from backend.settings import Settings, load_settings

    parser = argparse.ArgumentParser(prog="python app.py", description="FrBio Studio web app. Every option can "
                                     "also be set by an FRBIO_<OPTION> environment variable.")
    add_arguments(parser, Settings, env_prefix="FRBIO_")
    args = parser.parse_args(argv)
    settings = load_settings(**values_from_args(args, Settings))

    from backend.studio import Studio
    from frbio_ui.app_ui import build_app, launch_kwargs

    studio = Studio(settings)
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
    build_app(studio).queue(default_concurrency_limit=4).launch(**launch_kwargs(studio))
    return 0


if __name__ == "__main__":
    sys.exit(main())
