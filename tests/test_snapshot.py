"""Recipe → snapshot on real data: licence filter, stratified split, content-hash id, mixing, replay, card."""
import json

import pyarrow.parquet as pq
import pytest

from backend.corpus import snapshot
from backend.corpus.readers import CorpusInputError
from backend.corpus.recipe import Recipe, load_recipe, parse_recipe
from tests.data_helpers import home_with_catalogue

SOURCES = ["CNEDiMTS", "mantra_gsc", "pxcorpus", "ScopeSanteQualite", "WMT-18-Medline", "cas"]
GENERAL = ["UD_French-Sequoia.train", "UD_French-Rhapsodie.train", "UD_French-GSD.dev", "UD_English-EWT.dev"]


@pytest.fixture(scope="module")
def studio_dirs(shared_data, tmp_path_factory, default_model_home):
    """A data folder with six real sources (two research-only) and four general files, and a home with the model."""
    home, db = home_with_catalogue(shared_data, tmp_path_factory.mktemp("snap"), default_model_home, SOURCES, GENERAL)
    return db, home


@pytest.fixture(scope="module")
def commercial(studio_dirs):
    db, home = studio_dirs
    return snapshot.build_snapshot(db, home, Recipe(name="commercial"))


def _split(home, result, name):
    return pq.read_table(home / "snapshots" / result["snapshot_id"] / snapshot.SPLIT_FILES[name]).to_pylist()


def test_commercial_snapshot_has_no_research_only_document(studio_dirs, commercial):
    db, home = studio_dirs
    assert commercial["commercial_use"] is True and not commercial["reused"]
    for split in ("train", "validation"):
        docs = _split(home, commercial, split)
        assert docs and all(d["commercial_use"] for d in docs)
        assert not {d["source"] for d in docs} & {"cas", "WMT-18-Medline", "CLEAR"}
    row = db["snapshots"].get(commercial["snapshot_id"])
    assert row["commercial_use"] == 1


def test_exact_duplicates_removed_and_stratified_split_keeps_every_source(studio_dirs, commercial):
    db, home = studio_dirs
    assert commercial["exact_duplicates_removed"] >= 700  # CNEDiMTS holds 700 exact duplicates
    train, val = _split(home, commercial, "train"), _split(home, commercial, "validation")
    texts = [d["text"] for d in train + val]
    assert len(texts) == len(set(texts))  # no weight > 1: every document once
    assert {d["source"] for d in val} == {d["source"] for d in train} == {"CNEDiMTS", "mantra_gsc", "pxcorpus",
                                                                           "ScopeSanteQualite"}
    for source in ("CNEDiMTS", "mantra_gsc"):
        n_train = sum(d["source"] == source for d in train)
        n_val = sum(d["source"] == source for d in val)
        assert n_val == max(1, round(0.01 * (n_train + n_val)))


def test_general_validation_holds_french_and_english_dev_text(studio_dirs, commercial):
    _, home = studio_dirs
    general = _split(home, commercial, "general_validation")
    assert {d["source"] for d in general} == {"UD_French-GSD.dev", "UD_English-EWT.dev"}
    assert {d["language"] for d in general} == {"fr", "en"}
    assert all(d["n_tokens"] > 0 for d in general)


def test_files_load_with_datasets_and_manifest_and_card_are_complete(studio_dirs, commercial):
    from datasets import load_dataset

    _, home = studio_dirs
    folder = home / "snapshots" / commercial["snapshot_id"]
    ds = load_dataset("parquet", data_files={"train": str(folder / "train.parquet"),
                                             "validation": str(folder / "validation.parquet")})
    assert ds["train"].num_rows == commercial["out"]["train"]["docs"]
    manifest = json.loads((folder / "manifest.json").read_text())
    # the folder itself, as a researcher outside the app loads it: exactly the snapshot's splits (the card's configs)
    whole, general = load_dataset(str(folder)), load_dataset(str(folder), "general")
    assert set(whole) == {"train", "validation"} and set(general) == {"validation"}
    for split, dataset in (("train", whole["train"]), ("validation", whole["validation"]),
                           ("general_validation", general["validation"])):
        assert dataset.num_rows == commercial["out"][split]["docs"] == sum(
            s["docs"] for s in manifest["splits"][split].values())
        assert sorted(dataset["id"]) == sorted(d["id"] for d in _split(home, commercial, split))
    assert {i["source"] for i in manifest["inputs"]} >= {"CNEDiMTS", "UD_French-GSD.dev"}
    assert all(len(i["file_hash"]) == 64 for i in manifest["inputs"])
    assert set(manifest["cleaning"]["rules"]) >= {"nfc", "control_chars", "short_docs"}
    card = (folder / "README.md").read_text()
    assert "Licence Ouverte / Etalab" in card and "github:armandviolle/partages" in card
    assert "Commercial use allowed" in card
    assert "| -" not in card          # a step that adds words (a tag replaced by a space) says so, never "-2 removed"
    # the card's metadata as the Hub reads it: licence identifiers it lists (Etalab's named, with its link)
    from huggingface_hub import DatasetCard

    from backend.hub_licences import HUB_LICENCES

    data = DatasetCard.load(folder / "README.md").data
    ids = data.license if isinstance(data.license, list) else [data.license]
    assert ids and set(ids) <= HUB_LICENCES and "other" in ids and "cc-by-4.0" in ids
    assert data.license_name == "licence-ouverte-etalab" and data.license_link.startswith("https://www.etalab.gouv.fr")
    assert data.language == ["fr"] and data.configs[0]["config_name"] == "default"


def test_same_recipe_same_id_not_rebuilt(studio_dirs, commercial):
    db, home = studio_dirs
    folder = home / "snapshots" / commercial["snapshot_id"]
    mtime = (folder / "train.parquet").stat().st_mtime
    again = snapshot.build_snapshot(db, home, Recipe(name="another label"))
    assert again["snapshot_id"] == commercial["snapshot_id"] and again["reused"] is True
    assert (folder / "train.parquet").stat().st_mtime == mtime
    other = snapshot.snapshot_id(Recipe(seed=7), snapshot.select_sources(db, Recipe(seed=7)))
    assert other != commercial["snapshot_id"]


def test_research_mode_marks_snapshot_non_commercial_everywhere(studio_dirs):
    db, home = studio_dirs
    result = snapshot.build_snapshot(db, home, Recipe(license_mode="research", sources=["cas", "mantra_gsc"]))
    assert result["commercial_use"] is False
    assert db["snapshots"].get(result["snapshot_id"])["commercial_use"] == 0
    folder = home / "snapshots" / result["snapshot_id"]
    assert json.loads((folder / "manifest.json").read_text())["commercial_use"] is False
    assert "NON-COMMERCIAL" in (folder / "README.md").read_text()
    assert {d["source"] for d in _split(home, result, "train")} == {"cas", "mantra_gsc"}


def test_weights_budget_and_replay(studio_dirs):
    db, home = studio_dirs
    base = Recipe(sources=["mantra_gsc", "pxcorpus"], cleaning={"near_dedup": False})
    plain = snapshot.build_snapshot(db, home, base)
    doubled = snapshot.build_snapshot(db, home, base.model_copy(update={"weights": {"mantra_gsc": 2.0}}))
    count = lambda r, s: sum(d["source"] == s for d in _split(home, r, "train"))
    assert count(doubled, "mantra_gsc") == 2 * count(plain, "mantra_gsc")
    assert count(doubled, "pxcorpus") == count(plain, "pxcorpus")

    budget = snapshot.build_snapshot(db, home, base.model_copy(update={"target_tokens": 20_000}))
    tokens = budget["out"]["train"]["tokens"]
    longest = max(d["n_tokens"] for d in _split(home, budget, "train"))
    assert 20_000 <= tokens <= 20_000 + 2 * longest

    replay = snapshot.build_snapshot(db, home, base.model_copy(update={"replay_fraction": 0.25}))
    train = _split(home, replay, "train")
    general = sum(d["n_tokens"] for d in train if d["source"].startswith("UD_"))
    assert {d["source"] for d in train if d["source"].startswith("UD_")} <= {"UD_French-Sequoia.train",
                                                                             "UD_French-Rhapsodie.train"}
    assert 0.2 <= general / sum(d["n_tokens"] for d in train) <= 0.3


def test_bad_recipes_are_refused_with_the_field_named_and_nothing_lost(studio_dirs, commercial, tmp_path):
    db, home = studio_dirs
    with pytest.raises(CorpusInputError, match="recipe.sources: unknown domain source 'Nope'"):
        snapshot.build_snapshot(db, home, Recipe(sources=["Nope"]))
    with pytest.raises(CorpusInputError, match="weights.mantra_gsc: Input should be greater than or equal to 0"):
        parse_recipe({"weights": {"mantra_gsc": -1}})
    with pytest.raises(CorpusInputError, match="recipe.weights: unknown domain source 'Ghost'"):
        snapshot.build_snapshot(db, home, Recipe(weights={"Ghost": 1}))
    with pytest.raises(CorpusInputError, match="cas do\\(es\\) not allow commercial use"):
        snapshot.build_snapshot(db, home, Recipe(sources=["cas"]))
    with pytest.raises(CorpusInputError, match="colour: Extra inputs are not permitted"):
        parse_recipe({"colour": "blue"})
    bad = tmp_path / "r.yaml"
    bad.write_text("sources: [unclosed\n")
    with pytest.raises(CorpusInputError, match="r.yaml: not valid YAML"):
        load_recipe(bad)
    assert commercial["snapshot_id"] in [s["id"] for s in snapshot.list_snapshots(db)]
    assert snapshot.load_manifest(db, commercial["snapshot_id"])["id"] == commercial["snapshot_id"]
