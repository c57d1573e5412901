"""The known ways out of a Jinja2 sandbox, and ways to make one render cost too much: each is
refused with a TemplateError (when compiled or when rendered) or renders harmlessly."""

from __future__ import annotations

import time
from typing import Any

import pytest

from flows.templating import MAX_OUTPUT, TemplateError, compile_template

SECRETS = ("class", "mro", "subclasses", "globals", "builtins", "module", "function", "method",
           "object at", "Context", "root:", "/bin/", "environ")

DATA: dict[str, Any] = {
    "contact": {"id": "c-1", "attributes": {"first_name": "Bill", "items": [1, 2]}},
    "event": {"name": "x", "properties": {"code": "A1"}},
    "vars": {},
}


def outcome(source: str) -> str | None:
    """The rendered text, or None when the template was refused (at compile or render time)."""
    try:
        return compile_template(source).render(DATA)
    except TemplateError:
        return None


ESCAPES = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''['__class__'] }}",
    "{{ contact.__class__.__init__.__globals__ }}",
    "{{ contact|attr('__class__') }}",
    "{{ (contact|attr('__class__')|attr('__base__')|attr('__subclasses__'))() }}",
    "{{ ().__class__.__base__.__subclasses__() }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c.__name__ }}{% endfor %}",
    "{{ __builtins__ }}",
    "{{ __import__('os').system('id') }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ lipsum(n=1000000) }}",
    "{{ namespace.__init__.__globals__ }}",
    "{% set ns = namespace(a=1) %}{{ ns.__class__ }}",
    "{{ range.__self__ }}",
    "{{ range.__globals__ }}",
    "{{ dict.__base__.__subclasses__() }}",
    "{{ self }}",
    "{{ self.__dict__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ self._TemplateReference__context.environment }}",
    "{{ config }}",
    "{{ config.items() }}",
    "{{ request.application.__globals__ }}",
    "{{ url_for.__globals__ }}",
    "{{ get_flashed_messages.__globals__ }}",
    "{{ ''.format.__globals__ }}",
    "{{ '{0.__class__}'.format(contact) }}",
    "{{ '{0.__class__.__mro__}'.format_map(contact) }}",
    "{{ '{.__init__.__globals__}'.format(cycler) }}",
    "{{ '%s'|format(contact.__class__) }}",
    "{{ contact.attributes.items.__self__ }}",
    "{{ contact.attributes.update({'first_name': 'Mallory'}) }}",
    "{{ contact.attributes.pop('first_name') }}",
    "{{ contact.attributes.items.append(3) }}",
    "{{ contact.attributes.setdefault('x', 1) }}",
    "{{ event.properties.get.__self__.__class__ }}",
    "{{ (1).__class__.__base__ }}",
    "{{ contact.attributes.first_name.upper.__globals__ }}",
    "{{ contact.attributes.first_name.upper.__self__.__class__ }}",
    "{% macro m() %}{% endmacro %}{{ m.__globals__ }}",
    "{% macro m() %}{% endmacro %}{{ m._func.__globals__ }}",
    "{{ caller }}",
    "{{ loop }}",
    "{{ environment }}",
    "{{ context }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_escapes_are_refused_or_harmless(source: str) -> None:
    rendered = outcome(source)
    if rendered is not None:
        assert not any(secret in rendered for secret in SECRETS), rendered
    assert DATA["contact"]["attributes"] == {"first_name": "Bill", "items": [1, 2]}


@pytest.mark.parametrize("source", [
    "{% include '/etc/passwd' %}",
    "{% include 'header.html' ignore missing %}",
    "{% import 'macros.html' as m %}",
    "{% from 'macros.html' import x %}",
    "{% extends 'base.html' %}",
    "{% extends '../../etc/passwd' %}",
])
def test_templates_cannot_read_files(source: str) -> None:
    with pytest.raises(TemplateError, match="cannot read other files"):
        compile_template(source)


def test_dynamic_file_names_are_refused_too() -> None:
    with pytest.raises(TemplateError):
        compile_template("{% include event.properties.code %}")


RESOURCE_ATTACKS = [
    "{{ range(10**10)|list|length }}",
    "{{ range(100000)|list|length }}",
    "{{ 'a' * 10**10 }}",
    "{{ 'a' * 1000000000 }}",
    "{{ [1] * 1000000000 }}",
    "{{ 9**9**9 }}",
    "{{ 2**100000 }}",
    "{{ 'x' ~ 'x' * 999999 ~ 'x' * 999999 }}",
    "{% set s = 'xxxxxxxxxxxxxxxx' %}" + "{% set s = s ~ s %}" * 40 + "{{ s|length }}",
    "{% set s = 'xxxxxxxxxxxxxxxx' %}" + "{% set s = s + s %}" * 40 + "{{ s|length }}",
    "{% set s %}xxxxxxxxxxxxxxxx{% endset %}"
    + "{% set s %}{{ s }}{{ s }}{% endset %}" * 40 + "{{ s|length }}",
    "{% set s = 'xxxxxxxxxx' %}" + "{% set s = s|replace('x', s) %}" * 10 + "{{ s|length }}",
    "{% set s = 'xxxxxxxxxx' %}" + "{% set s = s.replace('x', s) %}" * 10 + "{{ s|length }}",
    "{% set l = ['xxxxxxxxxx'] %}" + "{% set l = l + l %}" * 40 + "{{ l|length }}",
    "{{ 'x'|center(1000000000) }}",
    "{{ 'x'|indent(1000000000) }}",
    "{{ 'x'.ljust(1000000000) }}",
    "{{ 'x'.zfill(1000000000) }}",
    "{{ 'x'.center(1000000000) }}",
    "{{ 'x\tx'.expandtabs(1000000000) }}",
    "{{ '{:>1000000000}'.format(1) }}",
    "{{ '%1000000000d' % 1 }}",
    "{{ '%*d' % (1000000000, 1) }}",
    "{{ '%1000000000s'|format('x') }}",
    "{{ [1]|batch(1000000000, 0)|list }}",
    "{{ 'xxxx'|wordwrap(2, wrapstring='y' * 100000) }}",
    "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}",
    "{% for a in range(10000) %}{% for b in range(10000) %}x{% endfor %}{% endfor %}",
    "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}",
    "{{ ((((((((((((((((((((((((((((((1))))))))))))))))))))))))))))))" * 1000 + " }}",
    "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
    "{{ " + "[" * 5000 + "]" * 5000 + " }}",
]


@pytest.mark.parametrize("source", RESOURCE_ATTACKS, ids=range(len(RESOURCE_ATTACKS)))
def test_resource_exhaustion_is_bounded(source: str) -> None:
    started = time.perf_counter()
    rendered = outcome(source)
    assert time.perf_counter() - started < 5
    if rendered is not None:
        assert len(rendered) <= MAX_OUTPUT


def test_the_bounds_say_what_was_too_much() -> None:
    with pytest.raises(TemplateError, match=r"range\(\) may give at most 10,000"):
        compile_template("{{ range(20000)|list }}").render({})
    with pytest.raises(TemplateError, match="too much work"):
        compile_template("{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}"
                         "{% endfor %}").render({})
    with pytest.raises(TemplateError, match="at most 1,000,000"):
        compile_template("{{ 'ab' * 600000 }}").render({})
    with pytest.raises(TemplateError, match="longer than 1,000,000 characters"):
        compile_template("{% for a in range(200) %}{{ 'x' * 10000 }}{% endfor %}").render({})
    with pytest.raises(TemplateError, match="characters long"):
        compile_template("x" * 300_000 + "{{ a }}")


def test_ordinary_templates_still_work() -> None:
    source = (
        "{% for item in event.properties.items %}{{ loop.index }}. {{ item.name|title }}"
        "{{ ', ' if not loop.last }}{% endfor %} | {{ 'ab' * 3 }} {{ 2 ** 10 }} "
        "{{ contact.attributes.first_name ~ '!' }} {{ '%.2f'|format(event.properties.total) }} "
        "{{ event.properties.code.lower().replace('a', 'b') }} {{ range(3)|join(',') }}"
        "{% set greeting %}Hi {{ contact.attributes.first_name }}{% endset %} {{ greeting }}"
    )
    data = {"contact": {"attributes": {"first_name": "Bill"}},
            "event": {"properties": {"items": [{"name": "tea"}, {"name": "cake"}],
                                     "total": 12.5, "code": "AXA"}}}
    assert compile_template(source).render(data) == (
        "1. Tea, 2. Cake | ababab 1024 Bill! 12.50 bxb 0,1,2 Hi Bill"
    )


def test_random_is_not_offered_renders_are_deterministic() -> None:
    with pytest.raises(TemplateError):
        compile_template("{{ [1, 2, 3]|random }}").render({})
