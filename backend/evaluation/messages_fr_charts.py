"""French for the Compare tab's and the trajectory's charts (backend.evaluation.charts; frbio_core.translations)."""

FR: dict[str, str] = {
    "Benchmarks (higher is better)": "Jeux d'évaluation (plus haut = meilleur)",
    "Benchmarks (higher is better; ± standard error)": "Jeux d'évaluation (plus haut = meilleur ; ± erreur type)",
    "score": "score",
    "Domain vs general perplexity (lower is better on both axes)":
        "Perplexité du domaine et perplexité générale (plus bas = meilleur sur les deux axes)",
    "general (French)": "général (français)",
    "general-domain perplexity (French)": "perplexité en domaine général (français)",
    "domain perplexity (biomedical validation)": "perplexité du domaine (validation biomédicale)",
    "no perplexity results yet (add the perplexity task)":
        "pas encore de résultat de perplexité (ajoutez le jeu d'évaluation de perplexité)",
    "Scores along training (base = step 0)": "Scores au fil de l'entraînement (modèle de base = pas 0)",
    "step": "pas", "step {step}": "pas {step}", "training step": "pas d'entraînement",
    "no result yet: evaluate the trajectory": "pas encore de résultat : évaluez la trajectoire",
    "Domain against general score, in training order": "Score du domaine et score général, dans l'ordre de l'entraînement",
    "general": "général",
    "general score (mean of the general benchmarks)": "score général (moyenne des jeux d'évaluation généraux)",
    "domain score (mean of the medical benchmarks)": "score du domaine (moyenne des jeux d'évaluation médicaux)",
    "needs a medical and a general benchmark": "il faut un jeu d'évaluation médical et un général",
}
