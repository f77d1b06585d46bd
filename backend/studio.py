"""The studio context shared by the CLI, the UI and jobs: settings plus an open registry."""
from __future__ import annotations

from functools import cached_property

from backend import registry
from backend.settings import Settings, load_settings


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

        return Scheduler(self.settings)

    @property
    def home(self):
        return self.settings.home_path

    def scan_sources(self) -> list[dict]:
        from backend.corpus.catalogue import scan

        return scan(self.db, self.settings.data_paths, self.settings.folder("uploads"))
