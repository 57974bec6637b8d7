"""Render the README screenshot without a display: the real window at 1200x800 with three point pairs,
a painted mask and a short run. With --all, also the shortcuts page, the split before/after view and
the export dialog during an export, beside the main one (shortcuts.png, before_after.png,
export_dialog.png).

    QT_QPA_PLATFORM=offscreen python -m dragedit.gui.screenshot assets/screenshot.png [--model FILE] [--seed N] [--all]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time


def take_screenshot(out, model="default", seed=3, steps=20, size=(1200, 800), extras=False) -> str:
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from .app import configure_application
    from .window import MainWindow

    app = QApplication.instance() or QApplication(["dragedit"])
    configure_application(app)
    settings = QSettings(os.path.join(tempfile.mkdtemp(prefix="dragedit-shot-"), "s.ini"), QSettings.Format.IniFormat)
    w = MainWindow(model=model, seed=seed, settings=settings)
    w.show_message = lambda kind, title, text: w.status(text, 0)
    w.resize(*size)
    w.show()

    def pump(cond, timeout=120.0):
        end = time.time() + timeout
        while not cond() and time.time() < end:
            app.processEvents()
            time.sleep(0.005)

    try:
        if w.session is None:
            raise RuntimeError(f"no model could be opened: {w.messages[-1][2] if w.messages else model}")
        pump(lambda: w.doc.frame_ok)
        c, vp = w.canvas, w.canvas.viewport()
        s = w.session.size[0] / 128.0  # positions below are for a 128-px face

        def at(x, y):
            return c.image_to_widget(x * s, y * s).toPoint()

        for h, t in (((50, 62), (44, 52)), ((80, 62), (86, 52)), ((64, 92), (64, 100))):
            QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(*h))
            QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(*t))
        w.masks.set_tool("mask")
        w.panel.brush.setValue(max(1, int(10 * s)))
        path = [(40, 55), (64, 50), (90, 55), (90, 70), (64, 75), (64, 62), (40, 70), (45, 90), (64, 100),
                (85, 90), (64, 85), (50, 80)]
        QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(*path[0]))
        for p in path[1:]:
            QTest.mouseMove(vp, at(*p))
        QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(*path[-1]))
        w.masks.set_tool("points")
        w.panel.steps.setValue(steps)
        w.runs.start()
        pump(lambda: not w.doc.running)
        w.points.select(0)
        pump(lambda: False, 0.2)
        if not w.grab().save(str(out)):
            raise RuntimeError(f"could not write {out}")
        if extras:
            _extras(w, app, pump, os.path.dirname(str(out)) or ".")
        return str(out)
    finally:
        w.close()


def _extras(w, app, pump, folder):
    """The help page, before/after (split and side by side) and the export dialog with its progress bar,
    from the same window."""
    help_dialog = w.dialogs.show_help(0)
    help_dialog.resize(760, 600)
    pump(lambda: False, 0.2)
    help_dialog.grab().save(os.path.join(folder, "shortcuts.png"))
    help_dialog.close()
    w.actions_["compare_split"].setChecked(True)
    pump(lambda: False, 0.2)
    w.grab().save(os.path.join(folder, "before_after.png"))
    w.actions_["compare_split"].setChecked(False)
    w.actions_["compare_side"].setChecked(True)
    pump(lambda: False, 0.3)
    w.grab().save(os.path.join(folder, "side_by_side.png"))
    w.actions_["compare_side"].setChecked(False)
    dlg = w.exporter.open_dialog("gif")
    dlg.overlay.setChecked(True)
    dlg.scale.setCurrentIndex(dlg.scale.findData(4))
    dlg.path.setText(os.path.join(tempfile.mkdtemp(prefix="dragedit-shot-"), "edit.gif"))
    dlg.start()
    pump(lambda: dlg.progress.value() >= max(2, dlg.progress.maximum() // 3) or not dlg.running, 30)
    dlg.grab().save(os.path.join(folder, "export_dialog.png"))
    pump(lambda: not w.exporter.busy, 60)
    dlg.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default="assets/screenshot.png")
    ap.add_argument("--model", default="default")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--all", action="store_true", help="also shortcuts.png, before_after.png, side_by_side.png, "
                    "export_dialog.png")
    args = ap.parse_args(argv)
    print(take_screenshot(args.out, args.model, args.seed, args.steps, extras=args.all))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
