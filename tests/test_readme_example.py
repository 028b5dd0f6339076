"""The README's worked example of time passing, run as written: an appeal, its reminder, the escalation, the digest."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def worked_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- worked-example:start -->\n```sh\n(.*?)```\n<!-- worked-example:end -->", readme, re.S)
    assert block is not None, "the README lost its worked example"
    return block.group(1)


def test_the_readme_worked_example_shows_reminder_escalation_and_digest(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text((ROOT / "config.toml").read_text(encoding="utf-8").replace(
        "sqlite+aiosqlite:///appeals.db", f"sqlite+aiosqlite:///{tmp_path}/a.db"), encoding="utf-8")
    # `appeals-bot` as installed, on this configuration.
    command = tmp_path / "bin" / "appeals-bot"
    command.parent.mkdir()
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m bot --config "{config}" "$@"\n', encoding="utf-8")
    command.chmod(command.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{command.parent}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT),
           "TELEGRAM_BOT_TOKEN": "", "VK_GROUP_TOKEN": ""}
    result = subprocess.run(["bash", "-e", "-c", worked_example()], capture_output=True, text=True, timeout=600,
                            cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Номер: ЦУР-2026-000001" in out and "Срок ответа: до 11.01.2027" in out
    chats = out.split("— appeals-bot console · you are ")
    ivan_28 = next(c for c in chats if c.startswith("“ivan”") and "осталось 3 рабочих дня" in c)
    assert "Исполнитель: не назначен" in ivan_28 and "Заявитель: Петрова Анна" in ivan_28  # the card came too
    ivan_12 = chats[-3]
    assert ivan_12.startswith("“ivan”") and "просрочено на 1 рабочий день" in ivan_12
    assert chats[-2].startswith("“anna”") and "взято на контроль ЦУР" in chats[-2]
    assert chats[-1].startswith("“olga”") and "1 просроченное обращение" in chats[-1]
    assert "Traceback" not in out + result.stderr
    assert not re.search(r"\b(INFO|WARNING)\b", out + result.stderr)  # no log lines in the console chat
