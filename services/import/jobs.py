"""Background import jobs: parsing an upload into preview rows, and committing chosen rows.

Jobs live in the ``imports`` table (status ``parsing`` or ``committing``). A poller
in every importer process claims one with a lease (SELECT ... FOR UPDATE SKIP LOCKED
on PostgreSQL) and runs it in a nameko worker, renewing the lease after every batch.
A process that dies leaves its lease to expire; another poller (or the same service
after a restart) claims the job again. Parsing restarts from the stored file;
committing skips the batches recorded in ``import_batches``, so nothing is sent twice.
While a job runs, a green thread keeps its lease alive, however long one step waits.

identity away (a deploy, a crash loop) is not a failure of the job: the job is given back with a short
backoff, the attempt it cost is given back too, and the import's status says what it waits for. It
goes on by itself once identity answers, from the stored file or the batches not yet recorded.

The work is CPU-bound: the .xlsx is decoded in a child process whose rows arrive over
a green pipe, a large file's rows are validated in another (importer/validator.py), the
CSV's encoding scan runs in a real thread (eventlet.tpool), and the row loop yields to
the hub after every batch, so RPCs keep being answered.
Rows are streamed and written in batches (one multi-row INSERT each), so memory stays flat.
"""
import logging
import os
import uuid
import weakref
from datetime import timedelta

import eventlet
import eventlet.tpool
import sqlalchemy as sa
from amqp.exceptions import ConnectionError as AmqpConnectionError
from eventlet.event import Event
from kombu.exceptions import OperationalError as BrokerError
from nameko import config
from nameko.exceptions import MethodNotFound, ReplyQueueExpiredWithPendingReplies, RpcTimeout, UnknownService
from nameko.extensions import Entrypoint

from chassis.db import get_engine, insert_many, is_postgres
from chassis.errors import AkkoordError, Unavailable
from chassis.principal import Principal
from chassis.retry import backoff
from chassis.rpc_client import ServiceRpc
from importer import imports, preview, readers, template
from importer.columns import match_headers
from importer.models import Import, ImportBatch, ImportChunk, import_rows, now
from importer.seen_numbers import SeenNumbers
from importer.validation import NEW_CLIENT_FIELDS, REQUIRED, ClientRowSchema
from importer.validator import CHILD_ROWS, BatchValidator

log = logging.getLogger(__name__)

PARSE_BATCH = int(os.environ.get("AKKOORD_IMPORT_PARSE_BATCH", "2000"))
LEASE_SECONDS = float(os.environ.get("AKKOORD_IMPORT_LEASE", "60"))
POLL_SECONDS = 2.0
MAX_ATTEMPTS = int(os.environ.get("AKKOORD_IMPORT_MAX_ATTEMPTS", "5"))
COMMIT_CONCURRENCY = int(os.environ.get("AKKOORD_IMPORT_COMMIT_CONCURRENCY", "3"))
MAX_JOBS = 2
# One identity call of a job: a lookup of PARSE_BATCH numbers or an upsert of COMMIT_BATCH rows takes well under
# a few seconds (docs/benchmarks.md); past this, identity counts as away and the job waits for it.
IDENTITY_TIMEOUT = float(os.environ.get("AKKOORD_IMPORT_IDENTITY_TIMEOUT", "60"))
# Pause before a job that found identity away tries again: doubling from this, at most IDENTITY_RETRY_CAP.
IDENTITY_RETRY_SECONDS = 5.0
IDENTITY_RETRY_CAP = 60.0
# Waits whose attempt is given back. A deadline does not tell identity away from identity slow (it may be
# working on the batch); past this many waits in a row (~30 minutes) they count as failed attempts again,
# so a batch identity never finishes in time is given up (MAX_ATTEMPTS), not re-sent for ever.
IDENTITY_MAX_WAITS = int(os.environ.get("AKKOORD_IMPORT_IDENTITY_MAX_WAITS", "30"))
WAITING_MESSAGE = "Wacht op de cliëntenadministratie (identity); de import gaat vanzelf verder."
# Tests set this to a callable(import_id, batch) to simulate a crash mid-commit.
after_batch_hook = None

_pollers = weakref.WeakSet()


def wake_all():
    for poller in list(_pollers):
        poller.wake()


class LeaseLost(Exception):
    """Another process owns the job now; stop quietly."""


class IdentityAway(Exception):
    """identity (or the broker on the way to it) did not answer; not the job's fault."""


# What an RPC raises when nobody is there to answer: no queue for identity (UnknownService), nobody
# consuming it (our deadline: Unavailable), the broker gone (kombu/amqp/socket errors).
_AWAY = (Unavailable, UnknownService, RpcTimeout, ReplyQueueExpiredWithPendingReplies, BrokerError,
         AmqpConnectionError, ConnectionError)


class JobIdentityRpc(ServiceRpc):
    """identity for the jobs, with the shorter deadline IDENTITY_TIMEOUT (the wizard's own calls keep theirs).
    Read when the service starts, so tests can lower it; the request expires in the queue at the same moment."""

    def __init__(self):
        super().__init__("identity", timeout=IDENTITY_TIMEOUT)

    def setup(self):
        self.deadline = IDENTITY_TIMEOUT
        self.publisher_options["expiration"] = IDENTITY_TIMEOUT
        super().setup()


class _JobIdentity:
    """The job's identity proxy: a call that finds identity away raises IdentityAway (other errors, ours or
    identity's, stay what they are and count as a failed attempt). The first answer after a wait clears the
    import's waiting note."""

    def __init__(self, identity, engine, import_id: int, waiting: bool):
        self._identity = identity
        self._engine = engine
        self._import_id = import_id
        self._waiting = waiting

    def __getattr__(self, name):
        method = getattr(self._identity, name)

        def call(*args, **kwargs):
            try:
                result = method(*args, **kwargs)
            except _AWAY as exc:
                raise IdentityAway(f"{name}: {type(exc).__name__}") from exc
            if self._waiting:
                self._waiting = False
                _clear_waiting(self._engine, self._import_id)
            return result

        return call


# -- the poller entrypoint ----------------------------------------------------------
class JobPoller(Entrypoint):
    """``@import_job`` on a service method ``run(import_id, owner, poller)``; spawns a worker per claimed job."""

    def setup(self):
        self.engine = get_engine(config["DATABASE_URL"])
        self.owner = str(uuid.uuid4())
        self._wakeup = Event()
        self._running = False
        self._active = set()
        self._thread = None
        _pollers.add(self)

    def start(self):
        self._running = True
        self._thread = self.container.spawn_managed_thread(self._loop, identifier="import-jobs")

    def stop(self):
        self._running = False
        self.wake()
        if self._thread is not None:
            self._thread.wait()

    def kill(self):
        self._running = False
        if self._thread is not None:
            self._thread.kill()

    def wake(self):
        if not self._wakeup.ready():
            self._wakeup.send(True)

    @property
    def running(self):
        return self._running

    def _loop(self):
        while self._running:
            with eventlet.Timeout(POLL_SECONDS, False):
                self._wakeup.wait()
            if self._wakeup.ready():
                self._wakeup.reset()
            try:
                abandon_uploads(self.engine)
                while self._running and len(self._active) < MAX_JOBS:
                    job_id = claim(self.engine, self.owner, exclude=self._active)
                    if job_id is None:
                        break
                    self._active.add(job_id)
                    # the job sees this poller stop (a shutdown) and gives the job back between batches
                    self.container.spawn_worker(self, (job_id, self.owner), {"poller": self},
                                                handle_result=self._finished(job_id))
            except Exception:
                log.warning("import job poller could not claim", exc_info=True)

    def _finished(self, job_id):
        def handle_result(worker_ctx, result, exc_info):
            self._active.discard(job_id)
            if exc_info is not None:
                log.error("import job stopped", extra={"import_id": job_id, "error": exc_info[0].__name__})
            self.wake()
            return result, exc_info
        return handle_result


import_job = JobPoller.decorator


def abandon_uploads(engine, older_than=timedelta(hours=1)):
    """An upload that never finished (the browser went away) is failed and its chunks dropped."""
    with engine.begin() as conn:
        stale = conn.scalars(sa.select(Import.id).where(Import.status == "uploading",
                                                        Import.created_at < now() - older_than)).all()
        if stale:
            conn.execute(sa.delete(ImportChunk).where(ImportChunk.import_id.in_(stale)))
            conn.execute(sa.update(Import).where(Import.id.in_(stale)).values(
                status="failed", error={"message": "Het uploaden is niet afgemaakt; upload het bestand opnieuw."}))


def claim(engine, owner: str, exclude=()) -> int | None:
    """The oldest job nobody holds a lease on; ``exclude``: the jobs this poller runs already (should their
    lease lapse, running one twice at once would send its batches twice)."""
    moment = now()
    query = (sa.select(Import.id).where(Import.status.in_(("parsing", "committing")),
                                        sa.or_(Import.lease_until.is_(None), Import.lease_until < moment))
             .order_by(Import.id).limit(1))
    if exclude:
        query = query.where(Import.id.not_in(sorted(exclude)))
    if is_postgres(engine):
        query = query.with_for_update(skip_locked=True)
    with engine.begin() as conn:
        job_id = conn.scalar(query)
        if job_id is None:
            return None
        conn.execute(sa.update(Import).where(Import.id == job_id).values(
            lease_owner=owner, lease_until=moment + timedelta(seconds=LEASE_SECONDS), attempts=Import.attempts + 1))
    return job_id


def renew(session, import_id: int, owner: str):
    updated = session.execute(sa.update(Import).where(Import.id == import_id, Import.lease_owner == owner)
                              .values(lease_until=now() + timedelta(seconds=LEASE_SECONDS))).rowcount
    if not updated:
        raise LeaseLost()


def _keep_lease(engine, import_id: int, owner: str, done: Event):
    """Renew the lease every third of it while the job runs: a step that waits long (identity's answer,
    a large batch) must not let another poller take the job over and run it a second time."""
    while True:
        with eventlet.Timeout(LEASE_SECONDS / 3, False):
            done.wait()
        if done.ready():
            return
        try:
            with engine.begin() as conn:
                renewed = conn.execute(sa.update(Import).where(Import.id == import_id, Import.lease_owner == owner)
                                       .values(lease_until=now() + timedelta(seconds=LEASE_SECONDS))).rowcount
        except Exception:  # the database away for a moment: the next round tries again
            log.warning("import job lease not renewed", extra={"import_id": import_id}, exc_info=True)
            continue
        if not renewed:
            return  # given back or taken over; the job itself notices at its next renew


def run(session, identity, import_id: int, owner: str, poller=None):
    record = session.get(Import, import_id)
    if record is None or record.lease_owner != owner:
        return None
    if record.attempts > MAX_ATTEMPTS:  # a poison job must not loop forever
        log.error("import job given up", extra={"import_id": import_id, "status": record.status})
        what = "inlezen" if record.status == "parsing" else "doorvoeren"
        return _fail(session, record, f"Het {what} van deze import is herhaaldelijk mislukt; neem contact op met "
                                      "de beheerder.", {"attempts": record.attempts})
    engine = session.get_bind()
    identity = _JobIdentity(identity, engine, import_id, waiting=bool((record.summary or {}).get("waiting")))
    done = Event()
    eventlet.spawn_n(_keep_lease, engine, import_id, owner, done)
    try:
        try:
            if record.status == "parsing":
                parse(session, identity, record, owner)
            elif record.status == "committing":
                commit(session, identity, record, owner, poller)
        finally:
            # also when the worker is killed (the process dies): its lease must lapse. Told, not killed,
            # so a renewal in progress is never cut off mid-statement.
            done.send(True)
    except LeaseLost:
        session.rollback()
        log.warning("import job lease lost", extra={"import_id": import_id})
    except IdentityAway as exc:
        _wait_for_identity(session, import_id, owner, str(exc))
    return None


def _wait_for_identity(session, import_id: int, owner: str, reason: str):
    """Give the job back until a little later, with the attempt it cost (identity away is not the job's
    failure, so MAX_ATTEMPTS never gives it up for that), and tell whoever polls the status what it waits for."""
    session.rollback()
    record = session.get(Import, import_id)
    if record is None or record.lease_owner != owner:
        return
    waiting = dict((record.summary or {}).get("waiting") or {})
    waits = int(waiting.get("waits", 0)) + 1
    delay = backoff(waits, IDENTITY_RETRY_SECONDS, IDENTITY_RETRY_CAP)
    waiting = {"service": "identity", "message": WAITING_MESSAGE, "waits": waits,
               "since": waiting.get("since") or now().isoformat() + "Z"}
    refunded = waits <= IDENTITY_MAX_WAITS
    session.execute(sa.update(Import).where(Import.id == import_id, Import.lease_owner == owner).values(
        lease_owner=None, lease_until=now() + delay, summary=dict(record.summary or {}, waiting=waiting),
        attempts=sa.case((Import.attempts > 0, Import.attempts - 1), else_=0) if refunded else Import.attempts))
    session.commit()
    log.warning("import job waits for identity", extra={"import_id": import_id, "status": record.status,
                                                       "waits": waits, "retry_in": round(delay.total_seconds(), 1),
                                                       "attempt_given_back": refunded,
                                                       "reason": reason})


def _clear_waiting(engine, import_id: int):
    """identity answers again: the status no longer says the import waits for it."""
    with engine.begin() as conn:
        summary = conn.scalar(sa.select(Import.summary).where(Import.id == import_id).with_for_update())
        if summary and "waiting" in summary:
            conn.execute(sa.update(Import).where(Import.id == import_id).values(
                summary={k: v for k, v in summary.items() if k != "waiting"}))


def _fail(session, record: Import, message: str, details=None):
    session.rollback()
    session.execute(sa.update(Import).where(Import.id == record.id).values(
        status="failed", error={"message": message, **(details or {})}, lease_owner=None, lease_until=None))
    session.execute(sa.delete(ImportChunk).where(ImportChunk.import_id == record.id))
    session.commit()


# -- parsing --------------------------------------------------------------------------
def branches_of(identity, principal: dict) -> dict:
    """{name: id} of the firm's branches the principal may use."""
    result = {}
    for branch in identity.list_branches(principal=principal):
        for key in ("name", "display_name"):
            if branch.get(key):
                result.setdefault(branch[key], branch["id"])
    return result


def parse(session, identity, record: Import, owner: str):
    principal = record.principal
    p = Principal.load(principal)
    session.execute(sa.delete(import_rows).where(import_rows.c.import_id == record.id))
    path, _sha, _size = imports.assemble(session, record.id)
    session.commit()
    source = readers.open_source(record.kind, path)
    storing = validator = None
    try:
        if record.kind == "csv":
            eventlet.tpool.execute(source.load)
        else:
            source.load()
        rows = source.rows()
        header = next(rows, None)
        while header is not None and not any(c is not None for c in header[1]):
            header = next(rows, None)  # empty rows above the header row
        if header is None:
            return _fail(session, record, "Het bestand bevat geen kopregel en geen rijen.")
        headers = match_headers(header[1])
        record.columns = headers.as_dict()
        record.encoding = getattr(source, "encoding", None)
        record.delimiter = getattr(source, "delimiter", None)
        record.progress_total = source.total
        session.commit()
        branches = branches_of(identity, principal)
        schema = ClientRowSchema(branches)
        validator = BatchValidator(schema, branches, headers.positions, in_child=source.total >= CHILD_ROWS)
        # Overlapped, in file order: while one batch waits on the database and identity (duplicates,
        # existing clients, storing), the next is validated: by the child while the worker reads on,
        # or in the worker itself when the batch is taken.
        lookahead = 2 if validator.in_child else 1
        counts = {"new": 0, "update": 0, "unchanged": 0, "invalid": 0}
        state = {"done": 0, "to_commit": 0, "seen": SeenNumbers()}
        batch = []
        example_row = header[0] + 1
        for row in rows:  # (row number, cells[, the reader's reason the row is broken])
            if row[0] == example_row and template.is_example(row[1], headers.positions):
                continue  # the template's example row: skipped and not counted, like an empty row
            batch.append(row)
            if len(batch) >= PARSE_BATCH:
                validator.submit(batch)
                batch = []
                if len(validator.pending) >= lookahead:
                    storing = _next_stage(storing, session, identity, record, p, validator, schema, counts, state,
                                          owner)
        if batch:
            validator.submit(batch)
        while validator.pending:
            storing = _next_stage(storing, session, identity, record, p, validator, schema, counts, state, owner)
        if storing is not None:
            storing.wait()
    except AkkoordError as exc:
        _settle(storing)
        return _fail(session, record, exc.message, exc.details)
    finally:
        _settle(storing)  # never leave a batch writing on the session while the job unwinds
        if validator is not None:
            validator.close()
        source.close()
        os.unlink(path)
    session.execute(sa.delete(ImportChunk).where(ImportChunk.import_id == record.id))
    record.summary = dict(counts, reader_peak_mb=getattr(source, "peak_mb", None))
    record.progress_done = record.progress_total = state["done"]
    record.status = "ready"
    record.attempts = 0
    record.parsed_at = now()
    record.lease_owner = record.lease_until = None
    session.commit()
    log.info("import parsed", extra={"import_id": record.id, **counts})


def _settle(storing):
    """Let a batch that is being stored finish; its own error, if any, is not the one being reported."""
    if storing is not None and not storing.dead:
        try:
            storing.wait()
        except Exception:
            pass


def _next_stage(storing, session, identity, record, p, validator, schema, counts, state, owner):
    """Take the oldest batch's validation, then store it once the batch before it is stored;
    returns its storing thread."""
    validated, batch_size = validator.next_result()
    parsed, first_in_batch = _checked(p, validated)
    if storing is not None:
        storing.wait()  # re-raises what stopped the previous batch (a lost lease, say)
    return eventlet.spawn(_store_batch, session, identity, record, parsed, first_in_batch, batch_size, schema,
                          counts, state, owner)


def _checked(p, validated):
    """The validated rows with their client number, the first row of each number in the batch,
    and the rule that staff of one branch import for that branch only."""
    first_in_batch = {}
    parsed = []
    for row_number, raw, clean, errors in validated:
        number = (clean.get("number") or raw.get("number") or "")[:50] or None
        if number:
            first_in_batch.setdefault(number, row_number)
        if "branch_id" in clean and p.branch_id is not None and clean["branch_id"] != p.branch_id:
            errors["branch"] = "U mag alleen cliënten van uw eigen vestiging importeren."
        parsed.append((row_number, number, raw, clean, errors))
    return parsed, first_in_batch


def _store_batch(session, identity, record, parsed, first_in_batch, batch_size, schema, counts, state, owner):
    # A number repeated in the file: its first row counts, later ones are invalid. Earlier batches
    # are already stored, so the database answers for them (memory stays flat however long the file),
    # asked only for the numbers the filter of numbers seen cannot rule out.
    maybe_seen = [number for number in first_in_batch if state["seen"].may_hold(number)]
    earlier = dict(session.execute(
        sa.select(import_rows.c.number, sa.func.min(import_rows.c.row_number))
        .where(import_rows.c.import_id == record.id, import_rows.c.number.in_(maybe_seen))
        .group_by(import_rows.c.number)).all()) if maybe_seen else {}
    state["seen"].add(first_in_batch)
    for row_number, number, _raw, _clean, errors in parsed:
        if number:
            first = earlier.get(number, first_in_batch[number])
            if first != row_number:
                errors["number"] = f"Dubbel cliëntnummer: rij {first} telt."
    # Asked of identity: the valid rows' numbers, and those of rows without a name, which a new client needs.
    wanted = sorted({number for _r, number, _raw, clean, errors in parsed
                     if number and (not errors or not all(f in clean for f in NEW_CLIENT_FIELDS))})
    existing = identity.clients_by_numbers(principal=record.principal, numbers=wanted) if wanted else {}
    elsewhere = _numbers_elsewhere(identity, record.principal, [n for n in wanted if n not in existing])
    records = []
    for row_number, number, raw, clean, errors in parsed:
        if number in elsewhere:
            errors["number"] = OTHER_BRANCH
        # (a row the reader found broken says so alone: its fields are not to be trusted)
        if number not in existing and (number or not errors) and "row" not in errors:
            for field in NEW_CLIENT_FIELDS:
                if field not in clean:
                    errors.setdefault(field, REQUIRED)
        if errors:
            status, data, changes = "invalid", raw, None
        else:
            status, changes = preview.classify(schema, clean, existing.get(number))
            if changes:
                changes = {"fields": changes, "previous": preview.previous(existing[number], changes)}
            data = clean
        counts[status] += 1
        batch = None
        if status in ("new", "update"):  # numbered for "commit all" now, so the commit need not rewrite rows
            batch = state["to_commit"] // imports.COMMIT_BATCH
            state["to_commit"] += 1
        records.append((row_number, number, status, imports.seal_bsn(data), errors or None,
                        changes, batch))
    store_rows(session, record.id, records)
    state["done"] += batch_size
    record.progress_done = state["done"]
    record.progress_total = max(record.progress_total, state["done"])
    renew(session, record.id, owner)
    session.commit()
    eventlet.sleep(0)


OTHER_BRANCH = "Dit cliëntnummer hoort bij een cliënt van een andere vestiging."


def _numbers_elsewhere(identity, principal: dict, numbers: list) -> set:
    """Numbers a branch member's preview would otherwise show as new, though the client is another
    branch's: the commit could neither create nor update it."""
    if not numbers or (principal or {}).get("branch_id") is None:
        return set()
    try:
        return set(identity.client_numbers_elsewhere(principal=principal, numbers=numbers))
    except MethodNotFound:  # an identity replica from before this RPC, during a rolling upgrade
        return set()


def store_rows(session, import_id: int, records: list):
    insert_many(session, import_rows, [
        {"import_id": import_id, "row_number": r[0], "number": r[1], "status": r[2], "data": r[3],
         "errors": r[4], "changes": r[5], "batch": r[6]} for r in records])


# -- committing -----------------------------------------------------------------------
def commit(session, identity, record: Import, owner: str, poller=None):
    """Send the chosen rows to identity, COMMIT_CONCURRENCY batches at a time (identity spends
    most of a batch waiting on its database, so batches overlap well). Each batch is recorded
    in its own transaction when identity has applied it; a resumed job skips recorded ones."""
    done = set(session.scalars(sa.select(ImportBatch.batch).where(ImportBatch.import_id == record.id)))
    todo = [batch for batch in range(record.batches) if batch not in done]
    job = {"id": record.id, "principal": record.principal, "group_id": record.group_id,
           "branch_id": record.branch_id, "total": record.progress_total}
    session.commit()  # the job's own session stays idle while batches run on their own connections
    engine = session.get_bind()
    pool = eventlet.GreenPool(COMMIT_CONCURRENCY)
    threads = []
    try:
        for batch in todo:
            if poller is not None and not poller.running:
                break
            if any(t.dead for t in threads):
                for finished in [t for t in threads if t.dead]:
                    finished.wait()  # re-raises a failed batch: stop sending more
            threads.append(pool.spawn(_commit_batch, engine, identity, job, batch, owner))
        for thread in threads:
            thread.wait()
    except Exception:
        # the batches still in flight end first: none may send or record after the job is given back
        for thread in threads:
            _settle(thread)
        raise
    if poller is not None and not poller.running:
        # shutting down: give the job back at once so another process resumes it
        session.execute(sa.update(Import).where(Import.id == record.id, Import.lease_owner == owner)
                        .values(lease_owner=None, lease_until=None))
        session.commit()
        return
    session.refresh(record)
    totals = session.execute(sa.select(sa.func.coalesce(sa.func.sum(ImportBatch.created), 0),
                                       sa.func.coalesce(sa.func.sum(ImportBatch.updated), 0),
                                       sa.func.coalesce(sa.func.sum(ImportBatch.unchanged), 0))
                             .where(ImportBatch.import_id == record.id)).one()
    failed = session.scalar(sa.select(sa.func.count()).select_from(import_rows).where(
        import_rows.c.import_id == record.id, import_rows.c.status == "failed"))
    record.result = {"created": int(totals[0]), "updated": int(totals[1]), "unchanged": int(totals[2]),
                     "failed": int(failed)}
    record.status = "done"
    record.progress_done = record.progress_total
    if "waiting" in (record.summary or {}):
        record.summary = {k: v for k, v in record.summary.items() if k != "waiting"}
    record.committed_at = now()
    record.lease_owner = record.lease_until = None
    session.commit()
    log.info("import committed", extra={"import_id": record.id, **record.result})


def _commit_batch(engine, identity, job: dict, batch: int, owner: str):
    with engine.connect() as conn:
        rows = conn.execute(sa.select(import_rows.c.row_number, import_rows.c.status, import_rows.c.data)
                            .where(import_rows.c.import_id == job["id"], import_rows.c.batch == batch)
                            .order_by(import_rows.c.row_number)).all()
    payload = []
    for row in rows:
        values = {k: v for k, v in imports.open_bsn(row.data).items() if v not in (None, "")}
        if "branch_id" not in values and job["branch_id"] is not None and row.status == "new":
            values["branch_id"] = job["branch_id"]
        payload.append(values)
    result = identity.upsert_clients(principal=job["principal"], rows=payload, group_id=job["group_id"],
                                     import_id=job["id"]) if payload else {}
    if after_batch_hook is not None:  # tests: die after identity applied the batch, before it is recorded
        after_batch_hook(job["id"], batch)
    with engine.begin() as conn:
        for error in result.get("errors") or []:
            index = error.get("index")
            if index is None or not 0 <= index < len(rows):
                continue
            fields = {k: (v[0] if isinstance(v, list) and v else str(v))
                      for k, v in (error.get("fields") or {}).items()}
            conn.execute(sa.update(import_rows).where(import_rows.c.import_id == job["id"],
                                                      import_rows.c.row_number == rows[index].row_number)
                         .values(status="failed", errors=fields))
        conn.execute(sa.insert(ImportBatch).values(
            import_id=job["id"], batch=batch, rows=len(rows), created=int(result.get("created", 0)),
            updated=int(result.get("updated", 0)), unchanged=int(result.get("unchanged", 0)), done_at=now()))
        renewed = conn.execute(sa.update(Import).where(Import.id == job["id"], Import.lease_owner == owner).values(
            progress_done=sa.case((Import.progress_done + len(rows) > Import.progress_total, Import.progress_total),
                                  else_=Import.progress_done + len(rows)),
            lease_until=now() + timedelta(seconds=LEASE_SECONDS))).rowcount
        if not renewed:
            raise LeaseLost()
