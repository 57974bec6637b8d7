"""The mask from the canvas and the panel: the Points/Mask tool, brush size, painted strokes, the
mask mode and Clear mask, each stroke or change one undoable edit of the document."""
from __future__ import annotations

from .widget_values import set_combo


class MaskController:
    def __init__(self, doc, canvas, panel, tool_actions, status):
        """tool_actions: (points action, mask action), checked with the tool; status(text)."""
        self.doc, self.canvas, self.panel, self.status = doc, canvas, panel, status
        self.points_action, self.mask_action = tool_actions
        canvas.strokeFinished.connect(self.paint_stroke)
        panel.mask_mode.currentIndexChanged.connect(self.on_mask_mode)
        panel.brush.valueChanged.connect(canvas.set_brush_radius)
        panel.show_mask.toggled.connect(canvas.set_show_mask)
        canvas.set_brush_radius(panel.brush.value())
        doc.maskChanged.connect(self.show_mask)

    def show_mask(self):
        s = self.doc.session
        if s is None:
            return
        self.canvas.set_mask(s.mask)
        set_combo(self.panel.mask_mode, s.mask_mode)
        self.canvas.set_mask_mode(s.mask_mode)

    def set_tool(self, tool):
        self.canvas.set_tool(tool)
        (self.points_action if tool == "points" else self.mask_action).setChecked(True)
        if tool == "mask":
            self.status("Paint the mask: left button paints, right button erases, [ and ] resize the brush.")

    def resize_brush(self, direction):
        v = self.panel.brush.value()
        step = max(1, round(v * 0.2))
        self.panel.brush.setValue(v + direction * step)

    def paint_stroke(self, mask):
        s = self.doc.session
        if s is None:
            return
        mode = self.panel.mask_mode.currentData()
        m = None if mask is None or not mask.any() else mask
        if not self.doc.edit("Paint mask", lambda: s.set_mask(m, mode)):
            self.canvas.set_mask(s.mask)

    def on_mask_mode(self, _i):
        mode = self.panel.mask_mode.currentData()
        self.canvas.set_mask_mode(mode)
        s = self.doc.session
        if s is not None and s.mask_mode != mode:
            self.doc.edit("Mask mode", lambda: s.set_mask(s.mask, mode))

    def clear_mask(self):
        s = self.doc.session
        if s is None or s.mask is None:
            self.canvas.set_mask(None)
            return
        mode = self.panel.mask_mode.currentData()
        self.doc.edit("Clear mask", lambda: s.set_mask(None, mode))
        self.canvas.set_mask(None)
