"""Reading uploaded client files safely: what kind of file it really is, whether it is
hostile, and its rows, streamed.

Checks happen before the contents cost memory: the upload is size-capped while it
arrives, an .xlsx is judged by its zip directory (member count, declared sizes and
compression ratios) and by streaming every member through zipfile (which stops at
the declared size and checks the CRC, so a lying header cannot inflate), its XML may
not carry a DTD (defusedxml refuses entities), and a CSV may not hold a NUL byte.
"""
import codecs
import csv
import datetime as dt
import io
import re
import zipfile

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from importer.columns import fold, match_headers
from importer.exceptions import HostileFile, UnreadableFile, UnsupportedFile

MAX_ZIP_MEMBERS = 200
MAX_UNCOMPRESSED = 1024 * 1024 * 1024   # declared total of an .xlsx, 1 GiB
MAX_RATIO = 150                          # compression ratio of one big member
RATIO_FLOOR = 1024 * 1024                # ratios are judged for members above 1 MiB
XML_HEAD = 16 * 1024
CSV_FIELD_LIMIT = 64 * 1024

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls or a password-protected .xlsx
BINARY_MAGICS = (ZIP_MAGIC, OLE_MAGIC, b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b", b"MZ",
                 b"\x7fELF", b"Rar!", b"7z\xbc\xaf")

KINDS = {"xlsx": "xlsx", "csv": "csv", "txt": "csv"}


def kind_for(filename: str) -> str:
    """The kind of file its name claims, or UnsupportedFile."""
    ext = (filename or "").rsplit(".", 1)[-1].lower() if "." in (filename or "") else ""
    if ext in KINDS:
        return KINDS[ext]
    if ext in ("xls", "xlsm", "xlsb", "ods", "numbers"):
        raise UnsupportedFile("Dit bestandstype wordt niet ondersteund. Sla het bestand op als .xlsx of .csv.",
                              {"extension": ext})
    raise UnsupportedFile("Upload een Excel-bestand (.xlsx) of een CSV-bestand (.csv).", {"extension": ext})


def check_head(kind: str, head: bytes) -> None:
    """The first bytes must fit the claimed kind."""
    if kind == "xlsx":
        if head.startswith(OLE_MAGIC):
            raise UnsupportedFile("Dit is geen .xlsx-bestand (een oud .xls-bestand of beveiligd met een "
                                  "wachtwoord). Sla het op als .xlsx zonder wachtwoord.", {"kind": kind})
        if not head.startswith(ZIP_MAGIC):
            raise UnsupportedFile("De inhoud van het bestand is geen Excel-bestand (.xlsx).", {"kind": kind})
    else:
        if any(head.startswith(magic) for magic in BINARY_MAGICS):
            raise UnsupportedFile("De inhoud van het bestand is geen CSV-tekst.", {"kind": kind})
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise UnsupportedFile("Dit CSV-bestand is in UTF-16 opgeslagen. Sla het op als CSV (UTF-8) of "
                                  "CSV (puntkomma's).", {"kind": kind})


def check_csv_chunk(chunk: bytes) -> None:
    if b"\x00" in chunk:
        raise HostileFile("Het CSV-bestand bevat een NUL-teken en is geen gewone tekst.", {"kind": "csv"})


# -- .xlsx ------------------------------------------------------------------
def check_xlsx(path) -> None:
    """Refuse zip bombs, crowded zips, lying headers and XML with a DTD before parsing."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise UnsupportedFile("Het bestand is geen geldig Excel-bestand (.xlsx).", {"kind": "xlsx"}) from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise HostileFile("Het Excel-bestand bevat verdacht veel onderdelen en wordt geweigerd.",
                              {"members": len(members), "limit": MAX_ZIP_MEMBERS})
        declared = sum(m.file_size for m in members)
        if declared > MAX_UNCOMPRESSED:
            raise HostileFile("Het Excel-bestand pakt uit tot een verdacht grote omvang en wordt geweigerd.",
                              {"uncompressed": declared, "limit": MAX_UNCOMPRESSED})
        for member in members:
            if member.file_size > RATIO_FLOOR and member.file_size > MAX_RATIO * max(member.compress_size, 1):
                raise HostileFile("Het Excel-bestand is verdacht sterk gecomprimeerd (zip-bom) en wordt geweigerd.",
                                  {"member": member.filename[:100]})
            if member.flag_bits & 0x1:
                raise UnsupportedFile("Het Excel-bestand is versleuteld; sla het op zonder wachtwoord.", {})
        names = {m.filename for m in members}
        if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            raise UnsupportedFile("Het bestand is een zip-bestand maar geen Excel-werkmap (.xlsx).", {"kind": "xlsx"})
        for member in members:
            _stream_member(archive, member)
        for name in ("[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
            if name in names and archive.getinfo(name).file_size <= 4 * 1024 * 1024:
                try:
                    SafeET.fromstring(archive.read(name), forbid_dtd=True)
                except DefusedXmlException:
                    raise HostileFile("Het Excel-bestand bevat gevaarlijke XML en wordt geweigerd.",
                                      {"member": name}) from None
                except SafeET.ParseError:
                    raise UnreadableFile("Het Excel-bestand is beschadigd.", {"member": name}) from None


def _stream_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    """Decompress one member in small pieces: zipfile stops at the declared size and
    checks the CRC, so a member that inflates beyond its header is caught here."""
    is_xml = member.filename.endswith((".xml", ".rels", ".vml"))
    try:
        with archive.open(member) as stream:
            head = stream.read(XML_HEAD)
            if is_xml and not _utf8_xml(head):
                # Excel writes UTF-8; in UTF-16 (or anything else) the DTD check below would see nothing
                raise HostileFile("Het Excel-bestand bevat XML in een onverwachte tekenset en wordt geweigerd.",
                                  {"member": member.filename[:100]})
            tail = b""
            chunk = head
            while chunk:
                # the whole member, not only its head: a DTD may follow a long comment
                if is_xml and _declares_dtd(tail + chunk):
                    raise HostileFile("Het Excel-bestand bevat gevaarlijke XML (DTD of entiteiten) en wordt "
                                      "geweigerd.", {"member": member.filename[:100]})
                tail = chunk[-16:]
                chunk = stream.read(1024 * 1024)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, OSError, ValueError):
        raise HostileFile("Het Excel-bestand is beschadigd of misleidend opgebouwd en wordt geweigerd.",
                          {"member": member.filename[:100]}) from None


def _utf8_xml(head: bytes) -> bool:
    """An XML member starts with '<' (after an optional UTF-8 byte order mark and white space)."""
    text = head[3:] if head.startswith(codecs.BOM_UTF8) else head
    text = text.lstrip(b" \t\r\n")
    return not text or text[:1] == b"<"


def _declares_dtd(data: bytes) -> bool:
    lowered = data.lower()
    return b"<!doctype" in lowered or b"<!entity" in lowered


def clean_text(text: str) -> str | None:
    """Trimmed text, None when empty; an apostrophe our export put before = + - @ is dropped."""
    text = text.strip()
    if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@"):
        text = text[1:]
    return text or None


def cell_text(value) -> str | None:
    """A cell as the text a person typed: 1234567.0 → "1234567", dates as ISO."""
    if value is None:
        return None
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    text = str(value).strip()
    return text or None


class XlsxSource:
    """The first worksheet of an .xlsx, decoded by python-calamine (about 13× faster than
    openpyxl read-only here) in a child process (importer/xlsx_rows.py) whose rows arrive
    through a pipe: the worker's memory stays flat whatever the sheet's size."""

    def __init__(self, path):
        self.path = path
        self.total = 0
        self.process = None
        self.reader = None
        self.peak_mb = None

    def load(self):
        import subprocess
        import sys
        self.process = subprocess.Popen([sys.executable, "-m", "importer.xlsx_rows", str(self.path)],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.reader = csv.reader(io.TextIOWrapper(self.process.stdout, encoding="utf-8", newline=""))
        first = next(self.reader, None)
        if not first or first[0] != "total":
            self._finish()
            raise UnreadableFile("Het Excel-bestand kan niet gelezen worden.", {})
        self.total = int(first[1])
        return self

    def rows(self):
        try:
            for record in self.reader:
                yield int(record[0]), [v or None for v in record[1:]]
        finally:
            self._finish()

    def _finish(self):
        if self.process is None:
            return
        process, self.process = self.process, None
        process.stdout.close()
        error = process.stderr.read().decode(errors="replace").strip()[-200:]
        process.stderr.close()
        code = process.wait()
        import resource
        self.peak_mb = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
        if code != 0:
            if code == 3:
                raise HostileFile("Het Excel-bestand is te groot om te verwerken.", {})
            raise UnreadableFile("Het Excel-bestand kan niet gelezen worden.", {"reason": error[-100:]})

    def close(self):
        if self.process is not None:
            self.process.kill()
            self._finish_quietly()

    def _finish_quietly(self):
        try:
            self._finish()
        except Exception:
            pass


NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def _first_sheet_member(archive: zipfile.ZipFile) -> str:
    workbook = SafeET.fromstring(archive.read("xl/workbook.xml"), forbid_dtd=True)
    sheets = [s for s in workbook.iter(NS_MAIN + "sheet") if s.get("state", "visible") == "visible"]
    sheets = sheets or list(workbook.iter(NS_MAIN + "sheet"))
    if not sheets:
        raise UnreadableFile("Het Excel-bestand bevat geen werkblad.", {})
    rel_id = sheets[0].get(NS_REL + "id")
    rels = SafeET.fromstring(archive.read("xl/_rels/workbook.xml.rels"), forbid_dtd=True)
    for rel in rels:
        if rel.get("Id") == rel_id:
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else "xl/" + target
    raise UnreadableFile("Het Excel-bestand bevat geen werkblad.", {})


def _expat_without_dtd():
    from xml.parsers import expat

    def refuse(*_args):
        raise HostileFile("Het Excel-bestand bevat gevaarlijke XML (DTD of entiteiten) en wordt geweigerd.", {})
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = refuse
    return parser


def xlsx_header(path) -> list:
    """The first row of the first worksheet, read by streaming only as far as needed
    (and the shared strings only up to the highest one it uses)."""
    with zipfile.ZipFile(path) as archive:
        member = _first_sheet_member(archive)
        cells, state = [], {"in_value": False, "done": False, "col": -1, "type": None, "text": []}

        def start(name, attrs):
            local = name.rsplit(":", 1)[-1]
            if state["done"]:
                return
            if local == "c":
                ref = attrs.get("r", "")
                letters = "".join(ch for ch in ref if ch.isalpha())
                col = 0
                for ch in letters:
                    col = col * 26 + ord(ch.upper()) - 64
                state["col"] = col - 1 if letters else state["col"] + 1
                state["type"], state["text"] = attrs.get("t"), []
            elif local in ("v", "t"):
                state["in_value"] = True

        def end(name):
            local = name.rsplit(":", 1)[-1]
            if state["done"]:
                return
            if local in ("v", "t"):
                state["in_value"] = False
            elif local == "c":
                while len(cells) < state["col"]:
                    cells.append(None)
                cells.append((state["type"], "".join(state["text"])))
            elif local == "row":
                if any(c and c[1] for c in cells):
                    state["done"] = True
                else:  # a formatted but empty row above the header (Excel writes those): keep looking
                    cells.clear()
                    state["col"] = -1

        def text(data):
            if state["in_value"]:
                state["text"].append(data)

        parser = _expat_without_dtd()
        parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
        with archive.open(member) as stream:
            while not state["done"] and (data := stream.read(64 * 1024)):
                parser.Parse(data, False)
        wanted = {int(v) for t, v in (c for c in cells if c) if t == "s" and v.isdigit()}
        strings = _shared_strings(archive, max(wanted)) if wanted else []
    header = []
    for cell in cells:
        if cell is None:
            header.append(None)
        elif cell[0] == "s":
            index = int(cell[1]) if cell[1].isdigit() else -1
            header.append(strings[index] if 0 <= index < len(strings) else None)
        else:
            header.append(cell[1] or None)
    return header


def _shared_strings(archive: zipfile.ZipFile, up_to: int) -> list:
    if "xl/sharedStrings.xml" not in archive.namelist():
        return []
    strings, state = [], {"in_t": False, "parts": []}

    def start(name, attrs):
        local = name.rsplit(":", 1)[-1]
        if local == "si":
            state["parts"] = []
        elif local == "t":
            state["in_t"] = True

    def end(name):
        local = name.rsplit(":", 1)[-1]
        if local == "si":
            strings.append("".join(state["parts"]))
        elif local == "t":
            state["in_t"] = False

    def text(data):
        if state["in_t"]:
            state["parts"].append(data)

    parser = _expat_without_dtd()
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
    with archive.open("xl/sharedStrings.xml") as stream:
        while len(strings) <= up_to and (data := stream.read(64 * 1024)):
            parser.Parse(data, False)
    return strings


def csv_header(path) -> list:
    with open(path, "rb") as handle:
        sample = handle.read(64 * 1024)
    try:
        text = sample.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start > len(sample) - 4:  # a character cut off by the sample's end
            text = sample[:exc.start].decode("utf-8-sig")
        else:
            encoding = MIXED if _has_utf8_characters(sample) else "cp1252"
            text = sample.decode(**_codec(encoding))
    delimiter = detect_delimiter(text)
    return next(csv.reader(io.StringIO(text), delimiter=delimiter), [])


def check_header(kind: str, path):
    """Refuse at once a file without a client number or name column (MissingColumns)."""
    from xml.parsers.expat import ExpatError
    try:
        header = xlsx_header(path) if kind == "xlsx" else csv_header(path)
    except ExpatError:
        raise UnreadableFile("Het Excel-bestand is beschadigd.", {}) from None
    match_headers([clean_text(h) if isinstance(h, str) else h for h in header])


# -- .csv -------------------------------------------------------------------
# UTF-8 with some Windows-1252 bytes in it: a file saved as UTF-8 into which rows were pasted from an
# older export. Decoding all of it as Windows-1252 would turn every "ë" into "Ã«" and, on a re-import,
# overwrite correct names; so the UTF-8 stays UTF-8 and only the stray bytes are read as Windows-1252.
MIXED = "utf-8+cp1252"
_NON_ASCII_TEXT = re.compile("[^\x00-\x7f\ufffd]")


def _cp1252_for_stray_bytes(error: UnicodeDecodeError):
    return error.object[error.start:error.end].decode("cp1252", errors="replace"), error.end


codecs.register_error("akkoord-cp1252", _cp1252_for_stray_bytes)


def _codec(encoding: str) -> dict:
    """The codec and error handler to read a file of the detected encoding."""
    if encoding == MIXED:
        return {"encoding": "utf-8-sig", "errors": "akkoord-cp1252"}
    return {"encoding": encoding, "errors": "replace"}


def _has_utf8_characters(data: bytes) -> bool:
    return _NON_ASCII_TEXT.search(data.decode("utf-8", errors="replace")) is not None


def detect_encoding(path) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes as UTF-8; UTF-8 with stray Windows-1252
    bytes (MIXED) when it holds both; else Windows-1252."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as handle:
        try:
            while chunk := handle.read(1024 * 1024):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return "utf-8-sig"
        except UnicodeDecodeError:
            pass
        handle.seek(0)
        lenient = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while chunk := handle.read(1024 * 1024):
            if _NON_ASCII_TEXT.search(lenient.decode(chunk)):
                return MIXED
    return "cp1252"


def detect_delimiter(sample: str) -> str:
    """The separator whose header row names the most known columns (then: the most fields)."""
    best, best_score = ";", (-1, -1)
    for delimiter in (";", ",", "\t", "|"):
        try:
            header = next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
        except csv.Error:
            continue
        try:
            known = len(match_headers(header).positions)
        except Exception:  # missing required columns: count what matched anyway
            from importer.columns import _LOOKUP
            known = sum(1 for h in header if fold(h) in _LOOKUP)
        score = (known, len(header))
        if score > best_score:
            best, best_score = delimiter, score
    return best


class CsvSource:
    def __init__(self, path):
        self.path = path
        self.encoding = None
        self.delimiter = None
        self.total = 0

    def load(self):
        self.encoding = detect_encoding(self.path)
        with open(self.path, "rb") as handle:
            newlines = 0
            while chunk := handle.read(1024 * 1024):
                newlines += chunk.count(b"\n")
        self.total = max(newlines, 1)  # an estimate until the rows are read (quoted newlines)
        with open(self.path, **_codec(self.encoding), newline="") as handle:
            self.delimiter = detect_delimiter(handle.read(64 * 1024))
        return self

    def close(self):
        pass

    def rows(self):
        """(row number, cells) per record, numbered as a spreadsheet shows them (a quoted field may hold
        line breaks); a record that swallowed whole lines gets a third element: the reason it is invalid."""
        with open(self.path, **_codec(self.encoding), newline="") as handle:
            reader = csv.reader(handle, delimiter=self.delimiter)
            number = 0
            line = 0  # the last physical line read
            columns = 0
            try:
                for row in reader:
                    number += 1
                    first_line, line = line + 1, reader.line_num
                    columns = columns or len(row)
                    cells = [clean_text(v) for v in row]
                    if line > first_line and _swallowed_lines(row, self.delimiter, columns):
                        yield number, cells, (f"Een aanhalingsteken wordt niet afgesloten: regels {first_line}–{line} "
                                              "van het bestand zijn samengevoegd tot deze ene rij. Verbeter het "
                                              "bestand en upload het opnieuw.")
                        continue
                    yield number, cells
            except csv.Error as exc:
                raise UnreadableFile(f"Het CSV-bestand kan niet gelezen worden vanaf rij {number + 1}.",
                                     {"row": number + 1, "reason": str(exc)[:200]}) from None


def _swallowed_lines(row: list, delimiter: str, columns: int) -> bool:
    """A field holding a line break followed by a line that looks like a record of its own (as many
    separators as the header has): a quote left open that merged the lines after it into one field.
    A quoted address over two lines, or a name with the separator in it, is left alone."""
    needed = max(columns - 1, 2)
    return any("\n" in field and any(part.count(delimiter) >= needed for part in field.splitlines()[1:])
               for field in row)


csv.field_size_limit(CSV_FIELD_LIMIT)


def open_source(kind: str, path):
    return XlsxSource(path) if kind == "xlsx" else CsvSource(path)
