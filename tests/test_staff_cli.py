"""The admin's staff commands, as run from a shell."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def admin(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "--config", str(config), *args], input=stdin,
                          capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_invite_list_and_revoke_an_operator(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text((ROOT / "config.toml").read_text(encoding="utf-8").replace(
        "sqlite+aiosqlite:///appeals.db", f"sqlite+aiosqlite:///{tmp_path}/a.db"), encoding="utf-8")
    invite = admin(config, "staff", "invite", "--role", "operator", "--ministry", "health")
    assert invite.returncode == 0, invite.stderr
    code = re.search(r"code:\s+([A-Z0-9]{10})", invite.stdout)
    assert code is not None
    assert f"https://t.me/appeals_region_bot?start={code.group(1)}" in invite.stdout

    joined = admin(config, "console", "--user", "doctor", stdin=f"/start {code.group(1)}\n/queue\n")
    assert "оператор" in joined.stdout and "Открытых обращений нет" in joined.stdout
    listing = admin(config, "staff", "list")
    assert re.search(r"console:doctor\s+operator\s+health", listing.stdout), listing.stdout

    revoked = admin(config, "staff", "revoke", "console:doctor")
    assert revoked.returncode == 0
    after = admin(config, "console", "--user", "doctor", stdin="/queue\n")
    assert "для сотрудников" in after.stdout


def test_invite_needs_a_known_ministry(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text((ROOT / "config.toml").read_text(encoding="utf-8").replace(
        "sqlite+aiosqlite:///appeals.db", f"sqlite+aiosqlite:///{tmp_path}/a.db"), encoding="utf-8")
    result = admin(config, "staff", "invite", "--role", "operator", "--ministry", "space")
    assert result.returncode == 2 and "unknown ministry 'space'" in result.stderr
