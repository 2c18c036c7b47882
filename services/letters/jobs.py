"""The render worker: an entrypoint that takes letter batches from the database.

Like nameko's timer it runs one worker at a time, but it is woken at once when a
batch is committed (``RenderJobs``' handle ``wake()``) and otherwise polls every
``AKKOORD_LETTERS_POLL`` seconds, which also picks up batches left behind by a
process that died (their lease expired). A worker that rendered something is
followed at once by the next, until the queue is empty.

Rendering happens in this worker's green thread, yielding to the hub after every
page (``eventlet.sleep(0)`` in batches.render); one page costs about 2 ms of CPU,
so RPCs and AMQP heartbeats of the process are served in between. We chose that
over ``eventlet.tpool`` (a real OS thread): the GIL gives no parallelism anyway,
and the database session, logging and the monkey-patched locks would otherwise be
used from a non-green thread, which deadlocks in eventlet.
"""
import logging
import os

from eventlet import Timeout
from eventlet.event import Event
from nameko.extensions import DependencyProvider, Entrypoint

log = logging.getLogger(__name__)


class RenderJobs(Entrypoint):
    def __init__(self, interval: float = 2.0, **kwargs):
        self.interval = interval
        self.stopping = False
        self._wakeup = Event()
        self._worker_done = Event()
        self.gt = None
        super().__init__(**kwargs)

    def setup(self):
        self.interval = float(os.environ.get("AKKOORD_LETTERS_POLL", self.interval))

    def start(self):
        self.stopping = False
        self.gt = self.container.spawn_managed_thread(self._run, identifier="letters-render-jobs")

    def stop(self):
        self.stopping = True
        self.wake()
        if self.gt is not None:
            self.gt.wait()

    def kill(self):
        self.stopping = True
        if self.gt is not None:
            self.gt.kill()

    def wake(self):
        if not self._wakeup.ready():
            self._wakeup.send(True)

    def _run(self):
        busy = True  # look at once after start: batches may be waiting from before
        while not self.stopping:
            if not busy:
                with Timeout(self.interval, False):
                    self._wakeup.wait()
            if self._wakeup.ready():
                self._wakeup.reset()
            if self.stopping:
                break
            self._result = None
            self.container.spawn_worker(self, (), {}, handle_result=self._handle_result)
            self._worker_done.wait()
            self._worker_done.reset()
            busy = bool(self._result)

    def _handle_result(self, worker_ctx, result, exc_info):
        self._result = result if exc_info is None else None
        self._worker_done.send(True)
        return result, exc_info


render_jobs = RenderJobs.decorator


class RenderControl(DependencyProvider):
    """``jobs = RenderControl()``: ``self.jobs.wake()`` after a commit, ``self.jobs.stopping``."""

    def _entrypoint(self):
        for entrypoint in self.container.entrypoints:
            if isinstance(entrypoint, RenderJobs):
                return entrypoint
        return None

    def get_dependency(self, worker_ctx):
        return _Handle(self._entrypoint())


class _Handle:
    def __init__(self, entrypoint):
        self._entrypoint = entrypoint

    @property
    def stopping(self) -> bool:
        return bool(self._entrypoint and self._entrypoint.stopping)

    def wake(self):
        if self._entrypoint is not None:
            self._entrypoint.wake()
