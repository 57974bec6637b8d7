"""The two keys that are not shortcuts, read for the whole window (an application event filter,
so they work whichever widget has the focus, except where text is typed):
- Space: pressed and released alone starts or stops the drag; held while dragging, it pans.
- \\ held: show the image the edit started from (released: the image now)."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QPlainTextEdit, QTextEdit, QWidget

TEXT_INPUTS = (QLineEdit, QTextEdit, QPlainTextEdit)


class HeldKeys(QObject):
    def __init__(self, window, canvas, hold_action, toggle_run: Callable[[], None]):
        super().__init__(window)
        self.window, self.canvas, self.hold_action, self.toggle_run = window, canvas, hold_action, toggle_run

    def install(self):
        QApplication.instance().installEventFilter(self)

    def remove(self):
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def eventFilter(self, obj, event):
        t = event.type()
        if t not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) or not isinstance(obj, QWidget) \
                or obj.window() is not self.window:
            return False
        typing = isinstance(QApplication.focusWidget(), TEXT_INPUTS)
        if event.key() == Qt.Key.Key_Backslash and not event.modifiers() and not typing:
            if not event.isAutoRepeat():
                self.hold_action.setChecked(t == QEvent.Type.KeyPress)
            return True
        if event.key() == Qt.Key.Key_Space and not (event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier):
            if typing:
                return False
            if event.isAutoRepeat():
                return True
            c = self.canvas
            if t == QEvent.Type.KeyPress:
                c.space_held, c.space_used = True, False
                c.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                used = c.space_used
                c.space_held, c.space_used = False, False
                c.set_tool(c.tool)
                if not used:
                    self.toggle_run()
            return True
        return False
