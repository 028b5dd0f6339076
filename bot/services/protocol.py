"""The protocol of a meeting as a DOCX document (python-docx), in Russian by default.

What goes in follows the regulations: the group, date, place, the presiding member and the secretary,
attendance and quorum, each agenda item with the votes (names: the vote is open) and the decision, and
the dissenting opinions in writing (Положение о межведомственной рабочей группе). The texts are message
keys ("protocol.doc_*"), so an English copy is one argument away.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

from bot.i18n import Translator, translator

FONT = "Times New Roman"
FONT_SIZE = Pt(13)
SIGNATURE_LINE = "_______________"


@dataclass(frozen=True)
class ItemRecord:
    """One agenda item: the vote's names per choice and the decision (``result`` None: not voted on)."""

    position: int
    title: str
    result: str | None = None
    votes_for: list[str] = field(default_factory=list)
    against: list[str] = field(default_factory=list)
    abstain: list[str] = field(default_factory=list)
    silent: list[str] = field(default_factory=list)
    by_casting_vote: bool = False
    dissents: list[tuple[str, str]] = field(default_factory=list)  # (name, text)


@dataclass(frozen=True)
class ProtocolRecord:
    group: str
    number: int
    format: str  # in_person, video, absentee
    starts_at: datetime  # local time of the region
    place: str
    presiding: str
    presiding_role: str
    secretary: str
    members: int
    needed: int
    present: list[str]
    absent: list[str]
    items: list[ItemRecord]

    @property
    def quorum(self) -> bool:
        return len(self.present) >= self.needed


def render(record: ProtocolRecord, path: Path, language: str = "ru") -> Path:
    """Write the document to ``path`` (atomically: a reader never sees half a file); returns the absolute path."""
    t = translator(language)
    document = Document()
    _base_style(document)
    _heading(document, record, t)
    _attendance(document, record, t)
    _agenda(document, record, t)
    for item in record.items:
        _item(document, item, t)
    _signatures(document, record, t)
    path = path.expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
    os.close(handle)
    document.save(temporary)
    os.replace(temporary, path)
    return path


def _base_style(document: Document) -> None:
    style = document.styles["Normal"]
    style.font.name = FONT
    style.font.size = FONT_SIZE


def _centered(document: Document, text: str, bold: bool = False) -> None:
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.add_run(text).bold = bold


def _line(document: Document, label: str, text: str = "") -> None:
    paragraph = document.add_paragraph()
    paragraph.add_run(label).bold = True
    if text:
        paragraph.add_run(" " + text)


def _heading(document: Document, record: ProtocolRecord, t: Translator) -> None:
    absentee = record.format == "absentee"
    _centered(document, t("protocol.doc_title_absentee" if absentee else "protocol.doc_title", number=record.number),
              bold=True)
    _centered(document, record.group, bold=True)
    when = record.starts_at
    key = "protocol.doc_deadline" if absentee else "protocol.doc_when"
    document.add_paragraph(t(key, date=when.strftime("%d.%m.%Y"), time=when.strftime("%H:%M")))
    document.add_paragraph(t("protocol.doc_format", format=t(f"protocol.doc_format_{record.format}")))
    if record.place and not absentee:
        document.add_paragraph(t("protocol.doc_place", place=record.place))


def _attendance(document: Document, record: ProtocolRecord, t: Translator) -> None:
    role = t(f"protocol.doc_role_{record.presiding_role}") if record.presiding_role else ""
    _line(document, t("protocol.doc_presiding"), f"{record.presiding} {role}".strip())
    _line(document, t("protocol.doc_secretary"), record.secretary)
    absentee = record.format == "absentee"
    _line(document, t("protocol.doc_took_part" if absentee else "protocol.doc_present",
                      count=len(record.present), members=record.members), ", ".join(record.present) or "—")
    if record.absent:
        _line(document, t("protocol.doc_absent"), ", ".join(record.absent))
    key = "protocol.doc_quorum_yes" if record.quorum else "protocol.doc_quorum_no"
    document.add_paragraph(t(key, needed=record.needed, count=len(record.present)))


def _agenda(document: Document, record: ProtocolRecord, t: Translator) -> None:
    _centered(document, t("protocol.doc_agenda"), bold=True)
    for item in record.items:
        document.add_paragraph(t("protocol.doc_agenda_line", n=item.position, title=item.title))


def _names(names: list[str]) -> str:
    return ", ".join(names) if names else "—"


def _item(document: Document, item: ItemRecord, t: Translator) -> None:
    _line(document, t("protocol.doc_item", n=item.position), item.title)
    if item.result is None:
        document.add_paragraph(t("protocol.doc_no_vote"))
        return
    _line(document, t("protocol.doc_voted"))
    document.add_paragraph(t("protocol.doc_votes_for", count=len(item.votes_for), names=_names(item.votes_for)))
    document.add_paragraph(t("protocol.doc_votes_against", count=len(item.against), names=_names(item.against)))
    document.add_paragraph(t("protocol.doc_votes_abstain", count=len(item.abstain), names=_names(item.abstain)))
    if item.silent:
        document.add_paragraph(t("protocol.doc_votes_silent", count=len(item.silent), names=_names(item.silent)))
    _line(document, t("protocol.doc_decided"), t(f"protocol.doc_result_{item.result}"))
    if item.by_casting_vote:
        document.add_paragraph(t("protocol.doc_casting"))
    for name, text in item.dissents:
        _line(document, t("protocol.doc_dissent", name=name), text)


def _signatures(document: Document, record: ProtocolRecord, t: Translator) -> None:
    document.add_paragraph()
    table = document.add_table(rows=2, cols=3)
    for row, (label, name) in zip(table.rows, ((t("protocol.doc_sign_presiding"), record.presiding),
                                               (t("protocol.doc_sign_secretary"), record.secretary)), strict=True):
        row.cells[0].text, row.cells[1].text, row.cells[2].text = label, SIGNATURE_LINE, name
