"""Validating an upload's rows batch by batch, in file order: in the worker, or in a child process.

Validation is most of a preview's CPU (17 fields a row, 100,000 rows). The import worker also
reads the file, checks duplicates, asks identity and stores the preview, so for a large file the
rows are validated by a child process (``python -m importer.validator``) on the other core while
the worker stores the batches before them. Both sides call the same ``validate_cells``, with the
same schema, so a row gets the same answer either way.

The child speaks JSON lines: a first line with the firm's branches and the column positions, then
one line per batch (``[[row_number, cells], ...]``) answered by one line (``[[row_number, raw,
clean, errors], ...]``; fully empty rows left out). Should the child die or stall, the batches it
holds are validated in the worker, and so is the rest of the file: an import never fails because
of the helper.
"""
import io
import logging
import os
import subprocess
import sys
import tempfile
from collections import deque

import orjson
from eventlet.patcher import original

_raw_os = original("os")

from importer.validation import ClientRowSchema, validate_row

log = logging.getLogger(__name__)

# Below this many rows the child's start (about 0.3 s of imports) costs more than it saves.
CHILD_ROWS = int(os.environ.get("AKKOORD_IMPORT_CHILD_VALIDATION_ROWS", "20000"))
BATCH_TIMEOUT = float(os.environ.get("AKKOORD_IMPORT_CHILD_BATCH_TIMEOUT", "120"))
YIELD_EVERY = 100
UNREADABLE_ROW = {"number": "Deze rij kan niet gelezen worden."}


def validate_cells(schema: ClientRowSchema, positions: dict, batch, pause=None) -> list:
    """[(row_number, raw, clean, errors)] for the rows of ``batch`` that hold anything."""
    results = []
    for index, (row_number, cells, *problem) in enumerate(batch):
        if pause is not None and index % YIELD_EVERY == 0:
            pause()  # validation is CPU work: let RPCs and HTTP in between
        raw = {}
        for field, position in positions.items():
            if position < len(cells) and cells[position] is not None:
                raw[field] = cells[position]
        if problem:  # the reader found the row itself broken (merged lines): no field is to be trusted
            results.append((row_number, raw, {}, {"row": problem[0]}))
            continue
        if not raw and not any(c is not None for c in cells):
            continue  # a fully empty row is skipped and not counted
        try:
            clean, errors = validate_row(schema, raw)
        except Exception:  # one bad row never stops the others
            log.warning("row could not be validated", extra={"row": row_number})
            clean, errors = {}, dict(UNREADABLE_ROW)
        results.append((row_number, raw, clean, errors))
    return results


class ChildLost(Exception):
    """The validating child died, stalled or answered nonsense."""


class _Child:
    def __init__(self, branches: dict, positions: dict):
        import eventlet
        from eventlet.queue import LightQueue
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen([sys.executable, "-m", "importer.validator"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.stderr)
        self.stdin_fd = self.process.stdin.fileno()  # non-blocking, set so by eventlet
        # the green pipe is a raw file: buffered, a line is read in large pieces, not byte by byte
        self.stdout = io.BufferedReader(self.process.stdout, 1 << 20)
        # Answers are read as they come: a child blocked on writing an answer nobody reads would stop
        # reading the next batch, and the worker writing that batch would wait for ever.
        self.answers = LightQueue()
        self.reader = eventlet.spawn(self._read_answers)
        self.send({"branches": branches, "positions": positions})

    def _read_answers(self):
        try:
            for line in self.stdout:
                self.answers.put(line)
        except (OSError, ValueError):
            pass
        self.answers.put(None)  # the child is gone

    def send(self, message):
        """Write one line; a child that is gone raises ChildLost. Written on the pipe's descriptor:
        eventlet's green pipe retries a write that fails with EPIPE for ever."""
        from eventlet.hubs import trampoline
        view = memoryview(orjson.dumps(message) + b"\n")
        try:
            while view:
                try:
                    view = view[_raw_os.write(self.stdin_fd, view):]
                except BlockingIOError:  # the pipe is full until the child reads on
                    trampoline(self.stdin_fd, write=True, timeout=BATCH_TIMEOUT)
        except Exception as exc:  # EPIPE, a closed descriptor, the timeout
            raise ChildLost(type(exc).__name__) from None

    def receive(self) -> list:
        from eventlet.queue import Empty
        try:
            line = self.answers.get(timeout=BATCH_TIMEOUT)
        except Empty:
            raise ChildLost("timeout") from None
        if line is None:
            raise ChildLost("ended")
        try:
            return orjson.loads(line)
        except ValueError:
            raise ChildLost("not JSON") from None

    def close(self):
        process = self.process
        try:
            self.process.stdin.close()  # the child ends when its input does
        except (OSError, ValueError):
            pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self.reader.kill()
        try:
            self.stdout.close()
        except (OSError, ValueError):
            pass
        if process.returncode not in (0, None):
            self.stderr.seek(0)
            log.warning("row validator child ended", extra={"returncode": process.returncode,
                                                            "reason": self.stderr.read()[-300:].decode(errors="replace")})
        self.stderr.close()


class BatchValidator:
    """``submit(batch)`` batches in file order, take their results in the same order with ``next_result()``.

    With ``in_child`` the batches submitted but not yet taken are being validated by the child
    meanwhile; without, a batch is validated in the worker when its result is taken."""

    def __init__(self, schema: ClientRowSchema, branches: dict, positions: dict, in_child: bool):
        self.schema, self.positions = schema, positions
        self.pending = deque()
        self.child = None
        if in_child:
            try:
                self.child = _Child(branches, positions)
            except (OSError, ChildLost):
                log.warning("row validator child could not start", exc_info=True)

    @property
    def in_child(self) -> bool:
        return self.child is not None

    def submit(self, batch: list):
        self.pending.append(batch)
        if self.child is not None:
            try:
                self.child.send(batch)
            except ChildLost:
                self._lose_child()

    def next_result(self) -> tuple[list, int]:
        """(results of the oldest submitted batch, how many rows that batch had)."""
        batch = self.pending.popleft()
        if self.child is not None:
            try:
                return self.child.receive(), len(batch)
            except ChildLost:
                self._lose_child()
        import eventlet
        return validate_cells(self.schema, self.positions, batch, pause=eventlet.sleep), len(batch)

    def _lose_child(self):
        log.warning("row validator child lost; validating in the worker")
        child, self.child = self.child, None
        child.process.kill()
        child.close()

    def close(self):
        if self.child is not None:
            child, self.child = self.child, None
            child.close()


def main() -> int:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    setup = orjson.loads(stdin.readline())
    schema = ClientRowSchema(setup["branches"])
    positions = setup["positions"]
    for line in stdin:
        stdout.write(orjson.dumps(validate_cells(schema, positions, orjson.loads(line))) + b"\n")
        stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
