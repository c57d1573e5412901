"""Update contact: sets attributes on the contact's profile (values may be templates)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from flows.catalogue import ConfigCheck, NodeKind, Program, StepContext
from flows.outcomes import Go, Outcome
from flows.templating import Template, TemplateError


class UpdateContactConfig(msgspec.Struct, forbid_unknown_fields=True):
    set: Annotated[
        dict[str, Any],
        msgspec.Meta(title="Set attributes", description="attribute -> value or {{ template }}"),
    ]


class UpdateContactProgram(Program):
    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def step(self, ctx: StepContext) -> Outcome:
        data = ctx.data()
        rendered: dict[str, Any] = {}
        for name, value in self.values.items():
            if isinstance(value, Template):
                try:
                    rendered[name] = value.render(data)
                except TemplateError:
                    return Go("next", reason="render_error")
            else:
                rendered[name] = value
        return Go("next", set_attributes=rendered)


def build(config: UpdateContactConfig, check: ConfigCheck) -> UpdateContactProgram:
    if not config.set:
        check.problem("choose at least one attribute to set.")
    values: dict[str, Any] = {}
    for name, value in config.set.items():
        if not name.strip():
            check.problem("an attribute name is empty.")
        if isinstance(value, str):
            template = check.template(f"set.{name}", value)
            values[name] = template if template is not None and not template.is_static else value
        else:
            values[name] = value
    return UpdateContactProgram(values)


KIND = NodeKind(
    type="update_contact",
    label="Update contact",
    description="Sets attributes on the contact's profile, e.g. lifecycle = \"re-engaged\".",
    config=UpdateContactConfig,
    ports=lambda config: ("next",),
    build=build,
    fixed_ports=("next",),
)
