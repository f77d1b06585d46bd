"""Small data folders and homes built from the real data for tests: copies of chosen sources of ../shared/data (so a
test may add or break files without touching the shared folder) and a home whose default model is the session's
converted one (symlinked, not converted again)."""
from __future__ import annotations

import shutil
from pathlib import Path


def data_folder(shared: Path, root: Path, corpus: list[str], general: list[str], sidecars: bool = True) -> Path:
    """`root` holding corpus/<name>.jsonl.gz and general/<name>.jsonl.gz copied from `shared` (with each folder's
    sources.json licence sidecar unless `sidecars` is False); returns `root`."""
    for sub, names in (("corpus", corpus), ("general", general)):
        (root / sub).mkdir(parents=True)
        for name in names:
            shutil.copy(shared / sub / f"{name}.jsonl.gz", root / sub)
        if sidecars:
            shutil.copy(shared / sub / "sources.json", root / sub)
    return root


def home_with_default_model(home: Path, default_model_home: Path) -> Path:
    """`home` with models/<default model> symlinked to the one converted in `default_model_home`; returns `home`."""
    from backend.default_model import DEFAULT_MODEL_NAME, default_model_dir

    (home / "models").mkdir(parents=True)
    (home / "models" / DEFAULT_MODEL_NAME).symlink_to(default_model_dir(default_model_home), target_is_directory=True)
    return home
