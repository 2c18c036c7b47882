"""The letter's geometry, read back from the PDF: address in the envelope window, one page, Dutch date."""
import datetime as dt
import io

import pypdf
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

from letters.layout import LetterPainter, mailing_key
from letters.rendering import StreamingPdf
from tests.letters.helpers import letter

PAGE_H = 841.8898
LAYOUT = {"id": 3, "firm_id": 1, "name": "Utrecht", "display_name": "Kantoor De Boer", "street": "Oudegracht",
          "house_number": "10", "postcode": "3511 AB", "city": "Utrecht"}


def render(letters, kind="pin", layout=LAYOUT):
    out = io.BytesIO()
    pdf = StreamingPdf(out)
    painter = LetterPainter(pdf, kind, layout, batch_id=7, today=dt.date(2026, 3, 5))
    for page, data in enumerate(letters, 1):
        painter.draw(data, page)
        pdf.end_page()
    pdf.close()
    return out.getvalue()


def placed_text(data: bytes, page: int = 0) -> list[tuple[float, float, str, float]]:
    """(x mm from left, baseline mm from top, text, font size) of every text run on a page."""
    runs = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            runs.append((round(tm[4] / mm, 1), round((PAGE_H - tm[5]) / mm, 1), " ".join(text.split()), size))

    pypdf.PdfReader(io.BytesIO(data)).pages[page].extract_text(visitor_text=visit)
    return runs


def _content(pdf: bytes) -> str:
    return pypdf.PdfReader(io.BytesIO(pdf)).pages[0].get_contents().get_data().decode("latin-1")


def test_address_sits_in_the_window_of_a_dutch_window_envelope():
    data = letter(1, "3511ax", recipient_name="Mevrouw J. Jansen", client_name="Jansen Advies V.O.F.",
                  street="Biltstraat", house_number="88 bis", city="utrecht")
    runs = placed_text(render([data]))
    expected = ["Mevrouw J. Jansen", "Jansen Advies V.O.F.", "Biltstraat 88 bis", "3511 AX UTRECHT"]
    address = [r for r in runs if r[2] in expected]
    assert [r[2] for r in sorted(address, key=lambda r: r[1])] == expected
    for x, top, text, size in address:
        assert x == 22.0  # window: 20-110 mm from the left
        assert 50 + size / mm < top < 90  # window: 50-90 mm from the top (whole glyphs inside)
        assert 22 * mm + stringWidth(text, "Helvetica", size) <= 108 * mm
    # PostNL: two spaces between postcode and city (pypdf shows them as one)
    assert "(3511 AX  UTRECHT)" in _content(render([data]))
    # the return address is in the window too, above the address, in small print
    ret = [r for r in runs if r[2].startswith("Kantoor De Boer · Oudegracht 10")]
    assert ret and 50 < ret[0][1] < min(r[1] for r in address) and ret[0][3] < 8
    # the Dutch date and the subject under the window
    assert any(r[2] == "5 maart 2026" and r[1] > 90 for r in runs)
    text = " ".join(r[2] for r in runs)
    assert "Uw persoonlijke PIN-code" in text


def test_very_long_name_and_address_stay_in_the_window_and_on_one_page():
    data = letter(2, "9999 ZZ", pin="918273", recipient_name="Wilhelmina Frederika Anna Constantia " * 6,
                  client_name="Stichting tot Bevordering van het Welzijn der Inwoners van " * 5,
                  street="Verlengde Hoofdwijk-Noordzijde Parallelweg " * 5, house_number="1000-2000",
                  city="Westerhaar-Vriezenveensewijk")
    pdf = render([data, letter(3, "1000 AA")])
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2
    runs = placed_text(pdf)
    window = [r for r in runs if 55 < r[1] < 90 and r[0] == 22.0]
    assert 4 <= len(window) <= 6
    assert window[-1][2] == "9999 ZZ WESTERHAAR-VRIEZENVEENSEWIJK"  # postcode line always kept, last
    for x, top, text, size in window:
        assert 22 * mm + stringWidth(text, "Helvetica", size) <= 108 * mm, text
    # nothing runs into the footer (282 mm) and the secret is whole on its line
    assert max(r[1] for r in runs if r[1] < 280) < 280
    page = reader.pages[0].extract_text()
    assert "PIN-code: 918273" in page and "Met vriendelijke groet" in page


def test_activation_letter_labels_and_non_latin_names():
    data = letter(4, "1011 AB", pin="K7QX-93LM-PA2D", recipient_name="Łukasz Żółć", client_name="Ødegaard & Søn")
    page = pypdf.PdfReader(io.BytesIO(render([data], kind="activation"))).pages[0].extract_text()
    assert "Activeringscode: K7QX-93LM-PA2D" in page
    assert "Gebruikersnaam: gebruiker4" in page
    assert "Łukasz Żółć" in page and "Ødegaard & Søn" in page  # Ł, Ż, ć from the embedded Unicode font
    assert "Account activeren" in page


def test_mailing_order_is_by_postcode_foreign_and_missing_last():
    letters = [letter(0, ""), letter(1, "9711 AB"), letter(2, "1000 XX", country="België"),
               letter(3, "1011 aa"), letter(4, "1011AA", house_number="2")]
    order = sorted(range(len(letters)), key=lambda i: mailing_key(letters[i], i))
    assert order == [3, 4, 1, 2, 0] or order == [4, 3, 1, 2, 0]
