"""The built web app is served at / with the right content types, and deep links load it."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar
from litestar.testing import TestClient

from backend.api.app import page_routes


def test_web_app_pages_and_assets(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>Castflow</title>")
    (tmp_path / "assets" / "app-1234.js").write_text("console.log(1)")
    (tmp_path / "assets" / "app-1234.css").write_text("body{}")
    with TestClient(Litestar(route_handlers=page_routes(tmp_path))) as client:
        for path in ["/", "/flows/42", "/login"]:
            page = client.get(path)
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html"), path
            assert "<title>Castflow</title>" in page.text
        script = client.get("/assets/app-1234.js")
        assert "javascript" in script.headers["content-type"]
        assert "immutable" in script.headers["cache-control"]
        assert client.get("/assets/app-1234.css").headers["content-type"].startswith("text/css")
        assert client.get("/api/nothing-here").status_code == 404
        escape = client.get("/..%2F..%2Fetc%2Fpasswd")
        assert "root:" not in escape.text  # never a file outside the build
