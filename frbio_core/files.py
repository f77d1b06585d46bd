"""Files and folders written so that a reader (another process, a crash halfway) sees the old version or the new
one, never half of either: write to a hidden temporary sibling, then rename over."""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Callable


def temp_sibling(final: Path | str, tag: str = "tmp") -> Path:
    """A hidden name beside `final`, unique to this process and call: `.name.tag-<pid>-<random>`."""
    final = Path(final)
    return final.with_name(f".{final.name}.{tag}-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def swap_folder(tmp: Path | str, final: Path | str, after_rename: Callable[[], None] | None = None) -> None:
    """Put the finished folder `tmp` in place of `final`. An existing `final` is renamed aside first and removed
    only once the new one is in place (`after_rename` runs between the two, e.g. an fsync of the parent)."""
    tmp, final = Path(tmp), Path(final)
    old = None
    if final.exists():
        old = temp_sibling(final, "old")
        os.replace(final, old)
    os.replace(tmp, final)
    if after_rename is not None:
        after_rename()
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_atomic(path: Path | str, text: str) -> Path:
    """Write `text` to `path` through a temporary sibling and a rename; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(path)
    try:
        tmp.write_text(text, "utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
