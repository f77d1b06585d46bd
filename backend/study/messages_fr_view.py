"""French for what the Reproduce tab shows of a study: its status line, stage titles, artefacts, results table,
findings and trade-off figure (backend.study.view, results, figures; frbio_core.translations)."""

FR: dict[str, str] = {
    # status line and stages
    "stage `{stage}` · started {started}": "étape `{stage}` · démarrée le {started}",
    "{wall} so far": "{wall} jusqu'ici",
    "total {wall}": "{wall} au total",
    "**Resume** continues from this stage; what finished is reused.":
        "**Reprendre** repart de cette étape ; ce qui est terminé est réutilisé.",
    "done": "terminée", "pending": "à venir", "deleted": "supprimée", "succeeded": "réussie",
    "Corpus snapshot (commercial sources, the paper's cleaning)":
        "Instantané du corpus (sources commerciales, nettoyage de l'article)",
    "DAPT of the base model": "DAPT du modèle de base",
    "SLERP sweep between base and DAPT": "Balayage SLERP entre le modèle de base et le modèle DAPT",
    "Merged models saved (t = 0.5, the best t, the best checkpoint at t = 0.5)":
        "Modèles fusionnés enregistrés (t = 0,5, le meilleur t, le meilleur point de contrôle à t = 0,5)",
    "Benchmarks and perplexities": "Jeux d'évaluation et perplexités",
    "Report (HTML and JSON)": "Rapport (HTML et JSON)",
    # artefacts: what, and where to see it
    "corpus snapshot": "instantané du corpus", "Corpus → Snapshots": "Corpus → Instantanés",
    "snapshot job": "tâche d'instantané", "DAPT training job": "tâche d'entraînement DAPT",
    "SLERP sweep job": "tâche de balayage SLERP", "Jobs (log, curves)": "Tâches (journal, courbes)",
    "DAPT model": "modèle DAPT", "Models, Generate, Compare": "Modèles, Générer, Comparer",
    "best sweep point": "meilleur point du balayage", "the trade-off figure above": "la figure du compromis ci-dessus",
    "merged model (SLERP {label})": "modèle fusionné (SLERP {label})",
    "Models, Generate, Compare, Merge": "Modèles, Générer, Comparer, Fusionner",
    "mergekit YAML ({label})": "YAML mergekit ({label})", "re-run with mergekit-yaml": "à relancer avec mergekit-yaml",
    "evaluation: {model} / {task}": "évaluation : {model} / {task}", "perplexity": "perplexité",
    "Perplexity (domain vs general)": "Perplexité (domaine vs général)", "Compare (cached)": "Comparer (en cache)",
    "report (HTML)": "rapport (HTML)", "report in French (HTML)": "rapport en français (HTML)",
    "download below": "à télécharger ci-dessous",
    "every number (JSON)": "tous les chiffres (JSON)",
    # the compared models' names (results.role_label)
    "base": "modèle de base", "SLERP t=0.5": "SLERP t=0,5", "best SLERP t={t}": "meilleur SLERP t={t}",
    "checkpoint step {step}": "point de contrôle du pas {step}", "SLERP t=0.5 of step {step}": "SLERP t=0,5 du pas {step}",
    # results table
    "task": "jeu d'évaluation", "metric": "mesure", "Δ {model}": "Δ {model}",
    # findings (results.findings)
    "{who} vs the base, perplexity: {changes_list}.":
        "{who} par rapport au modèle de base, perplexité : {changes_list}.",
    "{name}: {before} → {after} ({change})": "{name} : {before} → {after} ({change})",
    "DAPT ({steps} steps, {tokens} M tokens)": "La DAPT ({steps} pas, {tokens} M tokens)",
    "Merging at t = 0.5": "La fusion à t = 0,5",
    "The best sweep point (t = {t})": "Le meilleur point du balayage (t = {t})",
    "The best checkpoint by {by} perplexity ({label})": "Le meilleur point de contrôle selon la perplexité {by} ({label})",
    "Merging that checkpoint at t = 0.5": "La fusion de ce point de contrôle à t = 0,5",
    "domain (biomedical validation)": "domaine (validation biomédicale)", "general French": "français général",
    "general English": "anglais général",
    "{who} keeps {kept} % of the domain perplexity gain of DAPT.":
        "{who} garde {kept} % du gain de perplexité de la DAPT sur le domaine.",
    "{who} keeps {kept} % of the domain perplexity gain of DAPT and recovers {recovered} % of its general-English "
    "loss.": "{who} garde {kept} % du gain de perplexité de la DAPT sur le domaine et regagne {recovered} % de sa "
             "perte en anglais général.",
    "{task}, {metric}, {model}: {value} vs base {base}, {delta} [95 % CI {low}, {high}], p = {p} after Holm: {said}; "
    "n = {n}.": "{task}, {metric}, {model} : {value} contre {base} pour le modèle de base, {delta} [IC 95 % {low}, "
                "{high}], p = {p} après Holm : {said} ; n = {n}.",
    "{task}, {metric}, {model}: {value} vs base {base}, {delta}; n = {n}.":
        "{task}, {metric}, {model} : {value} contre {base} pour le modèle de base, {delta} ; n = {n}.",
    "{task}, {metric}, {model}: {value} vs base {base}, {delta} (more than 2 standard errors; no per-item test); "
    "n = {n}.": "{task}, {metric}, {model} : {value} contre {base} pour le modèle de base, {delta} (plus de 2 "
                "erreurs types ; pas de test item par item) ; n = {n}.",
    "{task}, {metric}, {model}: {value} vs base {base}, {delta} (within 2 standard errors; no per-item test); "
    "n = {n}.": "{task}, {metric}, {model} : {value} contre {base} pour le modèle de base, {delta} (moins de 2 "
                "erreurs types ; pas de test item par item) ; n = {n}.",
    "better than the base": "meilleur que le modèle de base", "worse than the base": "moins bon que le modèle de base",
    "no difference detectable with {n} items (smallest detectable ≈ {mde})":
        "pas de différence détectable avec {n} items (écart minimal détectable ≈ {mde})",
    "no difference detectable with {n} items": "pas de différence détectable avec {n} items",
    # the trade-off figure (figures.tradeoff_figure)
    "the sweep has not run yet": "le balayage n'a pas encore tourné",
    "general French perplexity": "perplexité en français général",
    "general English perplexity": "perplexité en anglais général",
    "domain vs {axis}": "domaine et {axis}",
    "SLERP sweep (t)": "balayage SLERP (t)", "domain": "domaine",
    "base (t=0)": "modèle de base (t=0)", "DAPT (t=1)": "DAPT (t=1)",
    "best (t={t})": "meilleur (t={t})",
    "{axis} (lower is better)": "{axis} (plus bas = meilleur)",
    "domain perplexity (lower is better)": "perplexité du domaine (plus bas = meilleur)",
    "Specialisation vs forgetting: the SLERP sweep between base and DAPT":
        "Spécialisation et oubli : le balayage SLERP entre le modèle de base et le modèle DAPT",
}
