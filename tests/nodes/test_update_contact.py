"""update_contact: sets attributes (literal values or rendered templates) and goes `next`."""

from __future__ import annotations

import msgspec
import pytest

from flows.outcomes import Go
from nodes.update_contact import KIND

BILL = {"id": "c-1", "attributes": {"first_name": "Bill", "visits": 3}}


def test_ports(ports_of):
    assert ports_of(KIND, {"set": {"a": 1}}) == ("next",)
    assert KIND.describe()["ports"] == ["next"]


def test_literal_values(build_node, make_ctx):
    values = {"lifecycle": "re-engaged", "score": 5, "vip": True, "tags": ["a", "b"],
              "nothing": None, "ratio": 0.5, "nested": {"k": "v"}}
    program = build_node(KIND, {"set": values})
    assert program.step(make_ctx(BILL)) == Go("next", set_attributes=values)


def test_templates_are_rendered(build_node, make_ctx):
    program = build_node(KIND, {"set": {
        "greeting": "Hi {{ contact.attributes.first_name | upper }}",
        "last_order": "{{ event.properties.order_id }}",
        "campaign": "{{ vars.campaign }}-{{ contact.id }}",
        "plain": "no template here",
        "count": 7,
    }})
    ctx = make_ctx(BILL, event={"name": "purchased", "properties": {"order_id": "o-9"}},
                   vars={"campaign": "spring"})
    assert program.step(ctx) == Go("next", set_attributes={
        "greeting": "Hi BILL",
        "last_order": "o-9",
        "campaign": "spring-c-1",
        "plain": "no template here",
        "count": 7,
    })


def test_missing_variables_render_empty(build_node, make_ctx):
    program = build_node(KIND, {"set": {"x": "[{{ contact.attributes.nope }}]"}})
    assert program.step(make_ctx(BILL)) == Go("next", set_attributes={"x": "[]"})


def test_step_does_not_change_the_contact(build_node, make_ctx):
    program = build_node(KIND, {"set": {"first_name": "Will"}})
    contact = {"id": "c-1", "attributes": {"first_name": "Bill"}}
    program.step(make_ctx(contact))
    assert contact == {"id": "c-1", "attributes": {"first_name": "Bill"}}


def test_sandbox_error_goes_next_with_render_error_and_sets_nothing(build_node, make_ctx):
    program = build_node(KIND, {"set": {"x": "{{ contact.attributes.update({'vip': True}) }}"}})
    contact = {"id": "c-1", "attributes": {}}
    assert program.step(make_ctx(contact)) == Go("next", reason="render_error")
    assert contact == {"id": "c-1", "attributes": {}}


def test_python_error_while_rendering_is_a_render_error(build_node, make_ctx):
    program = build_node(KIND, {"set": {"next_visit": "{{ contact.attributes.first_name + 1 }}"}})
    assert program.step(make_ctx(BILL)) == Go("next", reason="render_error")


def test_no_attributes_is_a_problem(config_problems):
    assert config_problems(KIND, {"set": {}}) == ["choose at least one attribute to set."]


@pytest.mark.parametrize("name", ["", "  "])
def test_empty_attribute_name_is_a_problem(config_problems, name):
    assert config_problems(KIND, {"set": {name: 1}}) == ["an attribute name is empty."]


def test_bad_template_is_a_problem_naming_the_attribute(config_problems):
    problems = config_problems(KIND, {"set": {"ok": "{{ x }}", "greeting": "Hi {{ name"}})
    assert len(problems) == 1
    assert problems[0].startswith("set.greeting: the template does not parse (line 1)")


@pytest.mark.parametrize("config", [{}, {"set": []}, {"set": {"a": 1}, "unset": ["b"]}])
def test_malformed_config_is_rejected_by_the_schema(config):
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(config, KIND.config)
