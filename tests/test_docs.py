"""The documentation a newcomer follows: the README stays short (under 8 kB) and links every page of docs/, and each
shell example marked `<!-- runnable -->` (the README's five-minute tour; the corpus, merge, evaluation and arena
pages) runs as written, line after line, on a temporary home and a small data folder of real sources and the real
benchmarks."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from frbio_core.settings import PROJECT_ROOT
from tests.data_helpers import data_folder, home_with_default_model

README = PROJECT_ROOT / "README.md"
PAGES = sorted((PROJECT_ROOT / "docs").glob("*.md"))
RUNNABLE = re.compile(r"<!-- runnable -->\s*```bash\n(.*?)```", re.S)
WITH_EXAMPLES = [p for p in [README, *PAGES] if RUNNABLE.search(p.read_text("utf-8"))]


def test_the_readme_is_short_and_links_every_docs_page():
    text = README.read_text("utf-8")
    assert len(text.encode("utf-8")) < 8 * 1024
    linked = set(re.findall(r"\]\(docs/([^)#]+)\)", text))
    assert linked == {p.name for p in PAGES}
    for page in PAGES:          # and every relative link of every page leads to a file
        for target in re.findall(r"\]\((?!https?:|#)([^)#]+)", page.read_text("utf-8")):
            assert (page.parent / target).exists(), f"{page.name}: {target}"
    assert {p.name for p in WITH_EXAMPLES} >= {"README.md", "corpus.md", "merge.md", "evaluation.md", "arena.md"}


@pytest.mark.parametrize("page", WITH_EXAMPLES, ids=lambda p: p.name)
def test_the_runnable_examples_run_as_written(page, shared_data, default_model_home, tmp_path):
    data = data_folder(shared_data, tmp_path / "data", ["mantra_gsc", "pxcorpus"], ["UD_French-Sequoia.dev",
                                                                                    "UD_English-EWT.dev"])
    (data / "bench").symlink_to(shared_data / "bench", target_is_directory=True)
    home = home_with_default_model(tmp_path / "home", default_model_home)
    work = tmp_path / "work"
    work.mkdir()
    (work / ".venv").symlink_to(Path(sys.executable).parent.parent, target_is_directory=True)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("FRBIO_")}, "FRBIO_HOME": str(home),
           "FRBIO_DATA": str(data), "PYTHONPATH": str(PROJECT_ROOT), "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1"}
    for block in RUNNABLE.findall(page.read_text("utf-8")):
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=work, env=env, capture_output=True,
                              text=True, timeout=900)
        assert done.returncode == 0, f"{page.name}:\n{block}\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
