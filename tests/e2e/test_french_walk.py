"""French everywhere (and English everywhere): on a home with a little content (a scanned catalogue, a snapshot, a
tiny model), switch the interface to one language, open every tab and every section, read what the page shows
(text, placeholders, help texts under the fields) and fail on a word of the other language.

The detector is a list of frequent function words of each language, matched as whole words (case-insensitive),
after removing what is not interface text in any language: names of models, sources and snapshots, ids, file names,
code. What may stay in the other language is the allow-list below, each entry with why.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_train_tab import prepare

# frequent English words that a French interface never needs (whole words, any case)
ENGLISH = set("""
the of and to with for from is are was be been every each this that these those which when where while only or not
no yes by at as an it its than then into onto their there here will would can could should may must has have had
run runs running model models step steps training train trained file files folder show choose select start stop
set use used uses using more less new all none empty default size name job jobs status progress refresh download
loss merge merged merging snapshot snapshots checkpoint checkpoints weights kind license
evaluate evaluation compare generate prompt answer settings save saved load loaded method methods seed device
devices memory queue queued done failed cancelled owner log curves chart table click first last about per
""".split())
# frequent French words and letters an English interface never needs
FRENCH = set("""
le la les des du une et est pour avec dans sur par aux au ou où qui que ne pas ce cette ces son sa ses leur leurs
modèle modèles tâche tâches entraînement fusion instantané instantanés données choisir afficher lancer
""".split())
# (not listed: words spelt the same in French, as "sources", "licence", "parents")
ACCENTED = re.compile(r"[àâçéèêëîïôûùüœ]", re.IGNORECASE)

# not interface text in either language: ids, names, numbers with units, file names, code (removed before matching)
NOT_TEXT = [
    r"\b(?:snap|job|model|eval|study|merge|src)-[\w.-]+",          # registry ids
    r"\b[\w.-]+\.(?:jsonl(?:\.gz)?|parquet|txt|json|csv|md|yaml|safetensors|gguf|html|zip)\b",  # file names
    r"\b[\w-]+\.(?:train|dev|test)\b",                             # corpus file stems (UD_French-ParisStories.train)
    r"\b[\w-]*(?:smollm2|tiny-e2e|SmolLM2|Qwen|Llama|mistral)[\w./-]*",  # model names
    r"\bfrbio_[\w/.-]*", r"\bHF_\w+", r"https?://\S+",
    r"\{[^{}]*\}", r"\{[^{}]*\}",                             # JSON examples (twice: one level of nesting)
    r"«\s?[\w.-]+\s?»",                                          # a value named in guillemets (« checkpoint »)
    r"\bCC[ -]BY(?:-[A-Z]{2})*(?: \d\.\d)?", r"\bet al\.",      # licence names, citations
]
# words of the other language that are names, not interface text (model, source, benchmark and method names)
ALLOW_EN_IN_FR = {
    "slerp", "ties", "dare", "lora", "dapt", "gpu", "cpu", "json", "fp32", "bf16", "ddp", "fsdp", "sdpa", "eager",
    "tensorboard", "mlflow", "wandb", "trackio", "cosine", "linear", "constant", "auto", "full", "on", "off",
}
ALLOW_FR_IN_EN: set[str] = set()   # (the Blind A/B tab follows the interface's language; clinicians have /vote)
# whole phrases shown as data in either language (source names and licences of the shared corpus)
DATA_PHRASES = [r"Licence Ouverte[^\n]*"]


def visible_text(page: Page) -> str:
    """The main container's text without its code (shell commands, file formats), plus every visible input's
    placeholder."""
    text = page.locator(".gradio-container").first.inner_text()
    for code in sorted(page.eval_on_selector_all("code, pre", "els => els.map(e => e.innerText)"), key=len,
                       reverse=True):
        if code.strip():
            text = re.sub(r"(?<!\w)" + re.escape(code) + r"(?!\w)", " ", text)
    placeholders = page.eval_on_selector_all(
        "input[placeholder], textarea[placeholder]",
        "els => els.filter(e => e.offsetParent !== null).map(e => e.placeholder)")
    return text + "\n" + "\n".join(placeholders)


def open_sections(page: Page) -> None:
    """Open every closed accordion that is shown (repeatedly: opening one shows those inside it)."""
    for _ in range(6):
        closed = page.locator("button.label-wrap:not(.open):visible")
        if closed.count() == 0:
            return
        for i in range(closed.count() - 1, -1, -1):
            closed.nth(i).click()
        page.wait_for_timeout(300)


def foreign_words(text: str, words: set[str], allow: set[str], accents: bool = False) -> list[str]:
    for pattern in NOT_TEXT + DATA_PHRASES:
        text = re.sub(pattern, " ", text, flags=re.IGNORECASE)
    found = []
    for line in text.splitlines():
        hits = []
        for word in re.findall(r"[\w'’]+(?:-[\w'’]+)*", line):   # a compound (log-perplexité) is one word
            low = word.lower().replace("’", "'")
            bare = low.split("'")[-1] if "'" in low else low
            if low in allow or bare in allow:
                continue
            if bare in words or (accents and ACCENTED.search(low)):
                hits.append(word)
        if hits:
            found.append(f"{', '.join(dict.fromkeys(hits))!s} in: {line.strip()[:140]}")
    return found


def walk(page: Page, url: str, lang: str) -> dict[str, list[str]]:
    page.goto(f"{url}?lang={lang}")
    tagline = "Spécialiser" if lang == "fr" else "Specialise"
    expect(page.locator("#frbio-header")).to_contain_text(tagline, timeout=30_000)
    words, allow = (ENGLISH, ALLOW_EN_IN_FR) if lang == "fr" else (FRENCH, ALLOW_FR_IN_EN)
    report = {}
    tabs = page.get_by_role("tab")
    names = [tabs.nth(i).inner_text().strip() for i in range(tabs.count())]
    for i, name in enumerate(names):
        tabs.nth(i).click()
        page.wait_for_timeout(800)
        open_sections(page)
        page.wait_for_timeout(500)
        found = foreign_words(visible_text(page), words, allow, accents=lang == "en")
        if found:
            report[name] = sorted(set(found))
    return report


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_tab_speaks_one_language(app_server, page: Page, lang: str):
    prepare(app_server)
    report = walk(page, app_server.url, lang)
    assert not report, "\n".join(f"[{tab}]\n  " + "\n  ".join(lines) for tab, lines in report.items())


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_what_the_server_writes_after_an_action_speaks_the_same_language(app_server, page: Page, lang: str):
    """Sentences the server writes only after a click follow the interface's language too: a handler's own reply
    (no job chosen) and a backend refusal (a job that does not exist)."""
    from tests.e2e.conftest import open_tab

    page.goto(f"{app_server.url}?lang={lang}")
    words, allow = (ENGLISH, ALLOW_EN_IN_FR) if lang == "fr" else (FRENCH, ALLOW_FR_IN_EN)
    cancel, said = page.locator("#job-cancel-all"), page.locator("#job-msg-all")
    open_tab(page, {"fr": "Tâches", "en": "Jobs"}[lang], cancel)
    cancel.click()
    expect(said).to_contain_text({"fr": "Choisissez d'abord une tâche.", "en": "Choose a job first."}[lang])
    replies = [said.inner_text()]
    picker = page.locator("#job-pick-all input")
    picker.fill("job-999999")
    picker.press("Enter")
    cancel.click()
    expect(said).to_contain_text("job-999999")
    replies.append(said.inner_text())
    assert {"fr": "tâche inconnue", "en": "unknown job"}[lang] in replies[1]
    for text in replies:
        assert not foreign_words(text, words, allow, accents=lang == "en"), text
