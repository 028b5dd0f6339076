"""`appeals-bot` commands start without the libraries only some of them use (each costs every start).

In a fresh interpreter, as `python -m bot staff ...` or `python -m bot console` starts: aiohttp is imported
by `run` (its web server, the messengers' clients), python-docx when a protocol is written.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = """
import sys
import bot.cli
bot.cli.build_parser()
import bot.runner  # the console's module
late = sorted({"aiohttp", "docx"} & {name.split(".")[0] for name in sys.modules})
print(" ".join(late) or "none")
"""


def test_the_commands_and_the_console_start_without_aiohttp_and_python_docx() -> None:
    done = subprocess.run([sys.executable, "-c", PROGRAM], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "none"
