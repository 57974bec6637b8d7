"""The image view: zoom (wheel, around the cursor), pan (middle button, Space+drag, scroll bars),
fit to window; handles (red), targets (blue) and arrows; a semi-transparent mask overlay and a
round brush.

Coordinates: image point (x, y) has its pixel centre at integers, so pixel i covers [i - 0.5,
i + 0.5]. With zoom z and the image's top-left corner at widget offset (ox, oy):

    widget = offset + (image + 0.5) * z        image = (widget - offset) / z - 0.5

The canvas only reports what the user did (signals, in image coordinates); the window forwards
it to the session.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QAbstractScrollArea

HANDLE_COLOUR = QColor(230, 40, 40)
TARGET_COLOUR = QColor(40, 90, 240)
MASK_COLOURS = {"flexible": (255, 190, 0), "fixed": (150, 100, 230)}
MASK_ALPHA = 70


def frame_to_qimage(frame: np.ndarray) -> QImage:
    frame = np.ascontiguousarray(frame[..., :3], dtype=np.uint8)
    h, w = frame.shape[:2]
    return QImage(frame.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def disc(mask: np.ndarray, x: float, y: float, r: float, value: bool):
    """Set every pixel of mask whose centre lies within r of (x, y)."""
    h, w = mask.shape
    x0, x1 = max(int(math.floor(x - r)), 0), min(int(math.ceil(x + r)) + 1, w)
    y0, y1 = max(int(math.floor(y - r)), 0), min(int(math.ceil(y + r)) + 1, h)
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.ogrid[y0:y1, x0:x1]
    inside = (xx - x) ** 2 + (yy - y) ** 2 <= max(r, 0.5) ** 2
    mask[y0:y1, x0:x1][inside] = value


class Canvas(QAbstractScrollArea):
    clicked = Signal(float, float)              # left click on the image, not on a point
    pointPressed = Signal(int, str)             # pair index, 'handle' | 'target'
    pointMoved = Signal(int, str, float, float)
    pointReleased = Signal(int, str)
    removeRequested = Signal(int)               # right click on a point
    cancelPending = Signal()                    # right click elsewhere
    strokeFinished = Signal(object)             # bool HxW: the mask after a brush stroke
    hovered = Signal(float, float)              # image point under the cursor (nan outside)
    zoomChanged = Signal(float)
    pairSelected = Signal(int)
    panned = Signal()

    HIT_RADIUS = 10.0     # widget pixels, at most
    MIN_POINT_RADIUS, MAX_POINT_RADIUS = 3.0, 7.0
    MIN_ZOOM, MAX_ZOOM = 0.05, 64.0

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.viewport().setMouseTracking(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setFrameShape(QAbstractScrollArea.Shape.NoFrame)
        self._image: QImage | None = None
        self._size = None                    # (H, W)
        self._zoom = 1.0
        self._fit = True
        self.pairs: list = []                # [(handle, target)]
        self.pending = None                  # a handle waiting for its target
        self.selected = -1
        self.mask = None                     # bool HxW or None
        self._mask_image = None
        self.mask_mode = "flexible"
        self.show_mask = True
        self.tool = "points"                 # 'points' | 'mask'
        self.brush_radius = 6.0              # image pixels
        self.space_held = False
        self.space_used = False              # Space was used to pan while held
        self.placeholder = ""
        self._drag = None
        self._cursor = None                  # widget position of the mouse, for the brush outline
        self.before_image: QImage | None = None   # the start image, for before/after
        self.compare = "off"                 # 'off' | 'hold' (show the start image) | 'split'
        self.show_pixels = False             # True: nearest-neighbour pixel blocks above 100% (View > Show pixels)
        self.setMinimumSize(200, 200)

    # ----- content ---------------------------------------------------------------------
    def sizeHint(self):
        return QSize(720, 720)

    def has_image(self) -> bool:
        return self._image is not None

    def image_size(self):
        return self._size

    def set_frame(self, frame: np.ndarray):
        h, w = frame.shape[:2]
        if self._size != (h, w):
            self._size = (h, w)
            self.mask = None
            self._mask_image = None
            self._fit = True
            self._image = frame_to_qimage(frame)
            self._relayout()
        else:
            self._image = frame_to_qimage(frame)
        self.viewport().update()

    def set_before(self, frame):
        """The image the current edit started from (None: unknown)."""
        self.before_image = None if frame is None else frame_to_qimage(frame)
        self.viewport().update()

    def set_show_pixels(self, on):
        """Above 100% the picture is scaled smoothly unless the user asks for the pixel grid."""
        self.show_pixels = bool(on)
        self.viewport().update()

    def smooth_image(self) -> bool:
        """Whether the picture is drawn with smooth (bilinear) scaling at the current zoom."""
        return self._zoom < 1 or (self._zoom > 1 and not self.show_pixels)

    def set_compare(self, mode):
        self.compare = mode if mode in ("off", "hold", "split") else "off"
        self.viewport().update()

    @property
    def point_radius(self) -> float:
        """Markers grow with the zoom (so they never hide a small image at 100%), within limits."""
        return min(max(self._zoom, self.MIN_POINT_RADIUS), self.MAX_POINT_RADIUS)

    def clear(self, placeholder=""):
        self._image, self._size = None, None
        self.pairs, self.pending, self.selected = [], None, -1
        self.mask, self._mask_image = None, None
        self.placeholder = placeholder
        self._drag = None
        self._relayout()
        self.viewport().update()

    def set_pairs(self, pairs):
        self.pairs = [(tuple(h), tuple(t)) for h, t in pairs]
        if self.selected >= len(self.pairs):
            self.selected = -1
        if self._drag is not None and self._drag["kind"] == "point" and self._drag["index"] >= len(self.pairs):
            self._drag = None
        self.viewport().update()

    def set_pending(self, point):
        self.pending = None if point is None else tuple(point)
        self.viewport().update()

    def set_selected(self, index):
        self.selected = index
        self.viewport().update()

    def set_mask(self, mask):
        self.mask = None if mask is None else np.asarray(mask, dtype=bool).copy()
        self._rebuild_mask_image()

    def set_mask_mode(self, mode):
        self.mask_mode = mode
        self._rebuild_mask_image()

    def set_show_mask(self, on):
        self.show_mask = bool(on)
        self.viewport().update()

    def set_tool(self, tool):
        self.tool = tool
        self._drag = None
        self.viewport().setCursor(Qt.CursorShape.CrossCursor if tool == "points" else Qt.CursorShape.BlankCursor)
        self.viewport().update()

    def set_brush_radius(self, r):
        self.brush_radius = float(min(max(r, 1.0), 256.0))
        self.viewport().update()

    def _rebuild_mask_image(self):
        if self.mask is None or not self.mask.any():
            self._mask_image = None
        else:
            h, w = self.mask.shape
            m = self.mask
            # a light tint inside, a stronger rim on the boundary so the picture stays visible
            inner = m.copy()
            inner[1:, :] &= m[:-1, :]
            inner[:-1, :] &= m[1:, :]
            inner[:, 1:] &= m[:, :-1]
            inner[:, :-1] &= m[:, 1:]
            rgba = np.zeros((h, w, 4), np.uint8)
            colour = MASK_COLOURS.get(self.mask_mode, (255, 190, 0))
            rgba[m] = (*colour, MASK_ALPHA)
            rgba[m & ~inner] = (*colour, 220)
            self._mask_image = QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
        self.viewport().update()

    # ----- geometry ----------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self._zoom

    @property
    def fitting(self) -> bool:
        """The zoom follows the window (Fit to window) rather than a chosen factor."""
        return self._fit

    def _offset(self):
        if self._size is None:
            return 0.0, 0.0
        h, w = self._size
        vw, vh = self.viewport().width(), self.viewport().height()
        cw, ch = w * self._zoom, h * self._zoom
        ox = (vw - cw) / 2 if cw <= vw else -float(self.horizontalScrollBar().value())
        oy = (vh - ch) / 2 if ch <= vh else -float(self.verticalScrollBar().value())
        return ox, oy

    def image_to_widget(self, x, y) -> QPointF:
        ox, oy = self._offset()
        return QPointF(ox + (x + 0.5) * self._zoom, oy + (y + 0.5) * self._zoom)

    def widget_to_image(self, pos) -> tuple:
        ox, oy = self._offset()
        return ((pos.x() - ox) / self._zoom - 0.5, (pos.y() - oy) / self._zoom - 0.5)

    def inside_image(self, x, y) -> bool:
        if self._size is None:
            return False
        h, w = self._size
        return -0.5 <= x < w - 0.5 and -0.5 <= y < h - 0.5

    def clamp_point(self, x, y):
        h, w = self._size
        return min(max(x, 0.0), w - 1.0), min(max(y, 0.0), h - 1.0)

    def _fit_zoom(self):
        h, w = self._size
        vw, vh = max(self.viewport().width(), 1), max(self.viewport().height(), 1)
        return max(min(vw / w, vh / h), self.MIN_ZOOM)

    def _relayout(self):
        """Recompute the fit zoom (in fit mode) and the scroll bars' ranges."""
        hbar, vbar = self.horizontalScrollBar(), self.verticalScrollBar()
        if self._size is None:
            hbar.setRange(0, 0)
            vbar.setRange(0, 0)
            return
        if self._fit:
            # The scroll bars are hidden in fit mode, so the viewport is the whole widget.
            zoom = self._fit_zoom()
            if zoom != self._zoom:
                self._zoom = zoom
                self.zoomChanged.emit(zoom)
        h, w = self._size
        vw, vh = self.viewport().width(), self.viewport().height()
        hbar.setRange(0, max(0, int(math.ceil(w * self._zoom - vw - 1e-6))))
        vbar.setRange(0, max(0, int(math.ceil(h * self._zoom - vh - 1e-6))))
        hbar.setPageStep(max(vw, 1))
        vbar.setPageStep(max(vh, 1))
        hbar.setSingleStep(max(int(self._zoom * 4), 8))
        vbar.setSingleStep(max(int(self._zoom * 4), 8))

    def fit_to_window(self):
        self._fit = True
        self._relayout()
        if self._fit:
            self._relayout()  # once more: hiding the scroll bars may have grown the viewport
        self.zoomChanged.emit(self._zoom)
        self.viewport().update()

    def set_zoom(self, zoom, anchor: QPointF | None = None):
        """Zoom keeping the image point under `anchor` (widget coords; default the centre) in place."""
        if self._size is None:
            return
        zoom = min(max(float(zoom), self.MIN_ZOOM), self.MAX_ZOOM)
        if anchor is None:
            anchor = QPointF(self.viewport().width() / 2, self.viewport().height() / 2)
        ix, iy = self.widget_to_image(anchor)
        self._fit = False
        self._zoom = zoom
        self._relayout()
        h, w = self._size
        vw, vh = self.viewport().width(), self.viewport().height()
        if w * zoom > vw:
            self.horizontalScrollBar().setValue(round((ix + 0.5) * zoom - anchor.x()))
        if h * zoom > vh:
            self.verticalScrollBar().setValue(round((iy + 0.5) * zoom - anchor.y()))
        self.zoomChanged.emit(self._zoom)
        self.viewport().update()

    def zoom_by(self, factor, anchor=None):
        self.set_zoom(self._zoom * factor, anchor)

    def viewportEvent(self, event):
        if event.type() == QEvent.Type.Resize:
            self._relayout()
        return super().viewportEvent(event)

    def scrollContentsBy(self, dx, dy):
        self.viewport().update()

    # ----- hit testing ----------------------------------------------------------------------
    def hit_test(self, pos):
        """(pair index, 'handle' | 'target') of the point nearest to pos within HIT_RADIUS, or None."""
        best, best_d = None, min(self.HIT_RADIUS, self.point_radius + 4)
        for i, (hd, tg) in enumerate(self.pairs):
            for which, p in (("target", tg), ("handle", hd)):
                q = self.image_to_widget(*p)
                d = math.hypot(q.x() - pos.x(), q.y() - pos.y())
                if d < best_d - 1e-9:
                    best, best_d = (i, which), d
        return best

    # ----- mouse --------------------------------------------------------------------------------
    def mousePressEvent(self, event):
        pos = event.position()
        btn = event.button()
        if self._size is None or self._drag is not None:
            return super().mousePressEvent(event)
        if btn == Qt.MouseButton.MiddleButton or (btn == Qt.MouseButton.LeftButton and self.space_held):
            self.space_used = self.space_held or self.space_used
            self._drag = dict(kind="pan", last=pos)
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        x, y = self.widget_to_image(pos)
        if self.tool == "mask" and btn in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            erase = btn == Qt.MouseButton.RightButton or bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
            if self.mask is None:
                self.mask = np.zeros(self._size, bool)
            self._drag = dict(kind="paint", value=not erase, last=(x, y))
            disc(self.mask, x, y, self.brush_radius, not erase)
            self._rebuild_mask_image()
            return
        if btn == Qt.MouseButton.LeftButton:
            hit = self.hit_test(pos)
            if hit is not None:
                i, which = hit
                self._drag = dict(kind="point", index=i, which=which, moved=False)
                self.selected = i
                self.pairSelected.emit(i)
                self.pointPressed.emit(i, which)
                self.viewport().setCursor(Qt.CursorShape.SizeAllCursor)
                self.viewport().update()
            elif self.inside_image(x, y):
                self.clicked.emit(*self.clamp_point(x, y))
            return
        if btn == Qt.MouseButton.RightButton:
            hit = self.hit_test(pos)
            if hit is not None:
                self.removeRequested.emit(hit[0])
            else:
                self.cancelPending.emit()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event):
        pos = event.position()
        self._cursor = pos
        drag = self._drag
        if self._size is not None:
            x, y = self.widget_to_image(pos)
            if self.inside_image(x, y):
                self.hovered.emit(x, y)
            else:
                self.hovered.emit(math.nan, math.nan)
        if drag is None:
            if self.tool == "mask":
                self.viewport().update()
            return
        if drag["kind"] == "pan":
            d = pos - drag["last"]
            drag["last"] = pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - round(d.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - round(d.y()))
            self.panned.emit()
        elif drag["kind"] == "point":
            x, y = self.clamp_point(*self.widget_to_image(pos))
            drag["moved"] = True
            i, which = drag["index"], drag["which"]
            if i < len(self.pairs):  # show it at once; the session gets it through the signal
                hd, tg = self.pairs[i]
                self.pairs[i] = ((x, y), tg) if which == "handle" else (hd, (x, y))
            self.pointMoved.emit(i, which, x, y)
            self.viewport().update()
        elif drag["kind"] == "paint":
            x, y = self.widget_to_image(pos)
            lx, ly = drag["last"]
            n = max(1, int(math.ceil(math.hypot(x - lx, y - ly) / max(self.brush_radius / 2, 0.5))))
            for k in range(1, n + 1):
                disc(self.mask, lx + (x - lx) * k / n, ly + (y - ly) * k / n, self.brush_radius, drag["value"])
            drag["last"] = (x, y)
            self._rebuild_mask_image()

    def mouseReleaseEvent(self, event):
        drag, self._drag = self._drag, None
        if drag is None:
            return super().mouseReleaseEvent(event)
        if drag["kind"] == "pan":
            self.set_tool(self.tool)
        elif drag["kind"] == "point":
            self.set_tool(self.tool)
            self.pointReleased.emit(drag["index"], drag["which"])
        elif drag["kind"] == "paint":
            self.strokeFinished.emit(None if self.mask is None else self.mask.copy())

    def leaveEvent(self, event):
        self._cursor = None
        self.hovered.emit(math.nan, math.nan)
        self.viewport().update()
        super().leaveEvent(event)

    def wheelEvent(self, event):
        if self._size is None:
            return
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self.zoom_by(1.2 ** (delta / 120.0), event.position())
        event.accept()

    def cancel_interaction(self):
        """Drop a press-drag in progress (e.g. when the model changes under it)."""
        self._drag = None

    # ----- painting -------------------------------------------------------------------------------
    def paintEvent(self, event):
        p = QPainter(self.viewport())
        p.fillRect(self.viewport().rect(), self.palette().color(self.backgroundRole()).darker(135))
        if self._image is None:
            p.setPen(self.palette().color(self.foregroundRole()))
            p.drawText(self.viewport().rect().adjusted(24, 24, -24, -24),
                       Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            p.end()
            return
        h, w = self._size
        ox, oy = self._offset()
        target = QRectF(ox, oy, w * self._zoom, h * self._zoom)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.smooth_image())
        before = self.before_image if self.before_image is not None \
            and self.before_image.size() == self._image.size() else None
        if self.compare == "hold" and before is not None:
            p.drawImage(target, before, QRectF(0, 0, w, h))
            self._draw_badge(p, target, "Start image", Qt.AlignmentFlag.AlignLeft)
            p.end()
            return
        p.drawImage(target, self._image, QRectF(0, 0, w, h))
        if self.compare == "split" and before is not None:
            half = QRectF(target.x(), target.y(), target.width() / 2, target.height())
            p.drawImage(half, before, QRectF(0, 0, w / 2, h))
            p.setPen(QPen(QColor(255, 255, 255), 2))
            p.drawLine(half.topRight(), half.bottomRight())
            self._draw_badge(p, target, "Before", Qt.AlignmentFlag.AlignLeft)
            self._draw_badge(p, target, "After", Qt.AlignmentFlag.AlignRight)
        if self.show_mask and self._mask_image is not None:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._zoom < 1)  # crisp mask edges
            p.drawImage(target, self._mask_image, QRectF(0, 0, w, h))
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for i, (hd, tg) in enumerate(self.pairs):
            self._draw_pair(p, hd, tg, i == self.selected)
        if self.pending is not None:
            c = self.image_to_widget(*self.pending)
            self._draw_dot(p, c, HANDLE_COLOUR, False)
            p.setPen(QPen(QColor(255, 255, 255), 1.2, Qt.PenStyle.DashLine))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawEllipse(c, self.point_radius + 4, self.point_radius + 4)
        if self.tool == "mask" and self._cursor is not None:
            r = self.brush_radius * self._zoom
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(QColor(0, 0, 0, 200), 3))
            p.drawEllipse(self._cursor, r, r)
            p.setPen(QPen(QColor(255, 255, 255), 1.2))
            p.drawEllipse(self._cursor, r, r)
        p.end()

    def _draw_badge(self, p, target, text, side):
        vis = QRectF(self.viewport().rect()).intersected(target).adjusted(8, 8, -8, -8)
        fm = p.fontMetrics()
        bw, bh = fm.horizontalAdvance(text) + 12, fm.height() + 6
        x = vis.left() if side == Qt.AlignmentFlag.AlignLeft else vis.right() - bw
        box = QRectF(x, vis.top(), bw, bh)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 160))
        p.drawRoundedRect(box, 4, 4)
        p.setPen(QColor(255, 255, 255))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _draw_dot(self, p, c, colour, selected):
        r = self.point_radius
        if selected:
            p.setPen(QPen(QColor(255, 220, 0), 2.5))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawEllipse(c, r + 3.5, r + 3.5)
        p.setPen(QPen(QColor(255, 255, 255), 1.5))
        p.setBrush(QBrush(colour))
        p.drawEllipse(c, r, r)

    def _draw_pair(self, p, hd, tg, selected):
        a, b = self.image_to_widget(*hd), self.image_to_widget(*tg)
        vx, vy = b.x() - a.x(), b.y() - a.y()
        n = math.hypot(vx, vy)
        r = self.point_radius
        if n > 2 * r + 2:
            ux, uy = vx / n, vy / n
            start = QPointF(a.x() + ux * r, a.y() + uy * r)
            tip = QPointF(b.x() - ux * (r + 1), b.y() - uy * (r + 1))
            head = min(11.0, n * 0.4)
            base = QPointF(tip.x() - ux * head, tip.y() - uy * head)
            left = QPointF(base.x() - uy * head * 0.5, base.y() + ux * head * 0.5)
            right = QPointF(base.x() + uy * head * 0.5, base.y() - ux * head * 0.5)
            path = QPainterPath(start)
            path.lineTo(base)
            for pen in (QPen(QColor(0, 0, 0, 150), 4.0), QPen(QColor(255, 255, 255), 2.0)):
                pen.setCapStyle(Qt.PenCapStyle.RoundCap)
                p.setPen(pen)
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawPath(path)
            p.setPen(QPen(QColor(0, 0, 0, 150), 1.0))
            p.setBrush(QBrush(QColor(255, 255, 255)))
            p.drawPolygon(QPolygonF([tip, left, right]))
        self._draw_dot(p, a, HANDLE_COLOUR, selected)
        self._draw_dot(p, b, TARGET_COLOUR, selected)
