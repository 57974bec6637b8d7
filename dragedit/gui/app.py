"""`run_app()`: the QApplication around the main window (called by `dragedit` / `dragedit gui`)."""
from __future__ import annotations

import logging
import os
import sys
import traceback

from PySide6.QtCore import QCoreApplication, QSettings, Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from .. import __version__

ORGANISATION = "dragedit"
APPLICATION = "dragedit"
log = logging.getLogger(__name__)


def configure_application(app: QApplication):
    """Names that QSettings and the window manager use."""
    QCoreApplication.setOrganizationName(ORGANISATION)
    QCoreApplication.setOrganizationDomain("dragedit.invalid")
    QCoreApplication.setApplicationName(APPLICATION)
    QCoreApplication.setApplicationVersion(__version__)
    QApplication.setApplicationDisplayName("dragedit")
    QApplication.setDesktopFileName("dragedit")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    from .icons import app_icon
    app.setWindowIcon(app_icon())


def _install_excepthook(window_ref):
    """An unexpected error becomes a message and a log line, never a crash or a traceback on screen."""
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            return previous(exc_type, exc, tb)
        log.error("unexpected error:\n%s", "".join(traceback.format_exception(exc_type, exc, tb)))
        w = window_ref()
        text = (f"Something went wrong: {exc_type.__name__}: {exc}\n\n"
                "Your edit is still there; the details are in the log.")
        if w is not None:
            try:
                w.show_message("error", "Unexpected error", text)
                return
            except Exception:  # noqa: BLE001
                pass
        print(text, file=sys.stderr)

    sys.excepthook = hook


def run_app(model="default", seed=0, argv=None, device="auto", precision="auto", exit_when_done=False) -> int:
    """Open the desktop app on `model` ('default', a path, or None for no model) and return its exit code.
    device / precision: as `dragedit --device/--precision` (the window's sessions run there).
    exit_when_done: end the process as soon as the window has closed and saved everything (the
    interpreter's own teardown of Qt and torch objects takes seconds after the window is gone)."""
    import weakref

    from .window import MainWindow

    logging.basicConfig(level=logging.INFO, format="dragedit: %(message)s")
    if QApplication.instance() is None:
        QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication(list(sys.argv[:1] if argv is None else argv) or ["dragedit"])
    configure_application(app)
    try:
        window = MainWindow(model=model, seed=seed, device=device, precision=precision)
    except Exception as exc:
        log.exception("the main window could not be created")
        QMessageBox.critical(None, "dragedit", f"dragedit cannot start: {type(exc).__name__}: {exc}")
        return 1
    window.confirm_quit = True   # a person is at the keyboard: quitting with unsaved work says what happens
    _install_excepthook(weakref.ref(window))
    def quitting():  # stop a run, autosave and save settings however the app ends (no question now)
        window.confirm_quit = False
        window.close()
    app.aboutToQuit.connect(quitting)
    window.show()
    code = int(app.exec())
    window.doc.shutdown()
    if exit_when_done:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)   # settings, autosave and exports are written and closed by now
    return code
