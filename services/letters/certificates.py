"""The evidence certificate of an approval request, as a PDF.

The approval service owns the evidence; it sends the request's evidence (document
title and SHA-256, client, every event with its UTC time, actor, method, IP, user
agent and chained hash) and gets a printable certificate back. This is a small
document of one or a few pages, so it is laid out with platypus (tables that
break across pages), unlike the letters.
"""
import base64
import datetime as dt
import io

from reportlab.lib import colors
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from xml.sax.saxutils import escape

from letters.layout import DEFAULT_PRIMARY, font_for, printable

EVENTS = {"created": "Aangemaakt", "viewed": "Bekeken", "code_sent": "Sms-code verstuurd",
          "approved": "Akkoord gegeven", "declined": "Niet akkoord", "withdrawn": "Ingetrokken",
          "opened": "Aangeboden"}
METHODS = {"pin": "PIN-code", "sms": "Sms-code", "password": "Wachtwoord", "": "-"}
DOCUMENT_TYPES = {"annual_accounts": "Jaarrekening", "income_tax": "Aangifte inkomstenbelasting",
                  "corporate_tax": "Aangifte vennootschapsbelasting", "vat": "Aangifte omzetbelasting",
                  "ec_sales_list": "Opgaaf intracommunautaire prestaties", "payroll_tax": "Aangifte loonheffingen"}
STATUSES = {"pending": "In behandeling", "approved": "Geaccordeerd", "declined": "Niet geaccordeerd",
            "withdrawn": "Ingetrokken"}


def utc_text(value: str) -> str:
    """'2026-11-28T14:03:07.123456Z' (or with offset) -> '28-11-2026 14:03:07 UTC'."""
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return printable(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc)
    return moment.strftime("%d-%m-%Y %H:%M:%S") + " UTC"


def _p(text, style):
    text = printable(str(text or ""))
    font = font_for(text, style.fontName)
    if font != style.fontName:  # a name cp1252 lacks ("Şükrü Yıldız"): the embedded Unicode font
        style = ParagraphStyle(f"{style.name}-unicode", parent=style, fontName=font)
    return Paragraph(escape(text), style)


def render(data: dict) -> dict:
    layout = data.get("layout") or {}
    primary = HexColor(layout.get("primary_color") or DEFAULT_PRIMARY)
    issuer = printable(layout.get("display_name") or layout.get("name") or data.get("firm_name") or "")
    base = ParagraphStyle("base", fontName="Helvetica", fontSize=9, leading=12)
    small = ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5)
    label = ParagraphStyle("label", parent=base, fontName="Helvetica-Bold")
    header = ParagraphStyle("header", parent=base, fontName="Helvetica-Bold", fontSize=7.5, leading=9.5,
                            textColor=colors.white)
    mono = ParagraphStyle("mono", parent=base, fontName="Courier", fontSize=8.5, leading=11)
    title = ParagraphStyle("title", parent=base, fontName="Helvetica-Bold", fontSize=17, leading=22,
                           textColor=primary)
    heading = ParagraphStyle("heading", parent=base, fontName="Helvetica-Bold", fontSize=11, leading=15,
                             spaceBefore=8, spaceAfter=4, textColor=primary)
    generated = dt.datetime.now(dt.timezone.utc).strftime("%d-%m-%Y %H:%M:%S") + " UTC"

    client = data.get("client") or {}
    client_text = " - ".join(str(v) for v in (client.get("number"), client.get("name")) if v)
    kind = data.get("document_type") or ""
    facts = [
        ("Document", _p(data["title"], base)),
        ("Soort", _p(DOCUMENT_TYPES.get(kind, kind), base)),
        ("SHA-256", _p(data["sha256"].lower(), mono)),
        ("Cliënt", _p(client_text, base)),
        ("Verzoek", _p(f"nr. {data['request_id']}", base)),
        ("Status", _p(STATUSES.get(data.get("status") or "", data.get("status") or ""), base)),
    ]
    if data.get("chain_valid") is not None:
        facts.append(("Bewijsketen", _p("intact: geen regel gewijzigd of verwijderd" if data["chain_valid"]
                                        else "VERBROKEN: de bewijsregels zijn gewijzigd", base)))
    facts_table = Table([[_p(k, label), v] for k, v in facts], colWidths=[32 * mm, 138 * mm])
    facts_table.setStyle(TableStyle([("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold"),
                                     ("VALIGN", (0, 0), (-1, -1), "TOP"),
                                     ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey)]))

    rows = [[_p(h, header) for h in ("Tijd (UTC)", "Gebeurtenis", "Door", "Methode", "IP-adres", "Browser")]]
    for event in data["events"]:
        label = EVENTS.get(event["event"], event["event"])
        if event.get("reason"):
            label += f" - reden: {event['reason']}"
        rows.append([_p(utc_text(event["at"]), small), _p(label, small), _p(event.get("actor"), small),
                     _p(METHODS.get(event.get("method") or "", event.get("method")), small),
                     _p(event.get("ip") or "-", small), _p((event.get("user_agent") or "-")[:120], small)])
    events_table = Table(rows, colWidths=[35 * mm, 32 * mm, 32 * mm, 18 * mm, 25 * mm, 28 * mm], repeatRows=1)
    events_table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), primary), ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, HexColor("#f2f4f7")]),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey)]))
    hashes = [[_p(f"{i}.", small), _p(e.get("hash") or "-", ParagraphStyle("h", parent=mono, fontSize=6.5))]
              for i, e in enumerate(data["events"], 1) if e.get("hash")]

    story = [_p("Bewijs van accordering", title), Spacer(1, 2 * mm),
             _p(f"Afgegeven door {issuer}" if issuer else "", base), Spacer(1, 5 * mm),
             facts_table, _p("Verloop", heading), events_table]
    if hashes:
        hash_table = Table(hashes, colWidths=[8 * mm, 162 * mm])
        story += [_p("Vingerafdrukken van de bewijsregels (SHA-256-keten)", heading), hash_table]
    story += [Spacer(1, 6 * mm), _p(
        "Dit bewijs is samengesteld uit de onveranderlijke bewijsregels van het cliëntportaal. Elke regel "
        "bevat de vingerafdruk (SHA-256) van de vorige, zodat een gewijzigde of verwijderde regel wordt "
        "opgemerkt. De SHA-256 hierboven is de vingerafdruk van precies het document dat is aangeboden.", small)]

    def decorate(canvas, doc):
        canvas.saveState()
        canvas.setFillColor(primary)
        canvas.rect(0, A4[1] - 6 * mm, A4[0], 6 * mm, stroke=0, fill=1)
        canvas.setFillColor(colors.grey)
        canvas.setFont("Helvetica", 7)
        canvas.drawString(20 * mm, 12 * mm, f"Bewijs van accordering, verzoek {data['request_id']} - "
                                            f"opgemaakt op {generated}")
        canvas.drawRightString(A4[0] - 20 * mm, 12 * mm, f"Pagina {doc.page}")
        canvas.restoreState()

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                            bottomMargin=20 * mm, title=f"Bewijs van accordering {data['request_id']}",
                            author=issuer)
    doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return {"pdf_base64": base64.b64encode(out.getvalue()).decode("ascii")}
