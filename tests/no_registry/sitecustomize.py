"""Put on PYTHONPATH by tests/test_worker_reports.py: a process started with FRBIO_TEST_FORBIDDEN_REGISTRY set may
not open that file (nor its -wal/-shm) through sqlite3 or open(), as a worker on a node that cannot see the app
host's disk. An audit hook (PEP 578) raises PermissionError before the file is touched."""
import os
import sys

_FORBIDDEN = os.environ.get("FRBIO_TEST_FORBIDDEN_REGISTRY")

if _FORBIDDEN:
    _PATH = os.path.realpath(_FORBIDDEN)

    def _refuse(event, args):
        if event not in ("sqlite3.connect", "open") or not args:
            return
        target = args[0]
        if not isinstance(target, (str, bytes, os.PathLike)):
            return
        path = os.path.realpath(os.fsdecode(target))
        if path == _PATH or path in (_PATH + "-wal", _PATH + "-shm", _PATH + "-journal"):
            raise PermissionError(f"this process may not open the registry {_PATH}")

    sys.addaudithook(_refuse)
