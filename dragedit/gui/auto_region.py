"""Drag › Auto region (off by default): while no mask is painted, propose the flexible area from the
drag itself (`edit.auto_mask.auto_mask`: the union of the handles' part selections, carried along
their drags) as an outline on the canvas, with an Accept button: one click makes it the mask
(flexible, one undoable edit), Esc dismisses it until the pairs change.

The proposal is computed on its own thread (one feature forward and a part selection per pair: about
30 ms at 128 px, seconds at 512 px), newest request wins: a change of the pairs, the mask or the model
drops the proposal being computed (it stops between pairs) and the result is shown only if nothing
changed meanwhile, so the window never waits for it."""
from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from .canvas_overlay import draw_outlines, outline_paths
from .newest_wins import NewestWins

PROPOSE_AFTER_MS = 250     # wait this long after the last pair change (a point being dragged) to propose


class _Outline(QWidget):
    def __init__(self, canvas):
        super().__init__(canvas.viewport())
        self.canvas = canvas
        self.paths: list = []
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setGeometry(canvas.viewport().rect())
        self.show()

    def paintEvent(self, event):
        if not self.paths or not self.canvas.has_image():
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        draw_outlines(p, self.canvas, self.paths, QColor(255, 120, 200, 40), QColor(255, 130, 210))
        p.end()


class _Superseded(Exception):
    """A newer request (or a clear) came while this proposal was computed."""


class AutoRegion(QObject):
    ready = Signal()       # a proposal finished (emitted from the proposal thread; queued to the window)

    def __init__(self, doc, canvas, points_changed, cancel_action, status, parent=None):
        """points_changed: a point dragged on the canvas; cancel_action: Esc dismisses the proposal;
        status(text[, ms]): a note in the status bar."""
        super().__init__(parent)
        self.doc, self.canvas, self.status = doc, canvas, status
        self.enabled = False
        self.proposal = None          # bool [H, W] on screen, or None
        self._dismissed = None        # the pairs a dismissed proposal was for
        self._pairs = None            # the pairs the proposal on screen is for
        self._token = 0               # bumped by every request and clear: older results are dropped
        self._token_lock = threading.Lock()
        self.timings: list = []       # ms of each proposal computed on the thread
        self._worker = NewestWins(self._compute_request, self.ready.emit, "dragedit-auto-region")
        self.ready.connect(self._on_ready)
        self.outline = _Outline(canvas)
        self.bar = QFrame(canvas.viewport())
        self.bar.setObjectName("auto_region_bar")
        row = QHBoxLayout(self.bar)
        row.setContentsMargins(8, 4, 8, 4)
        self.label = QLabel("")
        self.label.setStyleSheet("color: white;")
        self.accept_button = QPushButton("Accept as mask")
        self.accept_button.clicked.connect(self.accept)
        self.dismiss_button = QPushButton("Dismiss (Esc)")
        self.dismiss_button.clicked.connect(self.dismiss)
        row.addWidget(self.label)
        row.addWidget(self.accept_button)
        row.addWidget(self.dismiss_button)
        self.bar.setStyleSheet("#auto_region_bar { background: rgba(0, 0, 0, 170); border-radius: 4px; }")
        self.bar.hide()
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(PROPOSE_AFTER_MS)
        self.timer.timeout.connect(self.propose)
        self.doc.pairsChanged.connect(self._pairs_changed)
        self.doc.maskChanged.connect(self._pairs_changed)
        points_changed.connect(self._pairs_changed)     # a point dragged
        self.doc.modelChanged.connect(self._clear)
        cancel_action.triggered.connect(self.dismiss)

    def set_enabled(self, on):
        self.enabled = bool(on)
        if on:
            self.propose()
        else:
            self._clear()

    def _pairs_changed(self):
        self._bump()            # a proposal being computed for the old pairs is dropped
        if self.enabled and not self.doc.running:
            self.timer.start()

    def _bump(self) -> int:
        with self._token_lock:
            self._token += 1
            return self._token

    def _current(self, token) -> bool:
        with self._token_lock:
            return token == self._token

    def propose(self) -> bool:
        """Ask for a proposal for the current pairs (False when there is none to ask for: a mask is painted,
        no pairs, a run goes on, or the user dismissed it for these pairs). It is computed on the proposal
        thread and shown when it is done, if nothing changed meanwhile."""
        s = self.doc.session
        pairs = self.doc.pairs()
        if not self.enabled or s is None or self.doc.running or s.mask is not None or not pairs \
                or pairs == self._dismissed:
            self._clear()
            return False
        token = self._bump()
        self._worker.submit((s, s.ws.clone(), pairs, token))   # no run goes on: the latent is not changing
        return True

    def _compute_request(self, request):
        """On the proposal thread: (mask or None, pairs, token, error or None)."""
        from ..edit.auto_mask import auto_mask
        s, ws, pairs, token = request
        def superseded():
            if not self._current(token):
                raise _Superseded

        try:
            t = time.perf_counter()
            superseded()
            mask = auto_mask(s, pairs, feat=s.features(ws), check=superseded)
            self.timings.append((time.perf_counter() - t) * 1000)
            return mask, pairs, token, None
        except _Superseded:
            return None, pairs, token, None
        except Exception as exc:  # noqa: BLE001 - a failed proposal must not end the thread
            return None, pairs, token, str(exc) or type(exc).__name__

    def _on_ready(self):
        result = self._worker.take()
        if result is None:
            return
        mask, pairs, token, error = result
        s = self.doc.session
        if not self._current(token) or not self.enabled or s is None or self.doc.running \
                or s.mask is not None or pairs != self.doc.pairs():
            return      # something changed since it was asked for: a newer request (or none) follows
        if error is not None:
            self.status(f"Auto region failed: {error}")
            return
        if mask is None or not mask.any():
            self._clear()
            return
        self.proposal, self._pairs = mask, pairs
        self.outline.setGeometry(self.canvas.viewport().rect())
        self.outline.paths = outline_paths(mask)
        self.outline.update()
        self.label.setText(f"Auto region: {int(mask.sum())} px flexible")
        self.bar.adjustSize()
        self.bar.move(8, 8)
        self.bar.show()
        self.bar.raise_()

    def idle(self) -> bool:
        return self._worker.idle()

    def wait_idle(self, timeout=10.0) -> bool:
        return self._worker.wait_idle(timeout)

    def shutdown(self):
        self._bump()
        self._worker.shutdown()

    def accept(self) -> bool:
        """The proposal becomes the painted mask (flexible), one undoable edit."""
        s, m = self.doc.session, self.proposal
        if s is None or m is None:
            return False
        self._clear()
        ok = self.doc.edit("Auto region mask", lambda: s.set_mask(m, "flexible"))
        if ok:
            self.status("The auto region is the mask: everything outside it is held fixed (Ctrl+Z undoes).")
        return ok

    def dismiss(self):
        """Esc: hide the proposal until the pairs change."""
        if self.proposal is None:
            return
        self._dismissed = self._pairs
        self._clear()

    def _clear(self):
        self._bump()            # a proposal still being computed is not shown
        self.timer.stop()
        self.proposal = None
        self.outline.paths = []
        self.outline.update()
        self.bar.hide()
