"""Help › About: version, method, the open model and the library versions (non-modal)."""
from __future__ import annotations

import PySide6
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from .. import __version__
from . import icons


def show_about(parent, model_path) -> QMessageBox:
    box = QMessageBox(parent)
    box.setWindowTitle("About dragedit")
    box.setIconPixmap(icons.app_icon().pixmap(64, 64))
    model = str(model_path) if model_path else "none"
    box.setText(f"<h3>dragedit {__version__}</h3>"
                "<p>Drag-based point editing of images with a StyleGAN generator: click a handle, then "
                "its target, press Start, and the image follows.</p>"
                "<p>Method: <i>Drag Your GAN</i>, Pan et al., SIGGRAPH 2023. Pure PyTorch, runs on a CPU.</p>")
    box.setInformativeText(f"Model: {model}<br>PyTorch {torch.__version__} · PySide6 {PySide6.__version__}"
                           "<br>License: MIT")
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.show()
    return box
