"""The protocol of a meeting (``bot.services.meetings.document``) as a DOCX document (python-docx), in
Russian by default.

What goes in follows the regulations and Russian document conventions (ГОСТ Р 7.0.97-2016): A4 with
margins of 20 mm left, 10 mm right, 20 mm top and bottom, numbered pages; the number, date, place and
format; the presiding member and the secretary; present, absent and invited; the agenda; each item as
СЛУШАЛИ (the item, the speaker) / РЕШИЛИ (the wording voted on, or "not adopted" with the count) /
ГОЛОСОВАЛИ (names: the vote is open), with attendance where it changed; the dissenting opinions in an annex
(Положение о межведомственной рабочей группе, п. 17). Approval in the bot is written as what it is —
"Утверждён в системе: name, date time" — never as an empty signature line. The texts are message keys
("protocol.doc_*"), so an English copy is one argument away.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from bot.i18n import Translator, translator
from bot.presenters import dates
from bot.services.meetings.document import ItemRecord, ProtocolRecord

if TYPE_CHECKING:  # python-docx is imported when a protocol is written, not by every command that starts
    from docx.document import Document

FONT = "Times New Roman"
FONT_SIZE_PT = 13
PAGE_MM = (210, 297)
MARGINS_MM = {"left_margin": 20, "right_margin": 10, "top_margin": 20, "bottom_margin": 20}


def render(record: ProtocolRecord, path: Path, language: str = "ru") -> Path:
    """Write the document to ``path`` (atomically: a reader never sees half a file); returns the absolute path."""
    from docx import Document

    t = translator(language)
    document = Document()
    _page(document)
    _base_style(document)
    _heading(document, record, t)
    _attendance(document, record, t)
    _agenda(document, record, t)
    for item in record.items:
        _item(document, item, record.members, t)
    _approvals(document, record, t)
    _annex(document, record, t)
    path = path.expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
    os.close(handle)
    document.save(temporary)
    os.replace(temporary, path)
    return path


def _page(document: Document) -> None:
    """A4 portrait with the margins of ГОСТ Р 7.0.97-2016 and the page number centred in the footer."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm

    for section in document.sections:
        section.page_width, section.page_height = (Mm(size) for size in PAGE_MM)
        for name, value in MARGINS_MM.items():
            setattr(section, name, Mm(value))
        paragraph = section.footer.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = paragraph.add_run()
        for kind, instruction in (("begin", None), (None, "PAGE"), ("end", None)):
            element = OxmlElement("w:fldChar" if kind else "w:instrText")
            if kind:
                element.set(qn("w:fldCharType"), kind)
            else:
                element.set(qn("xml:space"), "preserve")
                element.text = instruction
            run._r.append(element)


def _base_style(document: Document) -> None:
    from docx.shared import Pt

    style = document.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(FONT_SIZE_PT)


def _centered(document: Document, text: str, bold: bool = False) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

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
    document.add_paragraph(t(key, date=dates.day(when), time=dates.clock(when)))
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
    if record.guests:
        _line(document, t("protocol.doc_guests"), ", ".join(record.guests))
    key = "protocol.doc_quorum_yes" if record.quorum else "protocol.doc_quorum_no"
    document.add_paragraph(t(key, needed=record.needed, count=len(record.present)))


def _agenda(document: Document, record: ProtocolRecord, t: Translator) -> None:
    _centered(document, t("protocol.doc_agenda"), bold=True)
    for item in record.items:
        document.add_paragraph(t("protocol.doc_agenda_line", n=item.position, title=item.title))


def _names(names: list[str]) -> str:
    return ", ".join(names) if names else "—"


def _item(document: Document, item: ItemRecord, members: int, t: Translator) -> None:
    heard = item.title + (" " + t("protocol.doc_speaker", name=item.speaker) if item.speaker else "")
    _line(document, t("protocol.doc_item", n=item.position), heard)
    if item.changes:
        moves = "; ".join(t("protocol.doc_arrived" if c.present else "protocol.doc_left", name=c.name,
                            time=dates.clock(c.at)) for c in item.changes)
        document.add_paragraph(t("protocol.doc_item_attendance", count=item.counted, members=members, changes=moves))
    if item.result is None:
        document.add_paragraph(t("protocol.doc_no_vote"))
        return
    if item.result == "adopted":
        _line(document, t("protocol.doc_decided"), item.decision or t("protocol.doc_result_adopted"))
    else:
        outcome = t(f"protocol.doc_outcome_{item.result}", votes_for=len(item.votes_for), needed=item.needed,
                    counted=item.counted)
        _line(document, t("protocol.doc_decided"), outcome)
    _line(document, t("protocol.doc_voted"))
    document.add_paragraph(t("protocol.doc_votes_for", count=len(item.votes_for), names=_names(item.votes_for)))
    document.add_paragraph(t("protocol.doc_votes_against", count=len(item.against), names=_names(item.against)))
    document.add_paragraph(t("protocol.doc_votes_abstain", count=len(item.abstain), names=_names(item.abstain)))
    if item.silent:
        document.add_paragraph(t("protocol.doc_votes_silent", count=len(item.silent), names=_names(item.silent)))
    if item.by_casting_vote:
        choice = t(f"vote.choice_{item.presiding_choice or 'for'}")
        document.add_paragraph(t("protocol.doc_casting_vote", choice=choice))
    for name, _text in item.dissents:
        document.add_paragraph(t("protocol.doc_dissent_ref", name=name))


def _approvals(document: Document, record: ProtocolRecord, t: Translator) -> None:
    """Who approved in the bot and when; an approval still waited for says so — no empty signature line."""
    document.add_paragraph()
    rows = record.approvals or [("presiding", record.presiding, None), ("secretary", record.secretary, None)]
    table = document.add_table(rows=len(rows), cols=3)
    for row, (role, name, at) in zip(table.rows, rows, strict=True):
        stamp = (t("protocol.doc_approved", name=name, date=dates.day(at), time=dates.clock(at))
                 if at is not None else t("protocol.doc_not_approved"))
        row.cells[0].text, row.cells[1].text, row.cells[2].text = t(f"protocol.doc_sign_{role}"), name, stamp


def _annex(document: Document, record: ProtocolRecord, t: Translator) -> None:
    dissents = [(item, name, text) for item in record.items for name, text in item.dissents]
    if not dissents:
        return
    document.add_page_break()
    _centered(document, t("protocol.doc_annex", number=record.number), bold=True)
    for item, name, text in dissents:
        _line(document, t("protocol.doc_annex_dissent", name=name, n=item.position), text)
