"""What the region, warp-preview and auto-region tests do as a user would: choose the Region tool,
drag a rectangle, drag the gizmo."""
import os
import tempfile

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from gui_helpers import wpos

# Screenshots the region tests write for a person to look at: $DRAGEDIT_SHOTS, else a temporary folder.
SHOTS = os.environ.get("DRAGEDIT_SHOTS") or os.path.join(tempfile.gettempdir(), "dragedit-shots")
NONE = Qt.KeyboardModifier.NoModifier
LEFT = Qt.MouseButton.LeftButton


def press_drag(w, points, mods=NONE):
    """Press at the first image point, move through the others, release at the last."""
    vp = w.canvas.viewport()
    QTest.mousePress(vp, LEFT, mods, wpos(w, *points[0]))
    for p in points[1:]:
        QTest.mouseMove(vp, wpos(w, *p))
    QTest.mouseRelease(vp, LEFT, mods, wpos(w, *points[-1]))


def region_tool(w):
    w.actions_["region_tool"].trigger()
    assert w.canvas.tool == "region"
    return w.region_tool


def select_box(w, box=(12, 14, 32, 30)):
    x0, y0, x1, y1 = box
    press_drag(w, [(x0, y0), ((x0 + x1) / 2, (y0 + y1) / 2), (x1, y1)])
    assert len(w.session.regions) == 1
    return w.session.regions[0]


def px(w):
    """One widget pixel in image pixels (how precisely a mouse position lands)."""
    return 1.0 / w.canvas.zoom
