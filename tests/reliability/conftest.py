"""The reliability suite prints what it measured: each test records its figures with `figures(...)`, and the table
is printed at the end of the pytest run (so it shows in CI output), whatever the tests' outcomes."""
from __future__ import annotations

import pytest

ROWS: list[dict] = []


@pytest.fixture
def figures(request):
    """`figures(check, measured, target, ok)`: one row of the table (ok: whether the measured figure meets it)."""
    def record(check: str, measured: str, target: str, ok: bool) -> None:
        ROWS.append({"test": request.node.name, "check": check, "measured": measured, "target": target,
                     "ok": bool(ok)})
    return record


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not ROWS:
        return
    width = {k: max(len(k), *(len(str(r[k])) for r in ROWS)) for k in ("check", "measured", "target")}
    terminalreporter.section("reliability figures")
    head = f"{'check':<{width['check']}} | {'measured':<{width['measured']}} | {'target':<{width['target']}} | ok"
    terminalreporter.write_line(head)
    terminalreporter.write_line("-" * len(head))
    for r in ROWS:
        terminalreporter.write_line(f"{r['check']:<{width['check']}} | {r['measured']:<{width['measured']}} | "
                                    f"{r['target']:<{width['target']}} | {'yes' if r['ok'] else 'NO'}")
