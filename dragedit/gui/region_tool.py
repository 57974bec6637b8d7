"""The Region tool (R): select a region of the image and move, scale or turn it with a gizmo.

A rectangle drag (Alt+drag: a lasso) or Shift+click on a part (the part selection's mask) makes a
region of the session (`DragSession.add_region`: handles sampled inside it, targets where the affine
map sends them). The active region gets a gizmo: its box as the affine map places it, a square on
each corner and a ring around it. Drag inside = move, a corner = scale about the centre (Shift:
uniform), the ring = rotate (Shift: 15 degree steps). While dragging only the outline moves; on
release the new map is one undoable edit of the document (`set_region_affine`), also after a run.

Like gui/canvas_overlay.py, a transparent child of the canvas's viewport paints, and an event filter
on the viewport takes the mouse while the tool is on, so Canvas itself is not changed."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

from ..edit.region import Affine, rect_mask
from ..errors import DragEditError
from .canvas_overlay import outline_paths

GIZMO_COLOUR = QColor(80, 230, 140)
CORNER_PX = 5.0          # half side of a corner square, widget px
RING_PX = 22.0           # the rotate ring lies this far outside the box's corners, widget px
RING_BAND_PX = 12.0      # a press within this of the ring turns the region
SNAP_DEG = 15.0
MIN_SCALE, MAX_SCALE = 0.05, 20.0
MIN_RECT_PX = 2.0        # a smaller rectangle drag is a click, not a selection


def box_corners(mask) -> np.ndarray:
    """[4, 2] corners (x, y) of the mask's bounding box on pixel edges, clockwise from top-left."""
    ys, xs = np.nonzero(mask)
    x0, x1, y0, y1 = xs.min() - 0.5, xs.max() + 0.5, ys.min() - 0.5, ys.max() + 0.5
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)


def polygon_mask(points, size) -> np.ndarray:
    """bool [H, W] of the pixels inside a closed polygon of image points (a lasso)."""
    import cv2
    m = np.zeros(size, np.uint8)
    pts = np.round(np.asarray(points, float)).astype(np.int32).reshape(-1, 1, 2)
    cv2.fillPoly(m, [pts], 1)
    return m.astype(bool)


def moved_affine(a: Affine, dx, dy) -> Affine:
    return dataclasses.replace(a, move=(a.move[0] + dx, a.move[1] + dy))


def rotated_affine(a: Affine, centre, start, now, snap=False) -> Affine:
    """The map turned by the angle the pointer swept about the moved pivot (start -> now)."""
    cx, cy = _moved_pivot(a, centre)
    sweep = math.degrees(math.atan2(now[1] - cy, now[0] - cx) - math.atan2(start[1] - cy, start[0] - cx))
    angle = a.rotate + sweep
    angle = (angle + 180.0) % 360.0 - 180.0
    if snap:
        angle = round(angle / SNAP_DEG) * SNAP_DEG
    return dataclasses.replace(a, rotate=float(angle))


def scaled_affine(a: Affine, centre, corner, now, uniform=False) -> Affine:
    """The scale that puts the region's `corner` (as selected) under the pointer, about the pivot."""
    px, py = a.pivot if a.pivot is not None else centre
    cx, cy = _moved_pivot(a, centre)
    r = math.radians(a.rotate)
    vx, vy = now[0] - cx, now[1] - cy
    lx, ly = math.cos(r) * vx + math.sin(r) * vy, -math.sin(r) * vx + math.cos(r) * vy   # undo the turn
    ox, oy = corner[0] - px, corner[1] - py
    if uniform:
        s = (lx * ox + ly * oy) / max(ox * ox + oy * oy, 1e-9)
        sx = sy = s
    else:
        sx = lx / ox if abs(ox) > 1e-6 else a.scale[0]
        sy = ly / oy if abs(oy) > 1e-6 else a.scale[1]
    clamp = lambda v: float(min(max(v, MIN_SCALE), MAX_SCALE))  # noqa: E731
    return dataclasses.replace(a, scale=(clamp(sx), clamp(sy)))


def _moved_pivot(a: Affine, centre):
    px, py = a.pivot if a.pivot is not None else centre
    return px + a.move[0], py + a.move[1]


class RegionOverlay(QWidget):
    """Paints the regions (where each was selected, dashed) and the active one's gizmo and moved outline."""

    def __init__(self, canvas):
        super().__init__(canvas.viewport())
        self.canvas = canvas
        self.regions: list = []        # (mask, affine shown, centre, moved outline paths, box corners) per region
        self.active = -1
        self.rubber = None             # ('rect', p0, p1) | ('lasso', [points]) while selecting
        self.visible_tool = False
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setGeometry(canvas.viewport().rect())
        self.show()

    def gizmo(self):
        """(corners [4, 2], pivot (x, y), ring radius in image px) of the active region, or None."""
        if not 0 <= self.active < len(self.regions):
            return None
        mask, affine, centre, _paths, corners0 = self.regions[self.active]
        corners = affine.apply(corners0, centre)
        pivot = _moved_pivot(affine, centre)
        reach = max(math.dist(pivot, c) for c in corners)
        return corners, pivot, reach + RING_PX / max(self.canvas.zoom, 1e-6)

    def poly(self, pts) -> QPolygonF:
        return QPolygonF([self.canvas.image_to_widget(float(x), float(y)) for x, y in pts])

    def paintEvent(self, event):
        if not self.canvas.has_image() or not (self.regions or self.rubber):
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for k, (mask, affine, centre, paths, _c) in enumerate(self.regions):
            active = k == self.active and self.visible_tool
            for poly in paths:
                path = QPainterPath()
                path.addPolygon(self.poly(poly))
                path.closeSubpath()
                p.setBrush(QBrush(QColor(80, 230, 140, 50 if active else 25)))
                p.setPen(QPen(QColor(0, 0, 0, 190), 3.0))
                p.drawPath(path)
                p.setPen(QPen(GIZMO_COLOUR, 1.6 if active else 1.0, Qt.PenStyle.DashLine))
                p.drawPath(path)
        g = self.gizmo() if self.visible_tool else None
        if g is not None:
            corners, pivot, ring = g
            box = self.poly(corners)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(QColor(0, 0, 0, 170), 3.0))
            p.drawPolygon(box)
            p.setPen(QPen(QColor(255, 255, 255), 1.4))
            p.drawPolygon(box)
            c = self.canvas.image_to_widget(*pivot)
            rr = ring * self.canvas.zoom
            for pen in (QPen(QColor(0, 0, 0, 150), 3.0), QPen(GIZMO_COLOUR, 1.4, Qt.PenStyle.DotLine)):
                p.setPen(pen)
                p.drawEllipse(c, rr, rr)
            p.setPen(QPen(QColor(255, 255, 255), 1.4))
            p.drawLine(QPointF(c.x() - 5, c.y()), QPointF(c.x() + 5, c.y()))
            p.drawLine(QPointF(c.x(), c.y() - 5), QPointF(c.x(), c.y() + 5))
            p.setPen(QPen(QColor(0, 0, 0, 200), 1.2))
            p.setBrush(QBrush(QColor(255, 255, 255)))
            for q in box:
                p.drawRect(int(q.x() - CORNER_PX), int(q.y() - CORNER_PX), int(2 * CORNER_PX), int(2 * CORNER_PX))
        if self.rubber is not None:
            p.setBrush(QBrush(QColor(255, 255, 255, 30)))
            p.setPen(QPen(QColor(255, 255, 255), 1.2, Qt.PenStyle.DashLine))
            if self.rubber[0] == "rect":
                (x0, y0), (x1, y1) = self.rubber[1], self.rubber[2]
                p.drawPolygon(self.poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]))
            elif len(self.rubber[1]) > 1:
                p.drawPolyline(self.poly(self.rubber[1]))
        p.end()


class RegionTool(QObject):
    """The tool's controller: reads regions from the document's session, writes them back as edits."""
    changed = Signal()     # the live pairs (targets as the gizmo now places them) changed

    def __init__(self, doc, canvas, cancel_action, status, parent=None):
        """cancel_action: Esc (drops the gizmo drag); status(text[, ms]): a note in the status bar."""
        super().__init__(parent)
        self.doc, self.canvas, self.status = doc, canvas, status
        self.overlay = RegionOverlay(self.canvas)
        self.active = -1
        self.drag = None               # what a press started: select / move / scale / rotate
        self.live = None               # Affine of the active region while its gizmo is dragged
        self.on = False
        self.doc.pairsChanged.connect(self.sync)
        self.doc.modelChanged.connect(self.sync)
        cancel_action.triggered.connect(self.cancel)
        self._filter = _RegionFilter(self)
        self.canvas.viewport().installEventFilter(self._filter)

    # ----- state ---------------------------------------------------------------------------
    @property
    def regions(self) -> list:
        s = self.doc.session
        return [] if s is None else list(s.regions)

    def set_active(self, on):
        """The tool is chosen (Drag › Region, R) or another tool is."""
        self.on = bool(on)
        if on:
            self.canvas.set_tool("region")
            self.canvas.viewport().setCursor(Qt.CursorShape.CrossCursor)
            self.status("Region: drag a rectangle (Alt+drag: a lasso) or Shift+click a part; then drag "
                          "inside to move, a corner to scale, the ring to rotate (Shift: uniform / 15°).", 0)
        self.drag, self.live = None, None
        self.sync()

    def sync(self):
        """Show the session's regions (the active one with its live map while dragged)."""
        regions = self.regions
        if not regions:
            self.active = -1
        elif not 0 <= self.active < len(regions):
            self.active = len(regions) - 1
        shown = []
        for k, r in enumerate(regions):
            affine = self.live if (k == self.active and self.live is not None) else r.affine
            shown.append((r.mask, affine, r.centre, outline_paths(r.moved_mask(affine)), box_corners(r.mask)))
        self.overlay.regions = shown
        self.overlay.active = self.active
        self.overlay.visible_tool = self.on
        self.overlay.update()
        self.changed.emit()

    def live_pairs(self) -> list:
        """The session's pairs with the active region's targets where the gizmo now puts them."""
        s = self.doc.session
        if s is None:
            return []
        pairs = [(p.handle, p.target) for p in list(s.pairs)]
        if self.live is None or not 0 <= self.active < len(s.regions):
            return pairs
        r = s.regions[self.active]
        index = {id(p): i for i, p in enumerate(s.pairs)}
        for pair, t in zip(r.pairs, r.targets(self.live)):
            i = index.get(id(pair))
            if i is not None:
                pairs[i] = (pairs[i][0], (float(t[0]), float(t[1])))
        return pairs

    def live_regions(self) -> list:
        """The session's regions, the active one with the gizmo's live map (copies; for the preview)."""
        out = []
        for k, r in enumerate(self.regions):
            live = self.live if (k == self.active and self.live is not None) else r.affine
            out.append(dataclasses.replace(r, affine=live, pairs=[]))
        return out

    # ----- selecting -----------------------------------------------------------------------
    def add_region(self, mask, text="Select region") -> bool:
        s = self.doc.session
        if s is None:
            return False
        if self.doc.running:   # sampling handles renders features: the run owns the generator now
            self.status("Stop the run (Space) to select another region; its gizmo can be moved meanwhile.")
            return False
        ok = self.doc.edit(text, lambda: s.add_region(mask, Affine()))
        if ok:
            self.active = len(s.regions) - 1
            self.sync()
            self.status(f"Region of {int(np.count_nonzero(mask))} px with {len(s.regions[-1].handles)} "
                          "handles: drag inside to move it, a corner to scale, the ring to rotate; Space starts.")
        return ok

    def select_rect(self, p0, p1) -> bool:
        s = self.doc.session
        if s is None:
            return False
        try:
            # from the pixel under the press to the pixel under the release, both included
            mask = rect_mask((round(p0[0]), round(p0[1]), round(p1[0]), round(p1[1])), s.size)
        except DragEditError as exc:
            self.status(str(exc))
            return False
        return self.add_region(mask)

    def select_lasso(self, points) -> bool:
        s = self.doc.session
        if s is None or len(points) < 3:
            return False
        mask = polygon_mask(points, s.size)
        if not mask.any():
            self.status("The lasso encloses no pixel: draw around the region.")
            return False
        return self.add_region(mask, "Select region (lasso)")

    def select_part(self, x, y) -> bool:
        """Shift+click: the part under the cursor (the same selection as the mask tool's) is the region."""
        s = self.doc.session
        if s is None or self.doc.running:
            return False
        from ..edit.part_mask import PartSelection
        try:
            mask = PartSelection(s.features(), (x, y), s.size).region()
        except DragEditError as exc:
            self.status(str(exc))
            return False
        return self.add_region(mask, "Select part as region")

    # ----- the gizmo -------------------------------------------------------------------------
    def set_affine(self, affine, text="Transform region") -> bool:
        """One undoable edit: the active region's map (its targets follow)."""
        s = self.doc.session
        if s is None or not 0 <= self.active < len(s.regions):
            return False
        i = self.active
        ok = self.doc.edit(text, lambda: s.set_region_affine(i, affine))
        self.live = None
        self.sync()
        return ok

    def hit(self, pos):
        """What a press at widget pos grabs: ('corner', k) | ('inside',) | ('ring',) | None."""
        g = self.overlay.gizmo()
        if g is None:
            return None
        corners, pivot, ring = g
        for k, c in enumerate(corners):
            q = self.canvas.image_to_widget(*c)
            if abs(q.x() - pos.x()) <= CORNER_PX + 3 and abs(q.y() - pos.y()) <= CORNER_PX + 3:
                return ("corner", k)
        if self.overlay.poly(corners).containsPoint(pos, Qt.FillRule.OddEvenFill):
            return ("inside",)
        c = self.canvas.image_to_widget(*pivot)
        if abs(math.hypot(pos.x() - c.x(), pos.y() - c.y()) - ring * self.canvas.zoom) <= RING_BAND_PX \
                or math.hypot(pos.x() - c.x(), pos.y() - c.y()) < ring * self.canvas.zoom:
            return ("ring",)
        return None

    def _region_under(self, pos) -> int:
        """Index of a non-active region whose moved box holds pos, or -1."""
        x, y = self.canvas.widget_to_image(pos)
        for k, r in enumerate(self.regions):
            if k != self.active and r.moved_mask()[int(min(max(round(y), 0), r.mask.shape[0] - 1)),
                                                    int(min(max(round(x), 0), r.mask.shape[1] - 1))]:
                return k
        return -1

    def press(self, pos, shift, alt) -> bool:
        s = self.doc.session
        if s is None:
            return False
        x, y = self.canvas.widget_to_image(pos)
        if shift and self.hit(pos) is None:
            if self.canvas.inside_image(x, y):
                self.select_part(*self.canvas.clamp_point(x, y))
            return True
        other = self._region_under(pos)
        grab = self.hit(pos)
        if grab is None and other >= 0:
            self.active = other
            self.sync()
            grab = ("inside",)
        if grab is not None:
            r = s.regions[self.active]
            kind = grab[0]
            self.drag = dict(kind={"corner": "scale", "inside": "move", "ring": "rotate"}[kind], start=(x, y),
                             affine=r.affine, centre=r.centre,
                             corner=box_corners(r.mask)[grab[1]] if kind == "corner" else None)
            return True
        if self.canvas.inside_image(x, y):
            self.drag = dict(kind="lasso" if alt else "select", start=(x, y), points=[(x, y)])
            self.overlay.rubber = ("lasso", [(x, y)]) if alt else ("rect", (x, y), (x, y))
            self.overlay.update()
        return True

    def move(self, pos, shift):
        d = self.drag
        if d is None:
            return
        x, y = self.canvas.widget_to_image(pos)
        if d["kind"] == "select":
            self.overlay.rubber = ("rect", d["start"], self.canvas.clamp_point(x, y))
        elif d["kind"] == "lasso":
            d["points"].append(self.canvas.clamp_point(x, y))
            self.overlay.rubber = ("lasso", list(d["points"]))
        else:
            self.live = self._dragged(d, (x, y), shift)
            self.sync()
            self.canvas.set_pairs(self.live_pairs())   # the arrows follow the gizmo
            return
        self.overlay.update()

    def _dragged(self, d, now, shift) -> Affine:
        a, start = d["affine"], d["start"]
        if d["kind"] == "move":
            return moved_affine(a, now[0] - start[0], now[1] - start[1])
        if d["kind"] == "rotate":
            return rotated_affine(a, d["centre"], start, now, snap=shift)
        return scaled_affine(a, d["centre"], d["corner"], now, uniform=shift)

    def release(self, pos, shift):
        d, self.drag = self.drag, None
        if d is None:
            return
        x, y = self.canvas.widget_to_image(pos)
        self.overlay.rubber = None
        if d["kind"] == "select":
            p1 = self.canvas.clamp_point(x, y)
            zoom = self.canvas.zoom
            if max(abs(p1[0] - d["start"][0]), abs(p1[1] - d["start"][1])) * zoom >= MIN_RECT_PX:
                self.select_rect(d["start"], p1)
            self.overlay.update()
        elif d["kind"] == "lasso":
            self.select_lasso(d["points"])
            self.overlay.update()
        else:
            new = self._dragged(d, (x, y), shift)
            text = {"move": "Move region", "rotate": "Rotate region", "scale": "Scale region"}[d["kind"]]
            if new == d["affine"] or not self.set_affine(new, text):
                self.live = None
                self.sync()
                self.canvas.set_pairs(self.doc.pairs())

    def cancel(self):
        """Esc: drop a selection or gizmo drag in progress."""
        if self.drag is None:
            return
        self.drag, self.live, self.overlay.rubber = None, None, None
        self.sync()
        self.canvas.set_pairs(self.doc.pairs())


class _RegionFilter(QObject):
    """Takes the viewport's mouse events while the Region tool is on (panning is left to the canvas)."""

    def __init__(self, tool: RegionTool):
        super().__init__(tool)
        self.t = tool

    def eventFilter(self, obj, event):
        t, kind = self.t, event.type()
        if kind == QEvent.Type.Resize:
            t.overlay.setGeometry(t.canvas.viewport().rect())
            return False
        if not t.on or not t.canvas.has_image():
            return False
        if kind == QEvent.Type.MouseButtonPress:
            if t.canvas.space_held or event.button() != Qt.MouseButton.LeftButton:
                if event.button() == Qt.MouseButton.RightButton:
                    t.cancel()
                    return True
                return False
            mods = event.modifiers()
            return t.press(event.position(), bool(mods & Qt.KeyboardModifier.ShiftModifier),
                           bool(mods & Qt.KeyboardModifier.AltModifier))
        if kind == QEvent.Type.MouseMove and t.drag is not None:
            t.move(event.position(), bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier))
            return True
        if kind == QEvent.Type.MouseButtonRelease and t.drag is not None \
                and event.button() == Qt.MouseButton.LeftButton:
            t.release(event.position(), bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier))
            return True
        return False
