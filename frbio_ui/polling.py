"""How the page polls: every timer tick and refresh that only reads (job status, devices, study, sweep, comparison,
corpus build, model list) is registered through `poll`."""
from __future__ import annotations


def poll(trigger, fn, inputs, outputs, **kwargs):
    """`trigger(fn, inputs, outputs)` (e.g. `timer.tick`) as a quick read: no progress overlay, and queue=False, so
    the browser sends it as one POST rather than a queue join and an event stream (p95 145 ms against 1476 ms with
    20 sessions on 2 cores: bench/ui_load.py). A poll changes nothing (frbio_ui.guard: rule `read`)."""
    from frbio_ui import guard

    if guard.rule_of(fn) is None:
        guard.read(fn)
    return trigger(fn, inputs, outputs, show_progress="hidden", queue=False, **kwargs)
