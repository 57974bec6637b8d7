"""Edit › Preferences (Ctrl+,): the LPIPS weights file and the compute device.

Why a dialog of its own: settings that apply to the whole app (not to one
edit) need one home that later work can extend. The dialog validates on OK
(a weights file that is not AlexNet's is refused with the reason) and writes
through `AppSettings`, so nothing else needs to know the keys.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLayout, QLineEdit, QPushButton, QVBoxLayout, QWidget)

from ..nets import perceptual
from ..errors import DragEditError
from .settings import AppSettings


def present_devices() -> list[tuple[str, str]]:
    """(setting, label) for 'auto' and every device this machine has."""
    import torch
    out = [("auto", "Automatic (CUDA, then Apple MPS, then CPU)"), ("cpu", "CPU")]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            out.append((f"cuda:{i}", f"CUDA {i}: {torch.cuda.get_device_name(i)}"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append(("mps", "Apple silicon (MPS)"))
    return out


def check_lpips_file(path: str) -> None:
    """Raise DragEditError unless `path` holds AlexNet weights that LPIPS can use."""
    import torch
    p = Path(path).expanduser()
    if not p.exists():
        raise DragEditError(f"{path} does not exist: choose torchvision's AlexNet weights file (alexnet-*.pth)")
    if not p.is_file():
        raise DragEditError(f"{path} is a folder: choose torchvision's AlexNet weights file (alexnet-*.pth)")
    try:
        sd = torch.load(p, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - whatever the reader says, the user needs to know what to pick
        raise DragEditError(f"{p.name} is not a PyTorch weights file: choose torchvision's AlexNet weights "
                            "(alexnet-*.pth, a state dict)") from None
    if not isinstance(sd, dict) or "features.0.weight" not in sd:
        raise DragEditError(f"{p.name} is not torchvision's AlexNet: expected keys such as features.0.weight")


class PreferencesDialog(QDialog):
    """Modal preferences; `accept()` validates, saves and closes, or shows why it cannot."""

    def __init__(self, settings: AppSettings, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.settings = settings

        self.lpips_path = QLineEdit(settings.lpips_weights or "")
        self.lpips_path.setPlaceholderText("automatic (environment, torchvision's cache, one download)")
        self.lpips_path.textChanged.connect(self._update_lpips_note)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_lpips)
        clear = QPushButton("Automatic")
        clear.setToolTip("Forget the chosen file and search as usual")
        clear.clicked.connect(lambda: self.lpips_path.setText(""))
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.lpips_path, 1)
        row.addWidget(browse)
        row.addWidget(clear)
        lpips_row = QWidget()
        lpips_row.setLayout(row)
        self.lpips_note = QLabel()
        self.lpips_note.setWordWrap(True)

        self.device = QComboBox()
        for value, label in present_devices():
            self.device.addItem(label, value)
        index = self.device.findData(settings.device)
        if index < 0:   # a saved device this machine lacks (e.g. a laptop without its GPU): keep it visible
            self.device.addItem(f"{settings.device} (not present)", settings.device)
            index = self.device.count() - 1
        self.device.setCurrentIndex(index)
        self.device.setToolTip("Where the generator runs; takes effect for the next model opened")

        form = QFormLayout()
        form.addRow("LPIPS weights (AlexNet):", lpips_row)
        form.addRow(self.lpips_note)   # a full-width row: a wrapped label in the field column gets clipped
        form.addRow("Compute device:", self.device)
        self.error = QLabel()
        self.error.setStyleSheet("color: #c00;")
        self.error.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)   # grows when the note or error wraps
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(buttons)
        self._update_lpips_note()
        self.resize(680, self.sizeHint().height())

    def _browse_lpips(self):
        start = str(Path(self.lpips_path.text()).parent) if self.lpips_path.text() else ""
        path, _ = QFileDialog.getOpenFileName(self, "AlexNet weights for LPIPS", start,
                                              "PyTorch weights (*.pt *.pth);;All files (*)")
        if path:
            self.lpips_path.setText(path)

    def _update_lpips_note(self):
        text = self.lpips_path.text().strip()
        if text:
            p = Path(text).expanduser()
            self.lpips_note.setText("This file is used for inversion and training." if p.is_file() else
                                    "There is no file at this path." if not p.exists() else
                                    "This is a folder: choose the weights file itself.")
            return
        found = perceptual.find_alexnet_weights(None, download=False)
        self.lpips_note.setText(f"Found {found}." if found else
                                "None found yet: it is downloaded once into torchvision's cache on first "
                                "use (offline, a pixel + multi-scale loss is used instead).")

    def accept(self):
        path = self.lpips_path.text().strip()
        if path:
            try:
                check_lpips_file(path)
            except DragEditError as exc:
                self.error.setText(str(exc))
                return
        self.settings.lpips_weights = path or None
        self.settings.device = self.device.currentData()
        self.error.clear()
        super().accept()
