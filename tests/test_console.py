"""`appeals-bot console` as a newcomer uses it: a conversation piped through the real command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DIALOG = [
    "/start", "1", "Иванов Иван Иванович", "+7 912 345-67-89", "ЖКХ", "1",
    "Батареи в квартире холодные уже третий день.", "Готово", "1", "г. Энск, ул. Ленина, 5", "1",
]


def console(tmp_path: Path, lines: list[str], user: str = "ivan") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config(tmp_path)), "console", "--user", user],
        input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env())


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": "", "VK_GROUP_TOKEN": ""}


def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    if not path.exists():
        text = (ROOT / "config.toml").read_text(encoding="utf-8")
        path.write_text(text.replace("sqlite+aiosqlite:///appeals.db", f"sqlite+aiosqlite:///{tmp_path}/a.db"),
                        encoding="utf-8")
    return path


def test_piped_conversation_registers_an_appeal_and_my_shows_it(tmp_path: Path) -> None:
    result = console(tmp_path, [*DIALOG, "/my"])
    assert result.returncode == 0, result.stderr
    assert re.search(r"Номер: ЦУР-\d{4}-000001", result.stdout)
    assert "Министерство энергетики и ЖКХ" in result.stdout
    assert "Ваши обращения (1 обращение)" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_killed_in_the_middle_the_dialog_continues_after_a_restart(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config(tmp_path)), "console", "--user", "olga"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env())
    assert process.stdin is not None and process.stdout is not None
    for line in DIALOG[:6]:  # up to the category: the text step is next
        process.stdin.write(line + "\n")
    process.stdin.flush()
    deadline = time.monotonic() + 30
    seen = ""
    while "Опишите проблему" not in seen and time.monotonic() < deadline:
        seen += process.stdout.readline()
    process.kill()  # kill -9: no goodbye, no cleanup
    process.wait()
    assert "Опишите проблему" in seen

    result = console(tmp_path, ["/start", *DIALOG[6:], "/my"], user="olga")
    assert "Продолжим" in result.stdout
    assert "Номер: ЦУР-" in result.stdout and "1 обращение" in result.stdout


def test_separate_console_users_are_separate_people(tmp_path: Path) -> None:
    console(tmp_path, DIALOG, user="anna")
    result = console(tmp_path, ["/my"], user="boris")
    assert "пока нет обращений" in result.stdout


def test_run_without_a_token_says_which_variable_to_set(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "--config", str(config(tmp_path)), "run"],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env())
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "appeals-bot console" in result.stderr
