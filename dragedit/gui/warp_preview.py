"""View › Warp preview (W): before a run, the image on screen warped by the pairs' displacement field
(`edit.warp.Warper`: moving least squares, fixed outside a fixed mask), so what was asked for shows at
once; a run's frames then replace it with the generator's answer.

The warp runs on its own thread, newest request wins (one slot, nothing queues), and the result is
shown only if nothing changed meanwhile, so dragging a target or the region gizmo never waits for it."""
from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtCore import QObject, Signal

from .newest_wins import NewestWins

MOVED_PX = 0.5     # pairs whose target is nearer its handle than this do not move the picture


class WarpPreview(QObject):
    ready = Signal()       # a warp finished (emitted from the warp thread; queued to the window)

    def __init__(self, doc, canvas, region_tool, points_changed, status, parent=None):
        """region_tool: the live pairs and regions while a gizmo is dragged; points_changed: a point
        dragged on the canvas; status(text[, ms]): a note in the status bar."""
        super().__init__(parent)
        self.doc, self.canvas, self.region_tool, self.status = doc, canvas, region_tool, status
        self.enabled = False
        self.shown = None              # the warped image on the canvas, or None
        self.timings: list = []        # ms of each warp
        self._token = 0
        self._worker = NewestWins(self._warp_request, self.ready.emit, "dragedit-warp")
        self._warper = None
        self.ready.connect(self._on_ready)
        d = self.doc
        for sig in (d.pairsChanged, d.maskChanged, d.frameChanged, points_changed):   # a point dragged
            sig.connect(self.refresh)
        d.runStateChanged.connect(lambda running: self.refresh())
        region_tool.changed.connect(self.refresh)

    # ----- what the user toggles -------------------------------------------------------------
    def set_enabled(self, on):
        self.enabled = bool(on)
        if not on:
            self._show_plain()
        else:
            self.status("Warp preview: the image as the pairs ask, before a run (Space runs the generator).")
        self.refresh()

    def refresh(self):
        """Ask for a new warp of the current image (or show the plain image when there is nothing to warp)."""
        self._token += 1
        if not self.enabled or self.doc.running or self.doc.session is None:
            if self.shown is not None and not self.doc.running:
                self._show_plain()
            self.shown = None
            return
        frame = self.doc.current_frame()
        pairs = self.region_tool.live_pairs()
        if frame is None or not any(math.dist(h, t) > MOVED_PX for h, t in pairs):
            self._show_plain()
            return
        s = self.doc.session
        mask = None if s.mask is None else (s.mask.copy(), s.mask_mode)
        regions = self.region_tool.live_regions()
        self._submit((frame, pairs, mask, regions, tuple(s.size), self._token))

    def _show_plain(self):
        if self.shown is not None and self.doc.frame is not None:
            self.canvas.set_frame(self.doc.frame)
        self.shown = None

    # ----- the thread ---------------------------------------------------------------------------
    def _submit(self, request):
        self._worker.submit(request)

    def _warp_request(self, request):
        try:
            return self._warp(*request)
        except Exception as exc:  # noqa: BLE001 - a failed preview must not end the thread
            return None, request[-1], str(exc)

    def _warp(self, frame, pairs, mask, regions, size, token):
        from ..edit.region import fixed_pixels
        from ..edit.warp import Warper
        t = time.perf_counter()
        if self._warper is None or self._warper.size != size:
            self._warper = Warper(size)
        m, mode = mask if mask is not None else (None, None)
        fixed = fixed_pixels(m, mode, regions, size)   # the live regions: the gizmo may be mid-drag
        out = self._warper.warp(frame, pairs, fixed)
        self.timings.append((time.perf_counter() - t) * 1000)
        return out, token, None

    def _on_ready(self):
        result = self._worker.take()
        if result is None:
            return
        image, token, error = result
        if error is not None:
            self.status(f"Warp preview failed: {error}")
            return
        if token != self._token or not self.enabled or self.doc.running:
            return   # something changed since it was asked for: a newer request is on its way
        self.shown = image
        self.canvas.set_frame(np.ascontiguousarray(image))

    def wait_idle(self, timeout=10.0) -> bool:
        return self._worker.wait_idle(timeout)

    def shutdown(self):
        self._worker.shutdown()
