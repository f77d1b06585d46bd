"""HTML reports rendered from the Jinja2 templates in assets/templates (autoescaped: a value is text unless the
template marks it `|safe`, as the plotly figures are)."""
from __future__ import annotations

from functools import lru_cache

from frbio_core.settings import PROJECT_ROOT

TEMPLATES = PROJECT_ROOT / "assets" / "templates"


@lru_cache(maxsize=1)
def environment():
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render(template: str, /, **values) -> str:
    return environment().get_template(template).render(**values)
