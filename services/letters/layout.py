"""The letter: an A4 page a Dutch firm posts in a standard window envelope.

Geometry (millimetres from the top-left corner of the A4 sheet):
- the address block sits in the window of a standard Dutch window envelope
  (PostNL / NEN 1026 style, window on the left): window 20-110 mm from the
  left, 50-90 mm from the top. The text starts 22 mm from the left, a small
  return address ("retouradres") on the first line, the address below it, at
  most six lines, nothing closer than 2 mm to the window edge;
- letterhead above it (logo or name left, branch address right), a reference
  row (date, reference, subject) under the window, the body, and a footer
  with the branch's free letterhead text.

Everything is drawn with the reportlab canvas API. The parts that are the same
on every page of a batch (letterhead, footer, headings, instructions) are drawn
once and their PDF operators replayed on the next pages; only the address,
salutation and secrets are laid out per letter.

Text is drawn in Helvetica when cp1252 (WinAnsi) has all its letters, otherwise in
the embedded Unicode font of letters.fonts (``font_for``), so names like "Şükrü
Yıldız" print exactly; every width is measured in the font the text is drawn in.
"""
import datetime as dt
import functools
import re
import unicodedata

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth

from letters import fonts

PAGE_W, PAGE_H = A4
LEFT = 22 * mm
RIGHT = PAGE_W - 20 * mm
TEXT_W = RIGHT - LEFT

WINDOW_LEFT, WINDOW_TOP, WINDOW_W, WINDOW_H = 20 * mm, 50 * mm, 90 * mm, 40 * mm
ADDRESS_W = WINDOW_W - 4 * mm  # 22..108 mm, 2 mm clear of the window's right edge
ADDRESS_MAX_LINES = 6

FONT, BOLD, MONO = "Helvetica", "Helvetica-Bold", "Courier-Bold"
DEFAULT_PRIMARY, DEFAULT_SECONDARY = "#1f3a5f", "#e8eef5"
GREY = HexColor("#555555")

MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
          "oktober", "november", "december")

_SPECIAL = str.maketrans({"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "ı": "i", "Ħ": "H", "ħ": "h", "ø": "ø",
                          "\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def y(mm_from_top: float) -> float:
    """Canvas y for a distance from the top of the page in points."""
    return PAGE_H - mm_from_top


def dutch_date(day: dt.date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _cp1252(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("cp1252")
        return True
    except UnicodeEncodeError:
        return False


def printable(text: str) -> str:
    """Text a letter can show: as written where Helvetica (cp1252) or the Unicode font has the
    letters; without the Unicode font, other letters simplified ("Ş" -> "S") and "?" for the rest."""
    return _printable(text or "", fonts.generation)


@functools.lru_cache(maxsize=1024)
def _printable(text: str, _fonts_generation: int) -> str:
    text = _CONTROL.sub(" ", text).strip()
    if _cp1252(text):
        return text
    # composed form: a name typed as "S" + combining cedilla is the one glyph "Ş"
    text = unicodedata.normalize("NFC", text)
    drawable = fonts.coverage()  # loads the Unicode font the first time a text needs it
    out = []
    for ch in text:
        if ord(ch) in drawable or _cp1252(ch):
            out.append(ch)
            continue
        ch = ch.translate(_SPECIAL)
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if base and all(ord(c) in drawable or _cp1252(c) for c in base):
            out.append(base)
        else:
            out.append("?")
    return "".join(out)


def font_for(text: str, font: str) -> str:
    """The font that draws ``text``: ``font`` when cp1252 has every letter (or no Unicode font is
    installed), else its Unicode stand-in (DejaVu Sans / Bold)."""
    if _cp1252(text) or not fonts.available():
        return font
    return fonts.STAND_IN.get(font, font)


def draw_string(canvas, x: float, y_: float, text: str, font: str, size: float):
    """``canvas.drawString`` in the font that can show ``text``; the font is only set when it changes."""
    font = font_for(text, font)
    # a TrueType string sets its own font operator, so after one the canvas' current font
    # (``_fontname``) is that TrueType font and a Helvetica string sets Helvetica again
    if canvas._fontname != font or canvas._fontsize != size:
        canvas.setFont(font, size)
    canvas.drawString(x, y_, text)


def text_width(text: str, font: str, size: float) -> float:
    """Width of ``text`` in the font that draws it."""
    return stringWidth(text, font_for(text, font), size)


def wrap(text: str, font: str, size: float, width: float) -> tuple:
    """``text`` in lines no wider than ``width``, measured in the font that draws it (``font_for``)."""
    return _wrap(text, font_for(text, font), size, width)


@functools.lru_cache(maxsize=512)
def _wrap(text: str, font: str, size: float, width: float) -> tuple:
    lines = []
    for word_line in simpleSplit(text, font, size, width):
        # a single word wider than the line (a very long name): break it hard
        while " " not in word_line and len(word_line) > 1 and stringWidth(word_line, font, size) > width:
            cut = len(word_line)
            while cut > 1 and stringWidth(word_line[:cut], font, size) > width:
                cut -= 1
            lines.append(word_line[:cut])
            word_line = word_line[cut:]
        lines.append(word_line)
    return tuple(lines)


class Branding:
    """A branch's layout, ready to draw (colours parsed, logo written once into the PDF)."""

    def __init__(self, layout: dict, pdf=None):
        self.name = printable(layout.get("display_name") or layout.get("name") or "Uw accountant")
        self.primary = HexColor(layout.get("primary_color") or DEFAULT_PRIMARY)
        self.secondary = HexColor(layout.get("secondary_color") or DEFAULT_SECONDARY)
        street = " ".join(p for p in (layout.get("street"), layout.get("house_number")) if p)
        town = "  ".join(p for p in (layout.get("postcode"), (layout.get("city") or "").upper()) if p)
        self.address_lines = [printable(p) for p in (street, town) if p]
        self.contact_lines = []
        if layout.get("phone"):
            self.contact_lines.append(printable(f"T  {layout['phone']}"))
        if layout.get("email"):
            self.contact_lines.append(printable(f"E  {layout['email']}"))
        self.letterhead = printable(layout.get("letterhead") or "")
        self.return_address = printable(" · ".join([self.name] + self.address_lines).replace("  ", " "))
        self.logo = None
        if layout.get("logo_png") and pdf is not None:
            import base64
            import binascii
            try:
                png = base64.b64decode(layout["logo_png"], validate=True)
            except (binascii.Error, ValueError):
                png = b""
            if png:
                self.logo = pdf.add_png(png)


def address_lines(letter: dict) -> list[str]:
    """The address as PostNL wants it: person, company, street and number, postcode + 2 spaces + CITY."""
    lines = [_words(letter.get("recipient_name") or "")]
    client = _words(letter.get("client_name") or "")
    if client and client.strip().lower() != lines[0].strip().lower():
        lines.append(client)
    street = " ".join(_words(p) for p in (letter.get("street"), letter.get("house_number")) if p)
    if street:
        lines.append(street)
    postcode = normalise_postcode(letter.get("postcode") or "")
    town = "  ".join(p for p in (postcode, _words(letter.get("city") or "").upper()) if p)
    if town:
        lines.append(town)
    country = (letter.get("country") or "").strip()
    if country and country.upper() not in ("NL", "NLD", "NEDERLAND", "THE NETHERLANDS", "NETHERLANDS"):
        lines.append(country.upper())
    return [printable(line) for line in lines if line and line.strip()]


def _words(text: str) -> str:
    return " ".join(text.split())


def normalise_postcode(postcode: str) -> str:
    compact = "".join(postcode.split()).upper()
    if len(compact) == 6 and compact[:4].isdigit() and compact[4:].isalpha():
        return f"{compact[:4]} {compact[4:]}"
    return " ".join(postcode.split())


def mailing_key(letter: dict, seq: int) -> tuple:
    """Order in which the firm mails: Dutch postcodes ascending, then foreign, then without postcode."""
    compact = "".join((letter.get("postcode") or "").split()).upper()
    country = (letter.get("country") or "").strip().upper()
    dutch = country in ("", "NL", "NLD", "NEDERLAND", "NETHERLANDS", "THE NETHERLANDS")
    rank = 0 if (dutch and compact) else (1 if compact else 2)
    number = "".join(ch for ch in (letter.get("house_number") or "") if ch.isdigit())
    return (rank, compact, int(number) if number else 0, (letter.get("recipient_name") or "").lower(), seq)


def fit_block(lines: list[str], font: str, size: float, min_size: float, width: float, max_lines: int):
    """Shrink (then wrap) ``lines`` until they fit ``width`` and ``max_lines``: (size, [(line, font)]).

    Each line is measured in its own font (``font_for``); the parts of a wrapped line keep that
    line's font, so one address line is not split over two typefaces."""
    current = size
    fonts_ = [font_for(line, font) for line in lines]
    while True:
        if len(lines) <= max_lines and all(stringWidth(line, f, current) <= width for line, f in zip(lines, fonts_)):
            return current, list(zip(lines, fonts_))
        if current > min_size:
            current = max(min_size, current - 0.5)
            continue
        # wrap each line; if that is too many, the longest ones give up their tails (ellipsis),
        # so street, postcode and city always stay on the envelope
        parts = [list(wrap(line, f, current, width)) for line, f in zip(lines[:max_lines], fonts_)]
        while sum(len(p) for p in parts) > max_lines:
            longest = max(range(len(parts)), key=lambda i: len(parts[i]))
            cut = parts[longest][:-1]
            last = cut[-1]
            while last and stringWidth(last + "...", fonts_[longest], current) > width:
                last = last[:-1]
            cut[-1] = last.rstrip() + "..."
            parts[longest] = cut
        return current, [(part, f) for p, f in zip(parts, fonts_) for part in p]


# -- texts -------------------------------------------------------------------

SUBJECTS = {"pin": "Uw persoonlijke PIN-code", "activation": "Uw account voor het cliëntportaal"}


def intro(kind: str, firm: str, client_name: str, portal: str) -> list[str]:
    client = f" voor {client_name.rstrip('.')}" if client_name else ""
    if kind == "pin":
        return [f"Hierbij ontvangt u uw persoonlijke PIN-code voor {portal} van {firm}{client}. "
                "Met deze PIN-code bevestigt u dat u akkoord gaat met stukken die wij u ter accordering "
                "aanbieden, zoals uw jaarrekening of een belastingaangifte."]
    return [f"Er is een account voor u aangemaakt in {portal} van {firm}{client}. Via het portaal kunt u "
            "stukken inzien en accorderen en veilig met ons gegevens uitwisselen. Hieronder staan uw "
            "gebruikersnaam en uw persoonlijke activeringscode."]


def steps(kind: str, portal: str) -> list[tuple[str, list[str]]]:
    approve = ("Zo accordeert u een stuk", [
        f"Log in op {portal} met uw gebruikersnaam en wachtwoord.",
        "Open onder 'Accorderen' het stuk dat voor u klaarstaat en lees het zorgvuldig door.",
        "Klik op 'Akkoord' en bevestig met uw PIN-code of met de sms-code die u ontvangt. "
        "Gaat u niet akkoord? Kies 'Niet akkoord' en vermeld de reden.",
    ])
    if kind == "pin":
        return [approve]
    first = ("Zo logt u de eerste keer in", [
        f"Ga naar {portal} en kies 'Account activeren'.",
        "Vul uw gebruikersnaam en de activeringscode uit deze brief in.",
        "Kies een eigen wachtwoord van minimaal 8 tekens. Daarna logt u voortaan in met uw "
        "gebruikersnaam en dat wachtwoord.",
    ])
    return [first, approve]


def warning(kind: str) -> str:
    if kind == "pin":
        return ("Bewaar deze brief op een veilige plaats en deel uw PIN-code met niemand; onze medewerkers "
                "vragen er nooit naar. Na 10 verkeerde pogingen wordt de PIN-code geblokkeerd. Neem dan "
                "contact met ons op voor een nieuwe PIN-code.")
    return ("De activeringscode is persoonlijk, werkt één keer en is beperkt geldig. Is de code verlopen of "
            "heeft u deze brief niet zelf geopend? Neem dan contact met ons op.")


SECRET_LABELS = {"pin": "PIN-code", "activation": "Activeringscode"}


class LetterPainter:
    """Draws letters of one kind and branch onto a StreamingPdf, one page each."""

    def __init__(self, pdf, kind: str, layout: dict, batch_id: int, today: dt.date | None = None,
                 portal_url: str | None = None):
        self.pdf = pdf
        self.canvas = pdf.canvas
        self.kind = kind
        self.batch_id = batch_id
        self.brand = Branding(layout, pdf)
        self.date = dutch_date(today or dt.date.today())
        self.portal = printable(portal_url) if portal_url else "het cliëntportaal"
        self._static = None  # replayed PDF operators of what every page shares

    # the parts every page shares ------------------------------------------------
    def _draw_static(self):
        c, b = self.canvas, self.brand
        c.saveState()
        # letterhead: accent band, logo or name left, branch address right
        c.setFillColor(b.primary)
        c.rect(0, y(9 * mm), PAGE_W, 9 * mm, stroke=0, fill=1)
        if b.logo:
            name, w, h = b.logo
            scale = min(55 * mm / w, 20 * mm / h)
            self.pdf.draw_image(name, LEFT, y(16 * mm) - h * scale, w * scale, h * scale)
        else:
            size = 18
            while size > 11 and text_width(b.name, BOLD, size) > 100 * mm:
                size -= 1
            draw_string(c, LEFT, y(16 * mm) - size, b.name, BOLD, size)
        if b.logo or b.address_lines or b.contact_lines:
            col = 138 * mm
            line_y = y(17 * mm) - 8
            draw_string(c, col, line_y, b.name[:48], BOLD, 8.5)
            c.setFillColor(GREY)
            for line in b.address_lines + b.contact_lines:
                line_y -= 11
                draw_string(c, col, line_y, line[:60], FONT, 8.5)
        c.setFillColor(GREY)
        # return address at the top of the envelope window
        ret = b.return_address
        while ret and text_width(ret, FONT, 6.5) > ADDRESS_W:
            ret = ret[:-1]
        draw_string(c, LEFT, y(WINDOW_TOP + 4 * mm), ret, FONT, 6.5)
        c.setStrokeColor(GREY)
        c.setLineWidth(0.3)
        c.line(LEFT, y(WINDOW_TOP + 5 * mm), LEFT + text_width(ret, FONT, 6.5), y(WINDOW_TOP + 5 * mm))
        # reference row labels
        for x, label in ((LEFT, "Datum"), (LEFT + 45 * mm, "Ons kenmerk"), (LEFT + 90 * mm, "Betreft")):
            draw_string(c, x, y(101 * mm), label, FONT, 7.5)
        c.setFillColor(HexColor("#000000"))
        draw_string(c, LEFT, y(105.5 * mm), self.date, FONT, 9.5)
        draw_string(c, LEFT + 90 * mm, y(105.5 * mm), printable(SUBJECTS[self.kind]), FONT, 9.5)
        # fold marks for a tri-fold into a window envelope (EA5/6), and the punch mark
        c.setStrokeColor(GREY)
        c.setLineWidth(0.3)
        for at in (99 * mm, 198 * mm):
            c.line(5 * mm, y(at), 9 * mm, y(at))
        c.line(5 * mm, y(148.5 * mm), 7 * mm, y(148.5 * mm))
        # footer
        c.setStrokeColor(b.primary)
        c.setLineWidth(0.8)
        c.line(LEFT, y(282 * mm), RIGHT, y(282 * mm))
        c.setFillColor(GREY)
        footer = b.letterhead or b.return_address
        draw_string(c, LEFT, y(286 * mm), footer[:140], FONT, 7)
        c.restoreState()

    def _static_code(self) -> list:
        if self._static is None:
            code = self.canvas._code
            start = len(code)
            self._draw_static()
            self._static = code[start:]
        else:
            self.canvas._code.extend(self._static)
        return self._static

    # one letter ---------------------------------------------------------------
    def draw(self, letter: dict, page_number: int):
        c, b = self.canvas, self.brand
        self._static_code()
        # reference (varies per page)
        c.setFont(FONT, 9.5)
        c.drawString(LEFT + 45 * mm, y(105.5 * mm), f"B{self.batch_id}-{page_number}")
        # the address in the window
        size, lines = fit_block(address_lines(letter), FONT, 10, 7, ADDRESS_W, ADDRESS_MAX_LINES)
        leading = size * 1.3
        top = y(WINDOW_TOP + 8.5 * mm)
        for i, (line, font) in enumerate(lines):
            draw_string(c, LEFT, top - i * leading, line, font, size)
        # the body: sized to fit between the reference row and the footer
        name = printable(letter.get("recipient_name") or "")
        client = printable(letter.get("client_name") or "")
        paragraphs = [f"Geachte {name}," if name else "Geachte heer, mevrouw,"] + intro(
            self.kind, b.name, client, self.portal)
        for size in (10, 9.5, 9, 8.5, 8, 7.5):
            if self._body(letter, paragraphs, size, measure=True) <= y(114 * mm) - y(278 * mm):
                break
        self._body(letter, paragraphs, size, measure=False)

    def _body(self, letter, paragraphs, size, measure: bool) -> float:
        c, b = self.canvas, self.brand
        leading = size * 1.4
        cursor = y(114 * mm)
        start = cursor

        def text(lines, font=FONT, indent=0.0):
            nonlocal cursor
            for line in lines:
                cursor -= leading
                if not measure:
                    draw_string(c, LEFT + indent, cursor, line, font, size)

        for paragraph in paragraphs:
            # one font for the whole paragraph: the one its lines were measured in
            font = font_for(paragraph, FONT)
            text(wrap(paragraph, font, size, TEXT_W), font)
            cursor -= leading * 0.6
        # the secrets, each on its own line after a fixed label, in a tinted box
        box_top = cursor - leading * 0.2
        secret_size = size + 2
        rows = [("Gebruikersnaam: ", printable(letter["username"])),
                (f"{SECRET_LABELS[self.kind]}: ", letter["secret"])]
        row_h = secret_size * 1.6
        box_h = row_h * len(rows) + secret_size * 0.9
        if not measure:
            c.saveState()
            c.setFillColor(b.secondary)
            c.setStrokeColor(b.primary)
            c.setLineWidth(0.8)
            c.roundRect(LEFT, box_top - box_h, TEXT_W, box_h, 2 * mm, stroke=1, fill=1)
            c.restoreState()
            # the rows' text objects set fonts the canvas does not track; the saved state brings
            # the PDF's current font back in line with the canvas' (draw_string relies on it)
            c.saveState()
            row_y = box_top - secret_size * 0.6
            for label, value in rows:
                row_y -= row_h * 0.8
                value_size = secret_size + 1
                value_font = font_for(value, MONO)
                room = TEXT_W - 12 * mm - stringWidth(label, FONT, secret_size)
                while value_size > 6 and stringWidth(value, value_font, value_size) > room:
                    value_size -= 0.5
                t = c.beginText(LEFT + 6 * mm, row_y)
                t.setFont(FONT, secret_size)
                t.textOut(label)
                t.setFont(value_font, value_size)
                t.textOut(value)
                c.drawText(t)
                row_y -= row_h * 0.2
            c.restoreState()
        cursor = box_top - box_h - leading * 0.8
        for heading, items in steps(self.kind, self.portal):
            text([heading], BOLD)
            for number, item in enumerate(items, 1):
                font = font_for(item, FONT)
                for i, line in enumerate(wrap(item, font, size, TEXT_W - 6 * mm)):
                    cursor -= leading
                    if not measure:
                        if i == 0:
                            draw_string(c, LEFT, cursor, f"{number}.", FONT, size)
                        draw_string(c, LEFT + 6 * mm, cursor, line, font, size)
            cursor -= leading * 0.6
        text(wrap(warning(self.kind), FONT, size, TEXT_W))
        cursor -= leading * 0.6
        text(["Met vriendelijke groet,"])
        cursor -= leading
        text([b.name], BOLD)
        return start - cursor
