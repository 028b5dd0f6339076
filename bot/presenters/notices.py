"""The deadlines' notices worded: a reminder to staff, the citizen's overdue notice, the supervisors' digest.

``word`` turns a ``Notice`` (bot/services/notices.py) into a ``Reply`` in its recipient's language.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.config import Settings
from bot.events import Reply
from bot.presenters.cards import open_button
from bot.presenters.names import Names
from bot.services.notices import Notice
from bot.services.reminders import Due
from storage.models import Appeal


def reminder(names: Names, appeal: Appeal, due: Due) -> Reply:
    params = {"number": appeal.number, "deadline": names.date(appeal.deadline_at),
              "sector": names.sector(appeal.sector_id)}
    # "осталось 3 рабочих дня", "1 рабочий день": the count decides the form.
    text = (names.t.plural(f"remind.{due.kind}_days", due.days, **params) if due.kind in ("before", "overdue")
            else names.t(f"remind.{due.kind}", days=due.days, **params))
    return Reply(text=text, buttons=open_button(names, appeal.id))


def overdue_to_citizen(names: Names, appeal: Appeal) -> Reply:
    return Reply(text=names.t("overdue.to_citizen", number=appeal.number, deadline=names.date(appeal.deadline_at),
                              ministry=names.ministry(appeal.ministry_id)))


def overdue_digest(names: Names, by_ministry: dict[str, int], oldest: Sequence[Appeal],
                   unstaffed: dict[str, int]) -> Reply:
    lines = []
    if by_ministry:
        lines += [names.t.plural("escalation.title", sum(by_ministry.values()))]
        lines += [names.t("escalation.ministry_line", ministry=names.ministry(m), count=c)
                  for m, c in sorted(by_ministry.items(), key=lambda item: -item[1])]
        lines.append(names.t("escalation.oldest"))
        lines += [names.t("escalation.appeal_line", number=a.number, ministry=names.ministry(a.ministry_id),
                          deadline=names.date(a.deadline_at)) for a in oldest]
    if unstaffed:
        lines += ["", names.t("escalation.unstaffed")] if lines else [names.t("escalation.unstaffed")]
        lines += [names.t.plural("escalation.unstaffed_line", count, ministry=names.ministry(m))
                  for m, count in unstaffed.items()]
    return Reply(text="\n".join(lines))


WORDING: dict[str, Callable[..., Reply]] = {
    "remind": reminder,
    "overdue_citizen": overdue_to_citizen,
    "overdue_digest": overdue_digest,
}


def word(settings: Settings, notice: Notice) -> Reply:
    return WORDING[notice.kind](Names(settings, notice.to.language), **notice.params)
