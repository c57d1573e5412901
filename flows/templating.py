"""Message templates: Jinja2 in a hardened sandbox, compiled once, rendered many times.

The sandbox stops a template from reaching Python internals, files or the network: there is no
loader (`include`, `import` and `extends` are refused when the template is compiled), attributes
starting with an underscore are undefined, strings offer only harmless methods (no `format`), and
the only globals are `range` (at most 10,000 numbers), `dict` and `namespace`. It also bounds what
one render may cost: every string or list an operator, filter or method makes holds at most a
million items, loop iterations and calls share a budget of 100,000 steps (a call counts ten), and
the rendered text is at most a million characters. A template that goes past a bound fails with a
TemplateError saying which.

Missing variables and nulls render as empty text (a contact without a first name gets "Hi !" rather
than "Hi None!" or a failed send), which is what marketers expect from Customer.io- or Braze-style
Liquid. Dates, times, money and numbers are written in the contact's locale and time zone by the
filters of `flows.template_filters`.

Most message templates are text with `{{ contact.attributes.first_name }}`-style lookups, at most
through one of the locale filters. Jinja spends ~10 µs per render setting up a context for them,
which dominates a 100,000-contact dry run, so such templates take a fast path: Jinja's own parser
reads the template, and when its syntax tree is nothing but text and plain lookups into mappings
(each optionally through a locale filter with constant arguments), rendering walks those lookups
directly. Any case the fast path does not cover exactly (another filter, a loop, a lookup through
something that is not a plain dict) is rendered by Jinja itself; tests hold the two to identical
output.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

import jinja2
from jinja2 import nodes, pass_context
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from flows.email_html import InlineError, inline_css
from flows.template_filters import LOCALE_FILTERS, FilterError

MAX_SOURCE = 256 * 1024  # characters of template source: a long HTML email fits
MAX_VALUE = 1_000_000  # items in one string or list made while rendering
MAX_OUTPUT = 1_000_000  # characters of rendered text
MAX_STEPS = 100_000  # loop iterations plus calls in one render
CALL_STEPS = 10  # a call (a macro's above all) costs about ten loop iterations
MAX_RANGE = 10_000  # numbers one range() may give
MAX_INT_BITS = 4096  # integers made by * and ** (about 1,200 digits)


class TemplateError(ValueError):
    pass


class _Exhausted(SecurityError):
    """A render went past one of the bounds above."""


def _finalize(value: Any) -> Any:
    return "" if value is None else value


# --- what a render may cost ----------------------------------------------------------------------

_steps_left: ContextVar[list[int] | None] = ContextVar("castflow_template_steps", default=None)


def _spend(steps: int = 1) -> None:
    left = _steps_left.get()
    if left is None:
        return  # outside Template.render (e.g. Jinja folding constants): nothing to count
    left[0] -= steps
    if left[0] < 0:
        raise _Exhausted(f"the template does too much work (more than {MAX_STEPS:,} loop "
                         "iterations and calls in one message)")


def _check_size(value: Any, what: str) -> Any:
    if isinstance(value, str | list | tuple | bytes) and len(value) > MAX_VALUE:
        raise _Exhausted(f"{what} would make a value of {len(value):,} items; at most "
                         f"{MAX_VALUE:,} are allowed")
    return value


def _refuse_large(size: int, what: str) -> None:
    if size > MAX_VALUE:
        raise _Exhausted(f"{what} would make a value of {size:,} items; at most {MAX_VALUE:,} "
                         "are allowed")


def _sized(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list | tuple) else None


# A printf width or precision (`%999999999d`, `%.*f`) is a way to ask for a huge string.
_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_percent(format: str, what: str) -> None:
    for match in _PERCENT_FIELD.finditer(format):
        for number in match.groups():
            if number == "*" or (number is not None and int(number) > 10_000):
                raise _Exhausted(f"{what}: a width or precision above 10,000 is not allowed")


def _bounded_range(*args: Any) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise _Exhausted(f"range() may give at most {MAX_RANGE:,} numbers, not {len(numbers):,}")
    return numbers


def _guarded_loop(iterable: Any) -> Iterator[Any]:
    """What a `{% for %}` walks: the same items, each one spending a step."""
    for item in iterable:
        _spend()
        yield item


def _guarded_concat(parts: list[Any]) -> str:
    """`a ~ b`: the joined text, refused before it is made when it would be too long."""
    texts = ["" if part is None else str(part) for part in parts]
    _refuse_large(sum(len(text) for text in texts), "joining text with ~")
    return "".join(texts)


def _size_filter(value: Any) -> Any:
    """Applied to `{% set x %}...{% endset %}` blocks, whose text is otherwise unbounded."""
    return _check_size(value, "a {% set %} block")


# --- filters -------------------------------------------------------------------------------------

# Filters whose arguments can ask for a lot of output: checked before they run.
def _precheck_filter(name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for arg in (*args, *kwargs.values()):
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > MAX_VALUE:
            raise _Exhausted(f"the {name} filter: {arg:,} is too large an argument")
    text_args = [arg for arg in (*args, *kwargs.values()) if isinstance(arg, str)]
    if name == "replace" and isinstance(value, str) and len(args) >= 2:
        old, new = str(args[0]), str(args[1])
        hits = value.count(old) if old else len(value) + 1
        _refuse_large(len(value) + hits * max(0, len(new) - len(old)), "the replace filter")
    elif name == "join" and isinstance(value, list | tuple):
        separator = len(text_args[0]) if text_args else 0
        items = sum(len(item) if isinstance(item, str) else 20 for item in value)
        _refuse_large(items + separator * len(value), "the join filter")
    elif name in ("indent", "wordwrap") and isinstance(value, str) and text_args:
        lines = value.count("\n") + 1 if name == "indent" else len(value)
        _refuse_large(len(value) + lines * max(map(len, text_args)), f"the {name} filter")
    elif name == "format" and isinstance(value, str):
        _check_percent(value, "the format filter")


def _guarded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A built-in Jinja filter, checked before (arguments) and after (size of the result)."""

    def guarded(*args: Any, **kwargs: Any) -> Any:
        # Filters marked pass_context / pass_environment / pass_eval_context get that first.
        offset = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0
        if len(args) > offset:
            _precheck_filter(name, args[offset], args[offset + 1:], kwargs)
        return _check_size(function(*args, **kwargs), f"the {name} filter")

    pass_arg = getattr(function, "jinja_pass_arg", None)
    if pass_arg is not None:
        guarded.jinja_pass_arg = pass_arg  # type: ignore[attr-defined]
    guarded.__name__ = function.__name__
    return guarded


def _locale_filter(function: Callable[..., str]) -> Callable[..., str]:
    @pass_context
    def with_contact(context: Context, value: Any, *args: Any, **kwargs: Any) -> str:
        return function(context.get("contact"), value, *args, **kwargs)

    with_contact.__name__ = function.__name__
    return with_contact


# Strings offer only methods that cannot be made to produce huge text or reach format strings.
_STR_METHODS = frozenset({
    "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha",
    "isdecimal", "isdigit", "islower", "isnumeric", "isspace", "istitle", "isupper", "lower",
    "lstrip", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex",
    "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase",
    "title", "upper",
})


class _Environment(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, bounded (see the module's docstring), and where
    `properties.items` means the key `items` when there is one.

    Plain Jinja finds the dict method first, so an event property named `items` or `keys` would
    render as "<built-in method ...>": never what a marketer means.
    """

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr not in _STR_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> None:
        return None  # str.format and format_map are not offered at all (is_safe_attribute)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            _check_multiply(left, right)
        elif operator == "**":
            _check_power(left, right)
        elif operator == "+":
            sizes = (_sized(left), _sized(right))
            if sizes[0] is not None and sizes[1] is not None:
                _refuse_large(sizes[0] + sizes[1], "adding these")
        elif operator == "%" and isinstance(left, str):
            _check_percent(left, "formatting with %")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _spend(CALL_STEPS)
        if getattr(__obj, "__name__", None) == "replace" and isinstance(
            getattr(__obj, "__self__", None), str
        ):
            _precheck_filter("replace", __obj.__self__, args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        return _check_size(result, f"calling {getattr(__obj, '__name__', 'a function')}")


def _check_multiply(left: Any, right: Any) -> None:
    for seq, times in ((left, right), (right, left)):
        size = _sized(seq)
        if size is not None and isinstance(times, int):
            _refuse_large(size * max(times, 0), "repeating this")
    if isinstance(left, int) and isinstance(right, int) and \
            left.bit_length() + right.bit_length() > MAX_INT_BITS:
        raise _Exhausted("the template multiplies numbers that are too large")


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and \
            max(base.bit_length(), 1) * abs(exponent) > MAX_INT_BITS and abs(base) > 1:
        raise _Exhausted("the template raises a number to too high a power")
    if isinstance(exponent, int | float) and abs(exponent) > MAX_INT_BITS:
        raise _Exhausted("the template raises a number to too high a power")


def _make_environment() -> _Environment:
    environment = _Environment(
        undefined=jinja2.ChainableUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        finalize=_finalize,
        cache_size=0,
        loader=None,
    )
    environment.globals = {
        "range": _bounded_range,
        "dict": environment.globals["dict"],
        "namespace": environment.globals["namespace"],
    }
    builtin = {name: f for name, f in environment.filters.items() if name != "random"}
    environment.filters = {name: _guarded_filter(name, f) for name, f in builtin.items()}
    environment.filters["castflow_size"] = _size_filter
    for name, function in LOCALE_FILTERS.items():
        environment.filters[name] = _locale_filter(function)
    environment.castflow_loop = _guarded_loop  # type: ignore[attr-defined]
    environment.castflow_concat = _guarded_concat  # type: ignore[attr-defined]
    return environment


_environment = _make_environment()

# `x.items` without an `items` key finds the dict method in Jinja; leave those cases to Jinja.
_SHADOWED = frozenset(dir(dict))
_PLAIN_SCALARS = (int, float, bool)
_MISSING: Any = object()


class _Filtered:
    """A lookup through one of the locale filters, with constant arguments."""

    __slots__ = ("args", "function", "kwargs", "path")

    def __init__(self, path: tuple[str, ...], function: Callable[..., str],
                 args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.path = path
        self.function = function
        self.args = args
        self.kwargs = kwargs

    def render(self, contact: Any, value: Any) -> str:
        return self.function(contact, value, *self.args, **self.kwargs)


Part = str | tuple[str, ...] | _Filtered


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
        _check_tree(tree)
        self._parts = _plain_parts(tree)
        _guard_tree(tree)
        self._jinja = _environment.from_string(tree)

    def render(self, variables: Mapping[str, Any]) -> str:
        if self.is_static:
            return self.source
        try:
            if self._parts is not None:
                rendered = _render_parts(self._parts, variables)
                if rendered is not None:
                    return rendered
            return self._render_jinja(variables)
        except FilterError as exc:
            raise TemplateError(f"the template could not be rendered: {exc}") from None
        except jinja2.TemplateError as exc:
            raise TemplateError(f"the template could not be rendered: {exc}") from None
        except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
            raise TemplateError(f"the template could not be rendered: {exc}") from None
        except RecursionError:
            raise TemplateError("the template could not be rendered: it calls itself too "
                                "deeply") from None
        except MemoryError:
            raise TemplateError("the template could not be rendered: it needs too much "
                                "memory") from None

    def _render_jinja(self, variables: Mapping[str, Any]) -> str:
        assert self._jinja is not None
        token = _steps_left.set([MAX_STEPS])
        try:
            out: list[str] = []
            length = 0
            for chunk in self._jinja.root_render_func(self._jinja.new_context(dict(variables))):
                length += len(chunk)
                if length > MAX_OUTPUT:
                    raise _Exhausted(f"the message would be longer than {MAX_OUTPUT:,} "
                                     "characters")
                out.append(chunk)
            return "".join(out)
        finally:
            _steps_left.reset(token)


def compile_template(source: str) -> Template:
    if len(source) > MAX_SOURCE:
        raise TemplateError(f"the template is {len(source):,} characters long; at most "
                            f"{MAX_SOURCE:,} are allowed")
    try:
        return Template(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"the template does not parse (line {exc.lineno}): {exc.message}"
        ) from None
    except RecursionError:
        raise TemplateError("the template does not parse: it is nested too deeply") from None


# --- reading and rewriting the syntax tree --------------------------------------------------------

_NO_FILES = (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)


def _check_tree(tree: nodes.Template) -> None:
    """Refuse, with a message, what the sandbox would only refuse at render time."""
    for statement in tree.find_all(_NO_FILES):
        word = type(statement).__name__.lower().replace("fromimport", "import")
        raise jinja2.TemplateSyntaxError(
            f"{{% {word} %}} is not available: a message template cannot read other files",
            statement.lineno,
        )


def _guard_tree(tree: nodes.Template) -> None:
    """Route loops, `~` and `{% set %}` blocks through the environment's bounds."""
    loop: Any
    for loop in tree.find_all(nodes.For):
        loop.iter = _environment_call("castflow_loop", [loop.iter], loop.lineno)
    for block in tree.find_all(nodes.AssignBlock):
        block.filter = nodes.Filter(block.filter, "castflow_size", [], [], None, None,
                                    lineno=block.lineno)
    # Rewrite from the innermost out: a Concat's parts may hold Concats.
    for parent in list(tree.find_all(nodes.Node)):
        for field in parent.fields:
            child = getattr(parent, field)
            if isinstance(child, nodes.Concat):
                setattr(parent, field, _concat_call(child))
            elif isinstance(child, list):
                setattr(parent, field, [_concat_call(c) if isinstance(c, nodes.Concat) else c
                                        for c in child])


def _concat_call(node: nodes.Concat) -> nodes.Call:
    return _environment_call("castflow_concat", [nodes.List(list(node.nodes), lineno=node.lineno)],
                             node.lineno)


def _environment_call(name: str, args: list[nodes.Expr], lineno: int) -> nodes.Call:
    return nodes.Call(nodes.EnvironmentAttribute(name, lineno=lineno), args, [], None, None,
                      lineno=lineno)


def _plain_parts(tree: nodes.Template) -> tuple[Part, ...] | None:
    """Text, lookup paths and locale-filtered lookups, when the template is only that."""
    if not tree.body:
        return ()
    if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
        return None
    parts: list[Part] = []
    for node in tree.body[0].nodes:
        if isinstance(node, nodes.TemplateData):
            parts.append(node.data)
            continue
        part = _filtered(node) if isinstance(node, nodes.Filter) else _lookup_path(node)
        if part is None:
            return None
        parts.append(part)
    return tuple(parts)


def _filtered(node: nodes.Filter) -> _Filtered | None:
    function = LOCALE_FILTERS.get(node.name)
    if function is None or node.node is None or node.dyn_args or node.dyn_kwargs:
        return None
    path = _lookup_path(node.node)
    if path is None or not all(isinstance(arg, nodes.Const) for arg in node.args) or \
            not all(isinstance(kw.value, nodes.Const) for kw in node.kwargs):
        return None
    args = tuple(arg.value for arg in node.args)  # type: ignore[attr-defined]
    keywords: list[Any] = list(node.kwargs)
    kwargs = {kw.key: kw.value.value for kw in keywords}
    return _Filtered(path, function, args, kwargs)


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
    """Render text and lookups; None when Jinja must decide (a lookup through a non-dict).

    Hot: a dry run renders every message of every contact here, hence one inlined loop.
    """
    out: list[str] = []
    for part in parts:
        if type(part) is str:
            out.append(part)
            continue
        filtered = part if type(part) is _Filtered else None
        path: tuple[str, ...] = filtered.path if filtered is not None else part  # type: ignore[assignment]
        value = variables.get(path[0], _MISSING)
        if value is _MISSING:
            if path[0] in _environment.globals:
                return None
        else:
            for name in path[1:]:
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
        if filtered is not None:
            out.append(filtered.render(variables.get("contact"),
                                       None if value is _MISSING else value))
            continue
        if value is _MISSING or value is None:
            continue
        if type(value) is str:
            out.append(value)
        elif type(value) in _PLAIN_SCALARS:
            out.append(str(value))
        else:
            return None
    return "".join(out)


def render_message(channel: str, fields: Mapping[str, Template], variables: Mapping[str, Any]
                   ) -> dict[str, str]:
    """A message's fields rendered; an email's `html` also gets its CSS inlined (see
    `flows.email_html`). Raises TemplateError when a field cannot be rendered."""
    content = {name: template.render(variables) for name, template in fields.items()}
    if channel == "email" and "html" in content:
        try:
            content["html"] = inline_css(content["html"])
        except InlineError as exc:
            raise TemplateError(str(exc)) from None
    return content
