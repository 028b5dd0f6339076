"""tools/check_layers.py, run as CI runs it, on small trees of its own: it fails on a new backward arrow,
a new import cycle and a new (or grown) big file, and tolerates what the baseline lists."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "tools" / "check_layers.py"


def write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def check(root: Path, *extra: str) -> tuple[int, str]:
    result = subprocess.run([sys.executable, str(SCRIPT), str(root), *extra], capture_output=True, text=True,
                            timeout=60, check=False)
    return result.returncode, result.stdout


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A layered project that keeps every rule: handlers use services, services use storage."""
    write(tmp_path, {
        "bot/__init__.py": "",
        "bot/i18n.py": "def translate(key):\n    return key\n",
        "bot/scheduler.py": "from bot.services import appeals\n",
        "bot/services/__init__.py": "",
        "bot/services/appeals.py": "from storage.models import Appeal\n",
        "bot/presenters/__init__.py": "",
        "bot/presenters/cards.py": "from bot.services.appeals import Appeal\nfrom bot.i18n import translate\n",
        "bot/scans/__init__.py": "",
        "bot/scans/deadlines.py": "from bot.presenters.cards import Appeal\nfrom bot.services import appeals\n",
        "bot/channels/__init__.py": "",
        "bot/channels/base.py": "import handlers.citizen\n",
        "handlers/__init__.py": "",
        "handlers/citizen.py": "from bot.services.appeals import Appeal\nfrom bot.i18n import translate\n",
        "storage/__init__.py": "",
        "storage/models.py": "class Appeal:\n    pass\n",
        "storage/migrations/versions/0001_big.py": "x = 1\n" * 900,
        "tests/test_big.py": "import handlers.citizen\n" + "x = 1\n" * 900,
        "tools/layers_baseline.txt": "",
    })
    return tmp_path


def test_a_tree_that_keeps_the_rules_passes(tree: Path) -> None:
    code, out = check(tree)
    assert code == 0, out
    assert "NEW" not in out


@pytest.mark.parametrize(("path", "text", "arrow"), [
    ("storage/repo.py", "from bot.services.appeals import Appeal\n", "arrow storage.repo -> bot.services.appeals"),
    ("bot/services/notices.py", "from bot.i18n import translate\n", "arrow bot.services.notices -> bot.i18n"),
    ("bot/services/notices.py", "def send():\n    from ..channels import base\n",
     "arrow bot.services.notices -> bot.channels.base"),
    ("bot/scheduler.py", "import handlers.citizen as citizen\n", "arrow bot.scheduler -> handlers.citizen"),
    ("handlers/operator.py", "from bot.channels import base\n", "arrow handlers.operator -> bot.channels.base"),
    ("bot/services/notices.py", "from bot.presenters.cards import card\n",
     "arrow bot.services.notices -> bot.presenters.cards"),
    ("bot/presenters/cards.py", "from handlers.citizen import Appeal\n",
     "arrow bot.presenters.cards -> handlers.citizen"),
    ("bot/scans/deadlines.py", "def run():\n    import handlers.citizen\n",
     "arrow bot.scans.deadlines -> handlers.citizen"),
])
def test_a_new_backward_import_fails(tree: Path, path: str, text: str, arrow: str) -> None:
    write(tree, {path: text})
    code, out = check(tree)
    assert code == 1
    assert f"NEW {arrow}" in out.splitlines()


def test_a_handler_reaching_for_the_database_fails_but_the_transaction_owners_may(tree: Path) -> None:
    """Handlers call services: SQLAlchemy and the repositories belong to the modules that open an update's
    transaction (handlers/__init__.py, context.py, router.py), and to no other handler."""
    session = "from sqlalchemy.ext.asyncio import AsyncSession\nfrom storage.repositories import Repositories\n"
    write(tree, {"storage/repositories/__init__.py": "class Repositories:\n    pass\n",
                 "handlers/__init__.py": session, "handlers/context.py": session,
                 "handlers/router.py": "from sqlalchemy import exc\n"})
    code, out = check(tree)
    assert code == 0, out
    write(tree, {"handlers/operator/__init__.py": "", "handlers/operator/queue.py": session,
                 "handlers/privacy.py": "def erase():\n    import sqlalchemy\n"})
    code, out = check(tree)
    assert code == 1
    assert {"NEW arrow handlers.operator.queue -> sqlalchemy.ext.asyncio",
            "NEW arrow handlers.operator.queue -> storage.repositories",
            "NEW arrow handlers.privacy -> sqlalchemy"} <= set(out.splitlines())
    assert not any(line.startswith(("NEW arrow handlers ", "NEW arrow handlers.context ", "NEW arrow handlers.router "))
                   for line in out.splitlines())


def test_a_known_backward_import_passes_until_another_one_comes(tree: Path) -> None:
    write(tree, {"bot/scheduler.py": "from handlers import citizen\n",
                 "tools/layers_baseline.txt": "arrow bot.scheduler -> handlers.citizen\n"})
    assert check(tree)[0] == 0
    write(tree, {"bot/scheduler.py": "from handlers import citizen\nimport handlers.operator\n",
                 "handlers/operator.py": ""})
    code, out = check(tree)
    assert code == 1
    assert "NEW arrow bot.scheduler -> handlers.operator" in out.splitlines()


def test_an_import_cycle_fails_and_one_inside_functions_is_a_warning(tree: Path) -> None:
    write(tree, {"handlers/a.py": "from handlers.b import two\n\ndef one():\n    return 1\n",
                 "handlers/b.py": "def two():\n    from handlers.a import one\n    return one()\n"})
    code, out = check(tree)
    assert code == 0, out
    assert "warning: cycle handlers.a handlers.b (closed only by imports inside functions or for type checking)" in out

    write(tree, {"handlers/b.py": "from handlers.a import one\n\ndef two():\n    return one()\n"})
    code, out = check(tree)
    assert code == 1
    assert "NEW cycle handlers.a handlers.b" in out.splitlines()


def test_an_import_only_for_type_checking_closes_no_cycle(tree: Path) -> None:
    write(tree, {"storage/a.py": "from storage.b import B\n",
                 "storage/b.py": "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n"
                                 "    from storage.a import A\nB = 1\n"})
    code, out = check(tree)
    assert code == 0, out
    assert "warning: cycle storage.a storage.b (closed only by imports inside functions or for type checking)" in out


def test_a_smaller_cycle_within_a_known_one_passes_and_a_larger_one_fails(tree: Path) -> None:
    write(tree, {"storage/a.py": "import storage.b\n", "storage/b.py": "import storage.a\n",
                 "tools/layers_baseline.txt": "cycle storage.a storage.b storage.c\n"})
    code, out = check(tree)
    assert code == 0, out
    assert "smaller now (replace it in layers_baseline.txt): cycle storage.a storage.b storage.c -> " \
           "cycle storage.a storage.b" in out
    write(tree, {"storage/b.py": "import storage.a\nimport storage.d\n", "storage/d.py": "import storage.a\n"})
    code, out = check(tree)
    assert code == 1
    assert "NEW cycle storage.a storage.b storage.d" in out.splitlines()


def test_a_big_production_file_fails_and_a_known_one_may_not_grow(tree: Path) -> None:
    write(tree, {"bot/services/big.py": "x = 1\n" * 401})
    code, out = check(tree)
    assert code == 1
    assert "NEW size bot/services/big.py 401" in out.splitlines()

    write(tree, {"tools/layers_baseline.txt": "size bot/services/big.py 450\n"})
    code, out = check(tree)
    assert code == 0, out
    assert "smaller now (lower it in layers_baseline.txt): size bot/services/big.py 450 -> " \
           "size bot/services/big.py 401" in out

    write(tree, {"bot/services/big.py": "x = 1\n" * 451})
    code, out = check(tree)
    assert code == 1
    assert "NEW size bot/services/big.py 451" in out.splitlines()


def test_a_module_split_into_a_package_keeps_its_known_arrow(tree: Path) -> None:
    write(tree, {"bot/services/meetings/__init__.py": "",
                 "bot/services/meetings/agenda.py": "from bot.i18n import translate\n",
                 "tools/layers_baseline.txt": "arrow bot.services.meetings -> bot.i18n\n"})
    code, out = check(tree)
    assert code == 0, out


def test_write_baseline_records_the_tree_and_then_it_passes(tree: Path) -> None:
    write(tree, {"storage/repo.py": "import handlers.citizen\n" + "x = 1\n" * 500})
    assert check(tree)[0] == 1
    assert check(tree, "--write-baseline")[0] == 0
    baseline = (tree / "tools/layers_baseline.txt").read_text(encoding="utf-8").splitlines()
    assert "arrow storage.repo -> handlers.citizen" in baseline
    assert "size storage/repo.py 501" in baseline
    assert check(tree)[0] == 0
