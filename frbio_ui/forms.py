"""Forms generated from a config class (pydantic): one widget per field, nested models in accordions.
No widget lists by hand: the config object is the single source of fields, bounds, defaults and help text."""
from __future__ import annotations

import json
from dataclasses import dataclass, field as dc_field
from typing import Any, Callable, Sequence

import gradio as gr
from pydantic import BaseModel

from frbio_core.config import choices_of, field_descriptions, field_group, field_kind, field_labels, groups_of
from frbio_ui import guard
from frbio_ui.i18n import add_strings, tr


def _bounds(f) -> tuple[float | None, float | None]:
    lo = hi = None
    for m in f.metadata:  # annotated_types Ge/Gt/Le/Lt objects
        lo = next((getattr(m, a) for a in ("ge", "gt") if getattr(m, a, None) is not None), lo)
        hi = next((getattr(m, a) for a in ("le", "lt") if getattr(m, a, None) is not None), hi)
    return lo, hi


@dataclass
class Form:
    model: type[BaseModel]
    fields: list[tuple[tuple[str, ...], Any]] = dc_field(default_factory=list)  # (path, component)

    @property
    def inputs(self) -> list:
        return [c for _, c in self.fields]

    def component(self, *path: str):
        return next(c for p, c in self.fields if p == path)

    def to_dict(self, values: Sequence) -> dict:
        """Nested dict of the form's values (in `inputs` order), ready for model_validate."""
        out: dict = {}
        for (path, _), value in zip(self.fields, values):
            node = out
            for key in path[:-1]:
                node = node.setdefault(key, {})
            kind = self._kind(path)
            if isinstance(value, float) and value.is_integer() and kind == "int":
                value = int(value)
            if kind == "dict" and isinstance(value, str):   # JSON text; left as is when invalid (pydantic says so)
                try:
                    value = json.loads(value) if value.strip() else None
                except ValueError:
                    pass
            if kind == "list" and isinstance(value, str):   # a free-values list typed as "2, 4, 8"
                value = [v.strip() for v in value.split(",") if v.strip()]
            node[path[-1]] = value
        return out

    def _kind(self, path: tuple[str, ...]) -> str:
        model = self.model
        for key in path[:-1]:
            model = model.model_fields[key].annotation
        return field_kind(model.model_fields[path[-1]].annotation)

    def updates(self, config: BaseModel | dict) -> list:
        """gr.update per widget to show `config` (e.g. a loaded preset)."""
        data = config.model_dump(mode="json") if isinstance(config, BaseModel) else config
        out = []
        for path, _ in self.fields:
            node = data
            for key in path:
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, dict) and self._kind(path) == "dict":
                node = json.dumps(node, ensure_ascii=False)
            elif isinstance(node, list) and isinstance(_, gr.Textbox):
                node = ", ".join(str(v) for v in node)
            out.append(gr.update(value=node) if node is not None else gr.update())
        return out


def field_label(model: type[BaseModel], name: str):
    """The field's label in the page's language, from the labels declared on the field (frbio_core.config.labels)."""
    en, fr = field_labels(model, name)
    key = f"{model.__name__}.{name}"
    add_strings({key: en}, {key: fr} if fr else {})
    return tr(key, en)


def field_info(model: type[BaseModel], name: str):
    """The field's help text (shown under the widget) in the page's language, from `description` /
    `description_fr`; None when the field has none."""
    en, fr = field_descriptions(model, name)
    if not en:
        return None
    key = f"{model.__name__}.{name}.info"
    add_strings({key: en}, {key: fr} if fr else {})
    return tr(key, en)


def _widget(model: type[BaseModel], name: str, f, value, choices: dict[str, list]) -> Any:
    kind = field_kind(f.annotation)
    extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
    label = field_label(model, name)
    info = field_info(model, name)
    if kind == "bool":
        return gr.Checkbox(value=bool(value), label=label, info=info)
    if kind == "choice":
        return gr.Radio(choices=choices_of(f.annotation), value=value, label=label, info=info)
    if kind == "list" and name not in choices and not choices_of(f.annotation):   # free values: "2, 4, 8"
        return gr.Textbox(value=", ".join(str(v) for v in value or []), label=label, info=info)
    if kind == "list":
        return gr.CheckboxGroup(choices=choices.get(name) or choices_of(f.annotation), value=value or [], label=label,
                                info=info)
    if kind in ("int", "float"):
        lo, hi = _bounds(f)
        step = extra.get("step", 1 if kind == "int" else None)
        if extra.get("ui") == "slider" or (lo is not None and hi is not None and kind == "float" and hi - lo <= 1):
            return gr.Slider(minimum=lo or 0, maximum=hi, value=value, step=step or (hi - (lo or 0)) / 100,
                             label=label, info=info)
        return gr.Number(value=value, minimum=lo, maximum=hi, precision=0 if kind == "int" else None,
                         label=label, info=info)
    if kind == "dict":
        return gr.Textbox(value=json.dumps(value, ensure_ascii=False) if value else "", label=label, info=info,
                          placeholder='{"name": value}')
    if name in choices:
        return gr.Dropdown(choices=choices[name], value=value, label=label, info=info, allow_custom_value=True)
    return gr.Textbox(value=value, label=label, info=info)


def build_form(model: type[BaseModel], *, values: BaseModel | None = None, choices: dict[str, list] | None = None,
               skip: Sequence[str] = (), custom: dict[str, Callable] | None = None,
               _prefix: tuple[str, ...] = (), _form: Form | None = None) -> Form:
    """Render one widget per field of `model` in the current Blocks context and return the Form.
    `choices` fills list/choice widgets whose options come from data (e.g. source names);
    `custom[name](form)` renders a field differently (it returns the component holding the value)."""
    form = _form or Form(model)
    values = values if values is not None else model.model_construct()  # required fields start empty
    choices, custom = choices or {}, custom or {}
    sections = groups_of(model)
    names = [n for n in model.model_fields if n not in skip and not _hidden(model.model_fields[n])]
    grouped = {g: [n for n in names if field_group(model, n) == g] for g in sections}
    for name in (n for n in names if field_group(model, n) not in sections):   # the fields most people change
        _field(form, model, name, values, choices, custom, _prefix)
    for group, members in grouped.items():
        if not members:
            continue
        spec = sections[group]
        key = f"{model.__name__}.group.{group}"
        add_strings({key: spec["label"]}, {key: spec.get("label_fr") or spec["label"]})
        when = spec.get("when") or {}      # e.g. LoRA settings only while method is 'lora'
        visible = all(getattr(values, other, None) == shown for other, shown in when.items())
        with gr.Accordion(label=tr(key), open=False, visible=visible,
                          elem_id=f"group-{model.__name__}-{group}") as section:
            for name in members:
                _field(form, model, name, values, choices, custom, _prefix)
        for other, shown in when.items():
            trigger = next((c for p, c in form.fields if p == _prefix + (other,)), None)
            if trigger is not None:
                trigger.change(guard.read(lambda v, shown=shown: gr.update(visible=v == shown)), trigger, section,
                               show_progress="hidden")
    return form


def _hidden(f) -> bool:
    """A field the config marks `ui: hidden` (set by the code, not typed in a form: an eval's `run`)."""
    return isinstance(f.json_schema_extra, dict) and f.json_schema_extra.get("ui") == "hidden"


def _field(form: Form, model, name: str, values, choices: dict, custom: dict, prefix: tuple[str, ...]) -> None:
    f = model.model_fields[name]
    value = getattr(values, name, None)
    if name in custom:
        comp = custom[name](form)
    elif field_kind(f.annotation) == "model":
        with gr.Accordion(label=field_label(model, name), open=False):
            build_form(f.annotation, values=value, _prefix=prefix + (name,), _form=form)
        return
    else:
        comp = _widget(model, name, f, value, choices)
    form.fields.append((prefix + (name,), comp))
