"""A thin asyncio client of the MAX Bot API: the few methods the channel needs, over one aiohttp session.

Why not ``maxapi``: it can be pointed at another host (``set_api_url``) and retries
``attachment.not.ready`` itself, but it is a framework (its own dispatcher and pydantic models of every
update, which the channel would translate a second time), brings four more dependencies, and its
errors and retries are not the outbox's (a 429 or a blocked user must become RetryLater / Unreachable
here, and a send must never sleep inside a library while the outbox holds its lease).
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from pathlib import Path
from typing import Any

import aiohttp

from bot.channels.kit import first_bytes
from bot.channels.max.errors import MaxApiError

log = logging.getLogger(__name__)

PER_SECOND = 30  # MAX's limit for all of a bot's requests together


class Pace:
    """Starts requests at most ``per_second`` a second, in the order they asked."""

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            await asyncio.sleep(start - now)


def ssl_context(ca_bundle: str) -> ssl.SSLContext | None:
    """The system's roots plus the given PEM (the Russian trusted root, where MAX's host needs it)."""
    if not ca_bundle:
        return None
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=ca_bundle)
    return context


class MaxClient:
    def __init__(self, api_base: str, token: str, *, timeout: float = 30.0, per_second: float = PER_SECOND,
                 ca_bundle: str = "") -> None:
        self.api_base = api_base.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._pace = Pace(per_second)
        self._ssl = ssl_context(ca_bundle)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl) if self._ssl is not None else None
            self._session = aiohttp.ClientSession(connector=connector, headers={"User-Agent": "appeals-bot"})
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                   body: dict[str, Any] | None = None, wait_s: float | None = None) -> dict[str, Any]:
        """One API request; raises MaxApiError for an error answer, aiohttp errors for the network."""
        await self._pace.wait()
        query = {key: str(value) for key, value in (params or {}).items() if value is not None}
        wait = aiohttp.ClientTimeout(total=wait_s or self._timeout)
        async with self._http().request(method, self.api_base + path, params=query, json=body, timeout=wait,
                                        headers={"Authorization": self._token}) as response:
            text = await response.text()
        return _answer(response.status, text)

    async def first_bytes(self, url: str) -> bytes:
        """The first bytes of a file a user sent, from its URL (signed by MAX: the token is not sent there)."""
        return await first_bytes(self._http(), url)

    async def upload(self, kind: str, path: str, name: str) -> str:
        """POST /uploads, then the file to the URL it gives; the token to put in a message's attachment."""
        target = await self.call("POST", "/uploads", params={"type": kind})
        form = aiohttp.FormData()
        form.add_field("data", await asyncio.to_thread(Path(path).read_bytes), filename=name)
        async with self._http().post(target["url"], data=form, timeout=aiohttp.ClientTimeout(total=120)) as response:
            text = await response.text()
        uploaded = _answer(response.status, text)
        if kind == "image":  # {"photos": {"<id>": {"token": ...}}}
            return str(next(iter(uploaded["photos"].values()))["token"])
        return str(uploaded.get("token") or target["token"])


def _answer(status: int, text: str) -> dict[str, Any]:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        data = None
    if not isinstance(data, dict):  # a proxy's HTML page: the API was not reached
        raise MaxApiError(max(status, 502), "http.error", "not JSON")
    if status >= 400:
        raise MaxApiError(status, str(data.get("code") or "http.error"), str(data.get("message") or ""))
    return data
