"""Encrypted storage of what carries secrets: the letters of a batch and its rendered PDF.

Both are encrypted with chassis.crypto (key from AKKOORD_SECRET_KEY), each with its
own purpose so one kind of ciphertext cannot be passed off as the other. A PDF is
written as it is rendered, in chunks of ``CHUNK_SIZE`` bytes, each encrypted on its
own with the batch id and chunk number inside the ciphertext (a chunk moved to
another batch or place is refused), so the whole PDF is never held in memory
while rendering, and never touches a disk in clear.
"""
import json
import struct

import sqlalchemy as sa

from chassis import crypto
from letters.models import PdfChunk

CHUNK_SIZE = 512 * 1024
LETTER_PURPOSE = "letters.letter"
PDF_PURPOSE = "letters.pdf"
_HEADER = struct.Struct(">QI")


class CorruptPdf(Exception):
    """A stored chunk does not belong where it was found (or the key changed)."""


def seal_letters(batch_id: int, block: int, letters: list[dict]) -> bytes:
    """A block of letters (in mailing order), encrypted as one."""
    plain = _HEADER.pack(batch_id, block) + json.dumps(letters, ensure_ascii=False, separators=(",", ":")).encode()
    return crypto.encrypt(plain, LETTER_PURPOSE)


def open_letters(batch_id: int, block: int, token: bytes) -> list[dict]:
    plain = crypto.decrypt(bytes(token), LETTER_PURPOSE)
    if _HEADER.unpack_from(plain) != (batch_id, block):
        raise CorruptPdf("letters do not belong to this batch")
    return json.loads(plain[_HEADER.size:])


class EncryptedChunkSink:
    """A write-only file: bytes are buffered up to a chunk, then encrypted and handed to ``store``."""

    def __init__(self, batch_id: int, store, chunk_size: int = CHUNK_SIZE):
        self.batch_id = batch_id
        self.store = store  # store(seq, ciphertext)
        self.chunk_size = chunk_size
        self.buffer = bytearray()
        self.chunks = 0
        self.size = 0

    def write(self, data: bytes):
        self.buffer += data
        self.size += len(data)
        while len(self.buffer) >= self.chunk_size:
            self._flush(bytes(self.buffer[:self.chunk_size]))
            del self.buffer[:self.chunk_size]

    def _flush(self, data: bytes):
        self.store(self.chunks, crypto.encrypt(_HEADER.pack(self.batch_id, self.chunks) + data, PDF_PURPOSE))
        self.chunks += 1

    def close(self):
        if self.buffer:
            self._flush(bytes(self.buffer))
            self.buffer = bytearray()


def read_pdf(session, batch_id: int, expected_chunks: int) -> bytes:
    """The stored PDF of a batch, decrypted and checked chunk by chunk."""
    parts = []
    rows = session.execute(sa.select(PdfChunk.seq, PdfChunk.data).where(PdfChunk.batch_id == batch_id)
                           .order_by(PdfChunk.seq))
    count = 0
    for seq, data in rows:
        try:
            plain = crypto.decrypt(bytes(data), PDF_PURPOSE)
        except crypto.InvalidToken:
            raise CorruptPdf("chunk cannot be decrypted (changed, or another key)") from None
        if _HEADER.unpack_from(plain) != (batch_id, seq) or seq != count:
            raise CorruptPdf("chunk out of place")
        parts.append(plain[_HEADER.size:])
        count += 1
    if count != expected_chunks:
        raise CorruptPdf("chunks missing")
    return b"".join(parts)
