"""Templates over HTTP, on SQLite and PostgreSQL: create, version, list, preview, and errors
that name the field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from test_api_support import Api, running_api

from backend.store import templates as template_store
from flows.templates_resolve import template_keys

WELCOME = {"key": "welcome_sms", "name": "Welcome", "channel": "sms",
           "content": {"text": "Hi {{ contact.attributes.first_name }}, your order "
                               "{{ event.properties.order_id }} ships "
                               "{{ event.properties.date | format_date }}"}}
EMAIL = {"key": "receipt", "name": "Receipt", "channel": "email",
         "content": {"subject": "Your receipt, {{ contact.attributes.first_name }}",
                     "text": "Total {{ event.properties.total | format_money('EUR') }}",
                     "html": "<style>p { color: #333 }</style>"
                             "<p>Total {{ event.properties.total | format_money('EUR') }}</p>"}}


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(database_url, tmp_path) as running:
        yield running


async def create(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.client.post("/api/templates", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_create_get_and_list(api: Api) -> None:
    created = await create(api, WELCOME)
    assert created["key"] == "welcome_sms"
    assert created["version"] == 1
    assert created["content"] == WELCOME["content"]
    assert [v["number"] for v in created["versions"]] == [1]
    assert created["created_at"].endswith("Z")
    await create(api, EMAIL)
    got = (await api.client.get("/api/templates/receipt")).json()
    assert got["channel"] == "email" and got["content"] == EMAIL["content"]
    listed = (await api.client.get("/api/templates")).json()
    assert [t["key"] for t in listed["items"]] == ["receipt", "welcome_sms"]
    assert listed["next"] is None
    only_sms = (await api.client.get("/api/templates?channel=sms")).json()
    assert [t["key"] for t in only_sms["items"]] == ["welcome_sms"]
    page = (await api.client.get("/api/templates?limit=1")).json()
    assert [t["key"] for t in page["items"]] == ["receipt"] and page["next"]
    rest = (await api.client.get(f"/api/templates?limit=1&cursor={page['next']}")).json()
    assert [t["key"] for t in rest["items"]] == ["welcome_sms"] and rest["next"] is None


async def test_put_makes_a_new_version_and_keeps_the_old_ones(api: Api) -> None:
    await create(api, WELCOME)
    response = await api.client.put("/api/templates/welcome_sms",
                                    json={"content": {"text": "Ciao!"}, "name": "Benvenuto"})
    assert response.status_code == 200, response.text
    saved = response.json()
    assert saved["version"] == 2 and saved["name"] == "Benvenuto"
    assert saved["content"] == {"text": "Ciao!"}
    assert [(v["number"], v["content"]) for v in saved["versions"]] == [
        (2, {"text": "Ciao!"}), (1, WELCOME["content"])]
    # The same content again makes no version; a new name alone makes none either.
    again = (await api.client.put("/api/templates/welcome_sms",
                                  json={"content": {"text": "Ciao!"}})).json()
    assert again["version"] == 2
    renamed = (await api.client.put("/api/templates/welcome_sms", json={"name": "W"})).json()
    assert (renamed["version"], renamed["name"]) == (2, "W")


async def test_preview_for_a_stored_contact(api: Api) -> None:
    await create(api, WELCOME)
    contact = {"id": "c-1", "attributes": {"first_name": "Bill", "locale": "it"},
               "timezone": "Europe/Rome"}
    assert (await api.client.post("/api/contacts", json=contact)).status_code in (200, 201)
    response = await api.client.post("/api/templates/welcome_sms/preview", json={
        "contact": "c-1",
        "event": {"name": "order_shipped",
                  "properties": {"order_id": "A-17", "date": "2026-03-05T23:30:00Z"}}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["content"] == {"text": "Hi Bill, your order A-17 ships 6 mar 2026"}
    assert body["version"] == 1
    assert body["sms"]["encoding"] == "GSM-7"
    assert body["sms"]["characters"] == len(body["content"]["text"])
    assert body["sms"]["segments"] == 1


async def test_preview_of_unsaved_edits_an_old_version_and_an_inline_contact(api: Api) -> None:
    await create(api, WELCOME)
    await api.client.put("/api/templates/welcome_sms", json={"content": {"text": "v2 😀"}})
    inline = {"id": "x", "attributes": {"first_name": "Ann"}}
    old = (await api.client.post("/api/templates/welcome_sms/preview",
                                 json={"contact": inline, "version": 1})).json()
    assert old["content"]["text"] == "Hi Ann, your order  ships " and old["version"] == 1
    current = (await api.client.post("/api/templates/welcome_sms/preview",
                                     json={"contact": inline})).json()
    assert current["sms"]["encoding"] == "UCS-2" and current["sms"]["ucs2_because"] == "😀"
    draft = (await api.client.post("/api/templates/welcome_sms/preview", json={
        "contact": inline, "content": {"text": "{{ 'x' * 161 }}"}})).json()
    assert draft["sms"]["segments"] == 2 and draft["version"] is None
    unsaved = await api.client.post("/api/templates/preview", json={
        "channel": "email", "content": EMAIL["content"], "contact": inline,
        "event": {"properties": {"total": 1234.5}}})
    assert unsaved.status_code == 200, unsaved.text
    content = unsaved.json()["content"]
    assert content["text"] == "Total €1,234.50"
    assert '<p style="color: #333;">Total €1,234.50</p>' in content["html"]  # CSS inlined
    assert "sms" not in unsaved.json()


@pytest.mark.parametrize(("body", "words"), [
    ({**WELCOME, "content": {"text": "Hi {{ contact.first_name "}}, "'content.text': the template "
     "does not parse (line 1)"),
    ({**EMAIL, "content": {**EMAIL["content"], "html": "{% if %}"}}, "'content.html'"),
    ({**EMAIL, "content": {"subject": "x"}}, "'content.text' is missing"),
    ({**WELCOME, "content": {"text": "x", "title": "y"}}, "'content.title' is not a field"),
    ({**WELCOME, "content": {"text": 5}}, "'content.text' must be text"),
    ({**WELCOME, "content": "Hi"}, "'content' must be an object"),
    ({**WELCOME, "content": {"text": "{% include 'x' %}"}}, "cannot read other files"),
    ({**WELCOME, "channel": "fax"}, "'channel' must be one of email, sms, push, voice, chat"),
    ({**WELCOME, "key": "no spaces"}, "'key' 'no spaces' may hold only"),
    ({**WELCOME, "key": ""}, "'key' is missing"),
    ({**WELCOME, "name": "   "}, "'name' is empty"),
    ({**WELCOME, "colour": "red"}, "Unknown field 'colour'"),
])
async def test_bad_templates_are_refused_naming_the_field(
    api: Api, body: dict[str, Any], words: str
) -> None:
    response = await api.client.post("/api/templates", json=body)
    assert response.status_code == 400, response.text
    assert words in response.json()["error"]
    assert (await api.client.get("/api/templates")).json()["items"] == []


async def test_conflicts_and_unknown_templates(api: Api) -> None:
    await create(api, WELCOME)
    again = await api.client.post("/api/templates", json=WELCOME)
    assert again.status_code == 409 and "exists already" in again.json()["error"]
    for method, url, body in [("GET", "/api/templates/nope", None),
                              ("PUT", "/api/templates/nope", {"content": {"text": "x"}}),
                              ("POST", "/api/templates/nope/preview", {"contact": "c-1"})]:
        response = await api.client.request(method, url, json=body)
        assert response.status_code == 404, (url, response.text)
        assert "no template with key 'nope'" in response.json()["error"]


@pytest.mark.parametrize(("body", "words"), [
    ({"content": {"text": "{{ x "}}, "'content.text': the template does not parse"),
    ({"channel": "email"}, "channel cannot change"),
    ({"key": "other"}, "key cannot change"),
    ({"name": ""}, "'name' is empty"),
])
async def test_bad_saves_change_nothing(api: Api, body: dict[str, Any], words: str) -> None:
    await create(api, WELCOME)
    response = await api.client.put("/api/templates/welcome_sms", json=body)
    assert response.status_code == 400, response.text
    assert words in response.json()["error"]
    kept = (await api.client.get("/api/templates/welcome_sms")).json()
    assert (kept["version"], kept["content"], kept["name"]) == (1, WELCOME["content"], "Welcome")


@pytest.mark.parametrize(("body", "words"), [
    ({}, "'contact' is missing"),
    ({"contact": "nobody"}, "no contact with id 'nobody'"),
    ({"contact": {"id": "x"}, "event": "x"}, "'event' must be an object"),
    ({"contact": {"id": "x"}, "version": 9}, "has no version 9"),
    ({"contact": {"id": "x"}, "content": {"text": "{{ 'a' * 10**10 }}"}},
     "'content.text': the template could not be rendered"),
    ({"contact": {"id": "x"}, "content": {"text": "{{ event.properties.d | format_date }}"},
      "event": {"properties": {"d": "soon"}}}, "format_date: 'soon' is not a date"),
])
async def test_bad_previews_say_why(api: Api, body: dict[str, Any], words: str) -> None:
    await create(api, WELCOME)
    response = await api.client.post("/api/templates/welcome_sms/preview", json=body)
    assert response.status_code == 400, response.text
    assert words in response.json()["error"]


async def test_publish_side_resolution_freezes_the_current_version(api: Api) -> None:
    await create(api, WELCOME)
    workspace = api.sql("SELECT workspace FROM templates LIMIT 1")[0]["workspace"]
    document = {"format": "castflow.flow/1", "name": "f", "nodes": [
        {"id": "start", "type": "trigger", "config": {"on": "api"}},
        {"id": "hello", "type": "send", "config": {"channel": "sms", "template": "welcome_sms"}},
    ], "edges": [{"from": "start", "to": "hello"}]}
    assert template_keys(document) == {"welcome_sms"}
    first = api.call(template_store.resolve_document, api.db, workspace, document)
    assert first.problems == [] and first.versions == {"welcome_sms": 1}
    assert first.document["nodes"][1]["config"] == {
        "channel": "sms", "content": {"sms": WELCOME["content"]}}
    await api.client.put("/api/templates/welcome_sms", json={"content": {"text": "New"}})
    assert first.document["nodes"][1]["config"]["content"]["sms"] == WELCOME["content"]
    second = api.call(template_store.resolve_document, api.db, workspace, document)
    assert second.versions == {"welcome_sms": 2}
    assert second.document["nodes"][1]["config"]["content"] == {"sms": {"text": "New"}}
    assert document["nodes"][1]["config"] == {"channel": "sms", "template": "welcome_sms"}
    missing = api.call(template_store.resolve_document, api.db, workspace + 1, document)
    assert [str(p) for p in missing.problems] == [
        "node 'hello': template: there is no template 'welcome_sms'; create it on the "
        "Templates page or pick another."]
