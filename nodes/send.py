"""Send: renders a message for the channel and hands it over; `failed` says why it could not.

Every send passes the delivery policy's gate first (`flows.policy.decide`): a refusal leaves by
`failed` with the reason and carries the message it would have been (the shell records it as
`refused`); a deferral (quiet hours, or a cap with `when_capped: "wait"`) waits on the node and
runs the gate again when the time comes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from flows.catalogue import ConfigCheck, NodeKind, Program, StepContext
from flows.outcomes import Go, MessageDraft, Outcome, Retry, Send
from flows.policy import Defer, Refuse, WhenCapped, decide
from flows.templating import Template, TemplateError, render_message
from nodes._channels import CHANNELS, Channel


class EmailContent(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    subject: str
    text: str
    html: str | None = None


class SmsContent(msgspec.Struct, forbid_unknown_fields=True):
    text: str


class PushContent(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    title: str
    body: str
    url: str | None = None


class VoiceContent(msgspec.Struct, forbid_unknown_fields=True):
    text: str


class ChatContent(msgspec.Struct, forbid_unknown_fields=True):
    text: str


class Content(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    email: EmailContent | None = None
    sms: SmsContent | None = None
    push: PushContent | None = None
    voice: VoiceContent | None = None
    chat: ChatContent | None = None


class SendConfig(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    channel: Annotated[
        Channel | Literal["chosen"],
        msgspec.Meta(title="Channel", description="'chosen': the last Channel choice's pick"),
    ]
    content: Annotated[Content | None, msgspec.Meta(title="Message, per channel")] = None
    template: Annotated[str | dict[Channel, str] | None, msgspec.Meta(
        title="Template",
        description="A saved template's key (or one per channel), in place of 'content'",
    )] = None
    topic: Annotated[str | None, msgspec.Meta(title="Topic")] = None
    when_capped: Annotated[WhenCapped, msgspec.Meta(
        title="When a frequency cap is reached",
        description="'fail': leave by 'failed' (reason 'capped'); 'wait': send once the cap "
        "frees up",
    )] = "fail"


# Rendered fields per channel: compiled templates, in a fixed order.
Templates = dict[str, dict[str, Template]]


class SendProgram(Program):
    def __init__(self, channel: str, topic: str | None, templates: Templates,
                 when_capped: WhenCapped = "fail") -> None:
        self.channel = channel
        self.topic = topic
        self.templates = templates
        self.when_capped: WhenCapped = when_capped

    def step(self, ctx: StepContext) -> Outcome:
        channel = ctx.chosen_channel if self.channel == "chosen" else self.channel
        if channel is None:
            return Go("failed", reason="no_channel_chosen")
        fields = self.templates.get(channel)
        if fields is None:
            return Go("failed", reason="no_content")
        decision = decide(ctx.policy, ctx.facts, ctx.contact, channel, self.topic, ctx.now,
                          ctx.timezone, self.when_capped)
        if isinstance(decision, Refuse):
            # Nothing is rendered: the record says where and why the message did not go.
            return Go("failed", reason=decision.reason,
                      refused=MessageDraft(channel, decision.to or "", {}, self.topic))
        if isinstance(decision, Defer):
            return Retry(decision.until, decision.reason)
        try:
            # render_message also inlines an email's CSS, as mail clients need it.
            content = render_message(channel, fields, ctx.data())
        except TemplateError:
            return Go("failed", reason="render_error")
        return Send(MessageDraft(channel, decision.to, content, self.topic))


def build(config: SendConfig, check: ConfigCheck) -> SendProgram:
    templates: Templates = {}
    if config.template is not None:
        # The shell writes a template's content into the node before compiling (publish and
        # the editor do); a document compiled without templates at hand cannot say more.
        check.problem("the template(s) it names are filled in when the flow is published; "
                      "this check had no templates at hand.")
        return SendProgram(config.channel, config.topic, templates, config.when_capped)
    if config.content is None:
        check.problem("write the message in 'content', or choose a saved 'template'.")
        return SendProgram(config.channel, config.topic, templates, config.when_capped)
    for channel in CHANNELS:
        fields: Any = getattr(config.content, channel)
        if fields is None:
            continue
        compiled: dict[str, Template] = {}
        for name in fields.__struct_fields__:
            source = getattr(fields, name)
            if source is None:
                continue
            template = check.template(f"content.{channel}.{name}", source)
            if template is not None:
                compiled[name] = template
        templates[channel] = compiled
    if config.channel != "chosen" and config.channel not in templates:
        check.problem(f"write the {config.channel} message: content.{config.channel} is missing.")
    if config.channel == "chosen" and not templates:
        check.problem("write a message for at least one channel in 'content'.")
    return SendProgram(config.channel, config.topic, templates, config.when_capped)


KIND = NodeKind(
    type="send",
    label="Send",
    description="Sends a message on a channel, or on the channel picked by the last Channel "
    "choice, if the delivery policy allows it. Leaves by 'failed' (with the reason) when the "
    "contact cannot get it; waits through quiet hours.",
    config=SendConfig,
    ports=lambda config: ("sent", "failed"),
    build=build,
    fixed_ports=("sent", "failed"),
)
