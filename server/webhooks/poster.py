"""The HTTP side of webhook deliveries: one pooled client that posts a
delivery and says how it went. Its own module so that httpx, which imports
its command-line helpers (click, rich, pygments) with it, is imported by
the sender at its first delivery, not by every process that starts a
worker (about 0.2 s of each start)."""

from __future__ import annotations

import httpx

MAX_ERROR = 500  # characters of a failure kept with the delivery


class Poster:
    def __init__(self, timeout: float, transport: httpx.AsyncBaseTransport | None) -> None:
        self._client = httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, transport=transport
        )

    async def post(
        self, url: str, content: bytes, headers: dict[str, str]
    ) -> tuple[int | None, str | None]:
        """(HTTP status, None) when the endpoint answered, else (None, why)."""
        try:
            response = await self._client.post(url, content=content, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}".removesuffix(": ")[:MAX_ERROR]
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}"

    async def aclose(self) -> None:
        await self._client.aclose()
