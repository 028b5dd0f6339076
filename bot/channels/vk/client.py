"""vk-api plumbing: the community session pointed at any server, uploads, the daemon thread."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

import requests
from jconfig.memory import MemoryConfig
from vk_api import VkApiGroup
from vk_api.exceptions import ApiError
from vk_api.upload import VkUpload

from bot.channels.vk.common import VK_METHOD_URL, T
from bot.config import Vk

log = logging.getLogger(__name__)

# --- vk-api plumbing --------------------------------------------------------------------------


class RedirectingSession(requests.Session):
    """Sends vk-api's hard-coded https://api.vk.ru/method/ to another server (a test fake, a proxy).

    vk-api accepts a ``session=``; rewriting the URL here keeps the library unpatched. It also
    puts a timeout on every request: vk-api sets none, and a hung request would hold its lock.
    """

    def __init__(self, api_base: str = "", timeout: float = 30.0) -> None:
        super().__init__()
        self.method_url = f"{api_base.rstrip('/')}/method/" if api_base else VK_METHOD_URL
        self.timeout = timeout
        self.headers["User-Agent"] = "appeals-bot (vk-api)"

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if isinstance(url, str) and url.startswith(VK_METHOD_URL):
            url = self.method_url + url[len(VK_METHOD_URL):]
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)


class GroupApi(VkApiGroup):
    """A community token's session: VkApiGroup paces calls at RPS_DELAY = 1/20 s under one lock,
    VK's limit of 20 requests/s per community token.

    vk-api retries error 6 by itself, without bound (sleep 0.5 s and recurse); the channel retries
    all rate-limit errors with a bounded backoff instead, so the library's handler steps aside.
    """

    def too_many_rps_handler(self, error: ApiError) -> None:
        return None


def build_api(vk: Vk, timeout: float = 30.0) -> GroupApi:
    if vk.token is None:
        raise ValueError("vk.token: set the VK_GROUP_TOKEN environment variable (a community access key)")
    return GroupApi(token=vk.token.get_secret_value(), api_version=vk.api_version, config=MemoryConfig,
                    session=RedirectingSession(vk.api_base, timeout))


def build_uploader(api: GroupApi) -> VkUpload:
    """vk-api's upload helper on the API's own session (its redirect and timeout), not a bare one of its own."""
    uploader = VkUpload(api)
    uploader.http.close()
    uploader.http = api.http
    return uploader


def in_daemon_thread(work: Callable[[], T]) -> asyncio.Future[T]:
    """Run a blocking call in a daemon thread: the caller may stop waiting and the process may exit."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not future.done():  # cancelled when the caller stopped waiting
            outcome()

    def run() -> None:
        outcome: Callable[[], None]
        try:
            outcome = functools.partial(future.set_result, work())
        except BaseException as exc:  # handed to the awaiting coroutine, which decides
            outcome = functools.partial(future.set_exception, exc)
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, outcome)

    threading.Thread(target=run, name="vk-longpoll", daemon=True).start()
    return future
