"""Handles and targets on the canvas: a click makes a handle, the next one its target (one
undoable "Add pair"); points are dragged (also during a run), removed, reset and selected. It gets
the document, the canvas and the side panel, never the window; the Points list's model and the
canvas show the document's pairs, and the selection is one row shared by both."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ..errors import DragEditError


class PointsController(QObject):
    changed = Signal()        # pairs, the waiting handle or the selection changed (status, actions)
    status = Signal(str)      # a sentence for the status bar

    def __init__(self, doc, canvas, panel, model, parent=None):
        super().__init__(parent)
        self.doc, self.canvas, self.panel, self.model = doc, canvas, panel, model
        self.pending = None            # a handle waiting for its target
        self.selected = -1
        self._before = None            # the state when a point drag began
        canvas.clicked.connect(self.click)
        canvas.pointPressed.connect(self._pressed)
        canvas.pointMoved.connect(self.move_point)
        canvas.pointReleased.connect(self._released)
        canvas.removeRequested.connect(self.remove_pair)
        canvas.cancelPending.connect(self.cancel_pending)
        canvas.pairSelected.connect(self.select)
        panel.pairActivated.connect(self.select)
        doc.pairsChanged.connect(self.sync)
        doc.restored.connect(self.clear_marks)

    def sync(self):
        pairs = self.doc.pairs()
        if self.selected >= len(pairs):
            self.selected = -1
        self.canvas.set_pairs(pairs)
        self.model.refresh()
        self.panel.select_pair(self.selected)
        self.changed.emit()

    def select(self, i):
        self.selected = i
        self.canvas.set_selected(i)
        self.panel.select_pair(i)

    def clear_marks(self):
        """A handle waiting for its target and the selection belong to the image that was there."""
        self.pending = None
        self.selected = -1
        self.canvas.set_pending(None)
        self.canvas.set_selected(-1)
        self.changed.emit()

    def click(self, x, y):
        """A click on the image: a handle, or the target of the handle waiting for one."""
        s = self.doc.session
        if s is None:
            return
        if self.pending is None:
            self.pending = (x, y)
            self.canvas.set_pending(self.pending)
            self.status.emit(f"Handle at ({x:.1f}, {y:.1f}): now click its target.")
            self.changed.emit()
            return
        handle, self.pending = self.pending, None
        self.canvas.set_pending(None)
        if self.doc.edit("Add pair", lambda: s.add_pair(handle, (x, y))):
            self.select(len(s.pairs) - 1)
            self.status.emit(f"Pair {self.selected + 1}: ({handle[0]:.1f}, {handle[1]:.1f}) → ({x:.1f}, {y:.1f}). "
                             "Press Space to start.")
        self.changed.emit()

    def cancel_pending(self):
        if self.pending is not None:
            self.pending = None
            self.canvas.set_pending(None)
            self.status.emit("Handle dropped.")
            self.changed.emit()

    def _pressed(self, i, which):
        self._before = None if (self.doc.running or self.doc.session is None) else self.doc.state()

    def move_point(self, i, which, x, y):
        """Live while the mouse moves (the session's lock makes this safe during a run)."""
        s = self.doc.session
        if s is None:
            return
        try:
            (s.move_handle if which == "handle" else s.move_target)(i, (x, y))
        except DragEditError as exc:
            self.status.emit(str(exc))
        self.sync()

    def _released(self, i, which):
        before, self._before = self._before, None
        self.doc.push_point_move(f"Move {which} {i + 1}", before)
        self.sync()

    def remove_pair(self, i):
        s = self.doc.session
        if s is None or not 0 <= i < len(s.pairs):
            return
        if self.doc.edit(f"Remove pair {i + 1}", lambda: s.remove_pair(i)):
            self.select(-1)
            self.sync()
            self.status.emit(f"Removed pair {i + 1}.")

    def remove_selected(self):
        s = self.doc.session
        i = self.selected if self.selected >= 0 else self.panel.selected_pair()
        if i < 0 and s is not None and s.pairs:
            i = len(s.pairs) - 1
        if i >= 0:
            self.remove_pair(i)
        elif self.pending is not None:
            self.cancel_pending()

    def reset(self):
        self.cancel_pending()
        s = self.doc.session
        if s is not None and s.pairs:
            self.doc.edit("Reset points", s.clear_pairs)
            self.select(-1)
            self.sync()
