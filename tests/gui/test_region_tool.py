"""The Region tool (R) as a user drives it: select a region by a rectangle, a lasso or Shift+click on a
part; move, rotate and scale it with the gizmo; undo, redo; save and reopen a session holding it."""
import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from dragedit.edit.region import rect_mask
from gui_helpers import wpos
from region_helpers import LEFT, NONE, SHOTS, press_drag, px, region_tool, select_box

def test_the_region_tool_has_key_r_and_shares_the_tool_group(win):
    a = win.actions_["region_tool"]
    assert a.shortcut().toString() == "R" and a.isCheckable()
    region_tool(win)
    assert a.isChecked() and not win.actions_["points_tool"].isChecked()
    win.actions_["points_tool"].trigger()
    assert not a.isChecked() and win.canvas.tool == "points" and not win.region_tool.on


def test_a_rectangle_drag_selects_a_region_with_handles_inside(win):
    region_tool(win)
    r = select_box(win)
    assert np.array_equal(r.mask, rect_mask((12, 14, 32, 30), win.session.size))
    assert len(r.handles) >= 16 and all(r.mask[int(round(y)), int(round(x))] for x, y in r.handles)
    assert len(win.session.pairs) == len(r.handles)   # one pair per handle, targets on the handles
    assert win.doc.undo_stack.undoText() == "Select region"
    assert win.region_tool.overlay.gizmo() is not None
    press_drag(win, [(22, 22), (22, 26)])
    text = win.status_view.dist.text()          # 16-32 pairs: one summary, not a figure per pair
    assert text.startswith(f"{len(win.session.pairs)} pairs: distance up to") and len(text) < 60, text


def test_a_lasso_selects_the_pixels_inside_it(win):
    region_tool(win)
    press_drag(win, [(10, 10), (40, 10), (25, 40), (10, 10)], Qt.KeyboardModifier.AltModifier)
    r = win.session.regions[0]
    assert r.mask[20, 25] and not r.mask[5, 5] and not r.mask[35, 12]
    assert win.doc.undo_stack.undoText() == "Select region (lasso)"


def test_shift_click_makes_the_part_under_the_cursor_the_region(win):
    from dragedit.edit.part_mask import PartSelection
    region_tool(win)
    QTest.mouseClick(win.canvas.viewport(), LEFT, Qt.KeyboardModifier.ShiftModifier, wpos(win, 30, 30))
    r = win.session.regions[0]
    x, y = win.canvas.widget_to_image(wpos(win, 30, 30))
    expected = PartSelection(win.session.features(), (x, y), win.session.size).region()
    assert np.array_equal(r.mask, expected)


def test_dragging_inside_moves_the_region_in_one_undoable_step(win):
    tool = region_tool(win)
    r = select_box(win)
    press_drag(win, [(22, 22), (25, 24), (28, 26)])
    dx, dy = r.affine.move
    assert abs(dx - 6) <= px(win) and abs(dy - 4) <= px(win)
    assert np.allclose([t for _h, t in win.doc.pairs()], r.handles + [dx, dy], atol=1e-6)
    assert win.doc.undo_stack.undoText() == "Move region"
    win.undo()
    assert win.session.regions[0].affine.is_identity
    assert np.allclose([t for _h, t in win.doc.pairs()], win.session.regions[0].handles)
    win.redo()
    assert win.session.regions[0].affine.move == (dx, dy)
    assert tool.overlay.regions[0][1].move == (dx, dy)   # the outline shows where it goes


def test_the_ring_rotates_and_shift_snaps_to_15_degrees(win):
    region_tool(win)
    select_box(win)
    corners, (cx, cy), ring = win.region_tool.overlay.gizmo()
    start = (cx + ring, cy)          # on the ring, right of the centre
    below = (cx, cy + ring)          # a quarter turn clockwise on screen
    press_drag(win, [start, (cx + ring * 0.8, cy + ring * 0.6), below])
    assert abs(win.session.regions[0].affine.rotate - 90) < 3
    win.undo()
    near = (cx + ring * math.cos(math.radians(37)), cy + ring * math.sin(math.radians(37)))
    press_drag(win, [start, near], Qt.KeyboardModifier.ShiftModifier)
    assert win.session.regions[0].affine.rotate in (30.0, 45.0)
    assert win.doc.undo_stack.undoText() == "Rotate region"
    t = np.array([t for _h, t in win.doc.pairs()])
    assert np.allclose(t, win.session.regions[0].targets(), atol=1e-6)   # undo made new Region objects


def test_a_corner_scales_about_the_centre_and_shift_keeps_it_uniform(win):
    region_tool(win)
    r = select_box(win, (12, 14, 32, 30))
    corners, (cx, cy), _ring = win.region_tool.overlay.gizmo()
    x1, y1 = corners[2]                       # bottom-right
    press_drag(win, [(x1, y1), (cx + (x1 - cx) * 1.5, cy + (y1 - cy) * 1.2)])
    sx, sy = r.affine.scale
    assert abs(sx - 1.5) < 0.1 and abs(sy - 1.2) < 0.1
    assert win.doc.undo_stack.undoText() == "Scale region"
    win.undo()
    press_drag(win, [(x1, y1), (cx + (x1 - cx) * 1.3, cy + (y1 - cy) * 1.3)], Qt.KeyboardModifier.ShiftModifier)
    sx, sy = win.session.regions[0].affine.scale
    assert sx == sy and abs(sx - 1.3) < 0.1
    moved = win.session.regions[0].moved_mask()
    assert moved.sum() > 1.4 * r.mask.sum()    # the outline of where it goes is the scaled region


def test_the_gizmo_can_be_moved_again_after_a_run(qtbot, win):
    region_tool(win)
    r = select_box(win)
    press_drag(win, [(22, 22), (28, 22)])
    win.panel.steps.setValue(3)
    assert win.runs.start()
    qtbot.waitUntil(lambda: not win.doc.running, timeout=30000)
    press_drag(win, [(28, 22), (28, 26)])
    r = win.session.regions[0]
    assert abs(r.affine.move[0] - 6) <= 2 * px(win) and abs(r.affine.move[1] - 4) <= 2 * px(win)
    assert np.allclose([t for _h, t in win.doc.pairs()], r.targets(), atol=1e-6)


def test_a_session_holding_a_region_saves_and_reopens(win, tmp_path):
    region_tool(win)
    select_box(win)
    press_drag(win, [(22, 22), (27, 25)])
    corners, (cx, cy), ring = win.region_tool.overlay.gizmo()
    press_drag(win, [(cx + ring, cy), (cx + ring * 0.9, cy + ring * 0.4)])
    saved = win.session.regions[0]
    affine, handles, mask = saved.affine, saved.handles.copy(), saved.mask.copy()
    path = tmp_path / "region.json"
    assert win.sessions.save(str(path))
    win.points.reset()
    assert not win.session.regions
    assert win.sessions.open(str(path))
    back = win.session.regions[0]
    assert back.affine == affine and np.allclose(back.handles, handles) and np.array_equal(back.mask, mask)
    assert np.allclose([t for _h, t in win.doc.pairs()], back.targets(), atol=1e-4)
    assert win.region_tool.overlay.gizmo() is not None


def test_screenshot_of_the_gizmo(win):
    """The gizmo after a move, a turn and a uniform scale: the box, its corners, the ring and the outline."""
    import os
    region_tool(win)
    select_box(win, (14, 30, 40, 46))
    press_drag(win, [(27, 38), (29, 34)])
    corners, (cx, cy), ring = win.region_tool.overlay.gizmo()
    press_drag(win, [(cx + ring, cy), (cx + ring * 0.94, cy + ring * 0.34)])
    corners, (cx, cy), ring = win.region_tool.overlay.gizmo()
    press_drag(win, [tuple(corners[2]), (cx + (corners[2][0] - cx) * 1.2, cy + (corners[2][1] - cy) * 1.2)],
               Qt.KeyboardModifier.ShiftModifier)
    a = win.session.regions[0].affine
    assert a.move != (0.0, 0.0) and a.rotate != 0 and a.scale[0] == a.scale[1] > 1
    os.makedirs(SHOTS, exist_ok=True)
    assert win.grab().save(f"{SHOTS}/gizmo.png")


def test_random_region_gestures_never_raise(qtbot, win):
    """Drags, Shift/Alt drags, clicks, R/W/Space/Esc/undo/redo in random order, with the warp preview and
    auto region on: no exception, and every region's pairs stay the session's own."""
    import random
    from PySide6.QtCore import QPoint
    rng = random.Random(24)
    win.panel.steps.setValue(3)
    win.actions_["warp_preview"].trigger()
    win.actions_["auto_region"].trigger()
    region_tool(win)
    vp = win.canvas.viewport()
    K = Qt.Key
    mods = [NONE, NONE, Qt.KeyboardModifier.ShiftModifier, Qt.KeyboardModifier.AltModifier]
    for _ in range(120):
        kind = rng.choice(["drag"] * 6 + ["click", "key", "undo", "redo"])
        if kind in ("drag", "click"):
            a = QPoint(rng.randrange(0, vp.width()), rng.randrange(0, vp.height()))
            b = QPoint(rng.randrange(0, vp.width()), rng.randrange(0, vp.height())) if kind == "drag" else a
            m = rng.choice(mods)
            QTest.mousePress(vp, LEFT, m, a)
            QTest.mouseMove(vp, b)
            QTest.mouseRelease(vp, LEFT, m, b)
        elif kind == "key":
            QTest.keyClick(win, rng.choice([K.Key_R, K.Key_W, K.Key_Space, K.Key_Escape, K.Key_P]))
        else:
            win.actions_[kind].trigger()
        qtbot.wait(1)
        owned = {id(p) for p in win.session.pairs}
        assert all(id(p) in owned for r in win.session.regions for p in r.pairs)
    win.runs.stop(wait=True)
