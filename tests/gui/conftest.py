"""Fixtures of the window tests, defined once: a small model file, private settings, recorded
message boxes, a window open on the small model and one open on the shipped face model. Every
test here runs with one torch thread (the worker and the event loop share the CPU)."""
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings

from dragedit.gui.window import MainWindow
from dragedit.io.checkpoint import save_generator
from dragedit.models import DEFAULT_GENERATOR
from gui_helpers import make_window, small_generator


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    yield


@pytest.fixture(scope="session")
def gen_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("gen") / "g.pt"
    save_generator(small_generator(), path)
    return path


@pytest.fixture
def settings(tmp_path):
    """Never touch the user's settings: everything goes to an ini file under tmp_path."""
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "user"))
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "user"))
    return QSettings(str(tmp_path / "settings" / "dragedit.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def messages(monkeypatch):
    """Message boxes are recorded instead of shown."""
    seen = []

    def record(self, kind, title, text):
        seen.append((kind, title, text))
        self.messages.append((kind, title, text))
        self.statusBar().showMessage(text)

    monkeypatch.setattr(MainWindow, "show_message", record)
    return seen


@pytest.fixture
def win(qtbot, settings, messages, gen_path):
    w = make_window(qtbot, settings, gen_path)
    yield w
    w.close()


@pytest.fixture
def face_win(qtbot, settings, messages):
    """The window at 1200x800 on the shipped face model, seed 0."""
    w = make_window(qtbot, settings, DEFAULT_GENERATOR, seed=0)
    w.resize(1200, 800)
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=20000)
    yield w
    w.close()
