"""The Semantics panel, suggested points and part masks in the real window (offscreen)."""
import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

import torch
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from dragedit.edit import semantics as S
from dragedit.gui.window import MainWindow
from dragedit.synth import faces, landmarks

LM = faces.LANDMARK_INDEX


pytestmark = pytest.mark.usefixtures("one_thread")   # see conftest.py


@pytest.fixture
def win(face_win):
    return face_win


def wpos(w, x, y):
    p = w.canvas.image_to_widget(x, y)
    return QPoint(round(p.x()), round(p.y()))


def settle(qtbot, w):
    sem = w.semantics
    qtbot.waitUntil(lambda: sem.preview.idle(), timeout=10000)
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=10000)
    QApplication.processEvents()


def drag_slider(qtbot, w, i, amounts):
    """Press, move through the amounts (each a live preview), release: what a hand does."""
    s = w.semantics.panel.sliders[i]
    s.setSliderDown(True)
    for a in amounts:
        s.setValue(int(round(a * 100)))
        qtbot.waitUntil(lambda: w.semantics.preview.idle(), timeout=10000)
        QApplication.processEvents()
    s.setSliderDown(False)
    settle(qtbot, w)


def factor_row(w, name):
    return [d.name for d in w.semantics.panel.directions].index(name)


def test_panel_lists_the_named_factors_with_layer_ranges(win):
    p = win.semantics.panel
    assert [d.name for d in p.directions] == list(faces.FACTOR_NAMES)
    assert all(c.currentData() == "all" for c in p.layers)
    assert win.semantics.dock.isVisible()


def test_slider_previews_live_then_commits_one_undoable_edit_restored_exactly(qtbot, win):
    w = win
    before_frame = w.doc.frame.copy()
    before_ws = w.session.ws.clone()
    n_undo = len(w.doc.undo_stack)
    i = factor_row(w, "mouth_openness")
    drag_slider(qtbot, w, i, [0.5, 1.0, 1.5, 2.0])
    assert len(w.doc.undo_stack) == n_undo + 1                      # one edit for the whole slider move
    assert "Mouth openness +2.0" in w.doc.undo_stack.undoText()
    d = S.find_factor(w.session.G, "mouth_openness")
    assert torch.allclose(w.session.ws, S.apply(w.session.G, before_ws, [(d, 2.0)]), atol=1e-6)
    assert len(w.semantics.preview.timings) >= 4                # it previewed while moving
    lm0, lm1 = landmarks.detect(before_frame), landmarks.detect(w.doc.frame)
    gap = lambda lm: lm[LM["lower_lip"], 1] - lm[LM["upper_lip"], 1]  # noqa: E731
    assert gap(lm1) > gap(lm0) + 0.5
    w.undo()
    settle(qtbot, w)
    assert torch.equal(w.session.ws, before_ws)
    assert np.array_equal(w.doc.frame, before_frame)                 # the image exactly as before
    assert w.semantics.panel.sliders[i].value() == 0             # the sliders tell the truth again
    w.redo()
    settle(qtbot, w)
    assert torch.allclose(w.session.ws, S.apply(w.session.G, before_ws, [(d, 2.0)]), atol=1e-6)


def test_a_drag_after_a_slider_edit_starts_from_it_and_reaches_its_target(qtbot, win):
    w = win
    drag_slider(qtbot, w, factor_row(w, "smile"), [1.0, 1.5])
    edited = w.session.ws.clone()
    nose = landmarks.detect(w.doc.frame)[LM["nose_tip"]]
    QTest.mouseClick(w.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, wpos(w, *nose))
    QTest.mouseClick(w.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     wpos(w, nose[0] + 6, nose[1]))
    assert len(w.session.pairs) == 1
    w.panel.steps.setValue(80)
    assert w.runs.start()
    qtbot.waitUntil(lambda: not w.doc.running, timeout=120000)
    assert w.doc.timeline and torch.equal(w.doc.timeline[0]["ws"], edited)   # the run started at the slider's result
    assert w.status_view.last_progress is not None
    h = w.session.pairs[0].handle
    assert abs(h[0] - (nose[0] + 6)) + abs(h[1] - nose[1]) < 3.0
    smile = w.semantics.panel.sliders[factor_row(w, "smile")]
    qtbot.waitUntil(lambda: smile.value() == 0, timeout=5000)   # relative to the new image (one event later)


def test_reset_and_keyboard_steps_are_undoable(qtbot, win):
    w = win
    start = w.session.ws.clone()
    i = factor_row(w, "yaw")
    s = w.semantics.panel.sliders[i]
    s.setFocus()
    for _ in range(3):
        QTest.keyClick(s, Qt.Key.Key_Right)        # three keyboard steps: one merged edit
    settle(qtbot, w)
    assert w.semantics.panel.amount(i) == pytest.approx(0.3)
    assert not torch.equal(w.session.ws, start)
    w.semantics.panel.reset.click()
    settle(qtbot, w)
    assert torch.equal(w.session.ws, start) and s.value() == 0


def test_suggest_points_shows_named_ghosts_and_a_ghost_becomes_a_handle(qtbot, win):
    w = win
    w.actions_["suggest_points"].trigger()
    ghosts = w.semantics.overlay.ghosts
    assert [g["name"] for g in ghosts] == list(faces.LANDMARK_NAMES)
    lm = landmarks.detect(w.doc.frame)
    assert max(np.hypot(g["x"] - x, g["y"] - y) for g, (x, y) in zip(ghosts, lm)) <= 2.0
    nose = next(g for g in ghosts if g["name"] == "nose_tip")
    vp = w.canvas.viewport()
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, wpos(w, nose["x"], nose["y"]))
    assert w.points.pending == pytest.approx((nose["x"], nose["y"]))
    assert "Handle at Nose tip" in w.statusBar().currentMessage()     # names read as words
    assert "nose_tip" not in [g["name"] for g in w.semantics.overlay.ghosts]
    from PySide6.QtWidgets import QToolTip
    QTest.mouseMove(vp, wpos(w, ghosts[0]["x"], ghosts[0]["y"]))
    assert w.semantics.overlay.hover == 0 and not QToolTip.isVisible()   # no tooltip over the next ghost
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     wpos(w, nose["x"] + 8, nose["y"]))
    assert len(w.session.pairs) == 1
    hx, hy = w.session.pairs[0].handle
    assert abs(hx - nose["x"]) < 0.6 and abs(hy - nose["y"]) < 0.6
    w.actions_["suggest_points"].trigger()
    assert not w.semantics.overlay.ghosts


def _wheel(w, pos, steps):
    vp = w.canvas.viewport()
    ev = QWheelEvent(QPointF(pos), QPointF(vp.mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 120 * steps),
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(vp, ev)


def test_shift_click_selects_a_part_the_wheel_grows_it_and_click_adds_it(qtbot, win):
    w = win
    w.masks.set_tool("mask")
    vp = w.canvas.viewport()
    pupil = landmarks.detect(w.doc.frame)[LM["l_pupil"]]
    pos = wpos(w, *pupil)
    zoom = w.canvas.zoom
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, pos)
    sel = w.semantics.selection
    assert sel is not None and w.session.mask is None            # selecting paints nothing yet
    small = sel.region().sum()
    _wheel(w, pos, +3)
    assert w.canvas.zoom == zoom                                 # the wheel grew the part, it did not zoom
    grown = sel.region()
    assert grown.sum() > small and w.semantics.overlay.part_paths
    n = len(w.doc.undo_stack)
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    assert len(w.doc.undo_stack) == n + 1 and "Add part" in w.doc.undo_stack.undoText()
    assert np.array_equal(w.session.mask, grown) and np.array_equal(w.canvas.mask, grown)
    assert w.semantics.selection is None
    # Alt+click subtracts a smaller part of the same place, as one more stroke
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, pos)
    _wheel(w, pos, -5)
    inner = w.semantics.selection.region()
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier, pos)
    assert np.array_equal(w.session.mask, grown & ~inner)
    w.undo()
    assert np.array_equal(w.session.mask, grown)
    w.undo()
    assert w.session.mask is None


def test_a_model_without_factor_names_gets_sefa_sliders_on_their_layers(qtbot, tmp_path, monkeypatch):
    from dragedit.io.checkpoint import save_generator
    from dragedit.nets.stylegan2 import Generator
    torch.manual_seed(0)
    G = Generator(16, 0, 32, 64, 3, mapping_kwargs=dict(num_layers=2),
                  synthesis_kwargs=dict(channels={4: 32, 8: 32, 16: 32, 32: 16, 64: 16}))
    path = tmp_path / "g.pt"
    save_generator(G, path)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "user"))
    monkeypatch.setattr(MainWindow, "show_message", lambda self, k, t, x: self.messages.append((k, t, x)))
    w = MainWindow(model=str(path), seed=0, settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=20000)
    qtbot.waitUntil(lambda: len(w.semantics.panel.directions) == 8, timeout=5000)
    p = w.semantics.panel
    assert [d.kind for d in p.directions] == ["sefa"] * 8
    p.layers[2].setCurrentIndex(p.layers[2].findData("coarse"))
    before = w.session.ws.clone()
    drag_slider(qtbot, w, 2, [1.0, 2.5])
    changed = [i for i in range(w.session.G.num_ws) if not torch.equal(w.session.ws[0, i], before[0, i])]
    assert changed == S.layer_indices(w.session.G, "coarse")
    w.close()


def test_a_slider_at_zero_shows_no_fill_and_fills_from_zero_either_way(qtbot, win):
    s = win.semantics.panel.sliders[0]
    win.semantics.dock.raise_()
    qtbot.waitUntil(lambda: s.isVisible())
    highlight = s.palette().color(s.palette().ColorRole.Highlight)

    def filled():
        img = s.grab().toImage()
        return sum(1 for x in range(img.width()) for y in range(img.height())
                   if abs(img.pixelColor(x, y).red() - highlight.red()) < 12
                   and abs(img.pixelColor(x, y).green() - highlight.green()) < 12
                   and abs(img.pixelColor(x, y).blue() - highlight.blue()) < 12)

    assert filled() == 0                              # at 0 nothing is filled (not the left half)
    x0, _ = s.zero_and_handle_x()
    s.blockSignals(True)
    s.setValue(s.maximum() // 2)
    right = filled()
    _, xh = s.zero_and_handle_x()
    s.setValue(s.minimum() // 2)
    left = filled()
    _, xl = s.zero_and_handle_x()
    s.setValue(0)
    s.blockSignals(False)
    assert right > 20 and left > 20 and xl < x0 < xh
