"""File dialogs that remember a folder per kind of file (model, image, session, latent, export)
in the settings, so each dialog opens where that kind of file was last chosen."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog


class FileDialogs:
    def __init__(self, settings, parent=None):
        self.settings, self.parent = settings, parent

    def last_dir(self, key) -> str:
        return str(self.settings.value(f"dirs/{key}", "") or "")

    def remember_dir(self, key, path):
        if path:
            self.settings.setValue(f"dirs/{key}", str(Path(path).parent))

    def ask_open_path(self, title, filters, key) -> str:
        path, _ = QFileDialog.getOpenFileName(self.parent, title, self.last_dir(key), filters)
        self.remember_dir(key, path)
        return path

    def ask_save_path(self, title, filters, key, name="") -> str:
        start = str(Path(self.last_dir(key)) / name) if self.last_dir(key) else name
        path, _ = QFileDialog.getSaveFileName(self.parent, title, start, filters)
        self.remember_dir(key, path)
        return path

    def ask_directory(self, title, key) -> str:
        path = QFileDialog.getExistingDirectory(self.parent, title, self.last_dir(key))
        if path:
            self.settings.setValue(f"dirs/{key}", path)
        return path
