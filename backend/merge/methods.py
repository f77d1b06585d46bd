"""mergekit's merge methods as config objects: the method registry (`mergekit.merge_methods.registered_methods()`)
and each method's parameter specs become one pydantic class per method (`create_model`), from which the Merge tab's
form, the CLI and the saved config are generated. Nothing here lists a method by hand: a method mergekit registers
is offered when it accepts our two inputs (a base and one DAPT model) and every parameter is a scalar we can render.

Scopes, for a merge of a base B with one DAPT model D:
  shared     one value for the merge (SLERP `t`, TIES `lambda`)
  dapt       a per-model value that only D takes (TIES `weight`, `density`: mergekit's non-base parameters)
  both       a per-model value both take (linear `weight`): the field is D's value; B gets `base_<name>`, by default
             1 − D's value, so linear at weight t is (1 − t)·B + t·D.
The main parameter (`t`, else `weight`) can follow per-layer schedules, separately for attention and MLP tensors
(BioMistral's SLERP `t: [0, 0.5, 0.3, 0.7, 1]`), given as `<main>_attention` / `<main>_mlp` lists.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from backend.errors import MergeError
from frbio_core.config import labels


# What the registry does not say, in one table: each parameter's bounds (pydantic ge/gt/le/lt), a default for a
# required one, its help text, a widget hint (ui) and its label in English and French. Others get a plain box.
KNOWN: dict[str, dict] = {
    "t": dict(ge=0.0, le=1.0, default=0.5,
              label=("t (0 = base model, 1 = DAPT model)", "t (0 = modèle de base, 1 = modèle DAPT)"),
              description="Interpolation factor: 0 gives the base model, 1 the DAPT model (the paper merges at 0.5).",
        description_fr="Facteur d'interpolation : 0 donne le modèle de base, 1 le modèle DAPT (l'article fusionne à 0,5)."),
    "weight": dict(ge=0.0, le=1.0, default=0.5, label=("Weight of the DAPT model", "Poids du modèle DAPT"),
                   description="Weight of the DAPT model (of its difference to the base, for task-arithmetic "
                               "methods).",
        description_fr="Poids du modèle DAPT (de sa différence au modèle de base, pour les méthodes d'arithmétique de tâches)."),
    "base_weight": dict(label=("Weight of the base model (empty: 1 − DAPT weight)",
                               "Poids du modèle de base (vide : 1 − poids du modèle DAPT)")),
    "density": dict(gt=0.0, le=1.0,
                    label=("Density (share of changes kept)", "Densité (part des modifications conservées)"),
                    description="Fraction of the DAPT model's changes kept (in (0, 1]; 1 keeps all). TIES keeps the "
                                "largest, DARE a random subset.",
        description_fr="Part des modifications du modèle DAPT conservées (dans ]0, 1] ; 1 les garde toutes). TIES garde les plus grandes, DARE un sous-ensemble tiré au hasard."),
    "lambda": dict(ge=0.0, le=3.0,
                   label=("Lambda (scale of the merged change)", "Lambda (échelle de la modification fusionnée)"),
                   description="Scale of the merged difference added to the base (1 = as is).",
        description_fr="Échelle de la différence fusionnée ajoutée au modèle de base (1 = telle quelle)."),
    "gamma": dict(ge=0.0, le=0.5,
                  label=("Gamma (share of extreme changes removed)", "Gamma (part des modifications extrêmes retirées)"),
                  description="Fraction of the largest changes removed as outliers (Breadcrumbs).",
        description_fr="Part des plus grandes modifications retirées comme valeurs aberrantes (Breadcrumbs)."),
    "epsilon": dict(label=("Epsilon", "Epsilon")),
    "normalize": dict(label=("Normalise by the weights", "Normaliser par les poids"),
                      description="Divide the combined changes by the sum of the weights.",
        description_fr="Diviser les modifications combinées par la somme des poids."),
    "rescale": dict(label=("Rescale the kept changes", "Remettre à l'échelle les modifications conservées"),
                    description="Rescale the kept changes to the norm of all changes (DARE's rescaling).",
        description_fr="Remettre les modifications conservées à la norme de toutes les modifications (remise à l'échelle de DARE)."),
    "int8_mask": dict(label=("int8 sign mask (less memory)", "Masque de signes int8 (moins de mémoire)"),
                      description="Store the sign-agreement mask as int8 (less memory, same result).",
        description_fr="Stocker le masque d'accord des signes en int8 (moins de mémoire, même résultat)."),
    "select_topk": dict(gt=0.0, le=1.0,
                        label=("Share of elements kept (top-k)", "Part des éléments conservés (top-k)"),
                        description="Fraction of the highest-variance elements kept (SCE).",
        description_fr="Part des éléments de plus forte variance conservés (SCE)."),
    "normalize_weights": dict(label=("Normalise the weights", "Normaliser les poids"),
                              description="Normalise the weights to sum to 1.",
        description_fr="Normaliser les poids pour que leur somme fasse 1."),
    "nuslerp_row_wise": dict(label=("Row-wise interpolation", "Interpolation par lignes"),
                             description="Interpolate row vectors instead of column vectors.",
        description_fr="Interpoler les vecteurs lignes plutôt que les vecteurs colonnes."),
    "nuslerp_flatten": dict(label=("Interpolate whole tensors", "Interpoler les tenseurs entiers"),
                            description="Interpolate whole flattened tensors (off: row or column vectors).",
        description_fr="Interpoler les tenseurs entiers aplatis (sinon : vecteurs lignes ou colonnes)."),
    "eps": dict(ge=0.0, le=1.0, ui="number", label=("Numerical tolerance", "Tolérance numérique"),
                description="Numerical tolerance.",
        description_fr="Tolérance numérique."),
    "tol": dict(gt=0.0, le=1.0, ui="number", label=("Convergence tolerance", "Tolérance de convergence"),
                description="Convergence tolerance of the Karcher mean.",
        description_fr="Tolérance de convergence de la moyenne de Karcher."),
    "max_iter": dict(ge=1, le=1000, label=("Iterations at most", "Nombre maximal d'itérations"),
                     description="Iterations of the Karcher mean at most.",
        description_fr="Nombre maximal d'itérations de la moyenne de Karcher."),
    "r": dict(ge=0.0, le=1.0, label=("r (rescaling ratio)", "r (taux de remise à l'échelle)"),
              description="Rescaling ratio of RAM+ (tensor-local).",
        description_fr="Taux de remise à l'échelle de RAM+ (local au tenseur)."),
    "alpha": dict(ge=0.0, le=1.0, label=("alpha (overlap scaling)", "alpha (mise à l'échelle du recouvrement)"),
                  description="Overlap scaling of RAM+ (tensor-local).",
        description_fr="Mise à l'échelle du recouvrement de RAM+ (local au tenseur)."),
}
# Same name, another meaning in a family of methods.
KNOWN_BY_METHOD: dict[tuple[str, str], dict] = {
    ("della", "epsilon"): dict(ge=0.0, le=0.5, description=(
        "Spread of DELLA's keep probabilities around the density (density ± epsilon must stay in (0, 1))."),
        description_fr="Écart des probabilités de conservation de DELLA autour de la densité (densité ± epsilon doit rester dans ]0, 1[)."),
    ("della_linear", "epsilon"): dict(ge=0.0, le=0.5, description=(
        "Spread of DELLA's keep probabilities around the density (density ± epsilon must stay in (0, 1))."),
        description_fr="Écart des probabilités de conservation de DELLA autour de la densité (densité ± epsilon doit rester dans ]0, 1[)."),
    ("ram", "epsilon"): dict(ge=0.0, le=1.0, ui="number", description="Threshold below which a change is ignored.",
        description_fr="Seuil sous lequel une modification est ignorée."),
    ("ramplus_tl", "epsilon"): dict(ge=0.0, le=1.0, ui="number",
                                    description="Threshold below which a change is ignored.",
        description_fr="Seuil sous lequel une modification est ignorée."),
}
# Labels of the per-layer schedules of the main parameter ({p}: its name).
SCHEDULE_LABELS = {"attention": ("Per-layer {p} for attention, first → last layer (e.g. 0, 0.5, 0.3, 0.7, 1)",
                                 "{p} par couche pour l'attention, de la première à la dernière (ex. 0, 0.5, 0.3, "
                                 "0.7, 1)"),
                   "mlp": ("Per-layer {p} for the MLP, first → last layer (e.g. 1, 0.5, 0.7, 0.3, 0)",
                           "{p} par couche pour le MLP, de la première à la dernière (ex. 1, 0.5, 0.7, 0.3, 0)")}
MAIN_CANDIDATES = ("t", "weight")
SCHEDULE_SUFFIXES = {"attention": "self_attn", "mlp": "mlp"}   # field suffix → mergekit tensor-name filter
RENDERABLE = (bool, int, float)


@dataclass(frozen=True)
class ParamInfo:
    name: str
    kind: type                    # bool, int or float
    scope: Literal["shared", "dapt", "both"]
    default: Any
    bounds: dict                  # pydantic ge/gt/le/lt
    description: str
    ui: str | None = None
    label: tuple[str, str | None] = ("", None)
    description_fr: str | None = None


@dataclass(frozen=True)
class MethodInfo:
    name: str
    title: str
    reference_url: str | None
    uses_base: bool               # mergekit's base_model is the base (task vectors are taken from it)
    params: tuple[ParamInfo, ...]
    main: str | None              # the parameter swept by the t-sweep and given per-layer schedules
    config: type[BaseModel]       # the generated pydantic class of its parameters

    @property
    def main_param(self) -> ParamInfo | None:
        return next((p for p in self.params if p.name == self.main), None)


def _scalar_type(value_type: Any) -> type | None:
    return value_type if value_type in RENDERABLE else None


def _uses_base(spec) -> bool | None:
    """Whether our base model is mergekit's base_model for this method; None when the method cannot merge exactly a
    base and one DAPT model (e.g. passthrough takes one model, Model Stock three or more)."""
    from mergekit.merge_methods.base import BasePolicy

    policy = spec.contract.base
    options = {BasePolicy.REQUIRED: [True], BasePolicy.FORBIDDEN: [False], BasePolicy.IGNORED: [False],
               BasePolicy.OPTIONAL: [True, False]}[policy]
    for with_base in options:
        try:
            spec.contract.validate_ids(["base", "dapt"], "base" if with_base else None)
            return with_base
        except ValueError:
            continue
    return None


def _param_info(method: str, spec_param, uses_base: bool) -> ParamInfo | None:
    from mergekit.merge_methods.base import MISSING, ParameterScope

    kind = _scalar_type(spec_param.value_type)
    if kind is None:
        return None
    known = dict(KNOWN_BY_METHOD.get((method, spec_param.name)) or KNOWN.get(spec_param.name) or {})
    default = spec_param.default if spec_param.default is not MISSING else known.get("default")
    if default is None:
        default = {bool: False, int: 1, float: 0.5}[kind]
    scope = {ParameterScope.SHARED: "shared", ParameterScope.INPUT: "both",
             ParameterScope.NON_BASE: "dapt" if uses_base else "both"}[spec_param.scope]
    bounds = {k: known[k] for k in ("ge", "gt", "le", "lt") if k in known and kind is not bool}
    description = known.get("description") or spec_param.description or f"mergekit parameter '{spec_param.name}'."
    label = known.get("label") or (KNOWN.get(spec_param.name) or {}).get("label") or (spec_param.name, None)
    description_fr = known.get("description_fr") if known.get("description") else None
    return ParamInfo(spec_param.name, kind, scope, kind(default), bounds, description, known.get("ui"), label,
                     description_fr)


def _parse_schedule(value: Any) -> Any:
    """'0, 0.5, 0.3' (a form's text box) → [0.0, 0.5, 0.3]; lists pass through; empty → []."""
    if value is None:
        return []
    if isinstance(value, str):
        parts = [p for p in re.split(r"[,\s;]+", value.strip().strip("[]")) if p]
        try:
            return [float(p) for p in parts]
        except ValueError:
            raise ValueError(f"a schedule is a list of numbers separated by commas, got '{value}'") from None
    return value


def _class_name(method: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^a-zA-Z0-9]+", method) if part) + "Parameters"


def _build_config(info_name: str, title: str, params: tuple[ParamInfo, ...], main: str | None) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for p in params:
        extra = labels(*p.label, **({"step": 0.01} if p.kind is float else {}), **({"ui": p.ui} if p.ui else {}),
                       **({"description_fr": p.description_fr} if p.description_fr else {}))
        fields[p.name] = (p.kind, Field(p.default, description=p.description, json_schema_extra=extra, **p.bounds))
        if p.scope == "both":
            base_label = (KNOWN.get(f"base_{p.name}") or {}).get("label") or (f"base_{p.name}", None)
            fields[f"base_{p.name}"] = (Optional[float], Field(None, description=(
                f"Value of '{p.name}' for the base model (empty: 1 − the DAPT model's value)."),
                json_schema_extra=labels(*base_label, ui="number", description_fr=(
                    f"Valeur de « {p.name} » pour le modèle de base (vide : 1 − la valeur du modèle DAPT).")),
                **p.bounds))
    validators = {}
    if main is not None:
        main_param = next(p for p in params if p.name == main)
        for suffix, tensor_filter in SCHEDULE_SUFFIXES.items():
            fields[f"{main}_{suffix}"] = (list[float], Field(default_factory=list, description=(
                f"Advanced: per-layer values of '{main}' for the {tensor_filter} tensors, interpolated from the first "
                f"layer to the last (e.g. 0, 0.5, 0.3, 0.7, 1 as BioMistral's SLERP). Empty: '{main}' everywhere."),
                json_schema_extra=labels(*(text.format(p=main) for text in SCHEDULE_LABELS[suffix]), ui="schedule",
                                         description_fr=(
                    f"Avancé : valeurs de « {main} » par couche pour les tenseurs {tensor_filter}, interpolées de la "
                    f"première couche à la dernière (ex. 0, 0.5, 0.3, 0.7, 1 comme le SLERP de BioMistral). Vide : "
                    f"« {main} » partout."))))
        bounds = main_param.bounds

        def check_schedule(cls, value, _bounds=bounds, _main=main):
            value = _parse_schedule(value)
            for v in value if isinstance(value, list) else []:
                lo = _bounds.get("ge", _bounds.get("gt"))
                hi = _bounds.get("le", _bounds.get("lt"))
                if not isinstance(v, (int, float)) or (lo is not None and v < lo) or (hi is not None and v > hi):
                    raise ValueError(f"schedule values of '{_main}' must lie in [{lo}, {hi}], got {v}")
            return value

        names = [f"{main}_{s}" for s in SCHEDULE_SUFFIXES]
        validators["_schedules"] = field_validator(*names, mode="before")(classmethod(check_schedule))
    model = create_model(_class_name(info_name), __config__=ConfigDict(extra="forbid"), __doc__=(
        f"Parameters of mergekit's {title} merge."), __validators__=validators, **fields)
    return model


@lru_cache(maxsize=1)
def _registry() -> tuple[dict[str, MethodInfo], dict[str, str]]:
    from mergekit import merge_methods

    offered: dict[str, MethodInfo] = {}
    left_out: dict[str, str] = {}
    for method in merge_methods.registered_methods():
        spec = method.spec
        uses_base = _uses_base(spec)
        if uses_base is None:
            c = spec.contract
            count = (f"exactly {c.min_inputs}" if c.min_inputs == c.max_inputs else
                     f"{c.min_inputs} to {c.max_inputs}" if c.max_inputs else f"{c.min_inputs} or more")
            left_out[spec.name] = f"takes {count} input models; a studio merge has two (base and DAPT)"
            continue
        params = [_param_info(spec.name, p, uses_base) for p in spec.parameters]
        if any(p is None for p in params):
            bad = [sp.name for sp, p in zip(spec.parameters, params) if p is None]
            left_out[spec.name] = f"parameter(s) {', '.join(bad)} are not numbers or switches"
            continue
        params = tuple(params)
        main = next((n for n in MAIN_CANDIDATES for p in params if p.name == n and p.kind is float), None)
        title = spec.pretty_name or spec.name
        offered[spec.name] = MethodInfo(spec.name, title, spec.reference_url, uses_base, params, main,
                                        _build_config(spec.name, title, params, main))
    return offered, left_out


def methods() -> dict[str, MethodInfo]:
    """The offered methods by mergekit name, SLERP (the paper's) first, then in the registry's order."""
    offered = _registry()[0]
    order = ["slerp", "linear", "task_arithmetic", "ties", "dare_ties"]
    return {**{n: offered[n] for n in order if n in offered}, **{n: m for n, m in offered.items() if n not in order}}


def left_out() -> dict[str, str]:
    """Registered methods the studio does not offer, with the reason."""
    return dict(_registry()[1])


def method_info(name: str) -> MethodInfo:
    offered = methods()
    if name not in offered:
        why = left_out().get(name)
        raise MergeError(f"method: '{name}' " + (f"is not offered here: {why}" if why else "is not a mergekit merge "
                         f"method") + f" (offered: {', '.join(offered)})")
    return offered[name]


def validate_parameters(method: str, parameters: dict | None) -> dict:
    """The method's parameters checked and completed with defaults (MergeError naming the field otherwise)."""
    from pydantic import ValidationError

    from frbio_core.config import describe_validation_error

    info = method_info(method)
    try:
        return info.config.model_validate(parameters or {}).model_dump()
    except ValidationError as exc:
        raise MergeError(describe_validation_error(exc, f"{info.title} parameters")) from None


def with_main(method: str, parameters: dict, value: float) -> dict:
    """The parameters with the main parameter set to `value` (schedules cleared; a 'both' parameter's base value
    follows as 1 − value): one point of a t-sweep."""
    info = method_info(method)
    if info.main is None:
        raise MergeError(f"{info.title} has no interpolation parameter to sweep")
    out = {**parameters, info.main: value}
    for suffix in SCHEDULE_SUFFIXES:
        out[f"{info.main}_{suffix}"] = []
    if info.main_param.scope == "both":
        out[f"base_{info.main}"] = None
    return validate_parameters(method, out)


def describe_methods() -> list[dict]:
    """The offered methods and their parameters, for `python -m backend merge methods`."""
    rows = []
    for info in methods().values():
        rows.append({"method": info.name, "title": info.title, "reference": info.reference_url,
                     "uses_base": info.uses_base, "main": info.main,
                     "parameters": {name: {"type": _type_name(f.annotation), "default": f.get_default(
                         call_default_factory=True), "description": f.description}
                         for name, f in info.config.model_fields.items()}})
    return rows


def _type_name(annotation) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
