"""Message templates: Jinja2 in a sandbox, compiled once, rendered many times.

The sandbox stops a template from reaching Python internals; missing variables render as empty
text (a contact without a first name gets "Hi !" rather than a failed send), which is what
marketers expect from Customer.io- or Braze-style Liquid.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment


class TemplateError(ValueError):
    pass


_environment = ImmutableSandboxedEnvironment(
    undefined=jinja2.ChainableUndefined,
    autoescape=False,
    keep_trailing_newline=True,
    cache_size=0,
)


class Template:
    __slots__ = ("_render", "is_static", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        # Most fields ("Welcome!") contain no template syntax at all: skip Jinja for them.
        self.is_static = "{" not in source
        self._render = None if self.is_static else _environment.from_string(source).render

    def render(self, variables: Mapping[str, Any]) -> str:
        if self._render is None:
            return self.source
        try:
            return self._render(variables)
        except jinja2.TemplateError as exc:
            raise TemplateError(f"the template could not be rendered: {exc}") from None


def compile_template(source: str) -> Template:
    try:
        return Template(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"the template does not parse (line {exc.lineno}): {exc.message}"
        ) from None
