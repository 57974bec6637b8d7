"""The window's dialogs: Edit › Preferences, Help, About and message boxes. All are non-modal or
window-modal (the event loop and a running edit keep going), and when one closes the canvas gets the
keyboard back so shortcuts work at once."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from .about import show_about
from .preferences import PreferencesDialog
from .settings import AppSettings
from .present import present

_ICONS = {"info": QMessageBox.Icon.Information, "warning": QMessageBox.Icon.Warning,
          "error": QMessageBox.Icon.Critical}


def message_box(parent, kind, title, text) -> QMessageBox:
    """A non-modal box that deletes itself when closed."""
    box = QMessageBox(_ICONS.get(kind, QMessageBox.Icon.Information), title, text, QMessageBox.StandardButton.Ok,
                      parent)
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.show()
    return box


class WindowDialogs:
    def __init__(self, parent, settings, canvas: Callable, model_path: Callable, preferences_saved: Callable):
        """canvas(), model_path(): read when needed (the canvas is made after this);
        preferences_saved(): after Preferences is accepted (the device setting applies)."""
        self.parent, self.settings = parent, settings
        self.canvas, self.model_path, self.preferences_saved = canvas, model_path, preferences_saved
        self.preferences = None
        self.help = None

    def open_preferences(self):
        """Edit › Preferences: window-modal, so the event loop (and a running edit) keeps going."""
        self.preferences = PreferencesDialog(AppSettings(self.settings), parent=self.parent)
        self.preferences.accepted.connect(self.preferences_saved)
        self.give_focus_back_after(self.preferences)
        present(self.preferences, window_modal=True)
        return self.preferences

    def give_focus_back_after(self, dialog):
        """When a dialog closes the canvas has the keyboard again, so shortcuts work at once."""
        dialog.finished.connect(lambda _result: self.focus_canvas())

    def focus_canvas(self):
        self.parent.activateWindow()
        self.canvas().setFocus(Qt.FocusReason.OtherFocusReason)

    def show_help(self, page=0):
        """Help › Keyboard shortcuts (page 0) or How to drag-edit (page 1); non-modal."""
        from .help import HelpDialog
        dlg = HelpDialog(self.parent, page=page)
        dlg.setWindowModality(Qt.WindowModality.NonModal)
        self.give_focus_back_after(dlg)
        present(dlg)
        self.help = dlg
        return dlg

    def show_about(self):
        return show_about(self.parent, self.model_path())
