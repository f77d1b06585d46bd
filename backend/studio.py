"""The studio context shared by the CLI, the UI and the workers: settings, an open registry, the scheduler. It is
also the `context` the job runtime hands every feature's job kind (checks, resources, runners): the runtime itself
knows nothing of it."""
from __future__ import annotations

from functools import cached_property

from frbio_core import registry
from frbio_core.settings import Settings, load_settings
from jobs.kinds import set_context_factory


class Studio:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or load_settings()

    @cached_property
    def db(self):
        return registry.connect(self.settings.db_path)

    @cached_property
    def scheduler(self):
        """The job scheduler (jobs/), created on first use; the app calls `.start()` (no thread before that)."""
        from jobs.scheduler import Scheduler

        return Scheduler(self.settings, context=self)

    @property
    def home(self):
        return self.settings.home_path

    def scan_sources(self) -> list[dict]:
        from backend.corpus.catalogue import scan

        return scan(self.db, self.settings.data_paths, self.settings.folder("uploads"))


set_context_factory(Studio)
import backend.kinds  # noqa: E402,F401  (every feature's job kinds, registered with the runtime)
from frbio_core import translations  # noqa: E402

translations.load("frbio_core", "jobs", "backend")     # the French of every sentence below the UI
