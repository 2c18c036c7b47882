"""Names the standard PDF fonts (WinAnsi/cp1252) cannot show print exactly, in an embedded Unicode font.

A letter carrying a PIN addressed to "Sukru Yildiz" instead of "Şükrü Yıldız" looks like fraud. Text that
cp1252 can show stays in Helvetica (nothing embedded); only strings that need it use DejaVu Sans.
"""
import base64
import io
import logging
import os

import pypdf
import pytest
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from tests.letters.helpers import letter, pdf_pages, wait_done
from tests.letters.test_layout import LAYOUT, PAGE_H, render

DEJAVU = "/usr/share/fonts/truetype/dejavu"
# The letters find DejaVu here on Debian (package fonts-dejavu-core; the image copies it). Without it these
# tests cannot show anything, so they are skipped with the reason, not failed.
needs_dejavu = pytest.mark.skipif(
    not all(os.path.isfile(os.path.join(DEJAVU, f)) for f in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")),
    reason="DejaVu Sans not installed: apt-get install fonts-dejavu-core")


def _text(pdf: bytes, page: int = 0) -> str:
    return pypdf.PdfReader(io.BytesIO(pdf)).pages[page].extract_text()


def _fonts(pdf: bytes) -> list[dict]:
    """Every font in the PDF's page resources: subtype, base font, embedded or not."""
    found = {}
    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        for name, ref in page["/Resources"]["/Font"].items():
            font = ref.get_object()
            descriptor = font.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            found[name] = {"subtype": font["/Subtype"], "base": font["/BaseFont"],
                           "embedded": any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))}
    return list(found.values())


def _runs(pdf: bytes, page: int = 0) -> list[tuple[float, float, str, float, str]]:
    """(x pt, baseline mm from top, text, size, base font) of every text run on a page."""
    runs = []

    def visit(text, cm, tm, font, size):
        if text.strip() and font is not None:
            runs.append((tm[4], round((PAGE_H - tm[5]) / mm, 1), text.strip("\n"), size, str(font["/BaseFont"])))

    pypdf.PdfReader(io.BytesIO(pdf)).pages[page].extract_text(visitor_text=visit)
    return runs


@pytest.fixture
def letter_fonts():
    """The letters' font module, with its per-process state reset around the test."""
    from letters import fonts
    fonts.reset()
    yield fonts
    fonts.reset()


@pytest.fixture
def no_unicode_font(monkeypatch, tmp_path, letter_fonts):
    """A machine without DejaVu: the configured directory is empty and the Debian path is not searched."""
    monkeypatch.setenv("AKKOORD_LETTER_FONT_DIR", str(tmp_path))
    monkeypatch.setattr(letter_fonts, "FALLBACK_DIRS", ())
    letter_fonts.reset()
    return letter_fonts


@needs_dejavu
def test_turkish_and_polish_names_print_exactly_and_the_pin_line_stays_findable():
    turkish = letter(1, "3511 AX", pin="482913", recipient_name="Şükrü Yıldız", client_name="Doğan Bakkerij B.V.",
                     street="Güllüoğlustraat", city="Utrecht")
    polish = letter(2, "1011 AB", pin="105577", recipient_name="Łukasz Wiśniewski",
                    client_name="Dvořák & Ștefan Consultancy")
    pdf = render([turkish, polish])
    first, second = _text(pdf, 0), _text(pdf, 1)
    assert "Şükrü Yıldız" in first and "Doğan Bakkerij B.V." in first and "Güllüoğlustraat 2" in first
    assert "Geachte Şükrü Yıldız," in first
    assert "PIN-code: 482913" in first and "Gebruikersnaam: gebruiker1" in first
    assert "Łukasz Wiśniewski" in second and "Dvořák & Ștefan Consultancy" in second
    assert "Geachte Łukasz Wiśniewski," in second
    assert "PIN-code: 105577" in second and "Gebruikersnaam: gebruiker2" in second
    # nothing simplified, no stray question marks
    assert "Sukru" not in first and "Yildiz" not in first and "Dogan" not in first
    assert "Lukasz" not in second and "Wisniewski" not in second


@needs_dejavu
def test_cyrillic_and_greek_names_print_exactly():
    cyrillic = letter(3, "2514 EG", pin="630021", recipient_name="Дмитрий Иванов", client_name="Иванов Холдинг Б.В.")
    greek = letter(4, "7411 KT", pin="998877", recipient_name="Γιώργος Παπαδόπουλος",
                   client_name="Παπαδόπουλος Εστιατόριο", city="Deventer")
    pdf = render([cyrillic, greek], kind="activation")
    first, second = _text(pdf, 0), _text(pdf, 1)
    assert "Geachte Дмитрий Иванов," in first and "Иванов Холдинг Б.В." in first
    assert "Activeringscode: 630021" in first and "Gebruikersnaam: gebruiker3" in first
    assert "Geachte Γιώργος Παπαδόπουλος," in second and "Παπαδόπουλος Εστιατόριο" in second
    assert "Activeringscode: 998877" in second
    assert "???" not in first + second


@needs_dejavu
def test_a_plain_dutch_letter_embeds_no_font_and_a_unicode_one_only_dejavu_beside_helvetica():
    plain = render([letter(5, "1011 AB", recipient_name="Mevrouw A. de Vries-Öztürk", client_name="Cliënt B.V.")])
    fonts = _fonts(plain)
    assert fonts and all(f["subtype"] == "/Type1" and not f["embedded"] for f in fonts), fonts
    assert {f["base"] for f in fonts} <= {"/Helvetica", "/Helvetica-Bold", "/Courier-Bold"}
    assert b"FontFile" not in plain and b"DejaVu" not in plain

    mixed = render([letter(6, "1011 AB", recipient_name="Şükrü Yıldız", client_name="Doğan Bakkerij B.V.")])
    fonts = _fonts(mixed)
    embedded = [f for f in fonts if f["embedded"]]
    assert embedded and all(f["subtype"] == "/TrueType" and f["base"].split("+")[-1].startswith("DejaVuSans")
                            for f in embedded), fonts
    assert {"/Helvetica", "/Helvetica-Bold"} <= {f["base"] for f in fonts}  # the rest stays Helvetica
    # only the strings that need it use the embedded font: the labels, the instructions and the PIN do not
    by_text = {r[2]: r[4] for r in _runs(mixed)}
    assert by_text["Met vriendelijke groet,"] == "/Helvetica"
    assert by_text["Uw persoonlijke PIN-code"] == "/Helvetica"
    assert by_text["Dorpsstraat 7"] == "/Helvetica"
    assert any("DejaVuSans" in font for text, font in by_text.items() if "Şükrü Yıldız" in text)


@needs_dejavu
def test_unicode_lines_are_measured_in_the_font_they_are_drawn_in():
    pdfmetrics.registerFont(TTFont("TestDejaVuSans", os.path.join(DEJAVU, "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont("TestDejaVuSans-Bold", os.path.join(DEJAVU, "DejaVuSans-Bold.ttf")))
    # wide enough in Helvetica at 10 pt for the window, too wide in DejaVu Sans (a wider face)
    name = "Şükrü Yıldız-Doğanoğlu Büyükçekmeceli Türkmen"
    assert pdfmetrics.stringWidth(name, "Helvetica", 10) <= 86 * mm < pdfmetrics.stringWidth(name, "TestDejaVuSans", 10)
    long_client = "Ğ" + " Çağlayangilöğretmenoğulları" * 12  # wrapped in the window and in the intro
    pdf = render([letter(7, "1011 AB", recipient_name=name, client_name=""),
                  letter(8, "1011 AB", recipient_name=name, client_name=long_client)])
    # the name alone: shrunk below 10 pt to fit the window, which Helvetica's metrics would not do
    window = [r for r in _runs(pdf, 0) if r[2] == name]
    assert window and window[0][3] < 10 and "DejaVuSans" in window[0][4], window
    for page in (0, 1):
        runs = [r for r in _runs(pdf, page) if "DejaVuSans" in r[4]]
        assert runs
        for x, top, text, size, font in runs:
            width = pdfmetrics.stringWidth(text, "TestDejaVuSans-Bold" if "Bold" in font else "TestDejaVuSans", size)
            if 50 < top < 90 and x == pytest.approx(22 * mm):  # the address in the envelope window
                assert x + width <= 108 * mm + 0.01, (text, size)
            assert x + width <= (210 - 20) * mm + 0.01, (text, size)
        assert f"Geachte {name}," in _text(pdf, page)


@needs_dejavu
def test_branch_name_in_the_replayed_letterhead_prints_on_every_page():
    layout = dict(LAYOUT, display_name="Kantoor Yılmaz & Łapiński", letterhead="Yılmaz & Łapiński B.V. - KvK 1234")
    pdf = render([letter(i, f"{1000 + i} AB") for i in range(3)], layout=layout)
    for page in range(3):
        text = _text(pdf, page)
        assert "Kantoor Yılmaz & Łapiński" in text and "Yılmaz & Łapiński B.V. - KvK 1234" in text
        assert f"PIN-code: {letter(page, '')['secret']}" in text


@needs_dejavu
def test_more_distinct_letters_than_one_font_subset_holds():
    # Latin Extended-A, Greek and Cyrillic: more than 256 distinct glyphs in one PDF (several subsets)
    codes = [*range(0x100, 0x180), *range(0x391, 0x3A2), *range(0x3A3, 0x3AA), *range(0x3B1, 0x3CA),
             *range(0x400, 0x460)]
    alphabet = [chr(c) for c in codes]
    assert len(alphabet) > 256
    names = [("".join(alphabet[i:i + 12]) + " " + "".join(alphabet[i + 12:i + 24])).strip()
             for i in range(0, len(alphabet), 24)]
    letters = [letter(i, "1011 AB", recipient_name=name) for i, name in enumerate(names)]
    pdf = render(letters)
    for i, name in enumerate(names):
        text = _text(pdf, i)
        assert f"Geachte {name}," in text, (i, name)
        assert f"PIN-code: {letters[i]['secret']}" in text


@needs_dejavu
def test_a_letter_no_font_has_is_still_simplified_not_drawn_as_boxes():
    pdf = render([letter(8, "1011 AB", recipient_name="Şükrü 王小明")])
    assert "Geachte Şükrü ???," in _text(pdf)


@needs_dejavu
def test_font_directory_from_the_environment(monkeypatch, tmp_path, letter_fonts):
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
        os.symlink(os.path.join(DEJAVU, name), tmp_path / name)
    monkeypatch.setenv("AKKOORD_LETTER_FONT_DIR", str(tmp_path))
    monkeypatch.setattr(letter_fonts, "FALLBACK_DIRS", ())
    letter_fonts.reset()
    assert "Geachte Şükrü Yıldız," in _text(render([letter(9, "1011 AB", recipient_name="Şükrü Yıldız")]))


def test_without_a_unicode_font_the_old_simplification_stays_and_one_warning_is_logged(no_unicode_font, caplog):
    caplog.set_level(logging.WARNING)
    first = letter(1, "3511 AX", pin="482913", recipient_name="Şükrü Yıldız", client_name="Doğan Bakkerij B.V.")
    second = letter(2, "1011 AB", pin="105577", recipient_name="Łukasz Wiśniewski", client_name="Дмитрий")
    pdf = render([first, second])
    text = _text(pdf, 0) + _text(pdf, 1)
    assert "Geachte Sükrü Yildiz," in text and "Dogan Bakkerij B.V." in text  # ü is in cp1252
    assert "Geachte Lukasz Wisniewski," in text and "???????" in text
    assert "PIN-code: 482913" in text and "PIN-code: 105577" in text
    assert all(f["subtype"] == "/Type1" for f in _fonts(pdf))
    render([first])  # a second batch in the same process: no second warning
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name.startswith("letters")]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    record = warnings[0]
    assert "AKKOORD_LETTER_FONT_DIR" in record.getMessage() or hasattr(record, "font_dirs")
    logged = record.getMessage() + " " + " ".join(str(v) for v in vars(record).values())
    for secret in ("Yıldız", "Yildiz", "Wiśniewski", "Wisniewski", "482913", "105577", "gebruiker1"):
        assert secret not in logged


@needs_dejavu
def test_pin_batch_through_the_service_prints_the_exact_names(portal):
    firm = portal.create_firm(branches=["Zwolle"])
    api = portal.login(firm["admin"]["username"], firm["admin"]["password"])
    principal = portal.rpc.identity.authenticate(token=api.headers["Authorization"].split()[1])
    letters = [letter(0, "8011 AB", pin="271828", recipient_name="Şükrü Yıldız", client_name="Doğan Bakkerij B.V."),
               letter(1, "8012 CD", pin="314159", recipient_name="Łukasz Wiśniewski", client_name="Ελληνικά Α.Ε.")]
    created = portal.rpc.letters.create_batch(principal=principal, payload={
        "kind": "pin", "branch_id": firm["branch_ids"][0], "letters": letters})
    status = wait_done(lambda: portal.rpc.letters.batch_status(principal=principal, batch_id=created["batch_id"]))
    assert status["status"] == "done", status
    pdf = base64.b64decode(portal.rpc.letters.batch_pdf(principal=principal,
                                                        batch_id=created["batch_id"])["pdf_base64"])
    page_of = {p["letter"]: p["first_page"] for p in status["pages"]}
    pages = pdf_pages(pdf)
    first, second = pages[page_of[0] - 1], pages[page_of[1] - 1]
    assert "Geachte Şükrü Yıldız," in first and "Doğan Bakkerij B.V." in first and "PIN-code: 271828" in first
    assert "Geachte Łukasz Wiśniewski," in second and "Ελληνικά Α.Ε." in second and "PIN-code: 314159" in second


@needs_dejavu
def test_evidence_certificate_shows_the_exact_names(portal):
    from tests.letters.test_certificate import _evidence
    evidence = _evidence()
    evidence["client"] = {"number": "C-7", "name": "Doğan Bakkerij B.V."}
    for event in evidence["events"][1:]:
        event["actor"] = "Şükrü Yıldız"
    evidence["title"] = "Jaarrekening 2025 Łukasz Wiśniewski"
    data = base64.b64decode(portal.rpc.letters.render_certificate(payload=evidence)["pdf_base64"])
    text = "\n".join(pdf_pages(data))
    assert "Doğan Bakkerij B.V." in text and "Şükrü Yıldız" in text
    assert "Jaarrekening 2025 Łukasz Wiśniewski" in text
    assert "Anna de Beheerder" in text and "Akkoord gegeven" in text
