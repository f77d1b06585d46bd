"""Files the UI offers for download come from artefact folders under frbio_home only.

The app serves no folder by path (`allowed_paths` is empty): a handler that returns a file passes it through `offer`,
which resolves it (symlinks and '..' included), refuses anything outside `<home>/{snapshots,models,evals,reports}`
(the registry, uploads, job logs, the project, /etc ...), and hands Gradio a private copy in a fresh temporary
folder (hard-linked where possible) that Gradio moves into its cache.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

DOWNLOADABLE = ("snapshots", "models", "evals", "reports")
PREFIX = "frbio-download-"
KEEP_S = 3600


class DownloadError(ValueError):
    """A path that may not be downloaded; the message is for the user."""


def checked(home: Path | str, path: Path | str) -> Path:
    """The real path of `path` if it is a file inside one of home's downloadable artefact folders."""
    home = Path(home).resolve()
    try:
        real = Path(path).resolve(strict=True)
    except (OSError, RuntimeError):
        raise DownloadError(f"{Path(path).name}: no such file") from None
    if not real.is_file() or not any(real.is_relative_to(home / folder) for folder in DOWNLOADABLE):
        raise DownloadError(f"{Path(path).name}: only files of snapshots, models, evaluations and reports can be "
                            "downloaded")
    return real


def _sweep(root: Path) -> None:
    """Remove download copies older than KEEP_S (Gradio has long since cached them)."""
    cutoff = time.time() - KEEP_S
    for entry in root.glob(PREFIX + "*"):
        try:
            if entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            pass


def offer(home: Path | str, paths) -> list[str]:
    """Private copies of `paths` (each checked) for a gr.File output; DownloadError for any refused path."""
    reals = [checked(home, p) for p in paths]
    root = Path(tempfile.gettempdir())
    _sweep(root)
    folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=root))
    out = []
    for i, real in enumerate(reals):
        target = folder / str(i) / real.name
        target.parent.mkdir()
        try:
            os.link(real, target)
        except OSError:
            shutil.copy2(real, target)
        out.append(str(target))
    return out
