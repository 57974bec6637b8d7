"""View › Warp preview (W): the canvas shows the image warped by the pairs before a run, computed off
the event loop; turning it off, or a run, shows the generator's image again."""
import os
import time

import numpy as np

from dragedit.edit.warp import Warper, session_fixed_mask
from gui_helpers import add_pair, loop_probe
from region_helpers import SHOTS, press_drag, region_tool, select_box


def canvas_pixels(w) -> np.ndarray:
    img = w.canvas._image.convertToFormat(w.canvas._image.Format.Format_RGB888)
    h, wd = img.height(), img.width()
    arr = np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * h).reshape(h, img.bytesPerLine())
    return arr[:, :3 * wd].reshape(h, wd, 3).copy()


def preview_on(qtbot, w):
    w.actions_["warp_preview"].trigger()
    assert w.actions_["warp_preview"].isChecked() and w.actions_["warp_preview"].shortcut().toString() == "W"
    qtbot.waitUntil(lambda: w.warp_preview.shown is not None, timeout=10000)
    return w.warp_preview


def test_the_preview_shows_the_image_warped_by_the_pairs(qtbot, win):
    frame = win.doc.current_frame().copy()
    add_pair(win, (20, 20), (28, 24))
    preview = preview_on(qtbot, win)
    expected = Warper(frame.shape[:2]).warp(frame, win.doc.pairs(), None)
    assert np.array_equal(preview.shown, expected)
    assert np.array_equal(canvas_pixels(win), expected)
    assert not np.array_equal(canvas_pixels(win), frame)
    (hx, hy), (tx, ty) = win.doc.pairs()[0]
    assert np.abs(expected[int(ty), int(tx)].astype(int) - frame[int(hy), int(hx)].astype(int)).max() <= 2
    win.actions_["warp_preview"].trigger()   # off: the generator's image again
    assert preview.shown is None and np.array_equal(canvas_pixels(win), frame)


def test_the_preview_follows_the_region_gizmo_and_holds_the_rest_fixed(qtbot, win):
    frame = win.doc.current_frame().copy()
    region_tool(win)
    select_box(win, (14, 30, 40, 46))
    preview = win.warp_preview
    win.actions_["warp_preview"].trigger()
    press_drag(win, [(27, 38), (29, 34), (31, 30)])
    qtbot.waitUntil(lambda: preview.shown is not None, timeout=10000)
    fixed = session_fixed_mask(win.session)
    assert fixed is not None and fixed.any()
    assert np.array_equal(preview.shown[fixed], frame[fixed])   # outside the region's flexible area
    assert not np.array_equal(preview.shown, frame)
    os.makedirs(SHOTS, exist_ok=True)
    assert win.grab().save(f"{SHOTS}/warp_preview.png")
    import cv2   # the image before and the preview, side by side and enlarged, without the markers
    pair = np.concatenate([frame, np.full((frame.shape[0], 4, 3), 255, np.uint8), preview.shown], axis=1)
    big = cv2.resize(pair, None, fx=6, fy=6, interpolation=cv2.INTER_NEAREST)
    assert cv2.imwrite(f"{SHOTS}/warp_preview_before_after.png", big[..., ::-1])


def test_a_slow_warp_never_blocks_the_event_loop(qtbot, win, monkeypatch):
    """A warp made 0.4 s slow on purpose: the event loop's longest pause stays far below it."""
    slow_s = 0.4
    original = Warper.warp

    def slow(self, *a, **k):
        time.sleep(slow_s)
        return original(self, *a, **k)

    monkeypatch.setattr(Warper, "warp", slow)
    add_pair(win, (20, 20), (28, 24))
    timer, gaps = loop_probe()
    win.actions_["warp_preview"].trigger()
    for t in ((30, 24), (32, 26), (34, 28)):      # the target dragged on while a warp is in progress
        win.points.move_point(0, "target", *t)
        qtbot.wait(50)
    qtbot.waitUntil(lambda: win.warp_preview.shown is not None, timeout=10000)
    timer.stop()
    assert win.doc.pairs()[0][1] == (34.0, 28.0)
    assert max(gaps) < slow_s * 1000 / 2, max(gaps)
    expected = Warper(win.session.size).warp(win.doc.current_frame(), win.doc.pairs(), None)
    assert np.array_equal(win.warp_preview.shown, expected)     # the newest request won


def test_a_run_replaces_the_preview(qtbot, win):
    add_pair(win, (20, 20), (44, 40))
    preview = preview_on(qtbot, win)
    win.panel.steps.setValue(3)
    assert win.runs.start()
    assert preview.shown is None
    qtbot.waitUntil(lambda: not win.doc.running, timeout=30000)
    qtbot.waitUntil(lambda: preview.wait_idle(0) and preview.shown is not None, timeout=10000)
    expected = Warper(win.session.size).warp(win.doc.current_frame(), win.doc.pairs(), None)
    assert np.array_equal(preview.shown, expected)    # from the run's image, with the handles where they are now
