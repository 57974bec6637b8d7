"""Start and stop of a drag run, and what shows it: the timeline bar while the run grows and after,
and the status bar's step count, rate and loss. Start refuses (status note, the Points list lights
up) when there is no model, no complete pair, an invalid setting, or nothing left to drag."""
from __future__ import annotations

import math
from typing import Callable


class RunController:
    def __init__(self, doc, panel, timeline_bar, status_view, apply_params: Callable[[], bool],
                 pending: Callable[[], object], status: Callable, changed: Callable[[], None]):
        """apply_params: the panel's settings into the session (False when one is invalid);
        pending(): the handle waiting for its target, or None; status(text, ms); changed(): the
        window's actions follow the run state."""
        self.doc, self.panel, self.timeline_bar, self.status_view = doc, panel, timeline_bar, status_view
        self.apply_params, self.pending, self.status, self.changed = apply_params, pending, status, changed
        timeline_bar.picked.connect(doc.pick_frame)
        doc.timelineChanged.connect(self.show_timeline)
        doc.runStateChanged.connect(self.show_run_state)
        doc.progress.connect(self.show_progress)

    def toggle(self):
        if not self.doc.running:
            self.start()
        else:
            self.stop()

    def refuse(self, text):
        """Why Start did nothing: the status bar says it and the Points list lights up (no dialog)."""
        self.status(text, 15000)
        self.panel.flash_points()

    def start(self) -> bool:
        session = self.doc.session
        if self.doc.running:
            return False
        if session is None:
            self.refuse("Open a model first (File › Open model, Ctrl+O).")
            return False
        if not session.pairs:
            extra = " The handle you clicked still needs its target." if self.pending() is not None else ""
            self.refuse("Start needs at least one complete pair: click a handle (red), then its target (blue)."
                        + extra)
            return False
        if not self.apply_params():
            return False
        stop = float(session.options()["stop_distance"])
        if all(math.dist(h, t) <= stop for h, t in self.doc.pairs()):
            n = len(session.pairs)
            self.status(f"{'Every handle is' if n > 1 else 'The handle is'} already within {stop:g} px of "
                        f"{'its target' if n > 1 else 'the target'}: nothing to drag.", 15000)
            return False
        session.params.space = self.panel.space.currentData()
        return self.doc.start_run(self.panel.steps.value())

    def stop(self, wait=False):
        self.doc.stop_run(wait)

    def show_run_state(self, running):
        self.timeline_bar.set_busy(running)
        if running:
            self.timeline_bar.show_running(0)
            self.status("Running… (Space stops)", 0)
        self.changed()

    def show_progress(self, res, rate, iteration):
        self.status_view.show_progress(res, rate, iteration)
        if self.doc.running:
            self.timeline_bar.show_running(iteration)

    def show_timeline(self):
        """The bar, and the status bar's count, follow the run that made the image on screen."""
        run = self.doc.run_frames
        self.timeline_bar.show_run(run, busy=self.doc.running)
        if not self.doc.running:
            self.status_view.show_run(run)
        self.changed()
