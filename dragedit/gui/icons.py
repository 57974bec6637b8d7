"""Icons: Qt's standard set where it has one, a few drawn here where it has not (points tool, brush,
dice, fit, the app icon), so the app needs no icon files at run time. `assets/icons/` holds the
app icon rendered from the same drawing for desktop files and the README."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QLinearGradient, QPainter, QPainterPath, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QApplication, QStyle

RED = QColor(230, 40, 40)
BLUE = QColor(40, 90, 240)


def standard(name: str) -> QIcon:
    """A QStyle.StandardPixmap by name, e.g. 'SP_DialogOpenButton'."""
    return QApplication.style().standardIcon(getattr(QStyle.StandardPixmap, name))


def _paint(draw, sizes=(16, 24, 32, 48, 64, 128, 256)) -> QIcon:
    icon = QIcon()
    for s in sizes:
        pm = QPixmap(s, s)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.scale(s / 32.0, s / 32.0)
        draw(p)
        p.end()
        icon.addPixmap(pm)
    return icon


def _arrow(p, a, b, width=2.2, colour=QColor(60, 60, 60)):
    pen = QPen(colour, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    p.setPen(pen)
    d = b - a
    n = max((d.x() ** 2 + d.y() ** 2) ** 0.5, 1e-6)
    u = QPointF(d.x() / n, d.y() / n)
    base = b - u * 6
    p.drawLine(a, base)
    left = base + QPointF(-u.y(), u.x()) * 3.5
    right = base - QPointF(-u.y(), u.x()) * 3.5
    p.setBrush(QBrush(colour))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawPolygon(QPolygonF([b, left, right]))


def _dot(p, c, r, colour, outline=QColor(255, 255, 255)):
    p.setPen(QPen(outline, 1.5))
    p.setBrush(QBrush(colour))
    p.drawEllipse(c, r, r)


def points_icon() -> QIcon:
    def draw(p):
        _arrow(p, QPointF(9, 22), QPointF(21.5, 10.5))
        _dot(p, QPointF(8, 23), 5, RED)
        _dot(p, QPointF(24, 8), 5, BLUE)
    return _paint(draw)


def brush_icon() -> QIcon:
    def draw(p):
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(QColor(255, 190, 0, 170)))
        p.drawEllipse(QPointF(12, 20), 9, 9)
        p.save()
        p.translate(20, 12)
        p.rotate(45)
        p.setBrush(QBrush(QColor(120, 80, 40)))
        p.drawRoundedRect(QRectF(-2.5, -12, 5, 14), 1.5, 1.5)
        p.setBrush(QBrush(QColor(70, 70, 70)))
        p.drawRect(QRectF(-3, 1, 6, 4))
        p.setBrush(QBrush(QColor(230, 160, 0)))
        path = QPainterPath(QPointF(-3, 5))
        path.lineTo(3, 5)
        path.quadTo(2, 11, 0, 12)
        path.quadTo(-2, 11, -3, 5)
        p.drawPath(path)
        p.restore()
    return _paint(draw)


def dice_icon() -> QIcon:
    def draw(p):
        p.setPen(QPen(QColor(70, 70, 70), 1.6))
        p.setBrush(QBrush(QColor(250, 250, 250)))
        p.drawRoundedRect(QRectF(4, 4, 24, 24), 5, 5)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(QColor(50, 50, 50)))
        for x, y in ((10, 10), (22, 10), (16, 16), (10, 22), (22, 22)):
            p.drawEllipse(QPointF(x, y), 2.3, 2.3)
    return _paint(draw)


def fit_icon() -> QIcon:
    def draw(p):
        pen = QPen(QColor(70, 70, 70), 2.2)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        p.setPen(pen)
        for sx, sy in ((1, 1), (-1, 1), (1, -1), (-1, -1)):
            cx, cy = 16 - sx * 11, 16 - sy * 11
            p.drawLine(QPointF(cx, cy), QPointF(cx + sx * 7, cy))
            p.drawLine(QPointF(cx, cy), QPointF(cx, cy + sy * 7))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(QColor(120, 150, 200)))
        p.drawRect(QRectF(11, 11, 10, 10))
    return _paint(draw)


def draw_app_icon(p: QPainter):
    """The app icon on a 32x32 canvas: a face-coloured tile with a red handle dragged to a blue target."""
    g = QLinearGradient(0, 0, 32, 32)
    g.setColorAt(0, QColor(255, 214, 170))
    g.setColorAt(1, QColor(236, 160, 120))
    p.setPen(QPen(QColor(150, 90, 60), 1.0))
    p.setBrush(QBrush(g))
    p.drawRoundedRect(QRectF(1.5, 1.5, 29, 29), 7, 7)
    _arrow(p, QPointF(9.5, 22.5), QPointF(21, 11), width=2.6, colour=QColor(255, 255, 255))
    _dot(p, QPointF(8.5, 23.5), 4.6, RED)
    _dot(p, QPointF(23.5, 8.5), 4.6, BLUE)


def app_icon() -> QIcon:
    return _paint(draw_app_icon)


def undo_icon(mirror=False) -> QIcon:
    """A curved arrow (left for undo, mirrored for redo)."""
    def draw(p):
        if mirror:
            p.translate(32, 0)
            p.scale(-1, 1)
        pen = QPen(QColor(60, 60, 60), 2.6)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        path = QPainterPath(QPointF(11, 12))
        path.lineTo(19, 12)
        path.cubicTo(30, 12, 30, 27, 19, 27)
        path.lineTo(13, 27)
        p.drawPath(path)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(QColor(60, 60, 60)))
        p.drawPolygon(QPolygonF([QPointF(4, 12), QPointF(12, 5.5), QPointF(12, 18.5)]))
    return _paint(draw)
