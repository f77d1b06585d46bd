"""Corpus cleaning: the FlauBERT-style rules of the PARTAGES paper as named, individually switchable steps.

Rules run in the order of RULES on each document's text; `short_docs` then drops documents with too few
letter-only words. `clean_documents` applies them to a list of records and reports what each rule did
(backend.corpus.cleaning_batch).
"""
from __future__ import annotations

import functools
import html
import re
import unicodedata
from typing import Callable, Iterable

from pydantic import BaseModel, ConfigDict, Field

from frbio_core.config import labels

RULES: list[tuple[str, str]] = [
    ("nfc", "Unicode NFC normalisation"),
    ("control_chars", "Remove control, private-use and invisible format characters"),
    ("urls_html", "Remove URLs and HTML tags; unescape HTML entities"),
    ("apostrophes", "Normalise apostrophe variants (’ ‘ ʼ ` ´) to '"),
    ("char_whitelist", "Keep only letters, digits, whitespace and common punctuation/symbols"),
    ("long_words", "Remove over-long 'words' (PDF/URL debris)"),
    ("whitespace", "Collapse spaces and blank lines, strip lines"),
    ("short_docs", "Drop documents with too few letter-only words"),
]
TEXT_RULES = [name for name, _ in RULES if name != "short_docs"]

# Punctuation and symbols kept by `char_whitelist` besides letters (any script), combining marks, digits
# (any numeric character) and whitespace. Chosen from what French medical text uses: typographic quotes and
# dashes, units, comparison and dosage signs, arrows of clinical notes, ® of drug names. The apostrophe
# variants are kept too so that switching `apostrophes` off does not delete them.
ALLOWED_SYMBOLS = (
    ".,;:!?'\"()[]{}-/\\|%+=<>*&#@_~^$"
    "«»“”„‚‹›–—‐‑−…·"
    "’‘ʼ`´′″"
    "€£¥¢§¶°‰×÷±≤≥≈≠∞√µ"
    "†‡®©™→←↑↓↔⇒⇔"
)

# C0/C1 controls that stand for a line break or a word gap; kept as such so words are not glued together.
_CONTROL_BREAKS = {"\r\n": "\n", "\r": "\n", "\x0b": "\n", "\x0c": "\n", "\x1c": "\n", "\x1d": "\n",
                   "\x1e": "\n", "\x1f": " "}
_INLINE_TAGS = "a|abbr|b|big|code|em|font|i|s|small|span|strong|sub|sup|u"
_BLOCK_TAGS = ("article|blockquote|body|br|caption|center|dd|div|dl|dt|figcaption|figure|footer|h[1-6]|head|"
               "header|hr|html|img|li|link|math|meta|nav|nowiki|ol|p|pre|ref|references|section|table|tbody|"
               "td|tfoot|th|thead|title|tr|ul")


def _tag_re(names: str, extra: str = "") -> re.Pattern:
    """Tags by name, all lower- or all upper-case (a capitalised '<Code spécialité>' is prose, not HTML)."""
    both = f"{names}|{names.upper()}"
    return re.compile(extra + r"</?(?:%s)\b[^<>]{0,500}?/?>" % both, re.S)


_TAG_RE = _tag_re(_BLOCK_TAGS, r"<!--.*?-->|<(script|style|SCRIPT|STYLE)\b[^>]*>.*?</\1\s*>|")
_INLINE_TAG_RE = _tag_re(_INLINE_TAGS)
_ENTITY_RE = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# URL up to whitespace/quotes, not ending with sentence punctuation or a closing bracket.
_URL_RE = re.compile(r"(?:\b(?:https?|ftp)://|(?<![\w.@/])www\.)[^\s<>\"«»]*[^\s<>\"«».,;:!?)\]'’]")
_APOSTROPHES = "’‘ʼ`´"
_NEWLINES_RE = re.compile(r"\n{3,}")


class CleaningConfig(BaseModel):
    """Corpus cleaning and deduplication recipe (rules in the paper's order, then deduplication)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    nfc: bool = Field(True, description="Normalise Unicode to NFC, so that an accented letter has one encoding.",
        json_schema_extra=labels("Unicode NFC normalisation", "Normalisation Unicode NFC",
            description_fr="Normaliser l'Unicode en NFC, pour qu'une lettre accentuée n'ait qu'un seul codage."))
    control_chars: bool = Field(True, description=(
        "Remove control characters (except newline and tab), private-use characters and invisible format "
        "characters such as U+200E or U+FEFF, left by PDF extraction. Windows-1252 bytes misread as control "
        "characters are restored (U+0092 becomes ’)."),
            json_schema_extra=labels("Remove control characters", "Supprimer les caractères de contrôle",
            description_fr=('Supprimer les caractères de contrôle (sauf saut de ligne et tabulation), les caractères à '
                'usage privé et les caractères de format invisibles comme U+200E ou U+FEFF, laissés par '
                "l'extraction des PDF. Les octets Windows-1252 lus à tort comme caractères de contrôle sont "
                'rétablis (U+0092 devient ’).')))
    urls_html: bool = Field(True, description=(
        "Remove web addresses (http://…, www.…) and HTML tags; turn HTML entities such as &amp; into their "
        "character (unknown entities are removed)."),
            json_schema_extra=labels("Remove URLs and HTML", "Supprimer les URL et le HTML",
            description_fr=('Supprimer les adresses web (http://…, www.…) et les balises HTML ; remplacer les entités '
                'HTML comme &amp; par leur caractère (les entités inconnues sont supprimées).')))
    apostrophes: bool = Field(True, description="Replace apostrophe variants (’ ‘ ʼ ` ´) with the plain apostrophe '.",
        json_schema_extra=labels("Normalise apostrophes", "Uniformiser les apostrophes",
            description_fr="Remplacer les variantes d'apostrophe (’ ‘ ʼ ` ´) par l'apostrophe simple '."))
    char_whitelist: bool = Field(True, description=(
        "Keep only letters of any alphabet, digits, whitespace and the punctuation and symbols common in French "
        "medical text (« » ° % µ ± ≤ ≥ € …); remove the rest, e.g. emoji, bullets, box-drawing characters."),
            json_schema_extra=labels("Keep allowed characters only", "Ne garder que les caractères admis",
            description_fr=('Ne garder que les lettres de tout alphabet, les chiffres, les espaces et la ponctuation et '
                'les symboles courants des textes médicaux français (« » ° % µ ± ≤ ≥ € …) ; supprimer le '
                'reste, par ex. émojis, puces, caractères de dessin de cadres.')))
    long_words: bool = Field(True, description=(
        "Remove 'words' (runs of non-space characters) of max_word_length characters or more: garbled PDF "
        "text, glued-together tokens, but also long chemical names and hyphenated compounds."),
            json_schema_extra=labels("Remove over-long words", "Supprimer les mots trop longs",
            description_fr=("Supprimer les « mots » (suites de caractères sans espace) d'au moins max_word_length "
                'caractères : texte PDF abîmé, tokens collés, mais aussi longs noms chimiques et mots '
                'composés.')))
    whitespace: bool = Field(True, description=(
        "Collapse runs of spaces and tabs to one space and 3 or more line breaks to a blank line; strip spaces "
        "at the start and end of lines."), json_schema_extra=labels("Normalise whitespace", "Uniformiser les espaces",
            description_fr=("Réduire les suites d'espaces et de tabulations à une espace, et 3 sauts de ligne ou plus à "
                'une ligne vide ; ôter les espaces en début et en fin de ligne.')))
    short_docs: bool = Field(True, description=(
        "Drop documents with fewer than min_letter_words words made of letters (surrounding punctuation and inner "
        "apostrophes or hyphens allowed): empty, number-only or debris-only documents."),
            json_schema_extra=labels("Drop very short documents", "Écarter les documents très courts",
            description_fr=('Écarter les documents de moins de min_letter_words mots faits de lettres (ponctuation autour'
                " et apostrophes ou traits d'union internes admis) : documents vides, faits de nombres ou de "
                'débris.')))
    max_word_length: int = Field(35, ge=5, le=1000, description=(
        "Words this many characters long or longer are removed by the long_words rule."),
            json_schema_extra=labels("Longest word kept (characters)", "Mot le plus long conservé (caractères)",
            description_fr="Les mots d'au moins ce nombre de caractères sont supprimés par la règle long_words."))
    min_letter_words: int = Field(3, ge=0, description=(
        "Documents with fewer letter-only words than this are dropped by the short_docs rule."),
            json_schema_extra=labels("Fewest words per document", "Nombre minimal de mots par document",
            description_fr=('Les documents de moins de mots faits de lettres que cela sont écartés par la règle '
                'short_docs.')))
    exact_dedup: bool = Field(True, description="Remove documents whose text is identical to an earlier document.",
        json_schema_extra=labels("Exact deduplication", "Dédoublonnage exact",
            description_fr="Supprimer les documents dont le texte est identique à celui d'un document précédent."))
    near_dedup: bool = Field(True, description=(
        "Remove near-duplicate documents (MinHash LSH on word n-grams), keeping the earliest of each group."),
            json_schema_extra=labels("Near-duplicate removal (MinHash)", "Suppression des quasi-doublons (MinHash)",
            description_fr=('Supprimer les quasi-doublons (MinHash LSH sur des n-grammes de mots), en gardant le premier '
                'de chaque groupe.')))
    near_threshold: float = Field(0.8, gt=0, le=1, json_schema_extra=labels(
        "Near-duplicate similarity threshold", "Seuil de similarité des quasi-doublons", ui="slider", step=0.01,
            description_fr=('Similarité de Jaccard estimée des ensembles de n-grammes de mots à partir de laquelle deux '
                'documents comptent comme quasi-doublons.')),
        description="Estimated Jaccard similarity of word n-gram sets from which two documents count as "
                    "near-duplicates.")
    ngram: int = Field(5, ge=1, le=20, description="Words per shingle for near-duplicate detection.",
        json_schema_extra=labels("Words per n-gram", "Mots par n-gramme",
            description_fr='Mots par n-gramme pour la détection des quasi-doublons.'))
    num_perm: int = Field(128, ge=16, le=1024, description=(
        "MinHash permutations: more is more precise and slower."),
            json_schema_extra=labels("MinHash permutations", "Permutations MinHash",
            description_fr="Permutations MinHash : plus il y en a, plus c'est précis et lent."))


# ---------------------------------------------------------------- character classes (built once per process)
# A BMP class compiles to a bitmap (one lookup per character). Astral characters (emoji, math letters), rare
# here, share one range in the class and are judged one by one when matched.

_ASTRAL = "\\U00010000-\\U0010ffff"
_HSPACE = "".join(ch for ch in map(chr, range(0x10000)) if ch.isspace() and ch not in "\n\u2028\u2029")
_ODD_SPACE_RE = re.compile("[%s]" % re.escape(_HSPACE.replace(" ", "")))
_HSPACE_RE = re.compile("[ ][%s]+|[%s][%s]*" % (re.escape(_HSPACE), re.escape(_HSPACE.replace(" ", "")),
                                                   re.escape(_HSPACE)))


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") and ch not in "\n\t"


def _is_allowed(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LMN" or ch.isspace() or ch in ALLOWED_SYMBOLS


def _bmp_ranges(pred: Callable[[str], bool]) -> str:
    ranges: list[list[int]] = []
    for cp in range(0x10000):
        if pred(chr(cp)):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])
    return "".join(f"\\u{lo:04x}-\\u{hi:04x}" for lo, hi in ranges)


# Built at import (~0.1 s), so that pool workers forked from a preloaded forkserver get them for free.
_CONTROL_RE = re.compile("[%s%s]" % (_bmp_ranges(_is_control), _ASTRAL))
_CONTROL_SUB_RE = re.compile(r"\r\n|" + _CONTROL_RE.pattern)
_DISALLOWED_RE = re.compile("[%s%s]+" % (_bmp_ranges(lambda ch: not _is_allowed(ch)), _ASTRAL))


def _control_replacement(match: re.Match) -> str:
    ch = match.group()
    if ch in _CONTROL_BREAKS:
        return _CONTROL_BREAKS[ch]
    if "\x80" <= ch <= "\x9f":  # C1 control: almost always a Windows-1252 byte decoded as Latin-1
        try:
            return bytes([ord(ch)]).decode("cp1252")
        except UnicodeDecodeError:
            return ""
    return ch if ch > "\uffff" and not _is_control(ch) else ""


def _disallowed_replacement(match: re.Match) -> str:
    return "".join(ch for ch in match.group() if ch > "\uffff" and _is_allowed(ch))


# ---------------------------------------------------------------- the rules: (text, cfg) -> text

def _nfc(text: str, cfg: CleaningConfig) -> str:
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def _control_chars(text: str, cfg: CleaningConfig) -> str:
    return _CONTROL_SUB_RE.sub(_control_replacement, text) if _CONTROL_RE.search(text) else text


def _entity(match: re.Match) -> str:
    entity = match.group()
    char = html.unescape(entity)
    return "" if char == entity else char


def _urls_html(text: str, cfg: CleaningConfig) -> str:
    if "://" in text or "www." in text:
        text = _URL_RE.sub("", text)
    if "<" in text:
        text = _INLINE_TAG_RE.sub("", _TAG_RE.sub(" ", text))
    if "&" in text:
        text = _ENTITY_RE.sub(_entity, text)
    return text


def _apostrophes(text: str, cfg: CleaningConfig) -> str:
    for ch in _APOSTROPHES:  # str.replace per variant beats str.translate on non-ASCII text
        if ch in text:
            text = text.replace(ch, "'")
    return text


def _char_whitelist(text: str, cfg: CleaningConfig) -> str:
    return _DISALLOWED_RE.sub(_disallowed_replacement, text) if _DISALLOWED_RE.search(text) else text


@functools.lru_cache(maxsize=8)
def _long_word_re(n: int) -> re.Pattern:
    return re.compile(r"\S{%d,}" % n)


def _long_words(text: str, cfg: CleaningConfig) -> str:
    if max(map(len, text.split()), default=0) < cfg.max_word_length:  # cheaper than the regex scan
        return text
    return _long_word_re(cfg.max_word_length).sub("", text)


def _whitespace(text: str, cfg: CleaningConfig) -> str:
    if "\u2028" in text or "\u2029" in text:
        text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    if "  " in text or _ODD_SPACE_RE.search(text):
        text = _HSPACE_RE.sub(" ", text)  # after this, at most one space on each side of a newline
    if " \n" in text or "\n " in text:
        text = text.replace(" \n", "\n").replace("\n ", "\n")
    if "\n\n\n" in text:
        text = _NEWLINES_RE.sub("\n\n", text)
    return text.strip()


_EDGE_PUNCT = ".,;:!?\"'()[]{}«»“”‹›…*-–—/"


def _is_letter_word(word: str) -> bool:
    """Letters only, ignoring surrounding punctuation and inner apostrophes/hyphens ("l'hôpital," counts)."""
    return word.strip(_EDGE_PUNCT).replace("'", "").replace("-", "").isalpha()


def _enough_letter_words(text: str, cfg: CleaningConfig) -> bool:
    need = cfg.min_letter_words
    if need <= 0:
        return True
    for word in text.split():
        if _is_letter_word(word):
            need -= 1
            if need == 0:
                return True
    return False


RULE_FUNCS: dict[str, Callable[[str, CleaningConfig], str]] = {
    "nfc": _nfc, "control_chars": _control_chars, "urls_html": _urls_html, "apostrophes": _apostrophes,
    "char_whitelist": _char_whitelist, "long_words": _long_words, "whitespace": _whitespace,
}


def clean_text(text: str, cfg: CleaningConfig | None = None) -> str | None:
    """The cleaned text, or None when the document is dropped (short_docs)."""
    cfg = cfg or CleaningConfig()
    for name in TEXT_RULES:
        if getattr(cfg, name):
            text = RULE_FUNCS[name](text, cfg)
    if cfg.short_docs and not _enough_letter_words(text, cfg):
        return None
    return text


# ---------------------------------------------------------------- documents

def clean_documents(docs: Iterable[dict], cfg: CleaningConfig | None = None, workers: int = 1,
                    n_examples: int = 3, progress: Callable[[float, str], None] | None = None
                    ) -> tuple[list[dict], dict]:
    """Clean `docs`; returns the kept documents (copies with cleaned text, input order) and a per-rule report
    (in parallel processes for a large corpus: backend.corpus.cleaning_batch)."""
    from backend.corpus.cleaning_batch import clean_documents as clean

    return clean(docs, cfg, workers, n_examples, progress)
