"""One prompt to 2–4 registered models, streamed together: `side_by_side` yields the state of every pane each time
one of them has new text, until all are done or the run is stopped.

Two ways to stream together (GenerateConfig.strategy; timed in bench/generate.py):
- round_robin: one worker thread steps each model in turn, one token at a time;
- threads: one worker thread per model, each decoding as fast as it can.
Either way the states reach the consumer through a queue.
A model that cannot load, or a prompt that does not fit a model's context, fails its own pane; the others go on.

In-process generation is CPU only: the app process never creates a CUDA context (a CUDA context in a process that
also serves gradio and forks workers is the gotcha DESIGN.md warns about). The models compared in a demo are small;
GPU evaluation goes through eval jobs, which are separate processes."""
from __future__ import annotations

import dataclasses
import queue
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import sqlite_utils

from backend.generation.config import GenerateConfig, GenerationError
from backend.generation.decode import PaneDecoder
from backend.generation.models_cache import ModelCache
from backend.generation.prompting import choose_format, encode_prompt, model_context, registered_instruct

MAX_PANES = 4


@dataclass
class PaneState:
    model: str
    status: str = "waiting"          # waiting, loading, generating, done, stopped, error
    format: str | None = None        # 'chat' or 'raw'
    text: str = ""
    error: str | None = None
    note: str = ""
    prompt_tokens: int = 0
    new_tokens: int = 0
    finish_reason: str | None = None  # 'eos', 'length', 'stopped'
    load_s: float | None = None
    ttft_s: float | None = None       # from the start of the run to this pane's first token
    tokens_per_s: float | None = None  # decoding speed after the first token

    @property
    def finished(self) -> bool:
        return self.status in ("done", "stopped", "error")


# Runs that a Stop button can reach by id (the UI keeps only the id in its session state).
_RUNS: dict[str, threading.Event] = {}


def new_run() -> tuple[str, threading.Event]:
    run_id = uuid.uuid4().hex
    _RUNS[run_id] = threading.Event()
    return run_id, _RUNS[run_id]


def stop_run(run_id: str | None) -> bool:
    """Ask a running generation to stop after its current token; False when no such run is going on."""
    event = _RUNS.get(run_id or "")
    if event is None:
        return False
    event.set()
    return True


def end_run(run_id: str | None) -> None:
    _RUNS.pop(run_id or "", None)


def check_request(model_ids: list[str], prompt: str) -> list[str]:
    ids = [m.strip() for m in model_ids if m and m.strip()]
    if not ids:
        raise GenerationError("choose at least one model")
    if len(ids) > MAX_PANES:
        raise GenerationError(f"at most {MAX_PANES} models side by side ({len(ids)} chosen)")
    if not prompt or not prompt.strip():
        raise GenerationError("the prompt is empty: type a question or pick a preset")
    return ids


class _Pane:
    """A pane's live objects: its state, its pinned model and its decoder."""

    def __init__(self, model_id: str):
        self.state = PaneState(model_id)
        self.entry = None
        self.decoder: PaneDecoder | None = None

    def prepare(self, db, cache: ModelCache, prompt: str, cfg: GenerateConfig) -> None:
        self.state.status = "loading"
        try:
            self.entry = cache.acquire(db, self.state.model)
            self.state.load_s = round(self.entry.load_s, 3)
            tok, row = self.entry.tokenizer, self.entry.row
            fmt = choose_format(cfg.prompt_format, tok, registered_instruct(db, row))
            encoded = encode_prompt(tok, prompt, fmt, cfg.max_new_tokens, model_context(self.entry.model, row))
        except GenerationError as exc:
            self.fail(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - e.g. a broken chat template: this pane fails, the others go on
            self.fail(f"cannot prepare the prompt: {str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__}")
            return
        self.state.format, self.state.note = encoded.format, encoded.note
        self.state.prompt_tokens = len(encoded.input_ids)
        self.decoder = PaneDecoder(self.entry.model, tok, encoded, cfg)
        self.state.status = "generating"

    def step(self, started: float) -> None:
        try:
            self.decoder.step()
        except Exception as exc:  # noqa: BLE001 - a failing model ends its own pane only
            self.fail(f"generation failed: {str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__}")
            return
        d, s = self.decoder, self.state
        s.new_tokens = len(d.new_tokens)
        if s.ttft_s is None:
            s.ttft_s = round(d.first_token_at - started, 4)
        s.text = d.text(final=d.done)
        if d.done:
            self.finish(d.finish_reason)

    def finish(self, reason: str) -> None:
        d, s = self.decoder, self.state
        s.text = d.text(final=True)
        s.finish_reason = reason
        s.status = "stopped" if reason == "stopped" else "done"
        if len(d.new_tokens) > 1 and d.last_token_at > d.first_token_at:
            s.tokens_per_s = round((len(d.new_tokens) - 1) / (d.last_token_at - d.first_token_at), 2)

    def fail(self, message: str) -> None:
        self.state.status, self.state.error = "error", message

    def release(self, cache: ModelCache) -> None:
        if self.entry is not None:
            cache.release(self.entry)
            self.entry = None

    @property
    def active(self) -> bool:
        return self.decoder is not None and not self.state.finished


def _snapshot(panes: list[_Pane]) -> list[PaneState]:
    return [dataclasses.replace(p.state) for p in panes]


def side_by_side(db: sqlite_utils.Database, cache: ModelCache, model_ids: list[str], prompt: str,
                 cfg: GenerateConfig, stop: threading.Event | None = None) -> Iterator[list[PaneState]]:
    """Yield every pane's state whenever something changed; the last yield has every pane finished. Setting
    `stop` (or closing the generator) ends every pane after its current token, with status 'stopped'.

    The decoding runs in worker threads of its own (one for round_robin, one per pane for threads), whatever thread
    iterates this generator: their torch thread count is set there (cache.threads) and the consumer only reads
    states from a queue."""
    ids = check_request(model_ids, prompt)
    stop = stop or threading.Event()
    panes = [_Pane(m) for m in ids]
    groups = [panes] if cfg.strategy == "round_robin" else [[p] for p in panes]
    changes: queue.Queue = queue.Queue()
    halt = threading.Event()   # set when the consumer goes away
    started = time.perf_counter()

    def work(group: list[_Pane]) -> None:
        try:
            with torch_threads(cache.threads):
                for pane in group:
                    pane.prepare(db, cache, prompt, cfg)
                    changes.put(pane)
                while any(p.active for p in group) and not (stop.is_set() or halt.is_set()):
                    for pane in group:  # round robin: one token of each model in turn
                        if pane.active and not (stop.is_set() or halt.is_set()):
                            pane.step(started)
                    changes.put(group)
        finally:
            for pane in group:
                if pane.active:
                    pane.finish("stopped")
                pane.release(cache)
            changes.put(None)

    for pane in panes:
        pane.state.status = "loading"
    threads = [threading.Thread(target=work, args=(g,), daemon=True, name="generate") for g in groups]
    for t in threads:
        t.start()
    running = len(threads)
    try:
        yield _snapshot(panes)
        while running:
            item = changes.get()
            while True:  # coalesce what arrived meanwhile into one update
                running -= item is None
                try:
                    item = changes.get_nowait()
                except queue.Empty:
                    break
            yield _snapshot(panes)
    finally:  # also when the consumer closes the generator (the UI went away)
        halt.set()
        for t in threads:
            t.join()


_threads_lock = threading.Lock()
_threads_users = 0
_threads_before = 0


@contextmanager
def torch_threads(n: int):
    """torch's CPU thread count set to `n` (0: unchanged) while generating, then restored once no generation needs
    it. One thread per model keeps decoding fast when other processes share the cores (bench/README.md)."""
    global _threads_users, _threads_before
    if not n:
        yield
        return
    import torch

    with _threads_lock:
        if _threads_users == 0:
            _threads_before = torch.get_num_threads()
        _threads_users += 1
    torch.set_num_threads(n)  # this thread's OpenMP setting (and torch's default for threads started meanwhile)
    try:
        yield
    finally:
        with _threads_lock:
            _threads_users -= 1
            if _threads_users == 0:
                torch.set_num_threads(_threads_before)


def generate_all(db, cache, model_ids: list[str], prompt: str, cfg: GenerateConfig,
                 stop: threading.Event | None = None) -> list[PaneState]:
    """Run to the end; the final pane states."""
    final: list[PaneState] = []
    for final in side_by_side(db, cache, model_ids, prompt, cfg, stop):
        pass
    return final
