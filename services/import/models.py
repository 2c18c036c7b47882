"""importer's tables, in the ``importer`` schema.

An import keeps the uploaded file in chunks until it is parsed, then one row per
data row of the file with its status (new / update / unchanged / invalid), its
clean values, per-field errors and the changes it would make. Commit sends the
chosen rows to identity in numbered batches; each batch done is recorded, so a
restarted job skips it and nothing is sent twice.
"""
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from chassis.db import Base as _Base
from chassis.inbox import define_inbox
from chassis.outbox import define_outbox

SCHEMA = "importer"
BigId = sa.BigInteger().with_variant(sa.Integer, "sqlite")


class Base(_Base):
    __abstract__ = True
    metadata = sa.MetaData(schema=SCHEMA)


outbox = define_outbox(Base.metadata)
inbox = define_inbox(Base.metadata)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Import(Base):
    __tablename__ = "imports"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    firm_id: Mapped[int] = mapped_column(index=True)
    branch_id: Mapped[int | None] = mapped_column()       # branch for new clients without a "Vestiging" cell
    user_id: Mapped[int] = mapped_column()                # who uploaded
    principal: Mapped[dict] = mapped_column(sa.JSON)      # acting principal for the background job
    filename: Mapped[str] = mapped_column(sa.String(255))
    kind: Mapped[str] = mapped_column(sa.String(10))      # xlsx | csv
    size: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    sha256: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    # uploading | parsing | ready | committing | done | failed
    status: Mapped[str] = mapped_column(sa.String(12), default="uploading")
    error: Mapped[dict | None] = mapped_column(sa.JSON)
    columns: Mapped[dict | None] = mapped_column(sa.JSON)  # header mapping, unknown columns
    encoding: Mapped[str | None] = mapped_column(sa.String(20))
    delimiter: Mapped[str | None] = mapped_column(sa.String(2))
    summary: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # new, update, unchanged, invalid
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int] = mapped_column(default=0)
    group_id: Mapped[int | None] = mapped_column()
    committed_by: Mapped[int | None] = mapped_column()
    batches: Mapped[int] = mapped_column(default=0)
    result: Mapped[dict | None] = mapped_column(sa.JSON)   # created, updated, unchanged counts
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")  # claims of the current job
    lease_owner: Mapped[str | None] = mapped_column(sa.String(36))
    lease_until: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=now)
    parsed_at: Mapped[dt.datetime | None] = mapped_column()
    commit_started_at: Mapped[dt.datetime | None] = mapped_column()
    committed_at: Mapped[dt.datetime | None] = mapped_column()


class ImportChunk(Base):
    """The uploaded file, in pieces of at most 1 MiB, until it is parsed."""
    __tablename__ = "import_chunks"
    import_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("imports.id", ondelete="CASCADE"),
                                           primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)


import_rows = sa.Table(
    "import_rows", Base.metadata,
    sa.Column("import_id", BigId, sa.ForeignKey("imports.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("row_number", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("number", sa.String(50)),
    sa.Column("status", sa.String(10), nullable=False),   # new | update | unchanged | invalid | failed
    sa.Column("data", sa.JSON, nullable=False),           # clean values, only non-empty fields
    sa.Column("errors", sa.JSON),                         # {field: reason}
    sa.Column("changes", sa.JSON),                        # [field] that an update would change
    sa.Column("batch", sa.Integer),                       # commit batch number when chosen
    sa.Index("ix_import_rows_status", "import_id", "status", "row_number"),
    sa.Index("ix_import_rows_batch", "import_id", "batch"),
    sa.Index("ix_import_rows_number", "import_id", "number"),
)


class ImportBatch(Base):
    """A commit batch identity has applied; a resumed job skips these."""
    __tablename__ = "import_batches"
    import_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("imports.id", ondelete="CASCADE"),
                                           primary_key=True)
    batch: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    rows: Mapped[int] = mapped_column()
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    done_at: Mapped[dt.datetime] = mapped_column(default=now)
