"""The timeline under the canvas: the frames of the run that made the image on screen.

A `RunFrames` is immutable and is stored in every undo `State` (see history.py), so undo, redo, a new
seed or an opened file bring the timeline with the image: it can never show frames of a run that
is not the one on the canvas. The bar only shows a RunFrames and reports which frame was picked.

One count throughout: a frame is labelled with the iteration of its run at which it was shown
(the start image is iteration 0), the same number the status bar shows while the run goes on and
the one in "Stopped after N iterations".
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QWidget


@dataclass(frozen=True)
class RunFrames:
    frames: tuple          # dicts from the worker: step, iteration, frame, ws, handles, targets, low_res
    index: int             # the frame on screen

    def __post_init__(self):
        if not self.frames:
            raise ValueError("a run has at least its start frame")

    def at(self, index) -> "RunFrames":
        return replace(self, index=int(index))

    def step(self, index=None) -> int:
        i = self.index if index is None else index
        return int(self.frames[i].get("step", i))

    @property
    def last_step(self) -> int:
        return self.step(len(self.frames) - 1)

    def label(self, index=None) -> str:
        return f"iteration {self.step(index)} / {self.last_step}"


class TimelineBar(QWidget):
    picked = Signal(int)   # the user moved the slider to a frame

    def __init__(self, parent=None):
        super().__init__(parent)
        self.run: RunFrames | None = None
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setEnabled(False)
        self.slider.setToolTip("Frames of the run that made this image: pick one to continue editing from it")
        self.slider.valueChanged.connect(self._moved)
        self.label = QLabel("No run yet")
        self.label.setMinimumWidth(150)
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 4, 10, 6)
        row.setSpacing(8)
        row.addWidget(QLabel("Timeline"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.label)
        self._busy = False

    def show_run(self, run: RunFrames | None, busy=False):
        """Show `run` at its index (None: no run made this image); busy disables picking."""
        self.run = run
        self._busy = busy
        s = self.slider
        s.blockSignals(True)
        n = 0 if run is None else len(run.frames)
        s.setRange(0, max(n - 1, 0))
        s.setValue(0 if run is None else run.index)
        s.blockSignals(False)
        self.set_busy(busy)
        self.label.setText("No run yet" if run is None or n < 2 else run.label())

    def show_running(self, iteration: int):
        """A run in progress: the bar grows with it (picking waits for the run to end)."""
        s = self.slider
        s.blockSignals(True)
        s.setRange(0, max(int(iteration), 0))
        s.setValue(max(int(iteration), 0))
        s.blockSignals(False)
        self._busy = True
        s.setEnabled(False)
        self.label.setText(f"iteration {int(iteration)} (running)")

    def set_busy(self, busy):
        self._busy = busy
        self.slider.setEnabled(self.run is not None and len(self.run.frames) > 1 and not busy)

    def _moved(self, i):
        if self.run is None or self._busy or not 0 <= i < len(self.run.frames):
            return
        self.label.setText(self.run.label(i))
        self.picked.emit(i)
