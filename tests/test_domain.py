"""The domain's rules as data: which status an appeal may change to, and what each role may do."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.domain import appeals as lifecycle
from bot.domain.appeals import ANSWERED, CLOSED, OPEN, TRANSITIONS, AppealStatus, move
from bot.domain.errors import Refusal
from bot.domain.roles import GRANTABLE, Role, capabilities
from bot.services import appeals, audience, followups, operator, privacy, ratings, reports, staff
from tests.conftest import ROOT
from tests.test_staff_cli import admin

S = AppealStatus


@dataclass
class Paper:
    """Just what the rule reads: an appeal's number and status."""

    status: str
    number: str = "ЦУР-2026-000007"
    ministry_id: str | None = "health"


@dataclass
class Person:
    role: str
    ministry_id: str | None = None


LEGAL = [(before, after) for before, targets in TRANSITIONS.items() for after in sorted(targets)]
ILLEGAL = [(before, after) for before in AppealStatus for after in AppealStatus if after not in TRANSITIONS[before]]


def test_every_status_has_a_row_in_the_table() -> None:
    assert set(TRANSITIONS) == set(AppealStatus)


@pytest.mark.parametrize(("before", "after"), LEGAL)
def test_a_legal_change_is_made_and_stored_as_the_old_string(before: AppealStatus, after: AppealStatus) -> None:
    appeal = Paper(status=before.value)  # as read from the database: a plain string
    move(appeal, after)
    assert appeal.status == after.value and type(appeal.status) is str


@pytest.mark.parametrize(("before", "after"), ILLEGAL)
def test_an_illegal_change_is_refused_and_changes_nothing(before: AppealStatus, after: AppealStatus) -> None:
    appeal = Paper(status=before.value)
    with pytest.raises(Refusal) as refused:
        move(appeal, after)
    assert refused.value.key == "appeal.move_refused"
    assert refused.value.params == {"number": "ЦУР-2026-000007"}
    assert appeal.status == before.value


def test_the_lifecycle_of_design_md_is_walkable() -> None:
    appeal = Paper(status=S.REGISTERED)
    for step in (S.IN_WORK, S.CLARIFICATION_REQUESTED, S.IN_WORK, S.ANSWERED, S.RATED, S.REOPENED, S.IN_WORK,
                 S.REGISTERED, S.ANSWERED):
        move(appeal, step)
    assert appeal.status == "answered"


def test_an_answered_appeal_cannot_go_back_to_work_nor_a_withdrawn_one_anywhere() -> None:
    assert not lifecycle.may_move("answered", S.IN_WORK)
    assert not lifecycle.may_move("answered", S.WITHDRAWN)  # the citizen withdraws only what is still open
    assert not any(lifecycle.may_move("withdrawn", to) for to in AppealStatus)
    assert not lifecycle.may_move("no such status", S.REGISTERED)


def test_only_open_appeals_may_be_answered_withdrawn_or_redirected() -> None:
    for to in (S.ANSWERED, S.WITHDRAWN, S.REGISTERED, S.CLARIFICATION_REQUESTED):
        assert {s for s in AppealStatus if lifecycle.may_move(s, to)} == OPEN


def test_the_status_sets_are_defined_once() -> None:
    assert OPEN == {"registered", "in_work", "clarification_requested", "reopened"}
    assert ANSWERED == {"answered", "rated"} and CLOSED == {"answered", "rated", "withdrawn"}
    assert operator.OPEN is OPEN and reports.OPEN is OPEN and appeals.OPEN_STATUSES is OPEN
    assert privacy.OPEN_STATUSES is OPEN and followups.WITHDRAWABLE is OPEN
    assert ratings.ANSWERED is ANSWERED and reports.ANSWERED is ANSWERED and privacy.CLOSED is CLOSED


# --- roles -----------------------------------------------------------------------------------------

def test_a_citizen_may_do_nothing_of_the_staff() -> None:
    citizen = Person("citizen")
    assert not staff.is_staff(citizen) and not staff.is_supervisor(citizen)  # type: ignore[arg-type]
    assert not staff.may_handle(citizen, Paper("registered"))  # type: ignore[arg-type]
    assert capabilities("citizen") == capabilities("no such role")


def test_an_operator_answers_only_for_their_own_ministry_and_runs_no_reports() -> None:
    doctor = Person("operator", "health")
    may = capabilities(Role.OPERATOR)
    assert may.may_answer and not may.may_see_all_ministries and not may.may_run_reports
    assert staff.is_staff(doctor) and not staff.is_supervisor(doctor)  # type: ignore[arg-type]
    assert staff.may_handle(doctor, Paper("registered", ministry_id="health"))  # type: ignore[arg-type]
    assert not staff.may_handle(doctor, Paper("registered", ministry_id="transport"))  # type: ignore[arg-type]


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_and_admins_see_every_ministry_and_run_reports(role: str) -> None:
    chief = Person(role)
    may = capabilities(role)
    assert may.may_answer and may.may_see_all_ministries and may.may_run_reports
    assert staff.is_supervisor(chief) and staff.may_handle(chief, Paper("in_work", ministry_id="x"))  # type: ignore[arg-type]
    assert audience._user_refusal(chief, audience.SUPERVISORS) is None  # type: ignore[arg-type]
    assert audience._user_refusal(Person("operator", "x"), audience.SUPERVISORS) is not None  # type: ignore[arg-type]


def test_every_staff_role_can_be_granted_and_no_other() -> None:
    assert [str(role) for role in GRANTABLE] == ["operator", "supervisor", "admin"]


def test_an_admin_invited_from_the_shell_has_the_supervisors_commands(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text((ROOT / "config.toml").read_text(encoding="utf-8").replace(
        "sqlite+aiosqlite:///appeals.db", f"sqlite+aiosqlite:///{tmp_path}/a.db"), encoding="utf-8")
    invite = admin(config, "staff", "invite", "--role", "admin")
    assert invite.returncode == 0, invite.stderr
    code = re.search(r"code:\s+([A-Z0-9]{10})", invite.stdout)
    assert code is not None
    shown = admin(config, "console", "--user", "boss", stdin=f"/start {code.group(1)}\n/stats\n").stdout
    assert "Вы подключены как супервизор ЦУР." in shown and "Готовлю отчёт" in shown
    assert re.search(r"console:boss\s+admin\s+-", admin(config, "staff", "list").stdout)
    citizen = admin(config, "staff", "invite", "--role", "citizen")
    assert citizen.returncode == 2 and "invalid choice" in citizen.stderr
