"""A small undo stack of session states.

Every undoable action (a point edit, a mask stroke, a seed change, a whole
drag run, picking a frame of the timeline) records the state before and after
it. A state is `DragSession.snapshot()` plus the frame that was on screen for
that latent, when known, so undoing a run shows the first image exactly and
without rendering it again; plus the timeline (the frames of the run that made
that image, see timeline.py) and where the image came from, so undo and redo
restore both with the image (DESIGN section 10: a run's frames belong to the
edit the run pushed).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal


@dataclass
class State:
    snap: dict
    frame: np.ndarray | None = None
    timeline: object = None        # RunFrames or None
    source: tuple | None = None    # ('seed', n) | ('photo', name) | ('latent', name) | ('session', name)


@dataclass
class Entry:
    text: str
    before: State
    after: State
    merge_key: str | None = None


class UndoStack(QObject):
    changed = Signal()

    def __init__(self, limit=200, parent=None):
        super().__init__(parent)
        self.limit = limit
        self._entries: list[Entry] = []
        self._index = 0          # entries[:index] are done; entries[index:] can be redone
        self._open_merge = False
        self._clean = 0          # the index at which the work was last saved (-1: never reachable)

    def set_clean(self):
        self._clean = self._index

    def is_clean(self) -> bool:
        return self._clean == self._index

    def push(self, text, before: State, after: State, merge_key=None):
        """Record a done action. Consecutive pushes with the same merge_key become one entry."""
        del self._entries[self._index:]
        if (merge_key is not None and self._open_merge and self._entries
                and self._entries[-1].merge_key == merge_key):
            top = self._entries[-1]
            top.after, top.text = after, text
            if self._clean == self._index:
                self._clean = -1
        else:
            if self._clean > self._index:
                self._clean = -1
            self._entries.append(Entry(text, before, after, merge_key))
            if len(self._entries) > self.limit:
                del self._entries[0]
                self._clean = self._clean - 1 if self._clean > 0 else -1
        self._index = len(self._entries)
        self._open_merge = merge_key is not None
        self.changed.emit()

    def break_merge(self):
        self._open_merge = False

    def can_undo(self) -> bool:
        return self._index > 0

    def can_redo(self) -> bool:
        return self._index < len(self._entries)

    def undo_text(self) -> str:
        return self._entries[self._index - 1].text if self.can_undo() else ""

    def redo_text(self) -> str:
        return self._entries[self._index].text if self.can_redo() else ""

    def undo(self) -> Entry | None:
        """Step back; the caller restores entry.before."""
        if not self.can_undo():
            return None
        self._index -= 1
        self._open_merge = False
        self.changed.emit()
        return self._entries[self._index]

    def redo(self) -> Entry | None:
        """Step forward; the caller restores entry.after."""
        if not self.can_redo():
            return None
        entry = self._entries[self._index]
        self._index += 1
        self._open_merge = False
        self.changed.emit()
        return entry

    def top(self) -> Entry | None:
        return self._entries[self._index - 1] if self._index > 0 else None

    def clear(self):
        self._entries.clear()
        self._index = 0
        self._clean = 0
        self._open_merge = False
        self.changed.emit()

    def __len__(self):
        return len(self._entries)
