"""EditDocument: the one owner of the edit state the window shows.

It holds the drag session (model, latent, pairs, mask), where the image came from, the frame on
screen and its generation, the run in progress, the timeline of the run that made the image, the
undo stack and the worker thread. It changes only through the named operations below (each one
undoable where it changes the image) and announces every change by a signal; the canvas, panels,
timeline, Semantics and file actions are views and controllers that subscribe to it.

Rules it keeps:
- The worker owns the session while a run goes on. Only point and mask edits reach the session
  during a run (the session's lock makes them safe between steps); anything that replaces the
  latent first stops the run and waits for it (at most one iteration).
- Frames come from the worker's single newest-frame slot, never from a queue; a render is shown
  only when its generation is the latest, so a stale frame never passes for the current image.
- A failed operation changes nothing and says why once (`message` or `status`).
"""
from __future__ import annotations

import time

import numpy as np
import torch
from PySide6.QtCore import QObject, Signal

from ..errors import DragEditError
from .model_open import OpenedModel
from .timeline import RunFrames
from .history import EditHistory, State
from .worker import SessionWorker


class EditDocument(QObject):
    modelChanged = Signal()          # another session (model) was swapped in
    latentChanged = Signal()         # the image's latent changed outside a run (an edit, undo, pick, a run's end)
    pairsChanged = Signal()          # points added, moved, removed (also while a run moves the handles)
    maskChanged = Signal()           # the mask or its mode
    frameChanged = Signal()          # `frame` is another picture (the current image or a step of a run)
    imageKnown = Signal(object, object)   # (frame, ws): a rendered frame of a known latent (for compare)
    runStateChanged = Signal(bool)   # a run started (True) or ended (False)
    progress = Signal(object, float, int)  # (step result, iterations per second, iteration of this run)
    timelineChanged = Signal()       # `run_frames` changed
    sourceChanged = Signal()         # `source` changed
    historyChanged = Signal()        # the undo stack changed
    restored = Signal()              # undo, redo or a click in History put an earlier state back
    message = Signal(str, str, str)  # (kind, title, text): something the user must read
    status = Signal(str, int)        # (text, milliseconds; 0 = until replaced)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.session = None
        self.model_path = None
        self.model_info: dict = {}
        self.source: tuple = ("seed", 0)   # ('seed', n) | ('photo', name) | ('latent', name) | ('session', name)
        self.frame: np.ndarray | None = None
        self.frame_ok = False              # `frame` shows the session's current latent
        self.gen = 0                       # bumped whenever the latent changes outside a run
        self.run: dict | None = None       # id, before, t0, it0 while a drag run goes on
        self._run_counter = 0
        self.run_frames: RunFrames | None = None
        self.undo_stack = EditHistory(self._restore, limit=100, parent=self)
        self.undo_stack.indexChanged.connect(self._history_changed)
        self.undo_stack.cleanChanged.connect(self._history_changed)
        self.worker = SessionWorker(self)
        self.worker.frameReady.connect(self._on_frame_ready)
        self.worker.runFinished.connect(self._collect_finished)

    def _history_changed(self, *_):
        self.historyChanged.emit()

    # ----- reading ----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.run is not None

    @property
    def runs_started(self) -> int:
        return self._run_counter

    def pairs(self) -> list:
        return [] if self.session is None else [(p.handle, p.target) for p in list(self.session.pairs)]

    def current_frame(self):
        """The frame on screen when it shows the session's latent, else None."""
        return self.frame if self.frame_ok else None

    @property
    def timeline(self) -> list:
        """The frames of the run that made the image on screen ([] when no run did)."""
        return [] if self.run_frames is None else list(self.run_frames.frames)

    def state(self) -> State:
        return State(self.session.snapshot(), self.current_frame(), self.run_frames, self.source,
                     (self.session, self.model_path, self.model_info))

    # ----- the model ----------------------------------------------------------------------------
    def install(self, opened: OpenedModel, text=None, then=None, source=None, timeline=None) -> bool:
        """Swap a loaded model in (see model_open.py). With `text` and a model already open this is one
        undoable step (undo re-installs the previous model with its image, points, mask and timeline);
        without it the undo history starts empty. then(): run on the new session inside the same step
        (a session's state); a DragEditError from it puts the previous model back and is re-raised.
        False when the worker does not let go of the old session (nothing changed then)."""
        self.stop_run(wait=True)
        if not self.worker.wait_idle(120):
            return False
        before = None if self.session is None else self.state()
        self._swap_model(opened.session, opened.path, opened.info)
        self.source = opened.source
        self.run_frames = None
        if then is not None:
            try:
                then()
            except DragEditError:
                if before is not None:
                    self._swap_model(*before.model)
                    self._restore(before)
                raise
        self.source = source or self.source
        self.run_frames = timeline
        self.frame, self.frame_ok = None, False
        self._latent_changed()
        if text is None or before is None:
            self.undo_stack.clear()
        else:
            self.undo_stack.push_edit(text, before, self.state())
        self.sourceChanged.emit()
        self.timelineChanged.emit()
        self.pairsChanged.emit()
        self.maskChanged.emit()
        return True

    def _swap_model(self, session, path, info):
        """Hand another session to the worker (idle) and say so; its state is the caller's to set."""
        if session is self.session:
            return
        self.worker.set_session(session)
        self.session, self.model_path, self.model_info = session, path, dict(info)
        self.modelChanged.emit()

    # ----- undoable edits -----------------------------------------------------------------------
    def edit(self, text, fn, merge_key=None, changes_latent=False, title=None, source=None, timeline=None) -> bool:
        """Run fn on the session as one undoable edit. Latent changes stop a run first and end the
        timeline (no run made the new image, unless `timeline` is the run that did: a recovered
        session's); `source` says where a new image came from.
        A DragEditError goes to the status bar (or a message titled `title`) and changes nothing."""
        s = self.session
        if s is None:
            return False
        if changes_latent:
            self.stop_run(wait=True)
        before = None if self.running else self.state()
        mask_before = (s.mask, s.mask_mode)
        try:
            fn()
        except DragEditError as exc:
            if title:
                self.message.emit("warning", title, str(exc))
            else:
                self.status.emit(str(exc), 8000)
            return False
        if changes_latent:
            self.run_frames = timeline
            if source is not None:
                self.source = source
            self._latent_changed()
        if before is not None:
            self.undo_stack.push_edit(text, before, self.state(), merge_key)
        if changes_latent:
            self.timelineChanged.emit()
            self.sourceChanged.emit()
        if mask_before[0] is not s.mask or mask_before[1] != s.mask_mode:
            self.maskChanged.emit()
        self.pairsChanged.emit()
        return True

    def push_point_move(self, text, before: State) -> bool:
        """A point dragged on the canvas (moved live, outside `edit`) becomes one undoable edit."""
        if before is None or self.running or self.session is None:
            return False
        after = self.state()
        if after.snap["pairs"] == before.snap["pairs"]:
            return False
        self.undo_stack.push_edit(text, before, after)
        return True

    def _latent_changed(self, frame=None):
        self.gen += 1
        if frame is not None:
            self._show_frame(frame, True)
        else:
            self.frame_ok = False
            self.worker.request_render(self.gen)
        self.latentChanged.emit()

    def _restore(self, state: State):
        """Put a recorded state back (the history's commands call this on undo and redo)."""
        import copy
        self.stop_run(wait=True)
        params = copy.deepcopy(self.session.params)
        swapped = state.model is not None and state.model[0] is not self.session
        if swapped:
            self.worker.wait_idle(120)
            self._swap_model(*state.model)
        s = self.session
        old_ws = s.ws
        params.truncation_psi = state.snap["params"].truncation_psi
        s.restore(state.snap)
        s.params = params    # drag settings are the panel's, not history (the image's truncation is)
        self.run_frames, self.source = state.timeline, state.source or self.source
        if state.frame is not None:
            self._latent_changed(state.frame)
        elif swapped or not torch.equal(old_ws, s.ws) or not self.frame_ok:
            self._latent_changed()
        else:
            self.latentChanged.emit()
        self.timelineChanged.emit()
        self.sourceChanged.emit()
        self.maskChanged.emit()
        self.pairsChanged.emit()
        self.restored.emit()

    def undo(self) -> str | None:
        """Step back one edit; its text, or None when there was nothing to undo."""
        if self.session is None or not self.undo_stack.canUndo():
            return None
        self.stop_run(wait=True)
        text = self.undo_stack.undoText()
        self.undo_stack.undo()
        return text

    def redo(self) -> str | None:
        if self.session is None or not self.undo_stack.canRedo():
            return None
        self.stop_run(wait=True)
        text = self.undo_stack.redoText()
        self.undo_stack.redo()
        return text

    def pick_frame(self, i) -> bool:
        """Continue from frame i of the run on the timeline (one undoable edit, merged while picking)."""
        run = self.run_frames
        if self.session is None or self.running or run is None or not 0 <= i < len(run.frames):
            return False
        entry = run.frames[i]
        before = self.state()
        try:
            self.session.set_latent(entry["ws"])
            handles = entry["handles"]
            if len(handles) == len(self.session.pairs):
                for j, h in enumerate(handles):
                    self.session.move_handle(j, h)
        except DragEditError as exc:
            self.status.emit(str(exc), 8000)
            return False
        self.run_frames = run.at(i)
        self._latent_changed(None if entry.get("low_res") else entry["frame"])
        self.undo_stack.push_edit(f"Pick {run.label(i).split(' /')[0]}", before, self.state(), merge_key="timeline")
        self.timelineChanged.emit()
        self.pairsChanged.emit()
        return True

    # ----- frames -------------------------------------------------------------------------------
    def _show_frame(self, frame, valid):
        self.frame = frame
        self.frame_ok = valid
        self.frameChanged.emit()

    def _on_frame_ready(self):
        item = self.worker.take_latest()
        if item is None or self.session is None:
            return
        if item.kind == "render":
            if item.gen == self.gen and self.run is None:
                self._show_frame(item.frame, True)
                self.imageKnown.emit(item.frame, self.session.ws)
                top = self.undo_stack.top()
                if top is not None and top.after.frame is None and torch.equal(top.after.snap["ws"], self.session.ws):
                    top.after.frame = item.frame
        elif item.kind == "step":
            if self.run is not None and item.run_id == self.run["id"]:
                self._show_frame(item.frame, False)
                self.progress.emit(item.result, float(item.its_per_s), item.result.iteration - self.run["it0"])
                self.pairsChanged.emit()
        elif item.kind == "error":
            self.status.emit(item.message or "error", 15000)

    # ----- runs ---------------------------------------------------------------------------------
    def start_run(self, steps: int) -> bool:
        """Start a drag of at most `steps` iterations (the caller has checked pairs and params)."""
        if self.run is not None or self.session is None:
            return False
        self._run_counter += 1
        self.run = dict(id=self._run_counter, before=self.state(), t0=time.perf_counter(),
                        it0=self.session.iteration)
        self.undo_stack.break_merge()
        if not self.worker.start_run(self._run_counter, int(steps), frame0=self.current_frame()):
            self.run = None
            self.status.emit("The worker is busy: try again.", 8000)
            return False
        self.runStateChanged.emit(True)
        return True

    def stop_run(self, wait=False):
        if self.run is None:
            return
        self.worker.stop_run()
        if wait:
            self.worker.wait_idle(120)
            self._collect_finished()

    def _collect_finished(self):
        summary = self.worker.take_finished()
        if summary is None or self.run is None or summary.run_id != self.run["id"]:
            return
        run, self.run = self.run, None
        self.worker.take_latest()  # drop step frames of this run still in the slot
        before = run["before"]
        if before.frame is None and summary.timeline:
            before.frame = summary.timeline[0]["frame"]
        self.gen += 1
        if summary.frame is not None:
            self._show_frame(summary.frame, True)
        if before.frame is not None:
            self.imageKnown.emit(before.frame, before.snap["ws"])
        if len(summary.timeline) > 1:
            for e in summary.timeline:
                e["step"] = e["iteration"] - summary.timeline[0]["iteration"]
            self.run_frames = RunFrames(tuple(summary.timeline), len(summary.timeline) - 1)
        after = self.state()
        changed = (not torch.equal(before.snap["ws"], after.snap["ws"]) or before.snap["pairs"] != after.snap["pairs"]
                   or not _same_mask(before.snap["mask"], after.snap["mask"]))
        n, secs = summary.iterations, summary.elapsed
        if changed:
            self.undo_stack.push_edit(f"Drag ({_iterations(n)})", before, after)
        self.runStateChanged.emit(False)
        self.latentChanged.emit()
        self.timelineChanged.emit()
        if summary.last is not None:
            self.progress.emit(summary.last, n / max(secs, 1e-6), n)
        if summary.reason == "reached":
            self.status.emit(f"Reached the target{'s' if len(after.snap['pairs']) > 1 else ''} after "
                             f"{_iterations(n)} ({secs:.1f} s).", 0)
        elif summary.reason == "budget":
            self.status.emit(f"Step budget used: {_iterations(n)} ({secs:.1f} s). Press Space to go on.", 0)
        elif summary.reason == "stopped":
            self.status.emit(f"Stopped after {_iterations(n)}.", 0)
        else:
            self.message.emit("warning", "The drag stopped", summary.message or "the drag failed")
        self.pairsChanged.emit()

    def shutdown(self):
        self.stop_run(wait=True)
        self.worker.shutdown()


def _iterations(n: int) -> str:
    return f"{n} iteration" + ("" if n == 1 else "s")


def _same_mask(a, b):
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and bool(np.array_equal(a, b))
