"""French for what the application writes in English (frbio_core.translations): every error raised for a user,
every progress line and every sentence the UI wraps has its French template (tools/untranslated.py finds none
missing); the templates fill in the values of already formatted, stored sentences; and real refusals and a failed
job's reason read in French in the jobs table."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from frbio_core import translations
from frbio_core.translations import translated

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def catalogues():
    translations.load("frbio_core", "jobs", "backend", "frbio_ui")


def test_every_sentence_the_code_writes_has_its_french():
    done = subprocess.run([sys.executable, "tools/untranslated.py"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    assert len(translations.entries()) > 500


def test_a_stored_sentence_is_matched_filled_and_its_parts_translated():
    # a training job's progress line as the worker stored it; a study finding with a list of changes
    assert translated("step 3/10 · loss 2.346 · 1200 tok/s · ETA 2m10", "fr").startswith("pas 3/10 · perte 2,346")
    english = "DAPT (4 steps, 0.00 M tokens) vs the base, perplexity: general French: 50.90 → 37.48 (-26.4 %); " \
              "domain (biomedical validation): 69.15 → 32.28 (-53.3 %)."
    assert translated(english, "fr") == ("La DAPT (4 pas, 0,00 M tokens) par rapport au modèle de base, perplexité : "
                                         "français général : 50,90 → 37,48 (-26,4 %); domaine (validation "
                                         "biomédicale) : 69,15 → 32,28 (-53,3 %).")
    assert translated(english, "en") == english
    assert translated("a sentence nobody wrote a template for", "fr") == "a sentence nobody wrote a template for"


def test_a_template_whose_french_names_other_fields_is_refused():
    with pytest.raises(ValueError, match="same fields"):
        translations.add({"unknown thing {name}": "chose inconnue {nom}"}, "test")
    with pytest.raises(ValueError, match="two French forms"):
        translations.add({"done": "fini"}, "test")


def test_real_refusals_and_a_cancelled_jobs_reason_read_in_french(tmp_path):
    import tests.jobkinds  # noqa: F401  (the test_sleep kind)
    from frbio_core import registry
    from frbio_core.errors import UserError
    from jobs import store, views
    from backend.corpus.viewer import find_snapshot

    db = registry.connect(tmp_path / "frbio.db")
    with pytest.raises(UserError) as refused:
        find_snapshot(db, "snap-nope")
    assert translated(refused.value, "fr") == "instantané inconnu 'snap-nope' (voir python -m backend corpus snapshots)"
    with pytest.raises(UserError) as bad_device:
        store.submit(db, tmp_path, "test_sleep", {}, owner="alice", device="gpu7")
    assert translated(bad_device.value, "fr").startswith("device : « gpu7 » n'est pas un processeur")
    job_id = store.submit(db, tmp_path, "test_sleep", {"seconds": 60}, owner="alice")
    assert store.cancel_queued(db, job_id)
    row = next(r for r in views.job_table(db) if r[0] == job_id)
    assert row[-1] == "cancelled before it started" and translated(row[-1], "fr") == "annulée avant son démarrage"
