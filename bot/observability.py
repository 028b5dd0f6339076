"""Logs and metrics: one log line per event with its context; /healthz and Prometheus /metrics.

The context (update key, user, appeal number) lives in context variables set per update, so
every line logged while handling it carries them without passing them around.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:  # the web server is imported by `run` only: other commands start without aiohttp
    from aiohttp import web

update_key: contextvars.ContextVar[str | None] = contextvars.ContextVar("update_key", default=None)
user_ref: contextvars.ContextVar[str | None] = contextvars.ContextVar("user_ref", default=None)
appeal_number: contextvars.ContextVar[str | None] = contextvars.ContextVar("appeal_number", default=None)


class ContextFilter(logging.Filter):
    """Adds the current update's context to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.update_key = update_key.get()
        record.user = user_ref.get()
        record.appeal = appeal_number.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: what log collectors (journald, Loki, ELK) index without parsing rules."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        for key in ("update_key", "user", "appeal"):
            value = getattr(record, key, None)
            if value:
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = " ".join(f"{key}={getattr(record, key)}" for key in ("update_key", "user", "appeal")
                           if getattr(record, key, None))
        return f"{text} [{context}]" if context else text


def configure_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


class Metrics:
    """The bot's Prometheus metrics; gauges read from the database when scraped."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter("appeals_updates_total", "Updates handled", ["channel"], registry=self.registry)
        self.handler_errors = Counter("appeals_handler_errors_total", "Updates that ended in an error",
                                      ["channel"], registry=self.registry)
        self.handling = Histogram("appeals_update_seconds", "Time to handle one update", registry=self.registry,
                                  buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
        self.outbox_depth = Gauge("appeals_outbox_pending", "Messages waiting in the outbox", registry=self.registry)
        self.outbox_oldest = Gauge("appeals_outbox_oldest_seconds", "Age of the oldest pending outbox message",
                                   registry=self.registry)
        self.delivery_failures = Gauge("appeals_delivery_failures", "Messages that could not be delivered",
                                       ["reason"], registry=self.registry)
        self.updates_deferred = Counter("appeals_updates_deferred_total",
                                        "Updates not handled for now because the database was unavailable "
                                        "(not confirmed: they come again)", ["channel"], registry=self.registry)
        self.events_lost = Counter("appeals_channel_events_lost_total",
                                   "Events a platform no longer had when the bot asked for them "
                                   "(VK long poll history gone after a long downtime)", ["channel"],
                                   registry=self.registry)
        self.overdue = Gauge("appeals_overdue", "Open appeals past their deadline", registry=self.registry)


Snapshot = Callable[[], Awaitable[dict[str, object]]]


def ops_app(metrics: Metrics, snapshot: Snapshot) -> web.Application:
    """/healthz answers 200 when the database answers; /metrics refreshes the gauges and exports all."""
    from aiohttp import web


    async def healthz(_: web.Request) -> web.Response:
        try:
            await snapshot()
        except Exception as exc:
            return web.json_response({"status": "down", "error": type(exc).__name__}, status=503)
        return web.json_response({"status": "ok"})

    async def export(_: web.Request) -> web.Response:
        figures = await snapshot()
        metrics.outbox_depth.set(float(figures["outbox_pending"]))  # type: ignore[arg-type]
        metrics.outbox_oldest.set(float(figures["outbox_oldest_s"]))  # type: ignore[arg-type]
        metrics.overdue.set(float(figures["overdue"]))  # type: ignore[arg-type]
        for reason, count in dict(figures["failures"]).items():  # type: ignore[call-overload]
            metrics.delivery_failures.labels(reason=reason).set(count)
        return web.Response(body=generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", export)
    return app
