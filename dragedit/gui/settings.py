"""The app's preferences, typed, on top of QSettings: one place that knows each key and its default.

Why a class: the Preferences dialog, the inversion dialog and the window
read the same values; a key spelt twice drifts. Values are validated on the
way in, so a hand-edited settings file cannot crash the app.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSettings

from ..edit.drag import DragParams
from ..edit.drag_defaults import EDIT_STEPS, EXPORT_FPS

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")   # plus "cuda:N", accepted as typed


class AppSettings:
    """Typed preferences over a QSettings (the window's, so tests can use a private file)."""

    LPIPS_KEY = "prefs/lpips_weights"
    LEGACY_LPIPS_KEY = "invert/lpips_weights"   # where earlier versions kept it
    DEVICE_KEY = "prefs/device"

    def __init__(self, qsettings: QSettings):
        self.q = qsettings

    @property
    def lpips_weights(self) -> str | None:
        """The AlexNet weights file the user picked, or None (then the usual search applies)."""
        value = self.q.value(self.LPIPS_KEY, None) or self.q.value(self.LEGACY_LPIPS_KEY, None)
        return str(value) if value else None

    @lpips_weights.setter
    def lpips_weights(self, path: str | None):
        self.q.setValue(self.LPIPS_KEY, str(path) if path else "")
        self.q.remove(self.LEGACY_LPIPS_KEY)

    @property
    def device(self) -> str:
        """The compute device to use: auto, cpu, cuda, cuda:N or mps."""
        value = str(self.q.value(self.DEVICE_KEY, "auto") or "auto").strip().lower()
        return value if valid_device_name(value) else "auto"

    @device.setter
    def device(self, name: str):
        name = (name or "auto").strip().lower()
        if not valid_device_name(name):
            raise ValueError(f"unknown device {name!r}: expected auto, cpu, cuda, cuda:N or mps")
        self.q.setValue(self.DEVICE_KEY, name)


def valid_device_name(name: str) -> bool:
    if name in DEVICE_CHOICES:
        return True
    kind, _, index = name.partition(":")
    return kind == "cuda" and index.isdigit()


@dataclass(frozen=True)
class Setting:
    key: str
    kind: type
    default: object


_ENGINE = DragParams()
WINDOW_SETTINGS = {s.key: s for s in (
    Setting("drag/lr", float, 0.0),                     # 0: the engine's size-dependent default
    Setting("drag/steps", int, EDIT_STEPS),
    Setting("drag/tracker", str, _ENGINE.tracker),
    Setting("drag/stop_distance", float, 0.0),          # 0: the engine's default
    Setting("latent/space", str, _ENGINE.space),
    Setting("latent/truncation", float, _ENGINE.truncation_psi),
    Setting("mask/radius", int, 6),
    Setting("mask/show", bool, True),
    Setting("export/fps", int, EXPORT_FPS),
    Setting("export/overlay", bool, False),
    Setting("export/scale", int, 0),
    Setting("export/smooth", bool, False),
    Setting("view/show_pixels", bool, False),
    Setting("panel/more_drag", bool, False),
    Setting("panel/files", bool, False),
    Setting("quit/ask", bool, True),
)}
"""Every value the window remembers between runs: key, type and default, in one place (the engine's
defaults come from the engine, shared with the command line)."""


def read_setting(q: QSettings, key: str):
    """The stored value of a WINDOW_SETTINGS key, typed; its default when absent or unreadable
    (a hand-edited settings file cannot crash the app)."""
    setting = WINDOW_SETTINGS[key]
    value = q.value(key, setting.default)
    try:
        if setting.kind is bool:
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        return setting.kind(value)
    except (TypeError, ValueError):
        return setting.default
