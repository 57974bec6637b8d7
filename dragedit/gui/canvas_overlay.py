"""What the semantic tools draw on the canvas and the clicks they take, without touching Canvas.

A transparent child of the canvas's viewport paints the ghost points (suggested handles)
and the outline of a part selection; an event filter on the viewport takes the clicks
meant for them (a click on a ghost, Shift+click / wheel / click / Alt+click with the mask
tool while a part is selected) and lets every other event through to the canvas."""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QWidget

GHOST_COLOUR = QColor(120, 220, 255)
HIT_RADIUS = 9.0  # widget px


def outline_paths(region: np.ndarray):
    """Closed polygons [(x, y) image px] around a bool region (pixel edges, via OpenCV contours)."""
    import cv2
    if region is None or not region.any():
        return []
    up = cv2.resize(region.astype(np.uint8), None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(up, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [[((x + 0.5) / 2 - 0.5, (y + 0.5) / 2 - 0.5) for x, y in c[:, 0]] for c in contours]


def draw_outlines(p: QPainter, canvas, polys, fill: QColor, edge: QColor):
    """Closed image-space polygons on the canvas: a translucent fill, a dark halo and a dashed edge,
    so the outline reads on light and dark pixels alike at every zoom."""
    for poly in polys:
        path = QPainterPath()
        for k, (x, y) in enumerate(poly):
            q = canvas.image_to_widget(x, y)
            path.moveTo(q) if k == 0 else path.lineTo(q)
        path.closeSubpath()
        p.setBrush(QBrush(fill))
        p.setPen(QPen(QColor(0, 0, 0, 200), 3.0))
        p.drawPath(path)
        p.setPen(QPen(edge, 1.5, Qt.PenStyle.DashLine))
        p.drawPath(path)


class CanvasOverlay(QWidget):
    """Ghost points and a part outline over the canvas image; the events for them arrive as signals."""
    ghostClicked = Signal(int)               # index into ghosts
    partRequested = Signal(float, float)     # Shift+click with the mask tool (image px)
    partWheel = Signal(int)                  # wheel steps over a selected part (+ grows)
    partCommit = Signal(bool)                # click over a selected part: True = subtract (Alt)
    partCancel = Signal()

    def __init__(self, canvas):
        super().__init__(canvas.viewport())
        self.canvas = canvas
        self.ghosts: list = []               # dicts x, y, name, kind
        self.part_paths: list = []
        self.part_label = ""
        self.hover = None                    # index of the ghost under the cursor: its name is drawn
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setGeometry(canvas.viewport().rect())
        self._filter = _ViewportFilter(self)
        canvas.viewport().installEventFilter(self._filter)
        self.show()

    # ----- state -----------------------------------------------------------------------
    def set_ghosts(self, ghosts):
        self.ghosts = list(ghosts)
        self.hover = None
        self.update()

    def set_hover(self, i):
        if i != self.hover:
            self.hover = i
            self.update()

    def set_part(self, region, label=""):
        self.part_paths = outline_paths(region) if region is not None else []
        self.part_label = label if region is not None else ""
        self.update()

    @property
    def part_active(self) -> bool:
        return bool(self.part_label)

    def ghost_at(self, pos):
        best, best_d = None, HIT_RADIUS
        for i, g in enumerate(self.ghosts):
            q = self.canvas.image_to_widget(g["x"], g["y"])
            d = math.hypot(q.x() - pos.x(), q.y() - pos.y())
            if d < best_d:
                best, best_d = i, d
        return best

    # ----- painting ---------------------------------------------------------------------
    def paintEvent(self, event):
        if not self.canvas.has_image() or not (self.ghosts or self.part_paths):
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        draw_outlines(p, self.canvas, self.part_paths, QColor(255, 200, 0, 45), QColor(255, 210, 0))
        if self.part_label:
            p.setPen(QColor(255, 255, 255))
            r = self.rect().adjusted(8, 8, -8, -8)
            p.fillRect(r.x() - 4, r.y() - 2, p.fontMetrics().horizontalAdvance(self.part_label) + 8,
                       p.fontMetrics().height() + 4, QColor(0, 0, 0, 160))
            p.drawText(r, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, self.part_label)
        for g in self.ghosts:
            c = self.canvas.image_to_widget(g["x"], g["y"])
            p.setPen(QPen(QColor(0, 0, 0, 170), 3.0))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawEllipse(c, 5.0, 5.0)
            p.setPen(QPen(GHOST_COLOUR, 1.6, Qt.PenStyle.DashLine))
            p.setBrush(QBrush(QColor(120, 220, 255, 70)))
            p.drawEllipse(c, 5.0, 5.0)
            p.setPen(QPen(GHOST_COLOUR, 1.2))
            p.drawPoint(c)
        if self.hover is not None and self.hover < len(self.ghosts):
            g = self.ghosts[self.hover]
            c = self.canvas.image_to_widget(g["x"], g["y"])
            fm = p.fontMetrics()
            text = ghost_label(g)
            x, y = c.x() + 9, c.y() - fm.height() - 4
            p.fillRect(int(x) - 3, int(y), fm.horizontalAdvance(text) + 6, fm.height() + 2, QColor(0, 0, 0, 170))
            p.setPen(QColor(255, 255, 255))
            p.drawText(int(x), int(y) + fm.ascent() + 1, text)
        p.end()


def ghost_label(ghost) -> str:
    """What a suggested point is called on screen: 'left_eye_outer' -> 'Left eye outer'."""
    return str(ghost["name"]).replace("_", " ").strip().capitalize()


class _ViewportFilter(QObject):
    def __init__(self, overlay: CanvasOverlay):
        super().__init__(overlay)
        self.o = overlay

    def eventFilter(self, obj, event):
        o, canvas, t = self.o, self.o.canvas, event.type()
        if t == QEvent.Type.Resize:
            o.setGeometry(canvas.viewport().rect())
            return False
        if not canvas.has_image():
            return False
        if t == QEvent.Type.MouseButtonPress:
            return self._press(event)
        if t == QEvent.Type.Wheel and o.part_active and canvas.tool == "mask":
            delta = event.angleDelta().y() or event.angleDelta().x()
            if delta:
                o.partWheel.emit(1 if delta > 0 else -1)
            return True
        if t == QEvent.Type.MouseMove and o.ghosts and canvas.tool == "points":
            i = o.ghost_at(event.position())
            o.set_hover(i)   # the name is drawn beside the ghost: no tooltip over the next one
        return False

    def _press(self, event):
        o, canvas = self.o, self.o.canvas
        btn, mods, pos = event.button(), event.modifiers(), event.position()
        if canvas.space_held or btn == Qt.MouseButton.MiddleButton:
            return False
        if canvas.tool == "points" and btn == Qt.MouseButton.LeftButton and o.ghosts \
                and canvas.pending is None and canvas.hit_test(pos) is None:
            i = o.ghost_at(pos)
            if i is not None:
                o.ghostClicked.emit(i)
                return True
            return False
        if canvas.tool != "mask":
            return False
        x, y = canvas.widget_to_image(pos)
        if btn == Qt.MouseButton.LeftButton and mods & Qt.KeyboardModifier.ShiftModifier:
            if canvas.inside_image(x, y):
                o.partRequested.emit(*canvas.clamp_point(x, y))
            return True
        if o.part_active:
            if btn == Qt.MouseButton.LeftButton:
                o.partCommit.emit(bool(mods & Qt.KeyboardModifier.AltModifier))
            else:
                o.partCancel.emit()
            return True
        return False

