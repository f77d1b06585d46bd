"""The merge config (one object for the Merge tab's form, the CLI flags and the job's config.json), its
translation to a mergekit configuration (absolute paths: a relative path with one '/' looks like a Hub id to
mergekit), and back from a mergekit YAML such as BioMistral's."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from backend.merge.methods import (SCHEDULE_SUFFIXES, MergeError, method_info, methods, validate_parameters)
from frbio_core.config import labels, required_text

YAML_KEYS = {"merge_method", "base_model", "models", "parameters", "random_seed"}


class MergeConfig(BaseModel):
    """Merge a DAPT model back with its base through mergekit (the paper: SLERP at t = 0.5)."""

    model_config = ConfigDict(extra="forbid")

    base_model: str = Field("smollm2-135m-instruct", description=(
        "Registered base model: the model the DAPT model was trained from."),
        json_schema_extra=labels("Base model", "Modèle de base",
            description_fr="Modèle de base enregistré : le modèle à partir duquel le modèle DAPT a été entraîné."))
    dapt_model: str = Field("", validate_default=True, description=(
        "Registered DAPT model (same architecture, layer count, tensor shapes and tokenizer as the base). Required."),
        json_schema_extra=labels("DAPT model", "Modèle DAPT",
            description_fr=("Modèle DAPT enregistré (même architecture, même nombre de couches, mêmes formes de tenseurs et "
            "même tokeniseur que le modèle de base). Obligatoire.")))
    method: str = Field("slerp", description=(
        "mergekit merge method: slerp (the paper's), linear, task_arithmetic, ties, dare_ties, … "
        "(`python -m backend merge methods` lists them with their parameters)."),
        json_schema_extra=labels("Method", "Méthode",
            description_fr=("Méthode de fusion de mergekit : slerp (celle de l'article), linear, task_arithmetic, ties, "
            "dare_ties, … (`python -m backend merge methods` les liste avec leurs paramètres).")))
    parameters: dict[str, Any] = Field(default_factory=dict, description=(
        "The method's parameters, e.g. {\"t\": 0.5} for SLERP or {\"weight\": 0.5, \"density\": 0.5} for TIES; "
        "missing ones take their defaults."),
        json_schema_extra=labels("Parameters", "Paramètres",
            description_fr=("Les paramètres de la méthode, par ex. {\"t\": 0.5} pour SLERP ou {\"weight\": 0.5, \"density\": 0.5} "
            "pour TIES ; ceux qui manquent prennent leur valeur par défaut.")))
    seed: int = Field(0, ge=0, le=2**32 - 1, description=(
        "Random seed of the methods that drop changes at random (DARE, DELLA): same seed, same merged weights."),
        json_schema_extra=labels("Random seed", "Graine aléatoire",
            description_fr=("Graine aléatoire des méthodes qui écartent des modifications au hasard (DARE, DELLA) : même "
            "graine, mêmes poids fusionnés.")))
    output_name: str = Field("", max_length=80, description=(
        "Id of the merged model under frbio_home/models (empty: '<DAPT model>-<method>-<job id>')."),
        json_schema_extra=labels("Name of the merged model", "Nom du modèle fusionné",
            description_fr=("Identifiant du modèle fusionné sous frbio_home/models (vide : « <modèle "
            "DAPT>-<méthode>-<identifiant de la tâche> »).")))

    _dapt_given = required_text("dapt_model", hint="the id of a registered DAPT model")

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        try:
            return method_info(value.strip()).name
        except MergeError as exc:
            raise PydanticCustomError("merge_method", str(exc).removeprefix("method: ")) from None

    @field_validator("parameters")
    @classmethod
    def _method_parameters(cls, value: dict, info: ValidationInfo) -> dict:
        method = info.data.get("method")
        if method is None:
            return value
        config = method_info(method).config
        try:
            return config.model_validate(value or {}).model_dump()
        except ValidationError as exc:
            detail = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'parameters'}: {e['msg']}"
                               for e in exc.errors())
            raise PydanticCustomError("merge_parameters", f"{detail} ({method_info(method).title})") from None


def parse_merge_config(data: dict) -> MergeConfig:
    from frbio_core.config import parse_config

    return parse_config(MergeConfig, data, "merge config", MergeError)


# ------------------------------------------------------------------------------------ studio config → mergekit

def _scheduled(value: float, attention: list, mlp: list):
    if not attention and not mlp:
        return value
    conditions = [{"filter": SCHEDULE_SUFFIXES[name], "value": list(values)}
                  for name, values in (("attention", attention), ("mlp", mlp)) if values]
    return conditions + [{"value": value}]


def _complement(setting):
    if isinstance(setting, list):
        return [{**c, "value": [round(1.0 - v, 12) for v in c["value"]] if isinstance(c["value"], list)
                 else round(1.0 - c["value"], 12)} for c in setting]
    return round(1.0 - setting, 12)


def mergekit_config(method: str, parameters: dict, base_path: Path | str, dapt_path: Path | str) -> dict:
    """The mergekit configuration (a dict for MergeConfiguration / the YAML) merging DAPT into base."""
    info = method_info(method)
    params = validate_parameters(method, parameters)
    base_path, dapt_path = str(Path(base_path).resolve()), str(Path(dapt_path).resolve())
    shared: dict = {}
    dapt: dict = {}
    base: dict = {}
    for p in info.params:
        setting = params[p.name]
        if p.name == info.main:
            setting = _scheduled(setting, *(params[f"{p.name}_{s}"] for s in SCHEDULE_SUFFIXES))
        if p.scope == "shared":
            shared[p.name] = setting
        elif p.scope == "dapt":
            dapt[p.name] = setting
        else:
            dapt[p.name] = setting
            explicit = params.get(f"base_{p.name}")
            base[p.name] = explicit if explicit is not None else _complement(setting)
    out: dict = {"merge_method": method}
    if info.uses_base:
        out["base_model"] = base_path
    out["models"] = [{"model": base_path, **({"parameters": base} if base else {})},
                     {"model": dapt_path, **({"parameters": dapt} if dapt else {})}]
    if shared:
        out["parameters"] = shared
    return out


def to_yaml(config: dict, header: str = "") -> str:
    import yaml

    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True, default_flow_style=None)
    return "".join(f"# {line}\n" for line in header.splitlines()) + text


# ------------------------------------------------------------------------------------ mergekit YAML → studio config

def resolve_model(db, ref: str, role: str) -> dict:
    """The registry row of a model named by id, name or folder path (absolute, or relative to the current folder);
    MergeError naming the role ('base_model', 'dapt_model') when it is not registered or its folder is broken."""
    from backend.models.resolve import resolve_model as resolve

    return resolve(db, ref, role=role, error=MergeError, by_path=True)


def _unschedule(setting, name: str, is_main: bool) -> tuple[Any, list, list]:
    """A mergekit parameter setting → (scalar, attention schedule, MLP schedule)."""
    from mergekit.config import ConditionalParameter

    if isinstance(setting, (bool, int, float)) or setting is None:
        return setting, [], []
    conditions = setting if isinstance(setting, list) else [setting]
    if conditions and all(isinstance(c, (dict, ConditionalParameter)) for c in conditions) and is_main:
        scalar, schedules = None, {"attention": [], "mlp": []}
        by_filter = {v: k for k, v in SCHEDULE_SUFFIXES.items()}
        for c in conditions:
            c = c.model_dump() if isinstance(c, ConditionalParameter) else c
            flt, value = c.get("filter"), c.get("value")
            if flt in (None, "*") and isinstance(value, (int, float)):
                scalar = value
            elif flt in by_filter and isinstance(value, list):
                schedules[by_filter[flt]] = [float(v) for v in value]
            elif flt in by_filter and isinstance(value, (int, float)):
                schedules[by_filter[flt]] = [float(value)]
            else:
                break
        else:
            if scalar is not None:
                return scalar, schedules["attention"], schedules["mlp"]
    raise MergeError(f"parameters.{name}: only a number" + (", or filters self_attn / mlp with per-layer lists and a "
                     "final default value (as BioMistral's SLERP)," if is_main else "") + " can be used here, got "
                     f"{setting!r} (run mergekit-yaml directly for other schedules)")


def from_mergekit(db, data: dict) -> dict:
    """MergeConfig fields from a mergekit configuration naming one base and one DAPT model (registered, by id or
    path). Refuses what the studio cannot represent, with the reason."""
    unknown = sorted(set(data) - YAML_KEYS)
    if unknown:
        raise MergeError(f"{', '.join(unknown)}: not supported in a studio merge (it keeps the models' dtype and the "
                         "base's tokenizer, and merges whole models: use `models:`)")
    info = method_info(str(data.get("merge_method") or ""))
    models = data.get("models") or []
    if not isinstance(models, list) or not models:
        raise MergeError("models: the list is empty: name the base model and the DAPT model")
    entries = []
    for m in models:
        ref = m.get("model") if isinstance(m, dict) else m
        entries.append((resolve_model(db, ref, "models")["id"], (m.get("parameters") if isinstance(m, dict) else None)
                        or {}))
    if data.get("base_model"):
        base_id = resolve_model(db, data["base_model"], "base_model")["id"]
    elif info.uses_base:
        raise MergeError(f"base_model: {info.title} needs the base model named in base_model")
    else:
        base_id = entries[0][0]
    others = sorted({mid for mid, _ in entries if mid != base_id})
    if len(others) != 1:
        raise MergeError(f"models: a studio merge is a base and one DAPT model; got {len(others)} model(s) besides "
                         f"the base {base_id} (run mergekit-yaml directly to merge more)")
    dapt_id = others[0]
    top = data.get("parameters") or {}
    base_params = next((p for mid, p in entries if mid == base_id), {})
    dapt_params = next(p for mid, p in entries if mid == dapt_id)
    known = {p.name for p in info.params}
    for where, params in (("parameters", top), (f"models[{dapt_id}].parameters", dapt_params),
                          (f"models[{base_id}].parameters", base_params)):
        extra = sorted(set(params) - known)
        if extra:
            raise MergeError(f"{where}: {', '.join(extra)} is not a parameter of {info.title} (its parameters: "
                             f"{', '.join(sorted(known)) or 'none'})")
    out: dict = {}
    for p in info.params:
        if p.scope == "shared":
            setting = top.get(p.name)
        else:
            setting = dapt_params.get(p.name, top.get(p.name))
        if setting is None:
            continue
        value, attention, mlp = _unschedule(setting, p.name, p.name == info.main)
        out[p.name] = value
        if attention or mlp:
            out[f"{p.name}_attention"], out[f"{p.name}_mlp"] = attention, mlp
        if p.scope == "both":
            base_setting = base_params.get(p.name, top.get(p.name))
            if base_setting is not None and base_setting != _complement(_scheduled(value, attention, mlp)):
                if not isinstance(base_setting, (int, float)) or isinstance(base_setting, bool):
                    raise MergeError(f"models[{base_id}].parameters.{p.name}: the base takes a number, or nothing "
                                     f"(then 1 − the DAPT model's {p.name})")
                out[f"base_{p.name}"] = base_setting
    result = {"base_model": base_id, "dapt_model": dapt_id, "method": info.name, "parameters": out}
    if data.get("random_seed") is not None:
        result["seed"] = data["random_seed"]
    return result


def load_merge_file(db, path) -> dict:
    """A merge config file: mergekit-style YAML (`merge_method:`…) or the studio's own fields (`method:`…)."""
    from frbio_core.config import load_config_file

    data = load_config_file(path, "merge config", MergeError)
    return from_mergekit(db, data) if "merge_method" in data else data


def offered_names() -> list[str]:
    return list(methods())
