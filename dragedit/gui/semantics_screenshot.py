"""Screenshots of the semantic tools without a display: the Semantics panel after a slider edit,
suggested points (ghosts), and a part selection grown with the wheel.

    QT_QPA_PLATFORM=offscreen python -m dragedit.gui.semantics_screenshot assets/ [--seed N]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def take_screenshots(folder, model="default", seed=3, size=(1300, 860)) -> list:
    from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from ..synth import faces, landmarks
    from .app import configure_application
    from .window import MainWindow

    app = QApplication.instance() or QApplication(["dragedit"])
    configure_application(app)
    settings = QSettings(os.path.join(tempfile.mkdtemp(prefix="dragedit-shot-"), "s.ini"), QSettings.Format.IniFormat)
    w = MainWindow(model=model, seed=seed, settings=settings)
    w.show_message = lambda kind, title, text: w.status(text, 0)
    w.resize(*size)
    w.show()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []

    def pump(cond, timeout=60.0):
        end = time.time() + timeout
        while not cond() and time.time() < end:
            app.processEvents()
            time.sleep(0.005)

    def settle():
        pump(lambda: w.semantics.preview.idle() and w.doc.frame_ok)
        pump(lambda: False, 0.2)

    def save(name):
        path = folder / name
        if not w.grab().save(str(path)):
            raise RuntimeError(f"could not write {path}")
        out.append(str(path))

    def at(x, y):
        p = w.canvas.image_to_widget(x, y)
        return QPoint(round(p.x()), round(p.y()))

    try:
        if w.session is None:
            raise RuntimeError(f"no model could be opened: {w.messages[-1][2] if w.messages else model}")
        settle()
        w.dock.hide()  # the Semantics panel gets the whole side
        sem = w.semantics
        names = [d.name for d in sem.panel.directions]
        for name, amount in (("smile", 1.5), ("yaw", -1.2), ("mouth_openness", 1.0)):
            if name in names:
                s = sem.panel.sliders[names.index(name)]
                s.setSliderDown(True)
                s.setValue(int(amount * 100))
                settle()
                s.setSliderDown(False)
                settle()
        save("semantics_panel.png")

        w.dock.show()
        w.actions_["suggest_points"].trigger()
        pump(lambda: False, 0.2)
        ghosts = sem.overlay.ghosts
        if ghosts:
            tip = next((g for g in ghosts if g["name"] == "mouth_left"), ghosts[0])
            QTest.mouseMove(w.canvas.viewport(), at(tip["x"], tip["y"]))
            pump(lambda: False, 0.3)
        save("suggested_points.png")
        w.actions_["suggest_points"].trigger()

        sem.reset()  # back to the seed's face for the part selection
        settle()
        w.masks.set_tool("mask")
        lm = landmarks.detect(w.doc.frame)
        eye = lm[faces.LANDMARK_INDEX["l_pupil"]]
        vp = w.canvas.viewport()
        pos = at(*eye)
        QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, pos)
        for _ in range(2):
            ev = QWheelEvent(QPointF(pos), QPointF(vp.mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 120),
                             Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                             Qt.ScrollPhase.NoScrollPhase, False)
            QApplication.sendEvent(vp, ev)
            pump(lambda: False, 0.05)
        QTest.mouseMove(vp, pos)
        pump(lambda: False, 0.2)
        save("part_selection.png")
        return out
    finally:
        w.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", default="assets")
    ap.add_argument("--model", default="default")
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args(argv)
    for p in take_screenshots(args.folder, args.model, args.seed):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
