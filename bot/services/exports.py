"""Where files for people go (charts, workbooks, personal-data exports) and the rows an export holds.

Files go to a directory of their own under the system's temp directory; the channel uploads them from
there ("local" attachments). The charts and the workbook are drawn by ``bot.presenters.report_files``.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.periods import Period
from storage.report_repo import AppealRow, RatingRow, ReportRepo

EXPORTS_DIR = "appeals-bot-exports"
# Files are uploaded right after the command; a day later nobody needs them.
KEEP_SECONDS = 24 * 3600
# A chat command must finish in seconds: larger periods are cut, and the reply says so.
MAX_ROWS = 100_000


def exports_dir(base: Path | None = None) -> Path:
    """The directory for generated files, created on first use; files older than a day are removed."""
    directory = base or Path(tempfile.gettempdir()) / EXPORTS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - KEEP_SECONDS
    for old in directory.glob("*"):
        try:
            if old.is_file() and old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            pass  # another instance removed it first
    return directory


def new_file(directory: Path, stem: str, suffix: str) -> Path:
    """A unique name: two supervisors asking at once never overwrite each other's file."""
    return directory / f"{stem}-{uuid.uuid4().hex[:8]}{suffix}"


async def rows(session: AsyncSession, period: Period, limit: int) -> tuple[list[AppealRow], list[RatingRow]]:
    """The appeals registered in the period and their ratings, at most ``limit`` of each."""
    db = ReportRepo(session)
    appeals = [r async for r in db.appeal_rows(period.start, period.end, limit)]
    ratings = [r async for r in db.rating_rows(period.start, period.end, limit)]
    return appeals, ratings
