"""Spin boxes and combo boxes take the mouse wheel only when they have keyboard focus.

Scrolling a panel over them would otherwise change values by accident (a brush radius from 6 to
15 px, a step budget from 200 to 198). With Qt.StrongFocus a wheel does not give them focus, and
the filter passes the ignored event on to the parent, so the panel scrolls instead.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QWidget


class WheelGuard(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Wheel and isinstance(obj, QWidget) and not obj.hasFocus():
            event.ignore()
            return True   # not for this widget; QApplication offers the ignored event to its parent
        return False


def guard_wheel(root: QWidget) -> WheelGuard:
    """Protect every spin box and combo box under root (call again after adding widgets)."""
    guard = root.findChild(WheelGuard, "wheel_guard")
    if guard is None:
        guard = WheelGuard(root)
        guard.setObjectName("wheel_guard")
    for w in root.findChildren(QWidget):
        if isinstance(w, (QAbstractSpinBox, QComboBox)) and not w.property("wheel_guarded"):
            w.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            w.installEventFilter(guard)
            w.setProperty("wheel_guarded", True)
    return guard
