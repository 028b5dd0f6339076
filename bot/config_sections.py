"""The sections of config.toml, one pydantic model each, and the durations they are written in.

bot/config.py puts them together (``Settings``) and loads the file; ``from bot.config import X`` still
finds every name here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

DURATION_RE = re.compile(r"^(\d{1,4})(d|wd)$")
MIN_CATEGORIES = 3  # Положение о ЦУР: at least three problem categories per sector
# Where appeals of a `triage = true` sector go: the ЦУР's own supervisors, not a ministry.
TRIAGE = "triage"


@dataclass(frozen=True)
class Duration:
    """A span of days: calendar ("30d") or working ("10wd")."""

    amount: int
    working: bool

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = DURATION_RE.match(text.strip())
        if match is None:
            raise ValueError(f"bad duration {text!r}: write e.g. \"30d\" (calendar days) or \"10wd\" (working days)")
        return cls(int(match.group(1)), match.group(2) == "wd")

    def __str__(self) -> str:
        return f"{self.amount}{'wd' if self.working else 'd'}"


def _duration(value: str) -> str:
    Duration.parse(value)
    return value


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Region(Section):
    name: str
    name_en: str = ""
    # The region's name in the genitive ("органам власти Энской области"); the name itself when empty.
    name_genitive: str = ""
    timezone: str = "Europe/Moscow"
    number_prefix: str = "ЦУР"
    default_language: Literal["ru", "en"] = "ru"
    operator_name: str
    operator_name_en: str = ""
    working_hours: str = "09:00-18:00"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Moscow)") from exc
        return value

    @field_validator("working_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        if not re.match(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$", value):
            raise ValueError(f"bad working hours {value!r}: write e.g. \"09:00-18:00\"")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Database(Section):
    url: str = "sqlite+aiosqlite:///appeals.db"


class Limits(Section):
    name_max_length: int = Field(200, gt=0)
    phone_max_length: int = Field(32, gt=0)
    text_min_length: int = Field(20, ge=1)
    text_max_length: int = Field(20000, gt=0)
    address_max_length: int = Field(500, gt=0)
    attachments_max_count: int = Field(10, ge=0)
    attachment_max_size_mb: int = Field(20, gt=0)
    comment_max_length: int = Field(2000, gt=0)
    # Per citizen: beyond these the bot says so politely; nothing is dropped silently.
    appeals_per_day: int = Field(10, gt=0)
    messages_per_minute: int = Field(30, gt=0)


class Deadlines(Section):
    default: str = "30d"
    extension_max: str = "30d"
    redirect_within: str = "7d"
    reminder_offsets: list[str] = ["3wd", "1wd", "0wd"]
    # Whether the deadline stands still while the ministry waits for the citizen's clarification.
    pause_on_clarification: bool = False

    _check = field_validator("default", "extension_max", "redirect_within")(_duration)

    @field_validator("reminder_offsets")
    @classmethod
    def _offsets(cls, values: list[str]) -> list[str]:
        for value in values:
            Duration.parse(value)
        return values


class Calendar(Section):
    extra_days_off: list[str] = []
    extra_working_days: list[str] = []


class Ministry(Section):
    name: str
    name_en: str = ""
    # Short names people type (/queue Минздрав): matched like the name, in any case.
    aliases: list[str] = []
    staff_chat: dict[str, str] = {}


class Category(Section):
    id: str
    name: str
    name_en: str = ""
    deadline: str | None = None
    location: Literal["required", "optional"] = "required"

    @field_validator("deadline")
    @classmethod
    def _deadline(cls, value: str | None) -> str | None:
        return None if value is None else _duration(value)


class Sector(Section):
    name: str
    name_en: str = ""
    ministry: str = ""
    deadline: str | None = None
    # The catch-all "outside every sector block": no ministry, the ЦУР's supervisors triage each
    # appeal (redirect it to a ministry or answer it); exempt from the three-categories rule.
    triage: bool = False
    categories: list[Category]

    @field_validator("deadline")
    @classmethod
    def _deadline(cls, value: str | None) -> str | None:
        return None if value is None else _duration(value)

    @field_validator("categories")
    @classmethod
    def _enough(cls, values: list[Category], info: ValidationInfo) -> list[Category]:
        problems = [c for c in values if c.id != "other"]
        if not values or (len(problems) < MIN_CATEGORIES and not info.data.get("triage")):
            raise ValueError(
                f"has {len(problems)} problem categories; the ЦУР regulation requires at least {MIN_CATEGORIES}"
            )
        ids = [c.id for c in values]
        if len(ids) != len(set(ids)):
            raise ValueError("category ids must be unique within a sector")
        return values

    @model_validator(mode="after")
    def _destination(self) -> Sector:
        if self.triage:
            if self.ministry:
                raise ValueError("a triage sector goes to the ЦУР's supervisors: leave out its ministry")
            self.ministry = TRIAGE
            return self
        if not self.ministry:
            raise ValueError("ministry: this key is required (or triage = true for the ЦУР's catch-all)")
        return self

    def category(self, category_id: str) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)


class Routing(Section):
    """Where the classifier's knowledge lives: keywords and examples per category (relative to the config)."""

    knowledge: str = "routing.toml"
    # Where trained models are cached (files named by the hash of what they learned from).
    # Empty: $XDG_CACHE_HOME/appeals-bot, else ~/.cache/appeals-bot. Must be writable.
    model_dir: str = ""
    # How often the bot retrains on the region's learned examples ("7d", "1d"); "" turns it off.
    retrain_every: str = "7d"

    @field_validator("retrain_every")
    @classmethod
    def _every(cls, value: str) -> str:
        return value and _duration(value)


class Ops(Section):
    """Operations: the /healthz and /metrics server (0 turns it off) and the log format."""

    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(9108, ge=0, le=65535)
    log_format: Literal["text", "json"] = "text"


class Privacy(Section):
    """152-ФЗ art. 5 p. 7: personal data are kept no longer than the purpose needs."""

    retention_days: int = Field(1095, gt=0)
    # Replies kept to answer a repeated update, and the text of messages already delivered: days.
    update_replies_days: int = Field(7, gt=0)


class Staff(Section):
    invite_ttl_hours: int = Field(72, gt=0)


class Ratings(Section):
    """Satisfaction with an answer (issue: ratings and ranking)."""

    change_window_hours: int = Field(24, ge=0)
    reopen_threshold: int = Field(2, ge=1, le=5)
    reopen_within_days: int = Field(30, ge=0)
    reopen_max: int = Field(1, ge=0)
    reminder_after_days: int = Field(3, ge=0)


class Ranking(Section):
    """Weights of the composite index: quantity, speed, quality, completeness (Положение о ЦУР)."""

    quantity: float = Field(0.1, ge=0)
    speed: float = Field(0.3, ge=0)
    quality: float = Field(0.3, ge=0)
    completeness: float = Field(0.3, ge=0)


class ExpertGroup(Section):
    """A regional expert group (НСИ) or an interdepartmental working group; numbers from their regulations."""

    name: str
    name_en: str = ""
    kind: Literal["expert_group", "working_group"] = "expert_group"
    # Expert group: one third of the membership; working group: one half. "1/3" or 0.3333 both work.
    quorum: float = Field(1 / 3, gt=0, le=1)
    # The presiding member's vote decides a tie (Положение об экспертной группе НСИ).
    casting_vote: bool = True
    # A tie is as many For as Against among those who voted ("voted"); the stricter reading counts it only
    # when everyone present voted For or Against ("all_present").
    tie_rule: Literal["voted", "all_present"] = "voted"
    # The chair approves the agenda before the notice goes out (working group: approved by the chair).
    agenda_approval: bool = True
    # Notice and materials: at least N working days before the meeting.
    notice_lead_days: int = Field(2, ge=0)
    materials_lead_days: int = Field(2, ge=0)
    # Protocol: signed within N working days, sent within M working days of signing.
    protocol_days: int = Field(3, ge=0)
    protocol_send_days: int = Field(5, ge=0)
    # Where protocols are written; empty: "protocols/" beside the SQLite database (or the working directory).
    protocol_dir: str = ""
    # Reminders to members before a meeting ("1d", "1h", "30m"); empty list turns them off.
    member_reminders: list[str] = ["1d", "1h"]
    # Reminders of an absentee vote's deadline to those who have not voted yet.
    absentee_reminders: list[str] = ["1d"]
    # Chair and secretary are alerted when the forecast is below quorum N working days before.
    quorum_alert_days: int = Field(1, ge=0)
    # Remind chair and secretary when no meeting is scheduled N days before the quarter ends.
    quarter_reminder_days: int = Field(14, ge=0)
    dissent_hours: int = Field(24, ge=0)

    @field_validator("quorum", mode="before")
    @classmethod
    def _fraction(cls, value: object) -> object:
        if isinstance(value, str) and "/" in value:
            numerator, _, denominator = value.partition("/")
            try:
                return int(numerator) / int(denominator)
            except (ValueError, ZeroDivisionError) as exc:
                raise ValueError(f"bad quorum {value!r}: write e.g. \"1/3\", \"1/2\" or 0.5") from exc
        return value

    @field_validator("member_reminders", "absentee_reminders")
    @classmethod
    def _offsets(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.match(r"^\d{1,4}[dhm]$", value.strip()):
                raise ValueError(f"bad reminder {value!r}: write e.g. \"1d\", \"1h\" or \"30m\"")
        return values
