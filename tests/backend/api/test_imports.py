"""POST /api/contacts/import on both databases: raw CSV and JSON-lines bodies (streamed), the
web app's multipart upload, the report, re-imports, and every way a request can be refused.
Also the address checks that POST /api/contacts now shares with the import."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from test_api_support import Api, running_api

from backend.api.app import create_app
from backend.db import Database
from backend.migrations import migrate
from backend.runtime.queue import RecordingQueue
from backend.security import create_api_key
from backend.settings import Settings

CSV = (b"id,email,phone,consent.sms,first_name,country\r\n"
       b"c-1,bill@example.com,+39 340 123 4567,yes,Bill,IT\r\n"
       b"c-2,not-an-email,,,Ann,FR\r\n"
       b"c-3,,+1555,,,\r\n"
       b"c-4,,,maybe,,\r\n"
       b",nobody@example.com,,,,\r\n"
       b"c-5,carla@example.org,,no,Carla,\"Rome,\r\nItaly\"\r\n")


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(database_url, tmp_path) as running:
        yield running


def count(api: Api) -> int:
    return int(api.sql("SELECT COUNT(*) AS n FROM contacts")[0]["n"])


async def test_a_csv_body_stores_good_rows_and_lists_bad_ones(api: Api) -> None:
    response = await api.client.post("/api/contacts/import", content=CSV,
                                      headers={"Content-Type": "text/csv; charset=utf-8"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert {k: report[k] for k in ("imported", "created", "updated", "refused")} == {
        "imported": 2, "created": 2, "updated": 0, "refused": 4}
    assert report["errors_truncated"] is False
    assert [(e["line"], e["id"], e["code"]) for e in report["errors"]] == [
        (3, "c-2", "bad_email"), (4, "c-3", "bad_phone"), (5, "c-4", "bad_consent"),
        (6, None, "missing_id")]
    assert "not-an-email" in report["errors"][0]["reason"]
    bill = (await api.client.get("/api/contacts/c-1")).json()
    assert bill["phone"] == "+393401234567"
    assert bill["consent"] == {"sms": "opted_in"}
    assert bill["attributes"] == {"first_name": "Bill", "country": "IT"}
    carla = (await api.client.get("/api/contacts/c-5")).json()
    assert carla["attributes"]["country"] == "Rome,\nItaly"
    assert count(api) == 2


async def test_a_reimport_updates_instead_of_duplicating(api: Api) -> None:
    headers = {"Content-Type": "text/csv"}
    await api.client.post("/api/contacts/import", content=CSV, headers=headers)
    again = (await api.client.post("/api/contacts/import", content=CSV, headers=headers)).json()
    assert (again["created"], again["updated"], again["refused"]) == (0, 2, 4)
    partial = b"id,lifecycle\nc-1,paying\n"
    await api.client.post("/api/contacts/import", content=partial, headers=headers)
    bill = (await api.client.get("/api/contacts/c-1")).json()
    assert bill["attributes"] == {"first_name": "Bill", "country": "IT", "lifecycle": "paying"}
    assert bill["email"] == "bill@example.com"
    assert count(api) == 2


async def test_a_json_lines_body(api: Api) -> None:
    body = b"".join(f'{{"id": "c-{n}", "email": "p{n}@example.com", "attributes": {{"n": {n}}}}}\n'
                    .encode() for n in range(2500)) + b'{"id": "c-bad", "colour": "red"}\n'
    response = await api.client.post("/api/contacts/import", content=body,
                                      headers={"Content-Type": "application/x-ndjson"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["created"], report["refused"]) == (2500, 1)
    assert report["errors"][0]["line"] == 2501 and "colour" in report["errors"][0]["reason"]
    assert count(api) == 2500
    got = (await api.client.get("/api/contacts/c-2499")).json()
    assert got["attributes"] == {"n": 2499}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_a_chunked_upload_streams_through_a_real_server(tmp_path: Path) -> None:
    """Litestar's test client sends a body whole; a real server gets it in chunks."""
    url = f"sqlite:///{tmp_path / 'served.db'}"
    db = Database(url)
    await db.start()
    await migrate(db)
    key = await create_api_key(db, "tests")
    await db.close()
    app = create_app(Settings(database_url=url, redis_url=None, var_dir=tmp_path / "var"),
                     queue=RecordingQueue())
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)

        async def body() -> AsyncIterator[bytes]:
            yield b"id,email,plan\n"
            for start in range(0, 6000, 1000):
                yield "".join(f"c-{n},p{n}@example.com,pro\n"
                              for n in range(start, start + 1000)).encode()

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            response = await client.post("/api/contacts/import", content=body(), headers={
                "Authorization": f"Bearer {key}", "Content-Type": "text/csv"})
        assert response.status_code == 200, response.text
        assert response.json()["created"] == 6000
    finally:
        server.should_exit = True
        await serving


async def test_the_web_app_uploads_a_form(api: Api) -> None:
    response = await api.client.post(
        "/api/contacts/import", files={"file": ("export.csv", CSV, "application/octet-stream")},
        data={"note": "from the web app"})
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 2
    lines = await api.client.post(
        "/api/contacts/import", files={"file": ("people.ndjson", b'{"id": "c-9"}\n')})
    assert lines.json()["created"] == 1
    named = await api.client.post("/api/contacts/import?format=csv",
                                  files={"file": ("blob", b"id\nc-10\n")})
    assert named.json()["created"] == 1


@pytest.mark.parametrize(("kwargs", "status", "words"), [
    ({"content": b"email\na@example.com\n", "headers": {"Content-Type": "text/csv"}}, 400,
     "no 'id' column"),
    ({"content": b"id,email,Email\n", "headers": {"Content-Type": "text/csv"}}, 400,
     "same thing twice"),
    ({"content": b"", "headers": {"Content-Type": "text/csv"}}, 400, "empty"),
    ({"content": b"id\nc-1\n", "headers": {"Content-Type": "application/pdf"}}, 415,
     "application/pdf"),
    ({"content": b"id\nc-1\n"}, 415, "Content-Type"),
    ({"content": b"id\nc-1\n", "params": {"format": "xlsx"}}, 400, "csv or jsonl"),
    ({"files": {"upload": ("a.csv", b"id\nc-1\n")}}, 400, "no 'file' field"),
    ({"files": {"file": ("a.xlsx", b"id\nc-1\n")}}, 415, "a.xlsx"),
    ({"content": b"--x\r\nbroken", "headers": {"Content-Type": "multipart/form-data; boundary=x"}},
     400, "form data"),
    ({"content": b"id\nc-1\n", "headers": {"Content-Type": "multipart/form-data"}}, 400,
     "boundary"),
])
async def test_a_request_that_cannot_be_imported_is_refused_clearly(
    api: Api, kwargs: dict[str, object], status: int, words: str
) -> None:
    response = await api.client.post("/api/contacts/import", **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert words in response.json()["error"]
    assert count(api) == 0


async def test_the_report_lists_the_first_thousand_refusals(api: Api) -> None:
    body = b"id,email\n" + b"".join(f"c-{n},bad\n".encode() for n in range(1200))
    report = (await api.client.post("/api/contacts/import", content=body,
                                     headers={"Content-Type": "text/csv"})).json()
    assert report["refused"] == 1200
    assert len(report["errors"]) == 1000 and report["errors_truncated"] is True
    assert report["errors"][-1]["line"] == 1001


async def test_import_needs_authentication(api: Api) -> None:
    response = await api.anonymous("POST", "/api/contacts/import", content=b"id\nc-1\n",
                                   headers={"Content-Type": "text/csv"})
    assert response.status_code == 401
    assert count(api) == 0


@pytest.mark.parametrize(("contact", "words"), [
    ({"id": "c-1", "email": "bill"}, "email 'bill' is not a valid address"),
    ({"id": "c-1", "email": "bill@localhost"}, "localhost"),
    ({"id": "c-1", "phone": "3401234567"}, "international form"),
    ({"id": "c-1", "phone": "+390001"}, "not a valid phone number"),
])
async def test_post_contacts_checks_addresses_too(
    api: Api, contact: dict[str, str], words: str
) -> None:
    response = await api.client.post("/api/contacts", json=contact)
    assert response.status_code == 400
    assert words in response.json()["error"]
    batch = await api.client.post("/api/contacts", json=[{"id": "ok"}, contact])
    assert batch.status_code == 400 and batch.json()["error"].startswith("Item at index 1")
    assert count(api) == 0


async def test_post_contacts_stores_phones_in_e164(api: Api) -> None:
    response = await api.client.post("/api/contacts",
                                      json={"id": "c-1", "phone": "+39 340 123-4567"})
    assert response.status_code == 200
    assert response.json()["phone"] == "+393401234567"
    assert (await api.client.get("/api/contacts/c-1")).json()["phone"] == "+393401234567"
