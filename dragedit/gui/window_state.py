"""What the window remembers between launches: its geometry and dock layout, and the value of each
widget that gui/settings.py's WINDOW_SETTINGS names (key, type and default live there)."""
from __future__ import annotations

from PySide6.QtCore import QByteArray

from .settings import read_setting
from .widget_values import set_combo, set_quietly


class WindowState:
    def __init__(self, settings, window, panel, actions):
        """window: the QMainWindow whose geometry and docks are kept; actions: name -> QAction."""
        self.settings, self.window, self.panel, self.actions = settings, window, panel, actions

    def widgets(self) -> dict:
        """Where each remembered value lives: key -> (read, write)."""
        p, a = self.panel, self.actions
        truncation = lambda v: set_quietly(p.truncation, v)  # noqa: E731 - no edit on restore
        return {
            "drag/lr": (p.lr.value, p.lr.setValue), "drag/steps": (p.steps.value, p.steps.setValue),
            "drag/tracker": (p.tracker.currentData, lambda v: set_combo(p.tracker, v)),
            "drag/stop_distance": (p.stop_distance.value, p.stop_distance.setValue),
            "latent/space": (p.space.currentData, lambda v: set_combo(p.space, v)),
            "latent/truncation": (p.truncation.value, truncation),
            "mask/radius": (p.brush.value, p.brush.setValue),
            "mask/show": (p.show_mask.isChecked, p.show_mask.setChecked),
            "export/fps": (p.fps.value, p.fps.setValue), "export/overlay": (p.overlay.isChecked, p.overlay.setChecked),
            "view/show_pixels": (a["show_pixels"].isChecked, a["show_pixels"].setChecked),
            "panel/more_drag": (lambda: p.drag_more.expanded, p.drag_more.set_expanded),
            "panel/files": (lambda: p.export_more.expanded, p.export_more.set_expanded),
        }

    def restore(self):
        s, w = self.settings, self.window
        geo = s.value("window/geometry")
        if isinstance(geo, QByteArray) and not geo.isEmpty():
            w.restoreGeometry(geo)
        else:
            w.resize(1200, 800)
        state = s.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            w.restoreState(state)
        for key, (_read, write) in self.widgets().items():
            write(read_setting(s, key))

    def save(self):
        s = self.settings
        s.setValue("window/geometry", self.window.saveGeometry())
        s.setValue("window/state", self.window.saveState())
        for key, (read, _write) in self.widgets().items():
            s.setValue(key, read())
        s.sync()
