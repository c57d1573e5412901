"""Send nodes that name saved templates: checked in drafts and imports, frozen at publish."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from test_api_support import Api, running_api

from backend.runtime import engine
from backend.runtime.sender import SandboxSender


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(database_url, tmp_path) as running:
        yield running


FLOW: dict[str, Any] = {
    "format": "castflow.flow/1", "name": "Hello by template",
    "nodes": [
        {"id": "start", "type": "trigger", "config": {"on": "api"}},
        {"id": "hi", "type": "send", "config": {"channel": "sms", "template": "hello"}},
    ],
    "edges": [{"from": "start", "to": "hi"}],
}


async def test_a_template_is_checked_filled_in_and_frozen_at_publish(api: Api) -> None:
    refused = await api.client.post("/api/flows/import", json=FLOW)
    assert refused.status_code == 422, refused.text
    assert any("hello" in p["message"] for p in refused.json()["problems"])
    created = await api.client.post("/api/templates", json={
        "key": "hello", "name": "Hello", "channel": "sms",
        "content": {"text": "Hi {{ contact.attributes.first_name }}!"}})
    assert created.status_code == 201, created.text
    flow = (await api.client.post("/api/flows/import", json=FLOW)).json()
    assert flow["problems"] == []
    exported = (await api.client.get(f"/api/flows/{flow['id']}/export")).json()
    assert exported["nodes"][1]["config"] == {"channel": "sms", "template": "hello"}
    assert (await api.client.post(f"/api/flows/{flow['id']}/publish")).status_code == 200
    changed = await api.client.put("/api/templates/hello", json={
        "content": {"text": "Changed {{ contact.attributes.first_name }}"}})
    assert changed.status_code == 200, changed.text
    await api.client.post("/api/contacts", json={"id": "c-1", "phone": "+393401234567",
                                                 "attributes": {"first_name": "Ada"}})
    enrolled = await api.client.post(f"/api/flows/{flow['id']}/enrol", json={"contacts": ["c-1"]})
    assert enrolled.json() == {"enrolled": 1}
    [job] = [j for j in api.queue.take() if j.job == "advance"]
    rt = engine.Runtime(api.db, api.queue, SandboxSender(api.db))
    api.call(engine.advance_runs, rt, job.args[0], datetime.now(UTC))
    [message] = api.sql("SELECT content, status FROM messages")
    content = message["content"]
    assert "Hi Ada!" in str(content)  # the version current at publish, not the edit
