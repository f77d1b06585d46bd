"""French for the sentences the application writes in English: error messages, job progress and exit reasons,
report lines, the UI's own confirmations. Each package holds its French beside its code, in `messages_fr.py`
(`FR = {"unknown snapshot {id}": "instantané inconnu {id}", ...}`: the English template, as the code formats it,
then the French with the same fields); `load` gathers them and `translated(text, lang)` gives a sentence in the
viewer's language.

Why not gettext: gettext looks a message up by its id before formatting, but most of our sentences reach the viewer
already formatted and stored (a job's progress line and exit reason are rows written by a worker process, an error
crossed the CLI or a job boundary as text). So the French is found by matching the English template as a pattern and
filling the French template with the same field values, themselves translated when they are sentences (a stage's
reason inside "the stage failed: {reason}"; a field named `…_list` holds sentences joined by "; ", each translated).
When several templates match, the one with the most fixed text wins. A sentence no template matches is shown as it
is.
`tools/untranslated.py` lists the raise sites and progress lines that have no template yet (tests/test_translations.py
keeps that list empty)."""
from __future__ import annotations

import importlib
import re
from functools import lru_cache
from pathlib import Path

FIELD = re.compile(r"\{(\w*)((?:![rsa])?(?::[^{}]*)?)\}")
_ENTRIES: dict[str, str] = {}       # English template → French template
_EXACT: dict[str, str] = {}         # templates without fields
_PATTERNS: list[tuple[re.Pattern, str, int]] = []
_LOADED: set[str] = set()
DECIMAL = re.compile(r"[+\-−]?\d+\.\d+(?: ?%)?")


def fields(template: str) -> list[str]:
    return [m.group(1) for m in FIELD.finditer(template.replace("{{", "").replace("}}", ""))]


def add(entries: dict[str, str], origin: str = "") -> None:
    """Register English → French templates; a French template must use the English one's fields (ValueError)."""
    for english, french in entries.items():
        if sorted(set(fields(english))) != sorted(set(fields(french))) or "" in fields(english):
            raise ValueError(f"{origin}: the French of {english!r} must name the same fields ({french!r})")
        if english in _ENTRIES and _ENTRIES[english] != french:
            raise ValueError(f"{origin}: two French forms for {english!r}")
        _ENTRIES[english] = french
        if fields(english):
            _PATTERNS.append((_pattern(english), french, len(FIELD.sub("", english))))
            # the most specific template first: "the stage {name} failed: {why}" before "{what} failed: {why}"
            _PATTERNS.sort(key=lambda p: -p[2])
        else:
            _EXACT[english.replace("{{", "{").replace("}}", "}")] = french.replace("{{", "{").replace("}}", "}")
    _lookup.cache_clear()


def load(*packages: str) -> None:
    """Import every `messages_fr.py` under the named packages (their `FR` mapping), once per package."""
    for package in packages:
        if package in _LOADED:
            continue
        root = Path(importlib.import_module(package).__file__).parent
        for path in sorted(root.rglob("messages_fr*.py")):
            module = ".".join((package, *path.relative_to(root).with_suffix("").parts))
            add(importlib.import_module(module).FR, module)
        _LOADED.add(package)


def translated(text, lang: str) -> str:
    """`text` (a sentence, an exception) in `lang` ('fr' or 'en'): its French when a template matches, else as it
    is."""
    text = str(text)
    if lang != "fr" or not text:
        return text
    return _lookup(text, 0)


def entries() -> dict[str, str]:
    return dict(_ENTRIES)


def _pattern(template: str) -> re.Pattern:
    out, seen, pos = [], set(), 0
    for m in FIELD.finditer(template):
        out.append(re.escape(template[pos:m.start()].replace("{{", "{").replace("}}", "}")))
        name = m.group(1)
        out.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
        pos = m.end()
    out.append(re.escape(template[pos:].replace("{{", "{").replace("}}", "}")))
    return re.compile("".join(out), re.S)


@lru_cache(maxsize=4096)
def _lookup(text: str, depth: int) -> str:
    if text in _EXACT:
        return _EXACT[text]
    for pattern, french, _ in _PATTERNS:
        m = pattern.fullmatch(text)
        if m:
            values = {k: _value(k, v, depth) for k, v in m.groupdict().items()}
            return FIELD.sub(lambda f: values[f.group(1)], french)
    return text


def _value(name: str, value: str, depth: int) -> str:
    """A field's value translated in turn; a field named `…_list` holds items joined by "; ", each translated."""
    if DECIMAL.fullmatch(value):        # 0.15 → 0,15; -53.3 % → -53,3 %
        return value.replace(".", ",")
    if depth >= 2:
        return value
    if name.endswith("_list"):
        return "; ".join(_lookup(item, depth + 1) for item in value.split("; "))
    return _lookup(value, depth + 1)
