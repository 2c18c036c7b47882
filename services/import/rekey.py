"""importer's part of ``akkoord rotate-secret-key``: uploaded files waiting to be parsed (their chunks)
and the BSNs sealed in preview rows are re-encrypted with the current AKKOORD_SECRET_KEY."""
import sqlalchemy as sa

from chassis import crypto
from importer.imports import BSN_PURPOSE, SEALED, UPLOAD_PURPOSE
from importer.models import ImportChunk, import_rows


def rekey(conn: sa.Connection) -> crypto.RekeyReport:
    chunks = ImportChunk.__table__
    report = crypto.rekey_table(conn, chunks, UPLOAD_PURPOSE, chunks.c.data, size=20)  # chunks up to 1 MiB
    report += _rekey_sealed_bsns(conn)
    return report


def _rekey_sealed_bsns(conn: sa.Connection) -> crypto.RekeyReport:
    report = crypto.RekeyReport()
    bsn = import_rows.c.data["bsn"].as_string()
    for rows in crypto.batches(conn, import_rows, [import_rows.c.data], where=[bsn.startswith(SEALED)], size=1000):
        for row in rows:
            sealed = row.data["bsn"]
            try:
                new = crypto.rekeyed(sealed[len(SEALED):].encode(), BSN_PURPOSE)
            except crypto.InvalidToken:
                report.unreadable += 1
                continue
            if new is None:
                report.current += 1
                continue
            # a row's values never change after the parse wrote them; the BSN compared all the same, so a
            # parse that rewrote the row meanwhile (under the current key) is not overwritten
            report.reencrypted += conn.execute(
                sa.update(import_rows).where(import_rows.c.import_id == row.import_id,
                                             import_rows.c.row_number == row.row_number, bsn == sealed)
                .values(data=dict(row.data, bsn=SEALED + new.decode()))).rowcount
    return report
