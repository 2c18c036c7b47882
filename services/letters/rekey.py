"""letters' part of ``akkoord rotate-secret-key``: the letters of batches not yet rendered and the rendered
PDFs' chunks are re-encrypted with the current AKKOORD_SECRET_KEY. The content, with its batch id and place
inside the ciphertext (storage.py), is kept as it is."""
import sqlalchemy as sa

from chassis import crypto
from letters import storage
from letters.models import LetterBlock, PdfChunk


def rekey(conn: sa.Connection) -> crypto.RekeyReport:
    blocks, chunks = LetterBlock.__table__, PdfChunk.__table__
    report = crypto.rekey_table(conn, blocks, storage.LETTER_PURPOSE, blocks.c.content, size=50)
    report += crypto.rekey_table(conn, chunks, storage.PDF_PURPOSE, chunks.c.data, size=20)  # chunks of 512 KiB
    return report
