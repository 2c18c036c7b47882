"""A PDF written page by page: reportlab's Canvas draws, this file streams.

reportlab's own document keeps every page (and at save the whole file) in memory
until ``save()``, so a 10,000-letter batch would grow the process by the size of
the PDF. Here the Canvas is used only as the drawing engine (text, fonts,
metrics, colours, lines): when a page is finished its content stream is taken
from the canvas, compressed and written to ``sink`` at once, together with its
page object. What stays in memory per page is two integers (the page's object
number and the file offsets for the cross-reference table, in compact arrays),
so memory does not grow with the batch.

Fonts are reportlab's standard Type 1 fonts (WinAnsi encoded, not embedded) and,
only when a text needs letters WinAnsi lacks (letters.fonts), subsets of a TrueType
font, embedded at the end with the glyphs the whole file used; images (the branch
logo) are written once and shared by every page.
"""
import io
import os
import zlib
from array import array

from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import FF_NONSYMBOLIC, FF_SYMBOLIC, SUBSETN, makeToUnicodeCMap
from reportlab.pdfgen.canvas import Canvas

from letters.exceptions import InvalidLayout

# objects 1..3 are fixed: catalog, page tree, the shared resource dictionary
_CATALOG, _PAGES, _RESOURCES = 1, 2, 3
_SYMBOLIC = {"Symbol", "ZapfDingbats"}
MAX_LOGO_PIXELS = 4_000_000
MAX_LOGO_WIDTH = 900


def _num(value) -> bytes:
    """A PDF number: integral values without decimals, others to 3 places."""
    return (("%.3f" % value).rstrip("0").rstrip(".") or "0").encode()


def _literal(value: str) -> bytes:
    """A PDF literal string for the info dictionary (UTF-16 when not plain ASCII)."""
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError:
        raw = b"\xfe\xff" + value.encode("utf-16-be")
    raw = raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)").replace(b"\r", b"\\r")
    return b"(" + raw + b")"


class StreamingPdf:
    """``pdf = StreamingPdf(sink)``; draw on ``pdf.canvas``; ``pdf.end_page()``; ``pdf.close()``."""

    def __init__(self, sink, title: str = "", author: str = "", pagesize=A4, compress: bool = True):
        self.sink = sink
        self.title = title
        self.author = author
        self.pagesize = pagesize
        self.compress = compress
        # The canvas's own document is never saved: it only hands out font names.
        self.canvas = Canvas(io.BytesIO(), pagesize=pagesize, pageCompression=0, invariant=1)
        self._offset = 0
        self._offsets = array("Q", [0, 0, 0, 0])  # by object number; 0 is the free head
        self._pages = array("I")
        self._images: dict[str, int] = {}
        self._closed = False
        self._write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

    # -- low level ---------------------------------------------------------
    def _write(self, data: bytes):
        self.sink.write(data)
        self._offset += len(data)

    def _alloc(self) -> int:
        self._offsets.append(0)
        return len(self._offsets) - 1

    def _object(self, number: int, body: bytes):
        self._offsets[number] = self._offset
        self._write(b"%d 0 obj\n%b\nendobj\n" % (number, body))

    def _stream(self, number: int, entries: bytes, data: bytes):
        self._offsets[number] = self._offset
        self._write(b"%d 0 obj\n<< %b /Length %d >>\nstream\n%b\nendstream\nendobj\n"
                    % (number, entries, len(data), data))

    # -- pages -------------------------------------------------------------
    @property
    def page_count(self) -> int:
        return len(self._pages)

    def end_page(self):
        """Finish the page drawn on the canvas and write it out."""
        c = self.canvas
        code = (c._preamble + "\n" + "\n".join(c._code) + "\n").encode("latin-1")
        c._startPage()  # fresh accumulators and graphics state; nothing kept in the canvas' document
        content, page = self._alloc(), self._alloc()
        if self.compress:
            self._stream(content, b"/Filter /FlateDecode", zlib.compress(code, 6))
        else:
            self._stream(content, b"", code)
        width, height = self.pagesize
        self._object(page, b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %.4f %.4f] /Resources %d 0 R "
                           b"/Contents %d 0 R >>" % (_PAGES, width, height, _RESOURCES, content))
        self._pages.append(page)

    # -- images ------------------------------------------------------------
    def add_png(self, png: bytes, name: str = "Logo") -> tuple[str, int, int]:
        """Write a PNG (e.g. a logo) once; returns (name, width, height) for ``draw_image``."""
        if name in self._images:
            raise ValueError(f"image {name} already added")
        try:
            Image.MAX_IMAGE_PIXELS = MAX_LOGO_PIXELS
            image = Image.open(io.BytesIO(png))
            if image.format != "PNG":
                raise InvalidLayout("Het logo moet een PNG-afbeelding zijn.", {"field": "logo_png"})
            if image.width * image.height > MAX_LOGO_PIXELS:
                raise InvalidLayout("Het logo is te groot.", {"field": "logo_png"})
            image.load()
        except InvalidLayout:
            raise
        except (OSError, ValueError, Image.DecompressionBombError):
            raise InvalidLayout("Het logo is geen geldige PNG-afbeelding.", {"field": "logo_png"}) from None
        if image.width > MAX_LOGO_WIDTH:
            image = image.resize((MAX_LOGO_WIDTH, max(1, round(image.height * MAX_LOGO_WIDTH / image.width))))
        image = image.convert("RGBA")
        rgb = image.convert("RGB").tobytes()
        alpha = image.getchannel("A")
        smask = b""
        if alpha.getextrema() != (255, 255):
            mask_number = self._alloc()
            self._stream(mask_number, b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
                                      b"/BitsPerComponent 8 /Filter /FlateDecode" % image.size,
                         zlib.compress(alpha.tobytes(), 6))
            smask = b" /SMask %d 0 R" % mask_number
        number = self._alloc()
        self._stream(number, b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
                             b"/BitsPerComponent 8 /Filter /FlateDecode%b" % (image.size[0], image.size[1], smask),
                     zlib.compress(rgb, 6))
        self._images[name] = number
        return name, image.width, image.height

    def draw_image(self, name: str, x: float, y: float, width: float, height: float):
        self.canvas.addLiteral(f"q {width:.3f} 0 0 {height:.3f} {x:.3f} {y:.3f} cm /{name} Do Q")

    # -- fonts -------------------------------------------------------------
    def _flate(self, data: bytes) -> tuple[bytes, bytes]:
        if self.compress:
            return b"/Filter /FlateDecode ", zlib.compress(data, 6)
        return b"", data

    def _truetype(self, font) -> list[bytes]:
        """Write the subsets of a TrueType font the pages used (reportlab numbers up to 256 glyphs
        per subset as they first appear, named /F<n>+<subset>); returns their resource entries."""
        doc = self.canvas._doc
        state = font.state.get(doc)
        if state is None:
            return []
        state.frozen = 1
        face = font.face
        entries = []
        for n, subset in enumerate(state.subsets):
            internal = font.getSubsetInternalName(n, doc)  # "/F4+0"
            base = SUBSETN(n) + b"+" + face.name + face.subfontNameX  # "AAAAAA+DejaVuSans"
            file_number, cmap_number, descriptor, number = (self._alloc() for _ in range(4))
            program = face.makeSubset(subset)
            flate, data = self._flate(program)
            self._stream(file_number, b"%b/Length1 %d" % (flate, len(program)), data)
            # ToUnicode: text extraction and search give back the letters, not subset codes
            flate, data = self._flate(makeToUnicodeCMap(base.decode("latin-1"), subset).encode("latin-1"))
            self._stream(cmap_number, flate.rstrip(), data)
            flags = (face.flags & ~FF_NONSYMBOLIC) | FF_SYMBOLIC
            self._object(descriptor, b"<< /Type /FontDescriptor /FontName /%b /Flags %d /FontBBox [%b] "
                                     b"/ItalicAngle %b /Ascent %b /Descent %b /CapHeight %b /StemV %b "
                                     b"/MissingWidth %b /FontFile2 %d 0 R >>"
                         % (base, flags, b" ".join(_num(v) for v in face.bbox),
                            *(_num(v) for v in (face.italicAngle, face.ascent, face.descent, face.capHeight,
                                                face.stemV, face.defaultWidth)), file_number))
            widths = b" ".join(_num(face.getCharWidth(code)) for code in subset)
            self._object(number, b"<< /Type /Font /Subtype /TrueType /Name %b /BaseFont /%b /FirstChar 0 "
                                 b"/LastChar %d /Widths [%b] /FontDescriptor %d 0 R /ToUnicode %d 0 R >>"
                         % (internal.encode(), base, len(subset) - 1, widths, descriptor, cmap_number))
            entries.append(b"%b %d 0 R" % (internal.encode(), number))
        del font.state[doc]
        return entries

    # -- the end -----------------------------------------------------------
    def close(self):
        if self._closed:
            return
        self._closed = True
        fonts = []
        for psname, internal in sorted(self.canvas._doc.fontMapping.items(), key=lambda kv: kv[1]):
            font = pdfmetrics.getFont(psname)
            if font._dynamicFont:
                fonts.extend(self._truetype(font))
                continue
            number = self._alloc()
            encoding = b"" if psname in _SYMBOLIC else b" /Encoding /WinAnsiEncoding"
            self._object(number, b"<< /Type /Font /Subtype /Type1 /Name %b /BaseFont /%b%b >>"
                                 % (internal.encode(), psname.encode(), encoding))
            fonts.append(b"%b %d 0 R" % (internal.encode(), number))
        xobjects = b" ".join(b"/%b %d 0 R" % (name.encode(), n) for name, n in self._images.items())
        self._object(_RESOURCES, b"<< /ProcSet [/PDF /Text /ImageB /ImageC /ImageI] /Font << %b >>%b >>"
                     % (b" ".join(fonts), (b" /XObject << %b >>" % xobjects) if xobjects else b""))
        # the page tree: written in slices so no long byte string is built at once
        self._offsets[_PAGES] = self._offset
        self._write(b"%d 0 obj\n<< /Type /Pages /Count %d /Kids [" % (_PAGES, len(self._pages)))
        for start in range(0, len(self._pages), 1000):
            self._write(b"".join(b"%d 0 R " % n for n in self._pages[start:start + 1000]))
        self._write(b"] >>\nendobj\n")
        self._object(_CATALOG, b"<< /Type /Catalog /Pages %d 0 R >>" % _PAGES)
        info = self._alloc()
        self._object(info, b"<< /Title %b /Author %b /Producer (akkoord letters, ReportLab canvas) >>"
                     % (_literal(self.title), _literal(self.author)))
        xref_at = self._offset
        size = len(self._offsets)
        self._write(b"xref\n0 %d\n0000000000 65535 f \n" % size)
        for start in range(1, size, 1000):
            self._write(b"".join(b"%010d 00000 n \n" % off for off in self._offsets[start:min(start + 1000, size)]))
        file_id = os.urandom(16).hex().encode()
        self._write(b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [<%b> <%b>] >>\nstartxref\n%d\n%%%%EOF\n"
                    % (size, _CATALOG, info, file_id, file_id, xref_at))
