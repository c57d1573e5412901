"""Templates: sandboxing, empty rendering of missing values, and the fast path's fidelity."""

from __future__ import annotations

import re
from typing import Any

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows import templating
from flows.templating import TemplateError, compile_template, render_message


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
    # More attempts, and the resource bounds: tests/flows/test_template_sandbox.py
    try:
        rendered = compile_template(source).render({"contact": {"attributes": {}}})
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


# --- dates, money and numbers in the contact's locale ---------------------------------------------


def render_for(source: str, locale: str | None = None, timezone: str | None = None,
               **properties: Any) -> str:
    attributes = {"locale": locale} if locale is not None else {}
    contact = {"id": "c-1", "attributes": attributes, "timezone": timezone}
    return compile_template(source).render(
        {"contact": contact, "event": {"properties": properties}, "vars": {}})


@pytest.mark.parametrize(("locale", "expected"), [
    (None, "Mar 5, 2026"), ("en", "Mar 5, 2026"), ("it", "5 mar 2026"),
    ("it_IT", "5 mar 2026"), ("it-IT", "5 mar 2026"), ("de", "05.03.2026"),
    ("xx-nowhere", "Mar 5, 2026"), ("", "Mar 5, 2026"),
])
def test_format_date_uses_the_contacts_locale_else_english(locale: str | None, expected: str
                                                           ) -> None:
    assert render_for("{{ event.properties.day | format_date }}", locale, day="2026-03-05") == \
        expected


def test_format_date_widths_and_patterns() -> None:
    day = {"day": "2026-03-05"}
    assert render_for("{{ event.properties.day | format_date('long') }}", "de", **day) == \
        "5. März 2026"
    assert render_for("{{ event.properties.day | format_date('full') }}", "fr", **day) == \
        "jeudi 5 mars 2026"
    assert render_for("{{ event.properties.day | format_date('d MMMM y') }}", "it", **day) == \
        "5 marzo 2026"
    assert render_for("{{ event.properties.day | format_date(locale='it') }}", "en", **day) == \
        "5 mar 2026"


def test_format_date_takes_the_day_in_the_contacts_time_zone() -> None:
    late = {"at": "2026-03-05T23:30:00Z"}
    assert render_for("{{ event.properties.at | format_date }}", "it", "Europe/Rome", **late) == \
        "6 mar 2026"
    assert render_for("{{ event.properties.at | format_date }}", "it", None, **late) == \
        "5 mar 2026"  # no time zone: UTC
    assert render_for("{{ event.properties.at | format_date }}", "it", "Not/AZone", **late) == \
        "5 mar 2026"
    assert render_for("{{ event.properties.at | format_date(tz='Asia/Tokyo') }}", "it", **late) \
        == "6 mar 2026"


def test_format_datetime_and_time_in_the_contacts_time_zone() -> None:
    at = {"at": "2026-07-05T09:30:00Z"}
    assert render_for("{{ event.properties.at | format_datetime('short') }}", "it",
                      "Europe/Rome", **at) == "05/07/26, 11:30"  # summer time: UTC+2
    assert render_for("{{ event.properties.at | format_time }}", "en_US", "America/New_York",
                      **at) == "5:30\u202fAM"
    assert render_for("{{ event.properties.at | format_time('HH:mm') }}", "en", None,
                      at="2026-07-05T09:30:00+02:00") == "07:30"  # no time zone: UTC
    assert render_for("{{ event.properties.at | format_datetime('y-MM-dd HH:mm') }}", "en",
                      "Europe/Rome", at="2026-07-05") == "2026-07-05 00:00"


@pytest.mark.parametrize(("source", "locale", "amount", "expected"), [
    ("{{ event.properties.a | format_money('EUR') }}", "en", 1234.5, "€1,234.50"),
    ("{{ event.properties.a | format_money('EUR') }}", "it", 1234.5, "1.234,50\xa0€"),
    ("{{ event.properties.a | format_money('EUR') }}", "it", "1234.5", "1.234,50\xa0€"),
    ("{{ event.properties.a | format_money('JPY') }}", "ja", 1234.5, "￥1,235"),
    ("{{ event.properties.a | format_money('EUR') }}", "en", 0.125, "€0.13"),  # half up
    ("{{ event.properties.a | format_money('USD', locale='en_IN') }}", "it", 1234567.5,
     "$12,34,567.50"),
    ("{{ event.properties.a | format_number }}", "it", 1234567.891, "1.234.567,891"),
    ("{{ event.properties.a | format_number(2) }}", "en", 2.675, "2.68"),
    ("{{ event.properties.a | format_number(0) }}", "en", 2.5, "3"),
    ("{{ event.properties.a | format_number(0) }}", "en", 7, "7"),
])
def test_money_and_numbers(source: str, locale: str, amount: Any, expected: str) -> None:
    assert render_for(source, locale, a=amount) == expected


@pytest.mark.parametrize("source", [
    "{{ event.properties.missing | format_date }}",
    "{{ event.properties.null | format_datetime }}",
    "{{ nothing.at.all | format_money('EUR') }}",
    "{{ event.properties.null | format_number(2) }}",
])
def test_missing_values_render_empty_through_the_filters(source: str) -> None:
    assert render_for(source, "it", null=None) == ""


@pytest.mark.parametrize(("source", "value", "words"), [
    ("{{ event.properties.v | format_date }}", "tomorrow", "format_date: 'tomorrow' is not a date"),
    ("{{ event.properties.v | format_date }}", 5, "format_date: 5 is not a date"),
    ("{{ event.properties.v | format_time }}", "2026-03-05", "a day without a time"),
    ("{{ event.properties.v | format_money('EUR') }}", "lots", "'lots' is not a number"),
    ("{{ event.properties.v | format_money('EUR') }}", True, "True is not a number"),
    ("{{ event.properties.v | format_money }}", 5, "three-letter ISO code"),
    ("{{ event.properties.v | format_money('euro') }}", 5, "three-letter ISO code"),
    ("{{ event.properties.v | format_number }}", "1e99999999", "too large"),
    ("{{ event.properties.v | format_number(99) }}", 1, "decimals must be 0 to 10"),
    ("{{ event.properties.v | format_date('zzzz') }}", "2026-03-05", "format_date: these"),
    ("{{ event.properties.v | format_date(nonsense=1) }}", "2026-03-05", "format_date: these"),
])
def test_values_the_filters_cannot_write_are_errors_naming_the_filter(
    source: str, value: Any, words: str
) -> None:
    with pytest.raises(TemplateError, match=re.escape(words)):
        render_for(source, "en", v=value)


def test_locale_filtered_lookups_take_the_fast_path() -> None:
    fast = compile_template("Hi {{ contact.attributes.first_name }}, order "
                            "{{ event.properties.order_id }} ships "
                            "{{ event.properties.date | format_date('long', locale='it') }}")
    assert fast._parts is not None
    slow = compile_template("{{ event.properties.date | format_date(vars.width) }}")
    assert slow._parts is None


# The fast path through the locale filters must render what Jinja renders, for any data.
_filter_calls = st.sampled_from([
    "format_date", "format_date('long')", "format_date('d MMM y', tz='Asia/Tokyo')",
    "format_datetime('short')", "format_time", "format_money('EUR')",
    "format_money('JPY', locale='ja')", "format_number", "format_number(2)",
])
_filter_values = (st.none() | st.dates().map(str) | st.datetimes(timezones=st.timezones()).map(
    lambda d: d.isoformat()) | st.decimals(allow_nan=False, places=3, min_value=-10**9,
                                           max_value=10**9).map(str)
    | st.integers(-10**12, 10**12) | st.floats(allow_nan=False, allow_infinity=False) | _text
    | st.booleans())
_contacts = st.fixed_dictionaries({}, optional={
    "timezone": st.sampled_from(["Europe/Rome", "America/New_York", "Nope/Zone", "", None]),
    "attributes": st.none() | st.fixed_dictionaries({}, optional={
        "locale": st.sampled_from(["it", "de-DE", "en_US", "pt_BR", "xx", "", None, 5])}),
})


@settings(max_examples=300, deadline=None)
@given(call=_filter_calls, value=_filter_values, contact=_contacts, present=st.booleans())
def test_fast_filters_match_jinja(call: str, value: Any, contact: dict[str, Any], present: bool
                                  ) -> None:
    source = f"[{{{{ event.properties.v | {call} }}}}]"
    variables = {"contact": contact, "event": {"properties": {"v": value} if present else {}}}
    assert compile_template(source)._parts is not None
    try:
        expected = jinja_render(source, variables)
    except (jinja2.TemplateError, ValueError, TypeError, LookupError, AttributeError):
        with pytest.raises(TemplateError):
            compile_template(source).render(variables)
        return
    assert compile_template(source).render(variables) == expected


# --- email HTML: CSS inlined when rendered ---------------------------------------------------


def test_email_html_gets_its_css_inlined() -> None:
    html = compile_template(
        "<style>p.greet { color: #c00; } a { font-weight: bold }"
        " @media (max-width: 600px) { p { font-size: 18px } }</style>"
        "<p class=\"greet\">Ciao {{ contact.attributes.first_name }}</p><a href=\"#\">Shop</a>")
    content = render_message("email", {"subject": compile_template("Hi"), "html": html},
                             {"contact": {"attributes": {"first_name": "Bill"}}})
    assert content["subject"] == "Hi"
    assert '<p class="greet" style="color: #c00;">Ciao Bill</p>' in content["html"]
    assert '<a href="#" style="font-weight: bold;">Shop</a>' in content["html"]
    assert "@media (max-width: 600px)" in content["html"]  # kept for clients that honour it


def test_html_without_styles_is_left_as_written() -> None:
    source = "<p>Ciao {{ contact.attributes.first_name }}</p>"
    content = render_message("email", {"html": compile_template(source)},
                             {"contact": {"attributes": {"first_name": "Bill"}}})
    assert content["html"] == "<p>Ciao Bill</p>"


def test_only_the_email_html_field_is_inlined() -> None:
    text = compile_template("<style>p{color:red}</style><p>x</p>")
    assert render_message("sms", {"text": text}, {})["text"] == text.source
    assert render_message("email", {"text": text}, {})["text"] == text.source


def test_linked_stylesheets_are_never_read(tmp_path: Any) -> None:
    sheet = tmp_path / "evil.css"
    sheet.write_text("p { color: red }")
    for href in (str(sheet), f"file://{sheet}", "http://127.0.0.1:9/evil.css"):
        html = compile_template(f'<link rel="stylesheet" href="{href}"><style>b{{x:1}}</style>'
                                "<p>x</p>")
        rendered = render_message("email", {"html": html}, {})["html"]
        assert "<p>x</p>" in rendered
        assert "red" not in rendered and "<link" not in rendered


def test_remembered_answers_are_the_answers() -> None:
    from flows import template_filters

    money = template_filters.LOCALE_FILTERS["format_money"]
    assert money({}, 1, "EUR") == "€1.00"
    with pytest.raises(template_filters.FilterError):
        money({}, True, "EUR")  # equal to 1 as a key, but not a number
    assert money({"attributes": {"locale": "it"}}, 1, "EUR") == "1,00\xa0€"
    with pytest.raises(template_filters.FilterError):  # unhashable: not remembered
        money({}, [1], "EUR")


@settings(max_examples=200, deadline=None)
@given(call=_filter_calls, value=_filter_values, contact=_contacts)
def test_remembered_filters_match_direct_ones(call: str, value: Any, contact: dict[str, Any]
                                              ) -> None:
    from flows import template_filters

    name = call.split("(")[0]
    for _ in range(2):  # the second call is answered from memory
        try:
            expected: Any = template_filters._FILTERS[name](contact, value)
        except template_filters.FilterError as exc:
            expected = exc
        try:
            got: Any = template_filters.LOCALE_FILTERS[name](contact, value)
        except template_filters.FilterError as exc:
            got = exc
        assert type(got) is type(expected)
        assert str(got) == str(expected)
