"""Licences as the Hugging Face Hub's card metadata wants them: `license:` takes one of the Hub's identifiers
(https://huggingface.co/docs/hub/repositories-licenses, copied below: huggingface_hub itself ships no list), a
licence the Hub does not list is `license: other` with `license_name` (a slug) and `license_link`. A source's free
text ("CC BY-SA 3.0 / GFDL", "Licence Ouverte / Etalab") maps to its identifiers here, once, for every card."""
from __future__ import annotations

import re

HUB_LICENCES = frozenset({
    "apache-2.0", "mit", "openrail", "bigscience-openrail-m", "creativeml-openrail-m", "bigscience-bloom-rail-1.0",
    "bigcode-openrail-m", "afl-3.0", "artistic-2.0", "bsl-1.0", "bsd", "bsd-2-clause", "bsd-3-clause",
    "bsd-3-clause-clear", "c-uda", "cc", "cc0-1.0", "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0",
    "cc-by-sa-3.0", "cc-by-sa-4.0", "cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nd-4.0",
    "cc-by-nc-nd-3.0", "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0",
    "cdla-sharing-1.0", "cdla-permissive-1.0", "cdla-permissive-2.0", "wtfpl", "ecl-2.0", "epl-1.0", "epl-2.0",
    "etalab-2.0", "eupl-1.1", "eupl-1.2", "agpl-3.0", "gfdl", "gpl", "gpl-2.0", "gpl-3.0", "lgpl", "lgpl-2.1",
    "lgpl-3.0", "isc", "h-research", "intel-research", "lppl-1.3c", "ms-pl", "apple-ascl", "apple-amlr",
    "mpl-2.0", "odc-by", "odbl", "openmdw-1.0", "openrail++", "osl-3.0", "postgresql", "ofl-1.1", "ncsa",
    "unlicense", "zlib", "pddl", "lgpl-lr", "deepfloyd-if-license", "fair-noncommercial-research-license",
    "llama2", "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4", "gemma", "other", "unknown",
})
# The sources' licence the Hub does not list (Etalab's Licence Ouverte, no version named): its name and link.
ETALAB = ("licence-ouverte-etalab", "https://www.etalab.gouv.fr/licence-ouverte-open-licence/")
_CC = re.compile(r"\bcc[\s-]*(by(?:[\s-]*(?:nc|sa|nd))*)[\s-]*(\d\.\d)\b")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-")[:64] or "unknown"


def identifiers(text: str | None) -> list[tuple[str, str | None, str | None]]:
    """(Hub id, licence name, link) for each licence of a free-text licence field ('A / B' names two: either
    applies); the name and link only for `other`."""
    out = []
    for part in re.split(r"\s+/\s+|\s+or\s+", (text or "").strip()) if text else []:
        low = part.lower().strip()
        if not low:
            continue
        cc = _CC.search(low)
        if low in HUB_LICENCES:
            out.append((low, None, None))
        elif re.search(r"\s+and\s+", low):       # every one of them applies (a merge's parents): one named licence
            out.append(("other", slug(part), None))
        elif cc:
            out.append((f"cc-{'-'.join(re.findall(r'by|nc|sa|nd', cc.group(1)))}-{cc.group(2)}", None, None))
        elif "etalab" in low or "licence ouverte" in low or "open licence" in low:
            out.append(("other", *ETALAB))
        elif re.fullmatch(r"g?fdl(-1\.[23])?|gnu free documentation licen[cs]e", low):
            out.append(("gfdl", None, None))
        elif re.fullmatch(r"apache(\s*licen[cs]e)?[\s-]*(version\s*)?2(\.0)?", low):
            out.append(("apache-2.0", None, None))
        elif low in ("mit license", "mit licence"):
            out.append(("mit", None, None))
        else:
            out.append(("other", slug(part), None))
    ids = [(i, n, link) if i in HUB_LICENCES else ("other", n or i, link) for i, n, link in out]  # e.g. cc-by-nd-3.0
    return list(dict.fromkeys(ids)) or [("unknown", None, None)]


def card_fields(texts: list[str | None], single: bool = False) -> dict:
    """The card metadata for the licences in `texts`: {license (an id, or a list of ids unless `single`),
    license_name, license_link (for the licences the Hub does not list)}."""
    found = [x for text in texts for x in identifiers(text)]
    ids = list(dict.fromkeys(i for i, _, _ in found))
    others = list(dict.fromkeys((n, link) for i, n, link in found if i == "other" and n))
    if single and len(ids) > 1:
        others = [(slug(" and ".join(t for t in texts if t)), None)]
        ids = ["other"]
    fields: dict = {"license": ids[0] if single or len(ids) == 1 else ids}
    if others:
        fields["license_name"] = "-and-".join(n for n, _ in others)[:96]
        links = [link for _, link in others if link]
        if len(links) == 1 and len(others) == 1:
            fields["license_link"] = links[0]
    return fields
