"""The subject access report as a PDF (reportlab's platypus): drawn from the report's data, so
the PDF and the JSON export cannot differ."""

from __future__ import annotations

import io
from datetime import date
from typing import Any, Final
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

MARKING: Final = "OFFICIAL-SENSITIVE"
_MARGIN: Final = 18 * mm
# The frame's own padding (6 pt each side) is inside the margins.
_WIDTH: Final = A4[0] - 2 * _MARGIN - 12
_STYLES = getSampleStyleSheet()
_BODY = ParagraphStyle("body", parent=_STYLES["BodyText"], fontSize=9.5, leading=12.5)
_SMALL = ParagraphStyle(
    "small", parent=_BODY, fontSize=8, leading=10, textColor=colors.HexColor("#505a5f")
)
_CELL = ParagraphStyle("cell", parent=_BODY, fontSize=8.5, leading=10.5, alignment=TA_LEFT)
_HEAD_CELL = ParagraphStyle("head", parent=_CELL, fontName="Helvetica-Bold")
_H1 = ParagraphStyle("h1", parent=_STYLES["Heading1"], fontSize=18, leading=22, spaceAfter=4)
_H2 = ParagraphStyle(
    "h2", parent=_STYLES["Heading2"], fontSize=12.5, leading=15, spaceBefore=10, spaceAfter=4
)
_LABELS: Final = {
    "name": "Name",
    "gender": "Gender",
    "address": "Address",
    "date_of_birth": "Date of birth",
    "education_setting": "School",
    "gp_practice": "GP practice",
    "status": "Record status",
    "births": "Births (General Register Office)",
    "health": "Health (NHS Personal Demographics Service)",
    "school-census": "School census",
    "child-benefit": "Child Benefit",
    "correction": "Corrected by the local authority",
    "nhs_number": "NHS number",
    "upn": "Unique pupil number",
    "birth_entry": "Birth registration entry",
    "benefit_child": "Child Benefit reference",
}


def _text(value: Any) -> str:
    if value is None or value == "":
        return "Not recorded"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def _p(value: Any, style: ParagraphStyle = _CELL) -> Paragraph:
    """A paragraph of `value`; a list is one line per item (a name, then its contacts)."""
    if isinstance(value, list):
        return Paragraph("<br/>".join(escape(_text(item)) for item in value if item), style)
    return Paragraph(escape(_text(value)), style)


def _day(value: str | None) -> str:
    return date.fromisoformat(value).strftime("%-d %B %Y") if value else "Not recorded"


def _label(value: str | None) -> str:
    if value is None:
        return "Not recorded"
    return _LABELS.get(value, value.replace("_", " ").replace("-", " ").capitalize())


def _address(value: dict[str, Any] | None) -> str:
    if not value:
        return "Not recorded"
    if "withheld" in value:
        return str(value["withheld"])
    return ", ".join(
        [*value.get("lines", []), value.get("town") or "", value.get("postcode") or ""]
    )


def _table(rows: list[list[Any]], widths: list[float], *, header: bool = True) -> Table:
    cells = [
        [_p(cell, _HEAD_CELL if header and number == 0 else _CELL) for cell in row]
        for number, row in enumerate(rows)
    ]
    table = Table(cells, colWidths=[_WIDTH * w for w in widths], repeatRows=1 if header else 0)
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, colors.HexColor("#b1b4b6")),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3f2f1")))
    table.setStyle(TableStyle(style))
    return table


def _pairs(rows: list[tuple[str, Any]]) -> Table:
    return _table([[key, value] for key, value in rows], [0.3, 0.7], header=False)


def _section(title: str, *flowables: Any) -> list[Any]:
    # A heading is never left alone at the foot of a page.
    first, *rest = flowables
    return [KeepTogether([Paragraph(escape(title), _H2), first]), *rest]


def _record(report: dict[str, Any]) -> list[Any]:
    record = report["record"]
    names = ", ".join(
        " ".join(part for part in (n.get("given_names"), n.get("family_name")) if part)
        + (f" ({_label(n['kind'])})" if n.get("kind") else "")
        for n in record["other_names"]
    )
    previous = record["previous_addresses"]
    previous_text = (
        previous["withheld"]
        if isinstance(previous, dict)
        else "; ".join(
            f"{a['postcode']}{', ' + a['town'] if a.get('town') else ''}"
            f"{' (to ' + _day(a['to_date']) + ')' if a.get('to_date') else ''}"
            for a in previous
        )
        or "None recorded"
    )

    def organisation(value: dict[str, Any] | None) -> str:
        if not value:
            return "None recorded"
        if "withheld" in value:
            return str(value["withheld"])
        return ", ".join(str(v) for v in (value["name"], value.get("phone")) if v)

    rows = [
        ("ContactPoint ID", record["identifier"]),
        ("Given names", record["given_names"]),
        ("Family name", record["family_name"]),
        ("Also known as", names or "None recorded"),
        ("Date of birth", _day(record["date_of_birth"])),
        ("Gender", record["gender"].capitalize()),
        ("Record status", record["status"].capitalize()),
        ("Address", _address(record["address"])),
        ("Previous postcodes", previous_text),
        ("School", organisation(record["education_setting"])),
        ("GP practice", organisation(record["gp_practice"])),
    ]
    return _section("The record", _pairs(rows))


def _carers(report: dict[str, Any]) -> list[Any]:
    carers = report["record"]["carers"]
    if not carers:
        return _section("Parents and carers", _p("None recorded.", _BODY))
    rows: list[list[Any]] = [
        ["Name", "Relationship", "Parental responsibility", "Contact", "Address"]
    ]
    for carer in carers:
        contact: Any = (
            "Withheld: the record is shielded"
            if carer["contact_withheld"]
            else [v for v in (carer.get("phone"), carer.get("email")) if v] or "Not recorded"
        )
        address = _address(carer["address"]) if carer["address"] else "Same as the child"
        rows.append(
            [
                carer["name"],
                _label(carer["relationship"]),
                carer["parental_responsibility"],
                contact,
                address,
            ]
        )
    return _section("Parents and carers", _table(rows, [0.2, 0.14, 0.14, 0.26, 0.26]))


def _involvements(report: dict[str, Any]) -> list[Any]:
    items = report["involvements"]
    if not items:
        return _section("Services working with the child", _p("None recorded.", _BODY))
    rows: list[list[Any]] = [["Service", "Practitioner", "Dates", "Flags"]]
    for item in items:
        if item["sensitive"]:
            ended = "Ended" if item["ended"] else "Current"
            rows.append([SENSITIVE_NOTE, "Not shown", ended, "Not shown"])
            continue
        practitioner = item.get("practitioner")
        who = (
            ", ".join(v for v in (practitioner["name"], practitioner.get("job_title")) if v)
            if practitioner
            else "Not recorded"
        )
        service = item["service"] + (f" ({_label(item['kind'])})" if item.get("kind") else "")
        dates = f"From {_day(item['start_date'])}" + (
            f" to {_day(item['end_date'])} (ended)" if item["end_date"] else " (current)"
        )
        flags = ", ".join(
            text
            for flag, text in (
                (item["lead_professional"], "Lead professional"),
                (item["assessment_completed"], "Assessment completed"),
            )
            if flag
        )
        rows.append([[service, item.get("phone"), item.get("email")], who, dates, flags or "None"])
    return _section(
        "Services working with the child, ended ones included",
        _table(rows, [0.38, 0.22, 0.24, 0.16]),
    )


SENSITIVE_NOTE: Final = (
    "A sensitive service. Its name and details are not part of this report: ask the local "
    "authority team."
)


def _sources(report: dict[str, Any]) -> list[Any]:
    rows: list[list[Any]] = [["Detail", "Source", "Source's record", "As of"]]
    rows += [
        [_label(row["field"]), _label(row["source"]), row["record_id"], _day(row["as_of"])]
        for row in report["sources"]
    ]
    note = _p(
        "Every other detail was recorded by the local authority or the services working with "
        "the child.",
        _SMALL,
    )
    if len(rows) == 1:
        return _section("Where each detail came from", note)
    return [*_section("Where each detail came from", _table(rows, [0.2, 0.34, 0.28, 0.18])), note]


def _identifiers(report: dict[str, Any]) -> list[Any]:
    items = report["source_identifiers"]
    if not items:
        return []
    rows: list[list[Any]] = [["Identifier", "Value", "Given by"]]
    rows += [[_label(i["kind"]), i["value"], _label(i["source"])] for i in items]
    return _section("Identifiers the national sources gave", _table(rows, [0.3, 0.35, 0.35]))


def _corrections(report: dict[str, Any]) -> list[Any]:
    items = report["corrections"]
    if not items:
        return _section("Corrections", _p("No detail has been corrected.", _BODY))
    rows: list[list[Any]] = [["Detail", "Was", "Now", "When and why"]]
    for item in items:
        rows.append(
            [
                _label(item["field"]),
                _value(item["field"], item["previous"]),
                _value(item["field"], item["value"]),
                [
                    _day(item["corrected_at"][:10])
                    + (f", by {item['organisation']}" if item.get("organisation") else ""),
                    item["reason"],
                ],
            ]
        )
    return _section("Corrections", _table(rows, [0.16, 0.26, 0.26, 0.32]))


def _value(field: str, value: dict[str, Any]) -> str:
    if "withheld" in value:
        return str(value["withheld"])
    if field == "address":
        return _address(value)
    if field == "date_of_birth":
        return _day(value["date_of_birth"])
    return f"{value.get('given_names', '')} {value.get('family_name', '')}"


def _recipients(report: dict[str, Any]) -> list[Any]:
    items = report["recipients"]
    intro = _p(
        "The organisations whose staff searched for the child (and were shown the child among "
        "the results) or opened the record, by day. These are the recipients of the child's "
        "data.",
        _BODY,
    )
    if not items:
        return [*_section("Who searched for or viewed the record", intro), _p("Nobody yet.", _BODY)]
    rows: list[list[Any]] = [["Date", "Organisation", "What", "Times"]]
    rows += [[_day(r["date"]), r["organisation"], r["what"], r["times"]] for r in items]
    return [
        *_section("Who searched for or viewed the record", intro),
        _table(rows, [0.18, 0.36, 0.36, 0.1]),
    ]


def _front(report: dict[str, Any]) -> list[Any]:
    meta, record = report["report"], report["record"]
    la = meta["local_authority"]
    shield = report["shield"]
    lines = [
        Paragraph("Subject access report", _H1),
        _p(
            f"What ContactPoint holds about {record['given_names']} {record['family_name']}, "
            f"born {_day(record['date_of_birth'])}.",
            _BODY,
        ),
        Spacer(1, 3 * mm),
        _pairs(
            [
                ("Produced", meta["produced_at"].replace("T", " ")[:16] + " UTC"),
                (
                    "Produced by",
                    ", ".join(v for v in (meta["produced_by"], meta["organisation"]) if v),
                ),
                ("Local authority", f"{la['name']} ({la['code']})" if la else "Not recorded"),
                (
                    "The authority's team",
                    ", ".join(v for v in (la.get("team_phone"), la.get("team_email")) if v)
                    if la
                    else "Not recorded",
                ),
                (
                    "Shielded",
                    f"Yes, since {_day(shield['since'])}: the child's location is withheld from "
                    "most practitioners"
                    if shield["shielded"]
                    else "No",
                ),
            ]
        ),
    ]
    lines += [
        Spacer(1, 2 * mm),
        _p(
            "If anything here is wrong, tell the local authority team: it must take reasonable "
            "steps to correct it, and the record keeps what it held before, who changed it, "
            "when and why.",
            _BODY,
        ),
    ]
    if not meta["location_included"]:
        lines += [
            Spacer(1, 2 * mm),
            _p(
                "The record is shielded: where the child lives, goes to school and sees a GP, "
                "the contacts that lead there, and the organisations that viewed the record are "
                "left out of this report. The local authority team can tell you more.",
                _BODY,
            ),
        ]
    return lines


def render_pdf(report: dict[str, Any]) -> bytes:
    """The PDF of `report` (A4, marked OFFICIAL-SENSITIVE on every page, numbered)."""
    buffer = io.BytesIO()
    identifier = report["record"]["identifier"]

    def decorate(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica-Bold", 8)
        canvas.drawString(_MARGIN, A4[1] - 11 * mm, MARKING)
        canvas.setFont("Helvetica", 8)
        canvas.drawRightString(A4[0] - _MARGIN, A4[1] - 11 * mm, f"ContactPoint ID {identifier}")
        canvas.drawString(_MARGIN, 10 * mm, MARKING)
        canvas.drawRightString(A4[0] - _MARGIN, 10 * mm, f"Page {doc.page}")
        canvas.restoreState()

    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN,
        title=f"Subject access report {identifier}",
        author="ContactPoint",
        subject="Subject access report",
        # A report produced twice from the same data is the same file.
        invariant=True,
    )
    story = [
        *_front(report),
        *_record(report),
        *_carers(report),
        *_involvements(report),
        *_sources(report),
        *_identifiers(report),
        *_corrections(report),
        *_recipients(report),
    ]
    document.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()
