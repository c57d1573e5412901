"""Templates: sandboxing, empty rendering of missing values, and the fast path's fidelity."""

from __future__ import annotations

from typing import Any

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows import templating
from flows.templating import TemplateError, compile_template


def jinja_render(source: str, variables: dict[str, Any]) -> str:
    """The reference: the same sandboxed environment, without the fast path."""
    return templating._environment.from_string(source).render(variables)


def test_renders_contact_fields() -> None:
    template = compile_template("Ciao {{ contact.attributes.first_name }}!")
    assert template.render({"contact": {"attributes": {"first_name": "Bill"}}}) == "Ciao Bill!"


@pytest.mark.parametrize(
    "variables",
    [{}, {"contact": {}}, {"contact": {"attributes": None}}, {"contact": {"attributes": {}}},
     {"contact": {"attributes": {"first_name": None}}}],
)
def test_missing_or_null_values_render_empty(variables: dict[str, Any]) -> None:
    assert compile_template("Hi {{ contact.attributes.first_name }}!").render(variables) == "Hi !"


def test_static_text_is_not_parsed() -> None:
    template = compile_template("Welcome!")
    assert template.is_static
    assert template.render({}) == "Welcome!"


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(TemplateError, match=r"line 2"):
        compile_template("Hi\n{{ contact.first_name ")


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ contact.__class__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{% for c in ().__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
        "{{ contact.attributes.update({'x': 1}) }}",
    ],
)
def test_sandbox_blocks_escapes(source: str) -> None:
    template = compile_template(source)
    try:
        rendered = template.render({"contact": {"attributes": {}}})
    except TemplateError:
        return
    assert "class" not in rendered and "subclasses" not in rendered and "globals" not in rendered


def test_filters_and_dict_methods_go_through_jinja() -> None:
    variables = {"contact": {"attributes": {"first_name": "bill", "items": "x"}}}
    for source in ["{{ contact.attributes.first_name | title }}", "{{ contact.attributes.items }}",
                   "{% if contact.attributes.first_name %}yes{% endif %}"]:
        assert compile_template(source).render(variables) == jinja_render(source, variables)


# The fast path must render exactly what Jinja renders, for any data.
_names = st.sampled_from(["contact", "event", "vars", "attributes", "first_name", "code", "a",
                          "items", "get", "range", "x1"])
_paths = st.lists(_names, min_size=1, max_size=4)
_text = st.text(alphabet=st.characters(blacklist_characters="{}%#"), max_size=8)
_scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False) | _text
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(_names, inner, max_size=4),
    max_leaves=12,
)


def _source(pieces: list[tuple[str, list[str], bool]]) -> str:
    out = []
    for text, path, bracket in pieces:
        head, *rest = path
        lookup = head + "".join(f'["{n}"]' if bracket else f".{n}" for n in rest)
        out.append(f"{text}{{{{ {lookup} }}}}")
    return "".join(out)


@settings(max_examples=400, deadline=None)
@given(
    pieces=st.lists(st.tuples(_text, _paths, st.booleans()), min_size=1, max_size=4),
    variables=st.dictionaries(st.sampled_from(["contact", "event", "vars"]), _values),
)
def test_fast_path_matches_jinja(
    pieces: list[tuple[str, list[str], bool]], variables: dict[str, Any]
) -> None:
    source = _source(pieces)
    try:
        expected = jinja_render(source, variables)
    except jinja2.TemplateError:
        with pytest.raises(TemplateError):
            compile_template(source).render(variables)
        return
    assert compile_template(source).render(variables) == expected


def test_a_key_named_like_a_dict_method_is_the_key() -> None:
    template = compile_template("{{ event.properties.items }} / {{ event.properties.keys }}")
    assert template.render({"event": {"properties": {"items": 3}}}).startswith("3 / <built-in")
