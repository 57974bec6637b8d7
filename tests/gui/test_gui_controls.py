"""Issue 16: the wheel over unfocused spin and combo boxes, markers that scale with the zoom, help
generated from the actions, before/after, the Controls panel at 1200x800, quitting with unsaved
work and the one-time recovery offer, and the inversion dialog's captions."""
import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from gui_helpers import add_pair, make_window, photo_of, small_generator, wait_run_end



def wheel(widget, dy=120):
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    ev = QWheelEvent(pos, widget.mapToGlobal(pos), QPoint(0, 0), QPoint(0, dy), Qt.MouseButton.NoButton,
                     Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, ev)


def test_the_wheel_changes_spin_and_combo_boxes_only_when_they_have_focus(qtbot, win):
    w, p = win, win.panel
    w.canvas.setFocus()
    before = (p.brush.value(), p.steps.value(), p.truncation.value(), p.tracker.currentIndex(),
              p.mask_mode.currentIndex(), p.seed.value())
    for box in (p.brush, p.steps, p.truncation, p.tracker, p.mask_mode, p.seed):
        assert box.focusPolicy() == Qt.FocusPolicy.StrongFocus
        wheel(box, 120)
        wheel(box, -120)
        wheel(box, -120)
    after = (p.brush.value(), p.steps.value(), p.truncation.value(), p.tracker.currentIndex(),
             p.mask_mode.currentIndex(), p.seed.value())
    assert after == before
    # with focus (clicked or tabbed into) the wheel works as usual
    w.activateWindow()
    p.brush.setFocus()
    qtbot.waitUntil(p.brush.hasFocus, timeout=2000)
    wheel(p.brush, 120)
    assert p.brush.value() == before[0] + 1


def red_pixels(w):
    img = w.canvas.viewport().grab().toImage()
    a = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine() // 4, 4)
    b, g, r = a[..., 0].astype(int), a[..., 1].astype(int), a[..., 2].astype(int)
    return int(((abs(r - 230) < 8) & (abs(g - 40) < 8) & (abs(b - 40) < 8)).sum())


def test_markers_scale_with_the_zoom_with_a_minimum(qtbot, win):
    w, c = win, win.canvas
    add_pair(w, (20, 20), (44, 40))
    c.set_zoom(1.0)
    assert c.point_radius == c.MIN_POINT_RADIUS
    small = red_pixels(w)
    c.set_zoom(6.0)
    assert c.point_radius == 6.0
    big = red_pixels(w)
    c.set_zoom(30.0)
    assert c.point_radius == c.MAX_POINT_RADIUS
    assert 0 < small < big / 2, (small, big)
    # at 100% a marker covers a few image pixels, not a fifth of a 64-px image
    assert small < 60


def test_help_lists_every_shortcut_from_the_actions(qtbot, win):
    from dragedit.gui.actions import COMMANDS
    w = win
    add_pair(w, (20, 20), (30, 30))              # the Undo menu item now reads "Undo Add pair"
    assert w.actions_["undo"].text().startswith("Undo Add pair")
    dlg = w.dialogs.show_help(0)
    qtbot.addWidget(dlg)
    rows = {dlg.table.item(r, 0).text(): (dlg.table.item(r, 1).text(), dlg.table.item(r, 2).text())
            for r in range(dlg.table.rowCount())}
    assert not any(name.startswith("Undo ") for name in rows), "live undo texts are not command names"
    for c in COMMANDS:
        a = w.actions_[c.name]
        if not a.shortcut().isEmpty():
            keys, what = rows[c.text.rstrip("…")]
            assert a.shortcut().toString(a.shortcut().SequenceFormat.NativeText) in keys
            assert what == c.tip                  # the whole description, as the command says it
    assert rows["Start"][0] == "Space"
    assert "\\" in rows["Show start image"][0]
    for gesture in ("Shift+click", "Click / Alt+click", "Wheel", "Right-click a point", "Space+drag, middle drag"):
        assert rows[gesture][0] == "mouse", gesture
    # a long description is shown whole: its row is taller than one line
    long_row = next(r for r in range(dlg.table.rowCount()) if dlg.table.item(r, 0).text() == "Open model")
    dlg.resize(700, 500)
    dlg.table.resizeRowsToContents()
    assert dlg.table.rowHeight(long_row) > dlg.table.fontMetrics().height() * 1.5
    # the Drag menu shows Space beside Start
    drag = next(m for m in w.menuBar().actions() if m.text() == "&Drag").menu()
    start = next(a for a in drag.actions() if a.objectName() == "start_stop")
    assert start.text().endswith("\tSpace")
    dlg.tabs.setCurrentIndex(1)
    guide = dlg.howto.toPlainText()
    for words in ("handle", "Space", "Semantics", "Suggest points", "part", "File › Export frames"):
        assert words in guide, words
    menus = {m.text().replace("&", ""): m.menu() for m in w.menuBar().actions()}
    for path in ("File › Open model", "File › Open image", "File › Export frames", "File › Save session",
                 "File › Recover last session", "Drag › Suggest points", "View › Compare with the start image"):
        menu, item = path.split(" › ")
        texts = [a.text().split("\t")[0].rstrip("…") for a in menus[menu].actions()]
        assert item in texts and path in guide, path
    dlg.close()
    assert w.dialogs.show_help(1).tabs.currentIndex() == 1


def qimage_array(img):
    from PySide6.QtGui import QImage
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    a = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    return a[:, :img.width() * 3].reshape(img.height(), img.width(), 3).copy()


def test_holding_backslash_shows_the_start_image(qtbot, win):
    w = win
    start = w.doc.frame.copy()
    add_pair(w, (20, 20), (44, 40))
    w.panel.steps.setValue(5)
    w.runs.start()
    wait_run_end(qtbot, w)
    assert not np.array_equal(w.doc.frame, start)
    QTest.keyPress(w, Qt.Key.Key_Backslash)
    assert w.canvas.compare == "hold" and w.canvas.before_image is not None
    assert np.array_equal(qimage_array(w.canvas.before_image), start)
    QTest.keyRelease(w, Qt.Key.Key_Backslash)
    assert w.canvas.compare == "off"
    w.actions_["compare_split"].trigger()
    assert w.canvas.compare == "split"
    w.actions_["compare_split"].trigger()
    assert w.canvas.compare == "off"
    # side by side: two equal panes, the start image beside the image now, zoomed and panned together
    w.actions_["compare_side"].trigger()
    pane = w.side_by_side.pane
    qtbot.waitUntil(lambda: pane.isVisible())
    assert pane.has_image() and abs(pane.width() - w.canvas.width()) <= 2 and pane.width() > 200
    assert np.array_equal(qimage_array(pane.before_image), start)
    w.canvas.set_zoom(8.0)                              # 512 px: both panes scroll
    w.canvas.horizontalScrollBar().setValue(40)
    assert pane.zoom == 8.0 and pane.horizontalScrollBar().value() == 40
    pane.zoom_by(1.25)                                  # the wheel in the start pane moves both
    assert w.canvas.zoom == pane.zoom == 10.0
    assert w.canvas.horizontalScrollBar().value() == pane.horizontalScrollBar().value() > 0
    w.actions_["compare_side"].trigger()
    assert not pane.isVisible()
    # after a new seed the start image is that seed's image
    w.panel.seed.setValue(5)
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=10000)
    w.actions_["compare_hold"].setChecked(True)
    assert np.array_equal(qimage_array(w.canvas.before_image), w.doc.frame)
    w.actions_["compare_hold"].setChecked(False)


def test_the_controls_panel_fits_at_1200x800(qtbot, settings, messages, gen_path):
    w = make_window(qtbot, settings, gen_path)
    w.resize(1200, 800)
    qtbot.wait(50)
    QApplication.processEvents()
    bar = w.panel.verticalScrollBar()
    assert bar.maximum() == 0, f"the panel scrolls by {bar.maximum()} px"
    # the rest is there, folded away
    assert not w.panel.drag_more.expanded and not w.panel.lr.isVisible()
    w.panel.drag_more.set_expanded(True)
    assert w.panel.lr.isVisible() and w.panel.tracker.isVisible()
    for opened, folded in ((w.panel.drag_more, w.panel.export_more), (w.panel.export_more, w.panel.drag_more)):
        if not opened.expanded:
            opened.toggle.click()
        QApplication.processEvents()
        assert opened.expanded and not folded.expanded          # one folded section open at a time
        assert bar.maximum() == 0, f"the panel scrolls by {bar.maximum()} px with {opened.toggle.text()} open"
    w.settings.setValue("panel/more_drag", True)                # as saved by a version that allowed both
    w.settings.setValue("panel/files", True)
    w.close()
    from PySide6.QtCore import QSettings
    again = make_window(qtbot, QSettings(w.settings.fileName(), QSettings.Format.IniFormat), gen_path)
    again.resize(1200, 800)
    qtbot.wait(50)
    QApplication.processEvents()
    assert again.panel.verticalScrollBar().maximum() == 0       # "Files and export" is not clipped
    files = again.panel.export_more
    bottom = files.mapTo(again.panel.widget(), files.rect().bottomLeft()).y()
    assert bottom <= again.panel.viewport().height()
    again.close()


def test_quitting_with_unsaved_work_says_it_is_recoverable_then_offers_it_once(qtbot, settings, messages,
                                                                                gen_path):
    w = make_window(qtbot, settings, gen_path)
    assert not w.banner.isVisible()
    add_pair(w, (20, 20), (44, 40))
    w.confirm_quit = True
    seen = []

    def answer(button):
        def click():
            box = QApplication.activeModalWidget()
            assert isinstance(box, QMessageBox)
            seen.append(box.text())
            box.button(button).click()
        QTimer.singleShot(50, click)

    answer(QMessageBox.StandardButton.Cancel)
    w.close()
    assert w.isVisible() and seen and "recover" in seen[-1]  # stayed: nothing lost
    answer(QMessageBox.StandardButton.Ok)
    w.close()
    assert not w.isVisible() and len(seen) == 2
    assert w.recovery.path.is_file()
    w2 = make_window(qtbot, settings, gen_path)
    assert w2.banner.isVisibleTo(w2), "the next start offers the session"
    w2.banner.dismiss_button.click()
    w2.close()
    w3 = make_window(qtbot, settings, gen_path)
    assert not w3.banner.isVisibleTo(w3), "offered once"
    w3.sessions.recover()  # still in the File menu
    assert len(w3.session.pairs) == 1
    w3.close()
    w4 = make_window(qtbot, settings, gen_path)
    w4.confirm_quit = True
    w4.close()  # nothing to lose: no question
    assert not w4.isVisible()


def test_the_recovery_banner_recovers(qtbot, settings, messages, gen_path):
    w = make_window(qtbot, settings, gen_path)
    add_pair(w, (20, 20), (44, 40))
    w.close()
    w2 = make_window(qtbot, settings, gen_path)
    assert w2.banner.isVisibleTo(w2)
    w2.banner.recover_button.click()
    assert not w2.banner.isVisibleTo(w2) and len(w2.session.pairs) == 1
    w2.close()


def test_inversion_captions_stay_below_the_previews_with_the_lpips_note(qtbot, tmp_path):
    from dragedit.gui.invert_dialog import InvertDialog
    dlg = InvertDialog(small_generator(), photo_of(tmp_path))
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    dlg._set_note("No AlexNet weights were found for LPIPS, so a pixel + multi-scale loss was used (set "
                  "DRAGEDIT_LPIPS_WEIGHTS to a weights file for a closer match).")
    dlg.recon_caption.setText("PSNR 23.1 dB with the latent alone (200 steps, 4.1 s)")
    QApplication.processEvents()
    for view, caption in ((dlg.photo_view, dlg.photo_caption), (dlg.recon_view, dlg.recon_caption)):
        assert caption.geometry().top() >= view.geometry().bottom(), (view.geometry(), caption.geometry())
        assert caption.height() >= caption.heightForWidth(caption.width())
    note = dlg.note.geometry()
    assert note.height() >= dlg.note.heightForWidth(note.width())
    dlg.close()


def test_every_panel_closed_by_its_x_comes_back_from_view_also_after_a_restart(qtbot, win, settings, gen_path):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QDockWidget
    w = win
    view = next(a.menu() for a in w.menuBar().actions() if a.text() == "&View")
    names = {a.text() for a in view.actions() if a.text()}
    assert {"Controls", "Semantics", "Toolbar"} <= names, names
    w.semantics.dock.close()                       # the dock's x
    qtbot.waitUntil(lambda: not w.semantics.dock.isVisible())
    w.close()
    again = make_window(qtbot, QSettings(settings.fileName(), QSettings.Format.IniFormat), gen_path)
    dock = again.findChild(QDockWidget, "semantics")
    assert not dock.isVisible()                    # remembered closed ...
    view = next(a.menu() for a in again.menuBar().actions() if a.text() == "&View")
    show = next(a for a in view.actions() if a.text() == "Semantics")
    assert show.isEnabled() and not show.isChecked()
    show.trigger()                                 # ... and back from View
    assert dock.isVisible() or dock.isVisibleTo(again)
    controls = next(a for a in view.actions() if a.text() == "Controls")
    assert controls.isEnabled()
    again.close()


def test_shortcuts_work_right_after_a_dialog_closes(qtbot, win, tmp_path):
    """Ctrl+B after Export, Ctrl+I after Preferences: the canvas has the keyboard again."""
    from gui_helpers import run_a_few
    w = win
    w.activateWindow()
    run_a_few(qtbot, w, steps=3)
    dialogs = w.dialogs
    for open_dialog in (dialogs.open_preferences, lambda: w.exporter.open_dialog("gif"), lambda: dialogs.show_help(0)):
        w.panel.seed.setFocus()      # wherever the keyboard was before (here: a seed just typed)
        dlg = open_dialog()
        qtbot.waitExposed(dlg)
        dlg.setFocus()
        dlg.reject() if hasattr(dlg, "reject") else dlg.close()
        qtbot.waitUntil(lambda: QApplication.focusWidget() is w.canvas, timeout=3000)
    before = w.actions_["compare_split"].isChecked()
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    assert w.actions_["compare_split"].isChecked() != before


def test_the_title_names_the_app_once_and_the_toolbar_is_called_toolbar(win):
    """Qt adds ' — <display name>' to a title that does not end with it (QPlatformWindow::formatWindowTitle)."""
    w = win
    QApplication.setApplicationDisplayName("dragedit")
    title = w.windowTitle()
    shown = title if title.endswith("dragedit") else f"{title} — dragedit"
    assert shown.count("dragedit") == 1 and "g.pt" in shown and "seed 1" in shown, shown
    assert w.toolbar.windowTitle() == "Toolbar" and w.toolbar.toggleViewAction().text() == "Toolbar"


def test_the_points_flash_lights_the_list_without_moving_anything(qtbot, win):
    w = win
    box, view = w.panel.points_box, w.panel.points
    before = (box.geometry(), view.geometry(), box.contentsRect())
    base = view.palette().color(view.palette().ColorRole.Base)
    assert not w.runs.start()                          # no pairs: Start says why and lights up the list
    assert w.panel.flashing and view.palette().color(view.palette().ColorRole.Base) != base
    QApplication.processEvents()
    assert (box.geometry(), view.geometry(), box.contentsRect()) == before
    qtbot.waitUntil(lambda: not w.panel.flashing, timeout=3000)
    assert view.palette().color(view.palette().ColorRole.Base) == base


def test_the_points_list_and_the_canvas_share_one_selection_and_follow_live_moves(qtbot, win):
    w = win
    add_pair(w, (20, 20), (30, 30))
    add_pair(w, (40, 40), (50, 44))
    model, sel = w.panel.points.model(), w.panel.points.selectionModel()
    text = lambda i, c: model.index(i, c).data()   # noqa: E731
    pair = lambda i: w.session.pairs[i]            # noqa: E731
    assert model.rowCount() == 2 and text(1, 2) == "{:.1f}, {:.1f}".format(*pair(1).target)
    sel.select(model.index(0, 0), sel.SelectionFlag.ClearAndSelect | sel.SelectionFlag.Rows)
    assert w.points.selected == 0 and w.canvas.selected == 0
    w.points.select(1)                                 # a click on a point on the canvas
    assert [i.row() for i in sel.selectedRows()] == [1]
    w.points.move_point(1, "target", 52.0, 46.0)        # dragging the target: the row follows at once
    assert text(1, 2) == "52.0, 46.0" and [i.row() for i in sel.selectedRows()] == [1]
    w.points.remove_pair(0)
    assert model.rowCount() == 1 and text(0, 1) == "{:.1f}, {:.1f}".format(*pair(0).handle)
