"""Session recovery: the autosave written when the app closes (or a model is replaced), and the
"Recover last session" offer shown once at the next start, as a banner over the canvas.

The offer is remembered by the autosave's modification time, so each saved session is offered
exactly once; File › Recover last session stays available.
"""
from __future__ import annotations

import logging
from pathlib import Path

import torch
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton

log = logging.getLogger(__name__)


class Recovery:
    def __init__(self, settings):
        self.settings = settings

    @property
    def path(self) -> Path:
        return Path(self.settings.fileName()).parent / "autosave.json"

    @staticmethod
    def worth_saving(session) -> bool:
        """Points, a mask or a changed latent: something a user would miss."""
        return session is not None and bool(session.pairs or session.mask is not None
                                            or not torch.equal(session.ws, session.ws_initial))

    def save(self, session, model_path, settings_dict) -> bool:
        if not self.worth_saving(session):
            return False
        try:
            from ..edit.session_file import save_session
            save_session(self.path, session, model_path, settings_dict)
        except Exception:
            log.exception("autosave failed")
            return False
        return True

    def _stamp(self) -> str:
        try:
            return f"{self.path.stat().st_mtime_ns}"
        except OSError:
            return ""

    def offer_once(self) -> bool:
        """True the first time a given autosave is seen (and marks it as offered)."""
        stamp = self._stamp()
        if not stamp or str(self.settings.value("recovery/offered", "")) == stamp:
            return False
        self.settings.setValue("recovery/offered", stamp)
        return True

    def mark_offered(self):
        stamp = self._stamp()
        if stamp:
            self.settings.setValue("recovery/offered", stamp)


class RecoveryBanner(QFrame):
    """A strip over the canvas: 'Your last session was saved when dragedit closed. [Recover] [Dismiss]'."""
    recoverRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("recovery_banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#recovery_banner { background: palette(alternate-base); }")
        self.label = QLabel("Your last session was saved when dragedit closed.")
        self.recover_button = QPushButton("Recover last session")
        self.dismiss_button = QPushButton("Dismiss")
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 10, 6)
        row.addWidget(self.label, 1)
        row.addWidget(self.recover_button)
        row.addWidget(self.dismiss_button)
        self.recover_button.clicked.connect(self._recover)
        self.dismiss_button.clicked.connect(self.hide)
        self.hide()

    def _recover(self):
        self.hide()
        self.recoverRequested.emit()


def ask_quit(parent, settings) -> bool:
    """Quitting with unsaved work: say that it will be recoverable, and let the user stay."""
    from PySide6.QtWidgets import QCheckBox, QMessageBox
    box = QMessageBox(QMessageBox.Icon.Question, "Quit dragedit",
                      "Your edit is not saved as a session. It will be kept: the next time dragedit starts, "
                      "it offers to recover it (also File › Recover last session).",
                      QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel, parent)
    box.button(QMessageBox.StandardButton.Ok).setText("Quit")
    again = QCheckBox("Do not ask again")
    box.setCheckBox(again)
    ok = box.exec() == QMessageBox.StandardButton.Ok
    if ok and again.isChecked():
        settings.setValue("quit/ask", False)
    return ok
