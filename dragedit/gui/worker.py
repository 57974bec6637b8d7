"""The thread that owns the DragSession while it computes (DESIGN section 5).

One long-lived QThread takes two kinds of jobs: a drag run (`start_run`) and a
render of the session's current latent (`request_render`). It publishes only
the newest frame: `_publish` overwrites a single slot and emits `frameReady`
only when the GUI has taken the previous one, so a slow paint never queues up
frames. Stop is a flag checked before every iteration, so a run ends within
one iteration of `stop_run()`. Point and mask edits do not go through here:
the session's own lock makes them safe between steps, and a user's move of a
handle wins over tracking.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QThread, Signal

from ..errors import DragEditError

log = logging.getLogger(__name__)


@dataclass
class Frame:
    """What the GUI paints: kind 'step' (a run's iteration), 'render' (the current latent) or 'error'."""
    kind: str
    frame: np.ndarray | None = None
    result: object = None          # StepResult for 'step'
    run_id: int = 0
    gen: int = 0                   # the GUI's state generation a render was asked for
    its_per_s: float = 0.0
    message: str | None = None


@dataclass
class RunSummary:
    run_id: int
    reason: str                    # 'reached' | 'budget' | 'stopped' | 'error'
    message: str | None
    iterations: int                # steps taken in this run
    elapsed: float
    frame: np.ndarray | None       # the image of the latent the run ends on
    timeline: list = field(default_factory=list)  # dicts: iteration, frame, ws, handles, targets
    last: object = None            # the last StepResult


def _warm_up():
    import torch
    p = torch.zeros(1, requires_grad=True)
    torch.optim.Adam([p], lr=1e-3)


class SessionWorker(QThread):
    frameReady = Signal()
    runFinished = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._cv = threading.Condition()
        self._lock = threading.Lock()      # guards the newest-frame slot and the finished summary
        self._session = None
        self._run_request = None
        self._render_gen = None
        self._quit = False
        self._busy = False                 # a job is being done (or a run was accepted)
        self._stop = threading.Event()
        self._latest = None
        self._notified = False
        self._finished = None

    # ----- called from the GUI thread ------------------------------------------------------
    def set_session(self, session):
        with self._cv:
            if self._busy or self._run_request is not None:
                raise RuntimeError("set_session while the worker is busy: stop and wait_idle first")
            self._session = session
            self._render_gen = None
        with self._lock:
            self._latest = None

    @property
    def running(self) -> bool:
        """A drag run was accepted and has not finished yet."""
        with self._cv:
            return self._run_request is not None or (self._busy and self._job == "run")

    def start_run(self, run_id, max_steps, frame0=None) -> bool:
        with self._cv:
            if self._session is None or self._run_request is not None or self._quit:
                return False
            if self._busy and self._job == "run":
                return False
            self._stop.clear()
            self._run_request = dict(run_id=run_id, max_steps=int(max_steps), frame0=frame0)
            self._render_gen = None        # the run paints its own frames
            self._cv.notify_all()
        self._ensure_started()
        return True

    def stop_run(self):
        self._stop.set()

    def request_render(self, gen):
        with self._cv:
            if self._session is None or self._quit:
                return
            self._render_gen = gen
            self._cv.notify_all()
        self._ensure_started()

    def wait_idle(self, timeout=30.0) -> bool:
        """Block until no job is queued or running (a run must have been asked to stop)."""
        with self._cv:
            return self._cv.wait_for(lambda: not self._busy and self._run_request is None
                                     and self._render_gen is None, timeout)

    def take_latest(self) -> Frame | None:
        with self._lock:
            item, self._latest = self._latest, None
            self._notified = False
            return item

    def take_finished(self) -> RunSummary | None:
        with self._lock:
            s, self._finished = self._finished, None
            return s

    def shutdown(self, timeout_ms=30000):
        self._stop.set()
        with self._cv:
            self._quit = True
            self._run_request = None
            self._render_gen = None
            self._cv.notify_all()
        if self.isRunning():
            self.wait(timeout_ms)

    def _ensure_started(self):
        if not self.isRunning() and not self._quit:
            self.start()

    # ----- the worker thread ------------------------------------------------------------------
    _job = None
    _seen_job = False

    def run(self):
        warm = False
        while True:
            with self._cv:
                def pending():
                    return self._quit or self._run_request is not None or self._render_gen is not None
                if warm or not self._seen_job:
                    self._cv.wait_for(pending)
                if self._quit:
                    self._busy = False
                    self._cv.notify_all()
                    return
                session = self._session
                if self._run_request is not None:
                    job, req = "run", self._run_request
                    self._run_request = None
                elif self._render_gen is not None:
                    job, req = "render", self._render_gen
                    self._render_gen = None
                else:
                    # Idle after the first job: warm up. Creating the first torch optimiser imports
                    # torch._dynamo (over a second, holding the GIL in long slices), which would
                    # otherwise stall the interface at the first Start.
                    job, req, warm = "warmup", None, True
                self._busy, self._job = True, job
                self._seen_job = True
            try:
                if job == "run":
                    self._do_run(session, req)
                elif job == "render":
                    self._do_render(session, req)
                else:
                    _warm_up()
            except Exception as exc:
                log.exception("worker job failed")
                self._publish(Frame(kind="error", message=f"unexpected error: {type(exc).__name__}: {exc}"))
            finally:
                with self._cv:
                    self._busy, self._job = False, None
                    self._cv.notify_all()
                if job == "run":
                    self.runFinished.emit()

    def _publish(self, item: Frame):
        with self._lock:
            self._latest = item
            notify = not self._notified
            self._notified = True
        if notify:
            self.frameReady.emit()

    def _do_render(self, session, gen):
        try:
            frame = session.render()
        except DragEditError as exc:
            self._publish(Frame(kind="error", gen=gen, message=str(exc)))
            return
        self._publish(Frame(kind="render", frame=frame, gen=gen))

    def _do_run(self, session, req):
        run_id = req["run_id"]
        t0 = time.perf_counter()
        frame0 = req["frame0"] if req["frame0"] is not None else session.render()
        ws0 = session.ws.clone()
        pairs0 = [(p.handle, p.target) for p in list(session.pairs)]
        start_iter = session.iteration
        targets_by_iter, low_by_iter = {}, {}
        stamps = deque(maxlen=12)
        n, last, message, reason = 0, None, None, "budget"
        try:
            for res in session.run(req["max_steps"], should_stop=self._stop.is_set):
                n += 1
                last = res
                targets_by_iter[res.iteration] = list(res.targets)
                low_by_iter[res.iteration] = bool(res.low_res)
                now = time.perf_counter()
                stamps.append(now)
                rate = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else \
                    1.0 / max(now - t0, 1e-6)
                if res.message:
                    message = res.message
                self._publish(Frame(kind="step", frame=res.frame, result=res, run_id=run_id, its_per_s=rate))
            if last is not None and last.reached:
                reason = "reached"
            elif message:
                reason = "error"
            elif self._stop.is_set() and not (last is not None and last.done):
                reason = "stopped"
        except DragEditError as exc:
            reason, message = "error", str(exc)
        except Exception as exc:
            log.exception("drag run failed")
            reason, message = "error", f"unexpected error: {type(exc).__name__}: {exc}"
        finally:
            session.stop()
        history = list(session.history) if n else []  # a run stopped before its first step made none
        frame = frame0 if last is None else last.frame
        if reason == "stopped" and history:
            # Keep the latent whose image is on screen (the stopped step had already moved one step on).
            try:
                session.set_latent(history[-1]["ws"])
            except DragEditError:
                pass
            if last is not None and last.low_res:
                frame = session.render()
                history[-1]["frame"] = frame
            elif history[-1].get("frame") is not None:
                frame = history[-1]["frame"]
        elif last is not None and last.low_res:
            frame = session.render()
        timeline = [dict(iteration=start_iter, frame=frame0, ws=ws0, handles=[h for h, _ in pairs0],
                         targets=[t for _, t in pairs0], low_res=False)]
        for h in history[1:]:  # history[0] is the image of the starting latent: frame0 (full resolution)
            if h.get("frame") is None:
                continue
            timeline.append(dict(iteration=h["iteration"], frame=h["frame"], ws=h["ws"],
                                 handles=list(h["handles"]),
                                 targets=targets_by_iter.get(h["iteration"], timeline[-1]["targets"]),
                                 low_res=low_by_iter.get(h["iteration"], False)))
        if len(timeline) > 1:
            timeline[-1]["low_res"] = False  # the run's last frame shows the latent it ends on
        summary = RunSummary(run_id=run_id, reason=reason, message=message, iterations=n,
                             elapsed=time.perf_counter() - t0, frame=frame, timeline=timeline, last=last)
        with self._lock:
            self._finished = summary
