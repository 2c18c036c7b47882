"""Decode the first visible worksheet of an .xlsx in a child process and stream its rows out.

``python -m importer.xlsx_rows PATH`` writes CSV to stdout: first ``["total", N]``,
then ``[row_number, cell, cell, ...]`` with cells as the text a person typed.
python-calamine (Rust) is the fastest reader we ship but holds the whole sheet in
memory; in a child process, under an address-space limit, that memory is given back
when the child ends and a hostile or huge sheet cannot take the import worker down.
The worker reads the pipe green (non-blocking), so its hub stays responsive.
"""
import csv
import os
import resource
import sys

MEMORY_LIMIT = int(os.environ.get("AKKOORD_IMPORT_READER_MEMORY", str(1536 * 1024 * 1024)))


def main(path: str) -> int:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ValueError, OSError):
        pass
    from python_calamine import CalamineWorkbook

    from importer.readers import cell_text
    try:
        workbook = CalamineWorkbook.from_path(path)
        metadata = workbook.sheets_metadata
        visible = [m for m in metadata if str(m.typ).endswith("WorkSheet") and str(m.visible).endswith(".Visible")]
        sheet = workbook.get_sheet_by_name((visible or metadata)[0].name)
    except MemoryError:
        print("memory", file=sys.stderr)
        return 3
    except Exception as exc:  # calamine's own errors and plain ones
        print(type(exc).__name__, file=sys.stderr)
        return 2
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["total", max(sheet.height - 1, 0)])
    # python-calamine (0.9, pinned) yields rows from the sheet's first row, empty ones above the data
    # included, so the position is the row number Excel shows (tests/importer/test_reading.py checks it).
    for index, row in enumerate(sheet.iter_rows()):
        out.writerow([index + 1] + ["" if (t := cell_text(v)) is None else t for v in row])
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
