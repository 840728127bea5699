"""The GraphQL playground is served by Taskloom itself: the page names only
files under /graphql/assets/, runs no inline script (so `script-src 'self'`
allows it), and every file it names is served, from the package."""

from __future__ import annotations

import re
from html import unescape

from taskloom.server.playground import DEFAULT_QUERY, STATIC
from tests.integration.graphql_support import served

SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.DOTALL)
LINKED = re.compile(r'\b(?:src|href)="([^"]+)"')
TYPES = {".js": "javascript", ".css": "text/css"}


async def test_the_page_and_every_file_it_names_come_from_the_server(database_url: str) -> None:
    async with served(database_url, worker=False) as (_, client):
        page = await client.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200
        scripts = SCRIPT.findall(page.text)
        assert len(scripts) == 4
        assert all("src=" in attrs and not body.strip() for attrs, body in scripts)
        assert re.search(r"<[^>]*\son[a-z]+\s*=", page.text) is None  # no inline handlers
        linked = LINKED.findall(page.text)
        assert linked and all(url.startswith("/graphql/assets/") for url in linked), linked
        assert "graphiql.min.js" in page.text and "playground.js" in page.text
        example = re.search(r'data-example-query="([^"]*)"', page.text)
        assert example is not None and unescape(example.group(1)) == DEFAULT_QUERY
        for url in linked:
            served_file = await client.get(url)
            assert served_file.status_code == 200, url
            kind = TYPES[url[url.rindex(".") :]]
            assert kind in served_file.headers["content-type"], url
            local = STATIC / url.removeprefix("/graphql/assets/")
            assert served_file.content == local.read_bytes()


async def test_the_vendored_files_carry_their_licences_and_no_remote_fetches() -> None:
    vendor = STATIC / "vendor"
    for name in ("LICENSE.graphiql", "LICENSE.react", "LICENSE.react-dom"):
        assert "MIT License" in (vendor / name).read_text()
    versions = (vendor / "VERSIONS").read_text()
    assert "graphiql 3.8.3" in versions and "react 18.3.1" in versions
    css = (vendor / "graphiql.min.css").read_text()
    remote = [u for u in re.findall(r"url\(([^)]*)\)", css) if not u.startswith("data:")]
    assert remote == [], "the stylesheet must not fetch fonts or images from elsewhere"
    assert "sourceMappingURL" not in (vendor / "graphiql.min.js").read_text()[-200:]


async def test_a_missing_asset_is_a_404(database_url: str) -> None:
    async with served(database_url, worker=False) as (_, client):
        missing = await client.get("/graphql/assets/vendor/nope.js")
        assert missing.status_code == 404
        escape_attempt = await client.get("/graphql/assets/../../pyproject.toml")
        assert escape_attempt.status_code == 404
