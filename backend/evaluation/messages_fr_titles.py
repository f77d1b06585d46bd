"""French of the built-in benchmarks' titles, from their folders (a benchmark's metadata lives in its folder), so a
title inside a stored sentence (a study's findings) reads in French too (frbio_core.translations)."""
from backend.evaluation.benchmarks import builtin

FR: dict[str, str] = {s.title: s.title_fr for s in builtin().values() if s.title_fr and s.title_fr != s.title
                      and "{" not in s.title + s.title_fr}
