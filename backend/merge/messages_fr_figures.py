"""French for the Merge tab's sweep chart (backend.merge.figures; frbio_core.translations)."""

FR: dict[str, str] = {
    "domain perplexity (snapshot validation)": "perplexité du domaine (validation de l'instantané)",
    "general perplexity ({metric})": "perplexité générale ({metric})",
}
