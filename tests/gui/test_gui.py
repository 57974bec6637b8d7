"""The desktop app, driven like a user (pytest-qt, offscreen): points, runs, Stop, mask, undo, export,
bad files, settings, and a random sequence of UI actions. A small random generator keeps it fast;
a random generator does not really move content, so these tests check that runs happen and that
handles and frames update, not that handles reach their targets."""
import math
import os
import random
import time

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

import torch
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from gui_helpers import (add_pair, click, make_window, photo_of, run_a_few, wait_run_end, wpos)



# --------------------------------------------------------------------------- points and coordinates

def test_click_creates_pair_at_image_coordinates(win):
    w, c = win, win.canvas
    for zoom in (None, 3.0, 20.0):
        w.points.reset()
        if zoom is None:
            c.fit_to_window()
        else:
            c.set_zoom(zoom)
            if zoom == 20.0:  # larger than the view: scrolled, so the offset is not centred
                c.horizontalScrollBar().setValue(c.horizontalScrollBar().maximum() // 3)
                c.verticalScrollBar().setValue(c.verticalScrollBar().maximum() // 2)
                h, t = c.widget_to_image(QPointF(300, 250)), c.widget_to_image(QPointF(420, 330))
            else:
                h, t = (10.0, 12.0), (40.0, 30.0)
        if zoom is None:
            h, t = (10.0, 12.0), (40.0, 30.0)
        assert c.zoom != 1
        ph, pt = wpos(w, *h), wpos(w, *t)
        QTest.mouseClick(c.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, ph)
        assert w.points.pending is not None and not w.session.pairs
        QTest.mouseClick(c.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pt)
        assert len(w.session.pairs) == 1
        pair = w.session.pairs[0]
        # exactly the image point of the clicked widget pixel, and within half a screen pixel of the aim
        assert pair.handle == pytest.approx(c.widget_to_image(QPointF(ph)), abs=1e-9)
        assert pair.target == pytest.approx(c.widget_to_image(QPointF(pt)), abs=1e-9)
        tol = 0.5 / c.zoom + 1e-9
        assert abs(pair.handle[0] - h[0]) <= tol and abs(pair.handle[1] - h[1]) <= tol
        assert abs(pair.target[0] - t[0]) <= tol and abs(pair.target[1] - t[1]) <= tol
        # the mapping is an exact round trip
        q = c.image_to_widget(*pair.handle)
        assert c.widget_to_image(q) == pytest.approx(pair.handle, abs=1e-9)
    # the list shows the pair with its distance
    assert w.panel.points.model().rowCount() == 1
    assert w.panel.points.model().index(0, 3).data().endswith("px")


def test_wheel_zoom_keeps_the_point_under_the_cursor_and_pans(win):
    c = win.canvas
    c.fit_to_window()
    anchor = QPointF(c.viewport().width() * 0.3, c.viewport().height() * 0.6)
    before = c.widget_to_image(anchor)
    bound = 1e-9
    for _ in range(6):
        ev = QWheelEvent(anchor, c.viewport().mapToGlobal(anchor), QPoint(0, 0), QPoint(0, 120),
                         Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(c.viewport(), ev)
        bound += 0.5 / c.zoom  # scroll bars hold whole screen pixels
    assert c.zoom > 20
    after = c.widget_to_image(anchor)
    assert after == pytest.approx(before, abs=bound)
    # middle-button drag pans through the scroll bars
    hv = c.horizontalScrollBar().value()
    QTest.mousePress(c.viewport(), Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(400, 300))
    QTest.mouseMove(c.viewport(), QPoint(300, 300))
    QTest.mouseRelease(c.viewport(), Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(300, 300))
    assert c.horizontalScrollBar().value() == hv + 100
    # Space + drag pans too, and does not start a run
    hv = c.horizontalScrollBar().value()
    QTest.keyPress(win, Qt.Key.Key_Space)
    QTest.mousePress(c.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(400, 300))
    QTest.mouseMove(c.viewport(), QPoint(350, 300))
    QTest.mouseRelease(c.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(350, 300))
    QTest.keyRelease(win, Qt.Key.Key_Space)
    assert c.horizontalScrollBar().value() == hv + 50
    assert not win.doc.running and not win.session.pairs and win.points.pending is None
    win.actions_["fit"].trigger()
    assert c.horizontalScrollBar().maximum() == 0


def test_right_click_and_delete_remove_pairs(win):
    add_pair(win, (10, 10), (20, 20))
    add_pair(win, (40, 40), (50, 30))
    assert len(win.session.pairs) == 2
    click(win, 20, 20, Qt.MouseButton.RightButton)  # right-click the first target
    assert len(win.session.pairs) == 1
    assert win.session.pairs[0].handle == pytest.approx(win.canvas.pairs[0][0])
    win.canvas.setFocus()
    QTest.keyClick(win, Qt.Key.Key_Delete)
    assert not win.session.pairs
    win.undo()
    assert len(win.session.pairs) == 1


# --------------------------------------------------------------------------- runs

def test_start_refused_without_a_complete_pair(win):
    # issue 16: no modal dialog; the status bar says why and the Points list lights up
    QTest.keyClick(win, Qt.Key.Key_Space)
    assert not win.doc.running
    assert not win.messages
    assert "complete pair" in win.statusBar().currentMessage()
    assert win.panel.flashing      # the Points list lights up
    click(win, 10, 10)  # a handle without its target is still not a pair
    win.actions_["start_stop"].trigger()
    assert not win.doc.running and "needs its target" in win.statusBar().currentMessage()
    assert not win.messages


def test_start_updates_canvas_and_stop_answers_within_one_iteration(qtbot, win):
    w = win
    add_pair(w, (20, 20), (40, 30))
    w.panel.steps.setValue(5000)
    w.panel.stop_distance.setValue(0.1)
    first = w.doc.frame.copy()
    start_handle = w.session.pairs[0].handle
    QTest.keyClick(w, Qt.Key.Key_Space)  # Space starts
    assert w.doc.running
    sv = w.status_view
    qtbot.waitUntil(lambda: sv.last_progress is not None and sv.last_progress[0].iteration >= 4, timeout=20000)
    assert not np.array_equal(w.doc.frame, first), "the picture follows the run"
    assert w.status_view.iteration.text().startswith("iteration") and "it/s" in w.status_view.rate.text()
    assert "loss" in w.status_view.loss.text() and "px" in w.status_view.dist.text()
    at_stop = w.session.iteration
    t0 = time.perf_counter()
    QTest.keyClick(w, Qt.Key.Key_Space)  # Space stops
    wait_run_end(qtbot, w)
    latency = time.perf_counter() - t0
    assert w.session.iteration <= at_stop + 1
    assert "Stopped" in w.statusBar().currentMessage()
    # what is on screen is the latent that is kept
    assert np.array_equal(w.doc.frame, w.session.render())
    assert len(w.doc.timeline) == w.session.iteration and w.timeline_slider.isEnabled()  # start + one per step
    # the canvas and the list show the session's tracked handles
    assert w.session.pairs[0].handle != start_handle
    assert w.canvas.pairs[0][0] == pytest.approx(w.session.pairs[0].handle, abs=1e-9)
    assert w.panel.points.model().index(0, 1).data() == "{:.1f}, {:.1f}".format(*w.session.pairs[0].handle)
    print(f"\nstop latency {latency * 1000:.0f} ms ({w.session.iteration - at_stop} iteration(s) after Stop)")


def test_dragging_points_during_a_run_is_honoured(qtbot, win):
    w, c = win, win.canvas
    add_pair(w, (20, 20), (44, 40))
    w.panel.steps.setValue(5000)
    w.panel.stop_distance.setValue(0.1)
    w.runs.start()
    qtbot.waitUntil(lambda: w.session.iteration >= 2, timeout=20000)
    # move the target while the optimisation runs
    target = w.session.pairs[0].target
    QTest.mousePress(c.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, wpos(w, *target))
    new_target = (50.0, 12.0)
    QTest.mouseMove(c.viewport(), wpos(w, 47, 20))
    QTest.mouseMove(c.viewport(), wpos(w, *new_target))
    QTest.mouseRelease(c.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, wpos(w, *new_target))
    tol = 0.5 / c.zoom + 1e-6
    assert w.session.pairs[0].target == pytest.approx(new_target, abs=tol)
    it = w.session.iteration
    qtbot.waitUntil(lambda: w.status_view.last_progress[0].iteration >= it + 2, timeout=20000)
    progress = w.status_view.last_progress[0]
    assert progress.targets[0] == pytest.approx(new_target, abs=tol), "the run uses the new target"
    # move the handle: tracking continues from where the user put it
    handle = w.session.pairs[0].handle
    new_handle = (8.0, 54.0)
    QTest.mousePress(c.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, wpos(w, *handle))
    QTest.mouseMove(c.viewport(), wpos(w, *new_handle))
    QTest.mouseRelease(c.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, wpos(w, *new_handle))
    it = w.session.iteration
    qtbot.waitUntil(lambda: w.status_view.last_progress[0].iteration >= it + 3, timeout=20000)
    r2 = w.session.options()["r2"]
    h = w.session.pairs[0].handle
    assert math.dist(h, new_handle) <= 3 * r2 + 1, "the user's handle won over tracking"
    assert math.dist(h, handle) > 10
    w.runs.stop(wait=True)
    assert not w.doc.running
    # the whole run (with the edits made during it) is one undo step
    w.undo()
    assert w.session.pairs[0].target == pytest.approx((44, 40), abs=0.5)


def test_start_with_every_handle_already_at_its_target_says_so_and_changes_nothing(qtbot, win):
    add_pair(win, (20, 20), (24, 23))
    win.panel.stop_distance.setValue(10.0)
    ws, entries = win.session.ws.clone(), len(win.doc.undo_stack)
    assert not win.runs.start()
    assert not win.doc.running and "already within 10 px" in win.statusBar().currentMessage()
    assert torch.equal(win.session.ws, ws) and len(win.doc.undo_stack) == entries and win.doc.timeline == []
    QTest.keyClick(win.canvas, Qt.Key.Key_Space)        # Space again: still nothing to do
    assert not win.doc.running and win.session.iteration == 0 and win.status_view.iteration.text() == ""


def test_errors_in_the_worker_become_messages(qtbot, win, monkeypatch):
    add_pair(win, (20, 20), (44, 40))

    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(win.session, "step", broken)
    win.runs.start()
    wait_run_end(qtbot, win)
    assert "boom" in win.messages[-1][2]
    monkeypatch.undo()
    win.panel.steps.setValue(2)
    assert win.runs.start()  # and the next run works
    wait_run_end(qtbot, win)
    assert win.session.iteration >= 1


def test_worker_never_queues_frames(qtbot, win):
    """A GUI that is busy for a while gets one notification, not one per iteration."""
    w = win
    add_pair(w, (20, 20), (44, 40))
    w.panel.steps.setValue(5000)
    w.panel.stop_distance.setValue(0.1)
    got = []
    w.doc.worker.frameReady.connect(lambda: got.append(1))
    w.runs.start()
    qtbot.waitUntil(lambda: w.session.iteration >= 2, timeout=20000)
    it0 = w.session.iteration
    got.clear()
    time.sleep(1.0)  # the GUI thread is blocked; the worker keeps going
    it1 = w.session.iteration
    QApplication.processEvents()
    assert it1 - it0 >= 3
    assert len(got) <= 2, f"{len(got)} notifications for {it1 - it0} iterations"
    w.runs.stop(wait=True)


def test_closing_during_a_run_stops_cleanly(qtbot, settings, messages, gen_path):
    w = make_window(qtbot, settings, gen_path)
    add_pair(w, (20, 20), (44, 40))
    w.panel.steps.setValue(5000)
    w.panel.stop_distance.setValue(0.1)
    w.runs.start()
    qtbot.waitUntil(lambda: w.session.iteration >= 1, timeout=20000)
    t0 = time.perf_counter()
    w.close()
    assert time.perf_counter() - t0 < 10
    assert not w.doc.worker.isRunning()
    assert not w.doc.running
    # what was being edited was saved for File > Recover last session
    assert (settings_dir(settings) / "autosave.json").is_file()
    w2 = make_window(qtbot, settings, None)
    w2.actions_["recover_session"].trigger()
    assert w2.session is not None and len(w2.session.pairs) == 1
    assert torch.equal(w2.session.ws, w.session.ws)
    w2.close()


def settings_dir(settings):
    from pathlib import Path
    return Path(settings.fileName()).parent


def test_event_loop_stays_responsive_during_a_run(qtbot, win, capsys):
    w = win
    add_pair(w, (20, 20), (44, 40))
    w.panel.steps.setValue(40)
    w.panel.stop_distance.setValue(0.1)
    gaps, last = [], [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    w.doc.worker.wait_idle()  # after the one-time warm-up of torch's optimiser imports
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    last[0] = time.perf_counter()
    w.runs.start()
    wait_run_end(qtbot, w, timeout=30000)
    timer.stop()
    its = w.status_view.last_progress[0].iteration
    worst = max(gaps) * 1000
    with capsys.disabled():
        print(f"\nevent-loop probe: {len(gaps)} ticks over {its} iterations, worst gap {worst:.0f} ms, "
              f"median {np.median(gaps) * 1000:.0f} ms")
    assert its >= 1 and gaps
    assert worst < 400, f"the window froze for {worst:.0f} ms during the run"  # the run in this thread: ~1 s


# --------------------------------------------------------------------------- mask, undo, timeline

def test_mask_painting_changes_the_session_mask(win):
    w, c = win, win.canvas
    w.actions_["mask_tool"].trigger()
    assert c.tool == "mask"
    QTest.keyClick(w, Qt.Key.Key_BracketRight)
    assert w.panel.brush.value() > 6 and c.brush_radius == w.panel.brush.value()
    QTest.keyClick(w, Qt.Key.Key_BracketLeft)
    QTest.keyClick(w, Qt.Key.Key_BracketLeft)
    w.panel.brush.setValue(4)
    vp = c.viewport()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, wpos(w, 20, 32))
    QTest.mouseMove(vp, wpos(w, 30, 32))
    QTest.mouseMove(vp, wpos(w, 40, 32))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, wpos(w, 40, 32))
    m = w.session.mask
    assert m is not None and m.shape == (64, 64)
    assert m[32, 20] and m[32, 30] and m[32, 40] and not m[5, 5]
    painted = int(m.sum())
    assert w.session.mask_mode == "flexible"
    # right button erases
    QTest.mousePress(vp, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, wpos(w, 30, 32))
    QTest.mouseRelease(vp, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, wpos(w, 30, 32))
    assert not w.session.mask[32, 30] and int(w.session.mask.sum()) < painted
    # the mode goes to the session; undo brings back the stroke
    w.panel.mask_mode.setCurrentIndex(w.panel.mask_mode.findData("fixed"))
    assert w.session.mask_mode == "fixed"
    w.undo()
    w.undo()
    assert int(w.session.mask.sum()) == painted and w.session.mask_mode == "flexible"
    w.actions_["clear_mask"].trigger()
    assert w.session.mask is None and c.mask is None
    w.actions_["points_tool"].trigger()
    assert c.tool == "points"


def test_undo_after_a_run_restores_the_first_image_exactly(qtbot, win):
    w = win
    first = w.doc.frame.copy()
    ws0 = w.session.ws.clone()
    add_pair(w, (20, 20), (44, 40))
    w.panel.steps.setValue(6)
    w.panel.stop_distance.setValue(0.1)
    w.runs.start()
    wait_run_end(qtbot, w)
    final = w.doc.frame.copy()
    assert not np.array_equal(final, first)
    assert "Drag" in w.doc.undo_stack.undoText()
    QTest.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(w.doc.frame, first)
    assert torch.equal(w.session.ws, ws0)
    assert np.array_equal(w.session.render(), first)
    assert w.session.pairs[0].handle == pytest.approx(w.canvas.pairs[0][0])
    QTest.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(w.doc.frame, final)
    # the timeline picks a frame of the run and editing continues from there
    w.timeline_slider.setValue(2)
    entry = w.doc.timeline[2]
    assert torch.equal(w.session.ws, entry["ws"]) and np.array_equal(w.doc.frame, entry["frame"])
    w.timeline_slider.setValue(3)
    w.undo()  # the slider moves merge into one step
    assert np.array_equal(w.doc.frame, final)
    # seed changes are undoable too
    w.panel.seed.setValue(7)
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=10000)
    assert w.session.seed == 7 and not np.array_equal(w.doc.frame, final)
    w.undo()
    assert w.session.seed == 1 and w.panel.seed.value() == 1 and np.array_equal(w.doc.frame, final)


# --------------------------------------------------------------------------- files

def test_export_writes_files_with_the_right_frame_count(qtbot, win, tmp_path):
    import cv2
    w = win
    assert not w.exporter.export(tmp_path / "none.gif")  # nothing to export yet: a message
    assert "no frames" in w.messages[-1][2]
    run_a_few(qtbot, w, steps=5)
    n = len(w.doc.timeline)
    assert n == 5  # one frame per iteration: the start image, then the image after each step
    w.panel.fps.setValue(12)
    w.files.ask_save_path = lambda *a, **k: str(tmp_path / "edit.gif")
    w.actions_["export_gif"].trigger()  # issue 16: an options dialog, then the export runs in the background
    dlg = w.exporter.dialog
    dlg.browse()
    assert dlg.start()
    qtbot.waitUntil(lambda: not w.exporter.busy, timeout=30000)
    with Image.open(tmp_path / "edit.gif") as im:
        assert im.n_frames == n and im.size == (64, 64)
    assert w.exporter.export(tmp_path / "edit.mp4", "mp4")
    qtbot.waitUntil(lambda: not w.exporter.busy, timeout=30000)
    cap = cv2.VideoCapture(str(tmp_path / "edit.mp4"))
    count = 0
    while cap.read()[0]:
        count += 1
    cap.release()
    assert count == n
    w.panel.overlay.setChecked(True)
    assert w.exporter.export(tmp_path / "seq", "png")
    qtbot.waitUntil(lambda: not w.exporter.busy, timeout=30000)
    files = sorted((tmp_path / "seq").glob("*.png"))
    assert len(files) == n
    with Image.open(files[0]) as im:
        assert im.size[0] > 64  # the overlay upscales small frames
    assert w.image_save.save(tmp_path / "img.png")
    w.panel.overlay.setChecked(False)
    assert w.image_save.save(tmp_path / "plain.png")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "plain.png")), w.doc.frame)
    assert not w.image_save.save(tmp_path / "bad.xyz")
    assert "extension" in w.messages[-1][2]


def test_latent_and_session_round_trip(qtbot, win, tmp_path):
    w = win
    run_a_few(qtbot, w, steps=3)
    ws = w.session.ws.clone()
    mask = np.zeros((64, 64), bool)
    mask[10:30, 10:30] = True
    w.session.set_mask(mask, "fixed")
    assert w.sessions.save_latent(tmp_path / "lat.npz")
    assert w.sessions.save(tmp_path / "s.json")
    assert (tmp_path / "s.json").is_file() and (tmp_path / "s.npz").is_file()
    pairs = [(p.handle, p.target) for p in w.session.pairs]
    w.panel.seed.setValue(11)
    w.points.reset()
    w.masks.clear_mask()
    assert not w.session.pairs and not torch.equal(w.session.ws, ws)
    assert w.sessions.open(tmp_path / "s.json")
    assert torch.equal(w.session.ws, ws)
    assert [(p.handle, p.target) for p in w.session.pairs] == pairs
    assert np.array_equal(w.session.mask, mask) and w.session.mask_mode == "fixed"
    assert np.array_equal(w.canvas.mask, mask) and w.panel.mask_mode.currentData() == "fixed"
    assert w.panel.seed.value() == 1
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=10000)
    w.panel.seed.setValue(12)
    assert w.sessions.load_latent(tmp_path / "lat.npz")
    assert torch.equal(w.session.ws, ws)
    # broken files: a message, and nothing changes
    (tmp_path / "junk.json").write_text("{not json")
    assert not w.sessions.open(tmp_path / "junk.json")
    assert "session" in w.messages[-1][2]
    assert not w.sessions.load_latent(tmp_path / "junk.json")
    assert torch.equal(w.session.ws, ws)


def test_bad_model_file_gives_a_message_and_keeps_the_model(qtbot, win, tmp_path):
    w = win
    add_pair(w, (20, 20), (44, 40))
    session, frame = w.session, w.doc.frame.copy()
    bad = tmp_path / "broken.pkl"
    bad.write_bytes(b"\x80\x04this is not a pickle at all")
    w.files.ask_open_path = lambda *a, **k: str(bad)
    w.actions_["open_model"].trigger()
    assert w.messages and str(bad) in w.messages[-1][2]
    assert w.session is session and len(session.pairs) == 1 and np.array_equal(w.doc.frame, frame)
    # an image given as a model (a dropped image opens File > Open image instead)
    png = tmp_path / "face.png"
    Image.fromarray(frame).save(png)
    assert not w.open_model(png)
    assert "PNG image" in w.messages[-1][2] and w.session is session
    assert not w.open_model(tmp_path / "missing.pt")
    assert "not found" in w.messages[-1][2]
    assert w.session is session


def test_a_broken_model_on_the_command_line_leaves_an_empty_canvas_that_says_why(qtbot, settings, messages,
                                                                                  tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x80\x04 not a model")
    w = make_window(qtbot, settings, junk)
    assert w.session is None and len(messages) == 1 and "junk.pt" in messages[0][2]
    assert "No model" in w.canvas.placeholder and messages[0][2] in w.canvas.placeholder


def test_opens_without_the_default_model(qtbot, settings, messages, gen_path, monkeypatch, tmp_path):
    import dragedit.models
    monkeypatch.setattr(dragedit.models, "DEFAULT_GENERATOR", tmp_path / "nope" / "faces128.pt")
    w = make_window(qtbot, settings, "default")
    assert w.session is None
    assert messages and "missing" in messages[-1][2]
    assert "No model" in w.canvas.placeholder
    QTest.keyClick(w, Qt.Key.Key_Space)          # no crash, a message
    click_pos = QPoint(100, 100)
    QTest.mouseClick(w.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, click_pos)
    w.undo()
    assert not w.doc.running
    # a model dropped onto the window opens
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(gen_path))])
    w.dropEvent(QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                           Qt.KeyboardModifier.NoModifier))
    assert w.session is not None
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=10000)
    assert w.model_path.name == "g.pt" and w.panel.model_resolution.text().startswith("64")
    w.close()


def test_fresh_window_drags_with_the_engine_defaults(qtbot, settings, messages, gen_path):
    """Step size "auto" and the default tracker reach the session: the app drags as `dragedit edit` does."""
    from dragedit.edit.drag import DragParams
    from dragedit.edit.drag_defaults import default_lr
    w = make_window(qtbot, settings, gen_path)
    assert w.panel.lr.text() == "auto"
    assert w.session.params.lr is None and w.session.learning_rate() == default_lr(64)
    assert w.session.params.tracker == DragParams.tracker == w.panel.tracker.currentData()
    w.panel.lr.setValue(0.004)
    assert w.session.learning_rate() == pytest.approx(0.004)
    w.close()


def test_settings_and_recent_files_are_remembered(qtbot, settings, messages, gen_path):
    w = make_window(qtbot, settings, gen_path)
    w.panel.lr.setValue(0.005)
    w.panel.steps.setValue(77)
    w.panel.brush.setValue(9)
    w.resize(900, 650)
    w.close()
    w2 = make_window(qtbot, settings, None)
    assert w2.panel.lr.value() == pytest.approx(0.005)
    assert w2.panel.steps.value() == 77 and w2.panel.brush.value() == 9
    assert str(gen_path.resolve()) in w2.recent.paths()
    w2.recent.fill()
    names = [a.text() for a in w2.recent_menu.actions()]
    assert any("g.pt" in n for n in names)
    w2.close()


def test_about_box_names_the_version(win):
    from dragedit import __version__
    box = win.dialogs.show_about()
    assert __version__ in box.text()
    box.close()
    for a in win.actions_.values():  # every shortcut is named in its tooltip
        if not a.shortcut().isEmpty():
            assert "(" in a.toolTip(), a.objectName()
    assert "Space" in win.actions_["start_stop"].toolTip()


# --------------------------------------------------------------------------- robustness

def test_random_ui_actions_never_raise(qtbot, win):
    w, c = win, win.canvas
    rng = random.Random(1234)
    w.panel.steps.setValue(8)
    w.panel.stop_distance.setValue(0.1)
    K, NO = Qt.Key, Qt.KeyboardModifier.NoModifier
    CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier
    keys = [(K.Key_Space, NO), (K.Key_Delete, NO), (K.Key_Escape, NO), (K.Key_BracketLeft, NO),
            (K.Key_BracketRight, NO), (K.Key_Z, CTRL), (K.Key_Z, CTRL | SHIFT), (K.Key_M, NO), (K.Key_P, NO),
            (K.Key_H, NO), (K.Key_F, NO), (K.Key_1, NO), (K.Key_Plus, NO), (K.Key_Minus, NO),
            (K.Key_Backspace, CTRL)]
    buttons = [Qt.MouseButton.LeftButton] * 4 + [Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton]
    counts = {}
    for step in range(200):
        kind = rng.choice(["click"] * 5 + ["drag"] * 2 + ["key"] * 4 + ["start", "stop", "undo", "redo", "seed",
                                                                          "wheel", "timeline", "truncation"])
        counts[kind] = counts.get(kind, 0) + 1
        vp = c.viewport()
        if kind == "click":
            pos = QPoint(rng.randrange(0, vp.width()), rng.randrange(0, vp.height()))
            QTest.mouseClick(vp, rng.choice(buttons), Qt.KeyboardModifier.NoModifier, pos)
        elif kind == "drag":
            a = QPoint(rng.randrange(0, vp.width()), rng.randrange(0, vp.height()))
            b = QPoint(rng.randrange(0, vp.width()), rng.randrange(0, vp.height()))
            btn = rng.choice(buttons)
            QTest.mousePress(vp, btn, Qt.KeyboardModifier.NoModifier, a)
            QTest.mouseMove(vp, b)
            QTest.mouseRelease(vp, btn, Qt.KeyboardModifier.NoModifier, b)
        elif kind == "key":
            key, mod = rng.choice(keys)
            QTest.keyClick(w, key, mod)
        elif kind == "start":
            w.actions_["start_stop"].trigger() if not w.doc.running else None
        elif kind == "stop":
            w.runs.stop()
        elif kind == "undo":
            w.actions_["undo"].trigger()
        elif kind == "redo":
            w.actions_["redo"].trigger()
        elif kind == "seed":
            w.panel.seed.setValue(rng.randrange(0, 50))
        elif kind == "truncation":
            w.panel.truncation.setValue(rng.choice([0.5, 0.7, 1.0]))
        elif kind == "wheel":
            pos = QPointF(rng.randrange(0, vp.width()), rng.randrange(0, vp.height()))
            ev = QWheelEvent(pos, vp.mapToGlobal(pos), QPoint(0, 0), QPoint(0, rng.choice([120, -120])),
                             Qt.MouseButton.NoButton, NO, Qt.ScrollPhase.NoScrollPhase, False)
            QApplication.sendEvent(vp, ev)
        elif kind == "timeline" and w.timeline_slider.isEnabled():
            w.timeline_slider.setValue(rng.randrange(0, w.timeline_slider.maximum() + 1))
        qtbot.wait(rng.choice([0, 1, 5, 20]))
    w.runs.stop(wait=True)
    assert not w.doc.running
    # still responsive: a timer fires, a render arrives, a new pair can be added and run
    fired = []
    QTimer.singleShot(0, lambda: fired.append(1))
    qtbot.waitUntil(lambda: bool(fired), timeout=2000)
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=10000)
    w.actions_["points_tool"].trigger()
    w.points.cancel_pending()
    w.points.reset()
    w.canvas.fit_to_window()
    add_pair(w, (10, 10), (30, 30))
    assert len(w.session.pairs) == 1
    w.panel.steps.setValue(2)
    assert w.runs.start()
    wait_run_end(qtbot, w)
    assert w.session.iteration >= 1
    print(f"\nrandom actions: {counts}; runs started {w.doc.runs_started}, undo entries {len(w.doc.undo_stack)}, "
          f"pairs {len(w.session.pairs)}")


def test_screenshot_script(qtbot, gen_path, tmp_path, messages):
    from dragedit.gui.screenshot import take_screenshot
    out = take_screenshot(tmp_path / "shot.png", model=str(gen_path), seed=1, steps=3, size=(900, 600))
    with Image.open(out) as im:
        assert im.size[0] >= 900 and im.size[1] >= 600


# --------------------------------------------------------------------------- File > Open image (inversion)

def run_inversion(qtbot, dlg, **options):
    dlg.set_options(**options)
    assert dlg.start()
    qtbot.waitUntil(lambda: not dlg.running, timeout=60000)


def test_open_image_inverts_and_the_edit_is_undoable(qtbot, win, tmp_path):
    w = win
    add_pair(w, (10, 10), (30, 30))
    ws_before = w.session.ws.clone()
    dlg = w.photos.open(photo_of(tmp_path))
    assert dlg is not None and dlg.photo.shape == (64, 64, 3)
    assert not dlg.photo_view.pixmap().isNull()
    run_inversion(qtbot, dlg, steps=40, pti=False, space="w+")
    assert dlg.result is not None and dlg.edit_button.isEnabled()
    assert "PSNR" in dlg.recon_caption.text() and not dlg.recon_view.pixmap().isNull()
    ws = dlg.result.ws.clone()
    dlg.edit_button.click()
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=10000)
    assert torch.equal(w.session.ws, ws)
    assert w.session.pairs == [] and w.session.mask is None
    assert "photo.png" in w.statusBar().currentMessage()
    w.latent.reset_image()  # the photo is now the image Reset returns to
    assert torch.equal(w.session.ws, ws)
    w.undo()  # undo the reset
    w.undo()  # undo opening the photo: the old latent and its point pair come back
    assert torch.equal(w.session.ws, ws_before) and len(w.session.pairs) == 1


def test_cancelling_an_inversion_changes_nothing(qtbot, win, tmp_path):
    w = win
    ws_before = w.session.ws.clone()
    dlg = w.photos.open(photo_of(tmp_path))
    dlg.set_options(steps=5000, pti=False)
    assert dlg.start()
    assert dlg.cancel_button.text() == "Cancel"
    qtbot.waitUntil(lambda: dlg.progress.value() >= 2, timeout=30000)
    dlg.cancel_button.click()
    qtbot.waitUntil(lambda: not dlg.running, timeout=10000)
    assert dlg.result is None and not dlg.edit_button.isEnabled() and dlg.isVisible()
    assert "Cancelled" in dlg.progress.format()
    dlg.cancel_button.click()  # now "Close"
    assert not dlg.isVisible()
    assert torch.equal(w.session.ws, ws_before)


def test_pivotal_tuning_opens_the_tuned_model_on_the_photo(qtbot, win, tmp_path, settings):
    from dragedit.io.checkpoint import load_generator
    w = win
    dlg = w.photos.open(photo_of(tmp_path, seed=7))
    run_inversion(qtbot, dlg, steps=15, pti=True, pti_steps=15)
    res = dlg.result
    assert res.pti_psnr is not None and res.pti_psnr > res.psnr
    dlg.accept()
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=10000)
    saved = w.model_path
    assert saved.parent.name == "inversions" and saved.suffix == ".pt"
    assert torch.allclose(w.session.ws, res.ws)
    G = load_generator(saved)
    assert torch.equal(G.source_info["extra"]["latent"], res.ws.cpu())


def test_a_bad_image_file_gives_a_message_and_keeps_the_image(qtbot, win, messages, tmp_path):
    w = win
    bad = tmp_path / "notes.png"
    bad.write_text("this is not an image")
    ws_before = w.session.ws.clone()
    assert w.photos.open(bad) is None
    kind, title, text = messages[-1]
    assert title == "Cannot open image" and "notes.png" in text
    assert torch.equal(w.session.ws, ws_before)


def test_dropping_a_photo_opens_the_inversion_dialog(qtbot, win, tmp_path):
    w = win
    path = photo_of(tmp_path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    ev = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                    Qt.KeyboardModifier.NoModifier)
    w.dropEvent(ev)
    assert w.photos.dialog.isVisible() and w.photos.dialog.path == path
    w.photos.dialog.reject()


# --------------------------------------------------------------------------- other model families in the window

def _family_file(kind, tmp_path):
    import foreign_models as fm
    import official_pickles as op
    if kind == "stylegan3":
        return op.write_stylegan3_official_pickle(op.make_stylegan3_generator(resolution=32),
                                                  tmp_path / "stylegan3-t-tiny.pkl")
    G = op.make_generator(resolution=32, channels={4: 32, 8: 16, 16: 16, 32: 8})
    if kind == "tf":
        v, kwargs = fm.tf_variables_from_generator(G)
        return fm.write_tf_pickle(tmp_path / "stylegan2-tiny-config-f.pkl", v, kwargs)
    return fm.write_rosinality(tmp_path / "550000.pt", fm.rosinality_state_dict_from_generator(G),
                               kind="train", size=32)


@pytest.mark.parametrize("kind", ["stylegan3", "tf", "rosinality"])
def test_the_window_opens_and_drags_every_model_family(qtbot, win, tmp_path, kind):
    w = win
    path = _family_file(kind, tmp_path)
    assert w.open_model(path), w.messages[-1:]
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=20000)
    assert w.doc.frame.shape == (32, 32, 3)
    w.canvas.fit_to_window()
    add_pair(w, (10, 12), (16, 12))
    assert len(w.session.pairs) == 1
    w.panel.steps.setValue(2)
    assert w.runs.start()
    wait_run_end(qtbot, w, timeout=60000)
    assert w.session.iteration == 2 and not any(m[0] == "error" for m in w.messages)
