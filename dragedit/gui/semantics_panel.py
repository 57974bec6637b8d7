"""The Semantics panel: one slider per semantic direction (named factors, or the top SeFa ones),
each with its layer range, and Reset. The panel only holds widgets and amounts; the
SemanticsController previews and commits."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QScrollArea,
                               QSlider, QVBoxLayout, QWidget)

from ..edit.semantic_defaults import LAYER_RANGES, SLIDER_RANGE

STEPS = 100  # slider ticks per unit of amount


class _Slider(QSlider):
    """A slider that leaves the wheel to the scrolling list unless it has the focus."""

    def wheelEvent(self, event):  # noqa: N802 - Qt API
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class _Combo(QComboBox):
    def wheelEvent(self, event):  # noqa: N802 - Qt API
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


def pretty(name: str) -> str:
    """'mouth_openness' -> 'Mouth openness'; 'sefa3' -> 'SeFa 3'."""
    if name.startswith("sefa") and name[4:].isdigit():
        return f"SeFa {int(name[4:])}"
    return name.replace("_", " ").capitalize()


class SemanticsPanel(QWidget):
    moved = Signal(int)        # row index: its slider moved (pressed or by keyboard)
    pressed = Signal(int)
    released = Signal(int)
    layersChanged = Signal(int)
    resetRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.directions = []
        self.sliders: list[QSlider] = []
        self.values: list[QLabel] = []
        self.layers: list[QComboBox] = []
        col = QVBoxLayout(self)
        col.setContentsMargins(8, 6, 8, 8)
        col.setSpacing(6)
        self.title = QLabel("No model")
        self.title.setWordWrap(True)
        col.addWidget(self.title)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumWidth(380)
        self.body = QWidget()
        self.grid = QGridLayout(self.body)
        self.grid.setContentsMargins(0, 0, 4, 0)
        self.grid.setHorizontalSpacing(6)
        self.grid.setVerticalSpacing(4)
        self.scroll.setWidget(self.body)
        col.addWidget(self.scroll, 1)
        row = QHBoxLayout()
        self.info = QLabel("")
        self.info.setToolTip("Time of the last live preview")
        row.addWidget(self.info, 1)
        self.reset = QPushButton("Reset")
        self.reset.setToolTip("Set every slider back to 0 (one undoable edit)")
        self.reset.clicked.connect(self.resetRequested)
        row.addWidget(self.reset)
        col.addLayout(row)

    def set_directions(self, directions, title):
        """Rebuild the rows for a model's directions."""
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.directions = list(directions)
        self.sliders, self.values, self.layers = [], [], []
        self.title.setText(title)
        for i, d in enumerate(self.directions):
            name = QLabel(pretty(d.name))
            tip = (f"{pretty(d.name)}: a named factor of this model, in standard deviations of its prior"
                   if d.kind == "factor" else
                   f"SeFa direction {d.name[4:]} (eigenvalue {d.eigenvalue:.2f}), in standard deviations of W")
            name.setToolTip(tip)
            s = _Slider(Qt.Orientation.Horizontal)
            s.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            s.setObjectName(f"semantic_{d.name}")
            s.setRange(int(-SLIDER_RANGE * STEPS), int(SLIDER_RANGE * STEPS))
            s.setSingleStep(10)
            s.setPageStep(50)
            s.setToolTip(tip)
            s.setMinimumWidth(90)
            s.valueChanged.connect(lambda _v, i=i: self._on_value(i))
            s.sliderPressed.connect(lambda i=i: self.pressed.emit(i))
            s.sliderReleased.connect(lambda i=i: self.released.emit(i))
            v = QLabel("0.0")
            v.setMinimumWidth(34)
            v.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            c = _Combo()
            c.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            for r in LAYER_RANGES:
                c.addItem(r, r)
            c.setCurrentIndex(LAYER_RANGES.index(d.layers))
            c.setToolTip("Layers this direction edits: coarse (pose, shape), middle (features), "
                         "fine (colour, texture) or all")
            c.currentIndexChanged.connect(lambda _k, i=i: self.layersChanged.emit(i))
            for j, w in enumerate((name, s, v, c)):
                self.grid.addWidget(w, i, j)
            self.sliders.append(s)
            self.values.append(v)
            self.layers.append(c)
        self.grid.setColumnStretch(1, 1)
        self.grid.setRowStretch(len(self.directions), 1)

    def _on_value(self, i):
        self.values[i].setText(f"{self.amount(i):+.1f}" if self.sliders[i].value() else "0.0")
        self.moved.emit(i)

    def amount(self, i) -> float:
        return self.sliders[i].value() / STEPS

    def layer_range(self, i) -> str:
        return self.layers[i].currentData()

    def edits(self) -> list:
        """(Direction, amount, layers) of every slider away from 0."""
        return [(d, self.amount(i), self.layer_range(i)) for i, d in enumerate(self.directions)
                if self.sliders[i].value()]

    def set_amount(self, i, amount):
        s = self.sliders[i]
        s.blockSignals(True)
        s.setValue(int(round(amount * STEPS)))
        s.blockSignals(False)
        self.values[i].setText(f"{amount:+.1f}" if s.value() else "0.0")

    def zero(self):
        for i in range(len(self.sliders)):
            self.set_amount(i, 0.0)

    def any_down(self) -> bool:
        return any(s.isSliderDown() for s in self.sliders)
