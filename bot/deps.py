"""What the conversations and the scans use beyond the database, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.services.classifier import Classifier


@dataclass
class Deps:
    """Built in bot/app.py and shared, not copied: the scheduled retrain (bot/scans/routing.py) swaps
    ``classifier`` and the next update uses the new one."""

    classifier: Classifier | None = None
    exports_dir: Path | None = None  # where /mydata writes its file; None: the default (exports.exports_dir)
