"""The edit history on Qt's own undo stack: every undoable edit is a `StateCommand` holding the
state before and after it.

A state is `DragSession.snapshot()` plus the frame that was on screen for that latent (when known,
so undoing a run shows the first image exactly and without rendering), the timeline (the frames of
the run that made that image), where the image came from and the model (session object) it belongs
to; so undo, redo and a click in Edit › History bring the timeline, the source and the model back
with the image. Edits with the same merge
key in a row (a slider, truncation, timeline picks) become one command through `mergeWith`; a run,
an undo or a redo starts a new one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from PySide6.QtGui import QUndoCommand, QUndoStack


@dataclass
class State:
    snap: dict
    frame: np.ndarray | None = None
    timeline: object = None        # RunFrames or None
    source: tuple | None = None    # ('seed', n) | ('photo', name) | ('latent', name) | ('session', name)
    model: tuple | None = None     # (session, path, info) the state belongs to: undo across an open re-installs it


class StateCommand(QUndoCommand):
    """One done edit: undo() restores `before`, redo() `after` (the first redo, from push, does nothing:
    the edit is already on screen)."""

    def __init__(self, text, before: State, after: State, apply: Callable[[State], None], merge_id=-1):
        super().__init__(text)
        self.before, self.after = before, after
        self._apply = apply
        self._merge_id = merge_id
        self._pushed = False

    def id(self) -> int:
        return self._merge_id

    def mergeWith(self, other) -> bool:
        if not isinstance(other, StateCommand) or other.id() != self.id() or self.id() == -1:
            return False
        self.after = other.after
        self.setText(other.text())
        return True

    def redo(self):
        if not self._pushed:
            self._pushed = True
            return
        self._apply(self.after)

    def undo(self):
        self._apply(self.before)


class EditHistory(QUndoStack):
    """QUndoStack with the few operations the document uses, named for what they mean."""

    def __init__(self, apply: Callable[[State], None], limit=100, parent=None):
        super().__init__(parent)
        self.setUndoLimit(limit)
        self._apply = apply
        self._keys: dict = {}
        self._epoch = 0            # a new epoch ends merging (a run started, an undo, a redo)
        self._pushing = False
        self.indexChanged.connect(self._moved)

    def _moved(self, _index):
        if not self._pushing:    # undo, redo, a click in History: the next edit starts a new entry
            self.break_merge()

    def push_edit(self, text, before: State, after: State, merge_key=None):
        """Record a done edit; consecutive edits with the same merge_key become one entry."""
        merge_id = -1
        if merge_key is not None:
            merge_id = self._keys.setdefault((merge_key, self._epoch), len(self._keys) + 1)
        self._pushing = True
        try:
            self.push(StateCommand(text, before, after, self._apply, merge_id))
        finally:
            self._pushing = False

    def break_merge(self):
        self._epoch += 1

    def top(self) -> StateCommand | None:
        return self.command(self.index() - 1) if self.index() > 0 else None

    def __len__(self):
        return self.count()
