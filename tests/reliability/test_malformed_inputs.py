"""Malformed inputs — uploads, recipes, train configs, model folders, merges, job and account requests — each get one
clear line (`error: ...`, exit status 2, no traceback) from the command line the UI shares its code with; nothing
already stored changes (rows, model files) and `PRAGMA integrity_check` is ok afterwards. An upload over the app's
size limit is refused by the running app."""
import gzip
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from frbio_core import registry
from backend.__main__ import main
from backend.models.importing import make_tiny_model
from frbio_core.settings import PROJECT_ROOT


def write(path: Path, data) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(data, bytes) else path.write_text)(data)
    return str(path)


def truncated_gzip() -> bytes:
    """Half of a gzip file of 500 documents (a download cut short)."""
    text = "".join(json.dumps({"text": os.urandom(150).hex()}) + "\n" for _ in range(500)).encode()
    data = gzip.compress(text)
    return data[:len(data) // 2]


def cases(tmp: Path) -> list[tuple[str, str, list[str]]]:
    """(area, what, argv after the settings); every one must fail with one clear line."""
    good_model = tmp / "bad_models" / "no_config"
    write(good_model / "model.safetensors", b"\0" * 64)
    bad_json = tmp / "bad_models" / "bad_json"
    write(bad_json / "config.json", "{not json")
    corrupt = tmp / "bad_models" / "corrupt_weights"
    write(corrupt / "config.json", json.dumps({"model_type": "llama", "architectures": ["LlamaForCausalLM"]}))
    write(corrupt / "model.safetensors", os.urandom(4096))
    unknown = tmp / "bad_models" / "unknown_type"
    write(unknown / "config.json", json.dumps({"model_type": "no-such-architecture"}))
    write(unknown / "model.safetensors", b"\0" * 64)
    recipe = lambda name, text: write(tmp / "recipes" / name, text)  # noqa: E731
    train = lambda name, text: write(tmp / "train" / name, text)  # noqa: E731
    merge = lambda name, text: write(tmp / "merges" / name, text)  # noqa: E731
    base = ["corpus", "add"]
    return [
        ("upload", "missing file", base + [str(tmp / "nope.jsonl"), "--name", "u1"]),
        ("upload", "empty file", base + [write(tmp / "up" / "empty.jsonl", ""), "--name", "u2"]),
        ("upload", "binary bytes named .jsonl", base + [write(tmp / "up" / "bin.jsonl", os.urandom(2048)), "--name", "u3"]),
        ("upload", "a line that is not JSON", base + [write(tmp / "up" / "half.jsonl", '{"text": "ok"}\n{"text": \n'),
                                                      "--name", "u4"]),
        ("upload", "JSON lines without text", base + [write(tmp / "up" / "notext.jsonl", '{"id": 1}\n{"id": 2}\n'),
                                                      "--name", "u5"]),
        ("upload", "truncated gzip", base + [write(tmp / "up" / "cut.jsonl.gz", truncated_gzip()), "--name", "u6"]),
        ("upload", "corrupt parquet", base + [write(tmp / "up" / "bad.parquet", os.urandom(4096)), "--name", "u7"]),
        ("upload", "unsupported format (.docx)", base + [write(tmp / "up" / "notes.docx", b"PK\x03\x04"), "--name", "u8"]),
        ("recipe", "file not found", ["corpus", "build", "--recipe", str(tmp / "recipes" / "missing.yaml")]),
        ("recipe", "not YAML", ["corpus", "build", "--recipe", recipe("broken.yaml", "sources: [a, b\nname: {")]),
        ("recipe", "a list, not a mapping", ["corpus", "build", "--recipe", recipe("list.yaml", "- a\n- b\n")]),
        ("recipe", "unknown source", ["corpus", "build", "--recipe", recipe("unknown.yaml", "sources: [no_such_source]\n")]),
        ("recipe", "validation fraction 2", ["corpus", "build", "--recipe", recipe("frac.yaml", "validation_fraction: 2\n")]),
        ("recipe", "unknown licence mode", ["corpus", "build", "--recipe", recipe("mode.yaml", "license_mode: anything\n")]),
        ("recipe", "negative token budget", ["corpus", "build", "--target-tokens", "-5"]),
        ("config", "train: unknown base model", ["train", "--base-model", "no-such-model", "--snapshot", "snap-x"]),
        ("config", "train: negative learning rate", ["train", "--config", train("lr.yaml", "base_model: tiny\nsnapshot: snap-x\nlearning_rate: -1\n")]),
        ("config", "train: unknown snapshot", ["train", "--base-model", "tiny", "--snapshot", "snap-nope"]),
        ("config", "train: file not JSON", ["train", "--config", train("bad.json", "{\"max_steps\": ")]),
        ("config", "train: zero steps", ["train", "--base-model", "tiny", "--snapshot", "snap-x", "--max-steps", "0"]),
        ("config", "train: unknown field", ["train", "--config", train("field.yaml", "base_model: tiny\nsnapshot: snap-x\nlearnin_rate: 0.1\n")]),
        ("model folder", "missing folder", ["models", "import", str(tmp / "bad_models" / "missing")]),
        ("model folder", "no config.json", ["models", "import", str(good_model)]),
        ("model folder", "config.json not JSON", ["models", "import", str(bad_json)]),
        ("model folder", "corrupt safetensors", ["models", "import", str(corrupt)]),
        ("model folder", "unknown model type", ["models", "import", str(unknown)]),
        ("merge", "unknown model", ["merge", "--base-model", "tiny", "--dapt-model", "no-such-model"]),
        ("merge", "unknown method", ["merge", "--base-model", "tiny", "--dapt-model", "tiny2", "--method", "blend"]),
        ("merge", "SLERP t = 2", ["merge", "--base-model", "tiny", "--dapt-model", "tiny2", "--parameters", '{"t": 2}']),
        ("merge", "incompatible models", ["merge", "check", "tiny", "smollm2-135m-instruct"]),
        ("merge", "config file not YAML", ["merge", "--config", merge("m.yaml", "merge_method: [slerp\n")]),
        ("jobs", "a path as job id", ["jobs", "show", "job-1/../../../etc/passwd"]),
        ("jobs", "resume an unknown job", ["jobs", "resume", "job-999999"]),
        ("accounts", "user name with a slash", ["users", "add", "../root", "--password-stdin"]),
    ]


def snapshot_of_store(db, home: Path) -> dict:
    """What must not change: the rows of every table, and the bytes of the registered models."""
    tables = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
              for t in ("sources", "snapshots", "models", "jobs", "users")}
    files = {str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted((home / "models").rglob("*")) if p.is_file() and "smollm2" not in str(p)}
    return {"tables": tables, "files": files}


def test_malformed_inputs_get_one_clear_line_and_change_nothing(make_home, small_data, tmp_path, capsys,  # noqa: F811
                                                               monkeypatch, figures):
    home = make_home()
    settings = ["--home", str(home), f"--data={small_data}"]
    db = registry.connect(home / "frbio.db")
    assert main(settings + ["corpus", "sources", "--json"]) == 0
    assert main(settings + ["models", "import-default", "--json"]) == 0     # registers the default model
    make_tiny_model(home, "tiny", seed=0, db=db)
    make_tiny_model(home, "tiny2", seed=1, db=db)
    capsys.readouterr()
    before = snapshot_of_store(db, home)

    clear, unclear, messages = 0, [], []
    all_cases = cases(tmp_path)
    for area, what, argv in all_cases:
        monkeypatch.setattr(sys, "stdin", open(os.devnull))
        try:
            code = main(settings + argv)
        except SystemExit as exc:            # argparse refuses a flag value: status 2 and a usage line
            code = exc.code
        out = capsys.readouterr()
        lines = [line for line in out.err.splitlines() if line.strip()]
        one_line = bool(lines) and lines[-1].startswith("error: ") and "Traceback" not in out.err
        messages.append(f"{area:<13} {what:<28} {lines[-1][:150] if lines else '(nothing)'}")
        if code == 2 and one_line:
            clear += 1
        else:
            unclear.append(f"{area} / {what}: exit {code}, stderr {out.err[-300:]!r}, stdout {out.out[-200:]!r}")
    print("\n".join(messages))   # shown with -s, or when the test fails

    after = snapshot_of_store(db, home)
    integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    areas = sorted({area for area, _, _ in all_cases})
    figures(f"malformed inputs ({', '.join(areas)})", f"{clear}/{len(all_cases)} with one clear line",
            ">= 25, all clear", clear == len(all_cases) >= 25)
    figures("  ... registry and models after them", f"rows {'unchanged' if after == before else 'CHANGED'}, "
            f"integrity_check {integrity}", "unchanged, ok", after == before and integrity == "ok")
    assert not unclear, "\n".join(unclear)
    assert len(all_cases) >= 25 and after == before and integrity == "ok"


def test_an_upload_over_the_size_limit_is_refused_by_the_app(tmp_path, figures):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRBIO_")}
    env.update(GRADIO_TEMP_DIR=str(tmp_path / "gradio"), PYTHONUNBUFFERED="1")
    log = open(tmp_path / "app.log", "wb")
    app = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--home", str(tmp_path / "home"),
                            "--no-import-default-model", "--max-upload-mb", "1", "--data", str(tmp_path / "nodata")],
                           cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except (urllib.error.URLError, OSError):
                assert app.poll() is None, (tmp_path / "app.log").read_text()
                time.sleep(0.3)
        results = {}
        for name, size in (("small", 100_000), ("big", 2_000_000)):
            boundary = "frbio"
            body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}.jsonl\"\r\n"
                    "Content-Type: application/octet-stream\r\n\r\n").encode() + b"x" * size + \
                f"\r\n--{boundary}--\r\n".encode()
            request = urllib.request.Request(f"{url}/gradio_api/upload", data=body, method="POST", headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}"})
            try:
                with urllib.request.urlopen(request, timeout=30) as resp:
                    results[name] = (resp.status, resp.read().decode()[:200])
            except urllib.error.HTTPError as exc:
                results[name] = (exc.code, exc.read().decode()[:200])
    finally:
        app.terminate()
        app.wait(20)
    figures("upload over --max-upload-mb 1 (2 MB)", f"HTTP {results['big'][0]}: {results['big'][1][:50]}",
            "refused (413)", results["big"][0] == 413)
    assert results["small"][0] == 200, results
    assert results["big"][0] == 413 and "1" in results["big"][1], results
