"""The Semantics panel: one slider per semantic direction (named factors, or the top SeFa ones),
each with its layer range, and Reset. The panel only holds widgets and amounts; the
SemanticsController previews and commits."""
from __future__ import annotations

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QPainter, QPalette, QPen
from PySide6.QtWidgets import (QComboBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSlider,
                               QStyle, QStyleOptionSlider, QVBoxLayout, QWidget)

from ..edit.semantic_defaults import LAYER_RANGES, SLIDER_RANGE

STEPS = 100  # slider ticks per unit of amount


class _Slider(QSlider):
    """An amount from -N to +N: the groove is filled from 0 to the handle (at 0 nothing is filled, where
    the style would fill the left half), with a mark at 0. Leaves the wheel to the scrolling list
    unless it has the focus."""

    def wheelEvent(self, event):
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()

    def zero_and_handle_x(self) -> tuple[float, float]:
        """Widget x of the value 0 and of the handle's centre."""
        opt = QStyleOptionSlider()
        self.initStyleOption(opt)
        style = self.style()
        groove = style.subControlRect(QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderGroove, self)
        handle = style.subControlRect(QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderHandle, self)
        span = max(groove.width() - handle.width(), 1)
        x0 = groove.left() + handle.width() / 2 + QStyle.sliderPositionFromValue(self.minimum(), self.maximum(), 0,
                                                                                 span)
        return x0, handle.center().x()

    def paintEvent(self, event):
        opt = QStyleOptionSlider()
        self.initStyleOption(opt)
        style = self.style()
        groove = style.subControlRect(QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderGroove, self)
        x0, xh = self.zero_and_handle_x()
        y = groove.center().y()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        pal = self.palette()
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 4, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        p.drawLine(QPointF(groove.left() + 3, y), QPointF(groove.right() - 3, y))
        if abs(xh - x0) >= 1:
            colour = pal.color(QPalette.ColorRole.Highlight if self.isEnabled() else QPalette.ColorRole.Dark)
            p.setPen(QPen(colour, 4, Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap))
            p.drawLine(QPointF(x0, y), QPointF(xh, y))
        p.setPen(QPen(pal.color(QPalette.ColorRole.Dark), 1))
        p.drawLine(QPointF(x0, y - 5), QPointF(x0, y + 5))
        opt.subControls = QStyle.SubControl.SC_SliderHandle
        style.drawComplexControl(QStyle.ComplexControl.CC_Slider, opt, p, self)
        p.end()


class _Combo(QComboBox):
    def wheelEvent(self, event):
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
