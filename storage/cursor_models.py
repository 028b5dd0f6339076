"""Where each channel is in its platform's stream of updates (VK long poll ts, MAX marker), kept across restarts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, utcnow


class ChannelCursor(Base):
    """One position per (channel, name); no personal data: an opaque number the platform gave."""

    __tablename__ = "channel_cursors"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
