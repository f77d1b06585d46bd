"""`python -m backend corpus show SNAPSHOT`: read a built snapshot from the command line, as the Corpus tab's "Read a
snapshot" does: a page of 20 documents of a split (and source), a search, or one document before and after cleaning
(removed parts as [-…-], what replaced them as {+…+}) with its near-duplicate cluster."""
from __future__ import annotations

import json


def _emit(args, payload, text: str) -> None:
    print(json.dumps(payload, indent=1, ensure_ascii=False, default=str) if args.json else text)


def _page_text(snap: str, result: dict) -> str:
    what = f"{result['split']}" + (f" · source {result['source']}" if result["source"] else "")
    found = f"{result['total']:,} documents" + (f" matching «{result['query']}»" if result["query"] else "")
    lines = [f"{snap} · {what} · {found} · page {result['page']} / {result['pages']}"]
    first = (result["page"] - 1) * 20
    width = max([len(d["id"]) for d in result["documents"]] + [2])
    for i, d in enumerate(result["documents"]):
        lines.append(f"{first + i + 1:>5}  {d['id']:<{width}}  {d['source']:<20} {d['n_words']:>7,}  {d['excerpt']}")
    return "\n".join(lines)


def _document_text(view: dict, cluster: dict) -> str:
    from backend.corpus.doc_view import visible

    marks = {"=": "{}", "-": "[-{}-]", "+": "{{+{}+}}"}
    body = "".join(marks[op].format(text if op == "=" else visible(text, spaces=text.isspace()))
                   for text, op in view["segments"])
    head = (f"{view['id']} · {view['source']} · {view['split']} row {view['row']} · {view['n_words']:,} words · "
            f"{view['removed_chars']:,} characters removed by cleaning, {view['inserted_chars']:,} put in their place")
    notes = [f"source file: {view['state']}"] if view["state"] != "ok" else []
    if view["reproduced"] is False:
        notes.append("cleaning the raw text again gives another result (the rules changed since the build)")
    if view["truncated"]:
        notes.append("(only the beginning is shown)")
    if not cluster["recorded"]:
        dup = "duplicates: not recorded for this snapshot (built before the builds recorded them)"
    elif cluster["role"] == "unique":
        dup = "duplicates: none removed"
    else:
        kept = cluster["kept"]
        where = ", ".join(f"{s} row {r}" for s, r in kept["where"][:3]) or "not in the snapshot"
        dup = (f"duplicate cluster: kept {kept['id']} ({kept['source']}; {where}); removed: "
               + "; ".join(f"{m['id']} ({m['kind']}" + (f", similarity {m['similarity']:.2f})" if m["kind"] == "near"
                                                        else ")") for m in cluster["members"]))
    return "\n".join([head, *notes, "", body, "", dup])


def cmd_show(studio, args) -> None:
    from backend.corpus import doc_view, viewer

    folder, row = viewer.find_snapshot(studio.db, args.snapshot)
    if args.doc:
        split, position = viewer.find_document(folder, args.doc, args.source, args.split)
        view = doc_view.cleaning_view(studio.db, folder, viewer.read_manifest(folder), split, position)
        cluster = doc_view.duplicate_cluster(folder, split, position)
        _emit(args, {**view, "duplicates": cluster}, _document_text(view, cluster))
        return
    split = args.split or "train"
    if args.search:
        result = viewer.search(folder, args.search, split, args.source, args.page)
    else:
        result = viewer.page(folder, split, args.source, args.page)
    _emit(args, result, _page_text(row["id"], result))


def add_show_command(corpus) -> None:
    """`corpus show` under the `corpus` sub-commands."""
    p = corpus.add_parser("show", help="read a snapshot: a page of documents, a search, or one document before and "
                          "after cleaning with its duplicate cluster")
    p.add_argument("snapshot", help="snapshot id (snap-…) or name")
    p.add_argument("--split", help="train (default), validation, general_validation or dropped_duplicates")
    p.add_argument("--source", help="only this source's documents")
    p.add_argument("--search", metavar="TEXT", help='words (all required), "a phrase", or a prefix*')
    p.add_argument("--page", type=int, default=1, help="page of 20 documents (default 1)")
    p.add_argument("--doc", metavar="ID", help="show this document before and after cleaning, and its duplicates")
    p.set_defaults(func=cmd_show)
