"""Message templates: Jinja2 in a sandbox, compiled once, rendered many times.

The sandbox stops a template from reaching Python internals. Missing variables and nulls render as
empty text (a contact without a first name gets "Hi !" rather than "Hi None!" or a failed send),
which is what marketers expect from Customer.io- or Braze-style Liquid.

Most message templates are text with `{{ contact.attributes.first_name }}`-style lookups. Jinja
spends ~10 µs per render setting up a context for them, which dominates a 100,000-contact dry run,
so such templates take a fast path: Jinja's own parser reads the template, and when its syntax tree
is nothing but text and plain lookups into mappings, rendering walks those lookups directly. Any
case the fast path does not cover exactly (a filter, a loop, a lookup through something that is
not a plain dict) is rendered by Jinja itself; tests hold the two to identical output.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment


class TemplateError(ValueError):
    pass


def _finalize(value: Any) -> Any:
    return "" if value is None else value


class _Environment(ImmutableSandboxedEnvironment):
    """Jinja's sandbox, except that `properties.items` means the key `items` when there is one.

    Plain Jinja finds the dict method first, so an event property named `items` or `keys` would
    render as "<built-in method ...>": never what a marketer means.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


_environment = _Environment(
    undefined=jinja2.ChainableUndefined,
    autoescape=False,
    keep_trailing_newline=True,
    finalize=_finalize,
    cache_size=0,
)

# `x.items` without an `items` key finds the dict method in Jinja; leave those cases to Jinja.
_SHADOWED = frozenset(dir(dict))
_PLAIN_SCALARS = (int, float, bool)
_MISSING: Any = object()

Part = str | tuple[str, ...]


class Template:
    __slots__ = ("_jinja", "_parts", "is_static", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.is_static = "{" not in source
        self._jinja: jinja2.Template | None = None
        self._parts: tuple[Part, ...] | None = None
        if self.is_static:
            return
        tree = _environment.parse(source)
        self._jinja = _environment.from_string(tree)
        self._parts = _plain_parts(tree)

    def render(self, variables: Mapping[str, Any]) -> str:
        if self.is_static:
            return self.source
        if self._parts is not None:
            rendered = _render_parts(self._parts, variables)
            if rendered is not None:
                return rendered
        assert self._jinja is not None
        try:
            return self._jinja.render(variables)
        except jinja2.TemplateError as exc:
            raise TemplateError(f"the template could not be rendered: {exc}") from None
        except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
            raise TemplateError(f"the template could not be rendered: {exc}") from None


def compile_template(source: str) -> Template:
    try:
        return Template(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"the template does not parse (line {exc.lineno}): {exc.message}"
        ) from None


def _plain_parts(tree: nodes.Template) -> tuple[Part, ...] | None:
    """Text and lookup paths, when the template is only that; else None."""
    if not tree.body:
        return ()
    if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
        return None
    parts: list[Part] = []
    for node in tree.body[0].nodes:
        if isinstance(node, nodes.TemplateData):
            parts.append(node.data)
            continue
        path = _lookup_path(node)
        if path is None:
            return None
        parts.append(path)
    return tuple(parts)


def _lookup_path(node: nodes.Node) -> tuple[str, ...] | None:
    names: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            names.append(node.attr)
            node = node.node
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
        ):
            names.append(node.arg.value)
            node = node.node
        elif isinstance(node, nodes.Name):
            names.append(node.name)
            break
        else:
            return None
    if any(name.startswith("_") for name in names):
        return None
    return tuple(reversed(names))


def _render_parts(parts: tuple[Part, ...], variables: Mapping[str, Any]) -> str | None:
    """Render text and lookups; None when Jinja must decide (a lookup through a non-dict)."""
    out: list[str] = []
    for part in parts:
        if type(part) is str:
            out.append(part)
            continue
        value = variables.get(part[0], _MISSING)
        if value is _MISSING:
            if part[0] in _environment.globals:
                return None
            continue  # undefined renders as nothing
        for name in part[1:]:
            if type(value) is dict:
                value = value.get(name, _MISSING)
                if value is _MISSING:
                    if name in _SHADOWED:
                        return None
                    break
            elif value is None:
                value = _MISSING  # a lookup on null is undefined, and renders as nothing
                break
            else:
                return None
        if value is _MISSING or value is None:
            continue
        if type(value) is str:
            out.append(value)
        elif type(value) in _PLAIN_SCALARS:
            out.append(str(value))
        else:
            return None
    return "".join(out)
