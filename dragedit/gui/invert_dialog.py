"""File > Open image: put a photo into the generator, watching the reconstruction form beside it.

The dialog owns one `InversionWorker` at a time. The photo is shown as the
model will see it (cropped or padded to its square resolution); the
reconstruction updates every few steps, and the result's PSNR is shown
before the user decides to edit it. Cancel stops within one step and keeps
the dialog open with the options as they were; closing while it runs stops
it first.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QFrame,
                               QHBoxLayout, QLabel, QLayout, QProgressBar, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from ..imaging import to_uint8
from ..edit.inversion_defaults import PROJECT_STEPS, PTI_STEPS
from ..nets.perceptual import FALLBACK_MESSAGE
from ..errors import DragEditError
from .canvas import frame_to_qimage
from .inversion_worker import InversionOptions, InversionWorker
from .settings import AppSettings

VIEW = 256  # on-screen size of the photo and the reconstruction
STAGES = {"loss": "Preparing the perceptual loss…", "latent": "Finding the latent",
          "tuning": "Tuning the generator to the photo"}


def _view(title):
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(4)
    head = QLabel(f"<b>{title}</b>")
    image = QLabel()
    image.setFixedSize(VIEW, VIEW)
    image.setAlignment(Qt.AlignmentFlag.AlignCenter)
    image.setFrameShape(QFrame.Shape.StyledPanel)
    caption = QLabel("")
    caption.setWordWrap(True)
    caption.setMaximumWidth(VIEW)
    caption.setMinimumHeight(2 * caption.fontMetrics().lineSpacing() + 4)  # two lines, never over the image
    for w in (head, image, caption):
        lay.addWidget(w)
    return box, image, caption


class InvertDialog(QDialog):
    """Invert `path` with generator G. After `accept()`, `result` holds the InversionResult."""

    def __init__(self, G, path, settings: QSettings | None = None, parent=None):
        super().__init__(parent)
        self.G = G
        self.path = Path(path)
        self.settings = settings if settings is not None else QSettings()
        self.photo: np.ndarray | None = None
        self.result = None
        self.worker: InversionWorker | None = None
        self._t0 = 0.0
        self._steps_total = 1
        self.setWindowTitle(f"Open image — {self.path.name}")
        self.setModal(True)
        self._build()
        self._restore_options()
        self.reload_photo()

    # ----- construction -------------------------------------------------------------
    def _build(self):
        views = QHBoxLayout()
        box, self.photo_view, self.photo_caption = _view("Photo")
        views.addWidget(box)
        box, self.recon_view, self.recon_caption = _view("Reconstruction")
        views.addWidget(box)
        self.recon_view.setText("Press Invert")

        self.fit = QComboBox()
        self.fit.addItem("Center crop", "crop")
        self.fit.addItem("Pad to square", "pad")
        self.fit.setToolTip("How a non-square photo becomes the model's square image")
        self.fit.currentIndexChanged.connect(lambda _i: self.reload_photo())
        self.space = QComboBox()
        self.space.addItem("W+ (closer to the photo)", "w+")
        self.space.addItem("W (more editable, less exact)", "w")
        self.steps = QSpinBox()
        self.steps.setRange(10, 5000)
        self.steps.setSingleStep(50)
        self.steps.setToolTip("Optimiser steps for the latent")
        self.pti = QCheckBox("Pivotal tuning")
        self.pti.setToolTip("Then fine-tune a copy of the generator to the photo (near-exact "
                            "reconstruction; the tuned model is saved beside your settings)")
        self.pti_steps = QSpinBox()
        self.pti_steps.setRange(10, 5000)
        self.pti_steps.setSingleStep(50)
        self.pti.toggled.connect(self.pti_steps.setEnabled)
        pti_row = QWidget()
        row = QHBoxLayout(pti_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.pti)
        row.addWidget(QLabel("steps"))
        row.addWidget(self.pti_steps)
        row.addStretch(1)
        form = QFormLayout()
        form.addRow("Fit:", self.fit)
        form.addRow("Latent space:", self.space)
        form.addRow("Steps:", self.steps)
        form.addRow("", pti_row)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("Ready")
        self.note = QLabel("")
        self.note.setWordWrap(True)

        self.buttons = QDialogButtonBox()
        self.invert_button = QPushButton("Invert")
        self.invert_button.setDefault(True)
        self.invert_button.clicked.connect(self.start)
        self.edit_button = QPushButton("Edit this image")
        self.edit_button.setEnabled(False)
        self.edit_button.clicked.connect(self.accept)
        self.cancel_button = QPushButton("Close")
        self.cancel_button.clicked.connect(self.cancel_or_close)
        self.buttons.addButton(self.invert_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.edit_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)

        lay = QVBoxLayout(self)
        lay.addLayout(views)
        lay.addLayout(form)
        lay.addWidget(self.progress)
        lay.addWidget(self.note)
        lay.addWidget(self.buttons)
        lay.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)

    def _set_note(self, text):
        """A note (e.g. no LPIPS weights) adds lines: grow the dialog so nothing is squeezed over the previews."""
        self.note.setText(text)
        lay = self.layout()
        lay.invalidate()
        lay.activate()
        need = lay.totalHeightForWidth(self.width()) if lay.hasHeightForWidth() else lay.sizeHint().height()
        need = max(need, lay.totalMinimumSize().height())
        if need > self.height():
            self.resize(self.width(), need)

    # ----- options ------------------------------------------------------------------
    def options(self) -> InversionOptions:
        return InversionOptions(space=self.space.currentData(), steps=self.steps.value(), pti=self.pti.isChecked(),
                                pti_steps=self.pti_steps.value(),
                                lpips_weights=AppSettings(self.settings).lpips_weights)

    def set_options(self, space=None, steps=None, pti=None, pti_steps=None, fit=None):
        """Set dialog options programmatically (tests, and restoring the last choice)."""
        if fit is not None:
            self.fit.setCurrentIndex(max(0, self.fit.findData(fit)))
        if space is not None:
            self.space.setCurrentIndex(max(0, self.space.findData(space)))
        if steps is not None:
            self.steps.setValue(int(steps))
        if pti is not None:
            self.pti.setChecked(bool(pti))
        if pti_steps is not None:
            self.pti_steps.setValue(int(pti_steps))
        self.pti_steps.setEnabled(self.pti.isChecked())

    def _restore_options(self):
        s = self.settings

        def num(key, default):
            try:
                return int(s.value(key, default))
            except (TypeError, ValueError):
                return default
        self.set_options(space=s.value("invert/space", "w+"), steps=num("invert/steps", PROJECT_STEPS),
                         pti=str(s.value("invert/pti", "false")).lower() == "true",
                         pti_steps=num("invert/pti_steps", PTI_STEPS), fit=s.value("invert/fit", "crop"))

    def _save_options(self):
        s = self.settings
        s.setValue("invert/space", self.space.currentData())
        s.setValue("invert/steps", self.steps.value())
        s.setValue("invert/pti", "true" if self.pti.isChecked() else "false")
        s.setValue("invert/pti_steps", self.pti_steps.value())
        s.setValue("invert/fit", self.fit.currentData())

    # ----- the photo ----------------------------------------------------------------
    def reload_photo(self) -> bool:
        """Read the photo as the model will see it; a bad file leaves `error` set and Invert off."""
        from ..io.images import load_photo
        self.error = None
        h = self.G.img_resolution
        try:
            self.photo = load_photo(self.path, h, fit=self.fit.currentData())
        except DragEditError as exc:
            self.photo, self.error = None, str(exc)
            self.photo_view.setText("cannot read")
            self.photo_caption.setText(str(exc))
            self.invert_button.setEnabled(False)
            return False
        self._show(self.photo_view, self.photo)
        self.photo_caption.setText(f"{self.path.name}, as the model sees it ({h}×{h})")
        self.invert_button.setEnabled(self.worker is None)
        self._forget_result()
        return True

    @staticmethod
    def _show(label, img):
        pix = QPixmap.fromImage(frame_to_qimage(img))
        label.setPixmap(pix.scaled(VIEW, VIEW, Qt.AspectRatioMode.KeepAspectRatio,
                                   Qt.TransformationMode.SmoothTransformation))

    def _forget_result(self):
        self.result = None
        self.edit_button.setEnabled(False)

    # ----- running ------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.worker is not None

    def start(self) -> bool:
        if self.running or self.photo is None:
            return False
        self._save_options()
        self._forget_result()
        o = self.options()
        self._steps_total = o.steps + (o.pti_steps if o.pti else 0)
        self.progress.setRange(0, self._steps_total)
        self.progress.setValue(0)
        self.progress.setFormat(STAGES["loss"])
        self.recon_caption.setText("")
        self.note.setText("")
        w = InversionWorker(self.G, self.photo, o, parent=self)
        w.progress.connect(self._on_progress)
        w.preview.connect(self._on_preview)
        w.done.connect(self._on_done)
        w.failed.connect(self._on_failed)
        self.worker = w
        self._set_inputs_enabled(False)
        self.cancel_button.setText("Cancel")
        self._t0 = time.perf_counter()
        w.start()
        return True

    def _set_inputs_enabled(self, on):
        """Options and Invert are locked while an inversion runs (PTI steps only with PTI on)."""
        for widget in (self.fit, self.space, self.steps, self.pti, self.invert_button):
            widget.setEnabled(on)
        self.pti_steps.setEnabled(on and self.pti.isChecked())

    def cancel_or_close(self):
        if self.running:
            self.worker.cancel()
            self.progress.setFormat("Cancelling…")
        else:
            self.reject()

    def _offset(self, stage):
        return self.options().steps if stage == "tuning" else 0

    def _on_progress(self, stage, i, n, loss):
        if stage == "loss":
            return
        done = self._offset(stage) + i
        self.progress.setValue(min(done, self._steps_total))
        elapsed = time.perf_counter() - self._t0
        left = elapsed / max(done, 1) * (self._steps_total - done)
        self.progress.setFormat(f"{STAGES[stage]}: step {i}/{n}, loss {loss:.4f}, about {left:.0f} s left")

    def _on_preview(self, stage, img):
        self._show(self.recon_view, img)

    def _finish_run(self):
        w, self.worker = self.worker, None
        if w is not None:
            w.wait()
            if w.loss_kind and w.loss_kind != "lpips-alex":
                self._set_note(FALLBACK_MESSAGE)
        self._set_inputs_enabled(True)
        self.cancel_button.setText("Close")

    def _on_done(self, res):
        self._finish_run()
        if res.cancelled:
            self.progress.setValue(0)
            self.progress.setFormat("Cancelled: nothing changed")
            self.recon_view.setText("Cancelled")
            return
        self.result = res
        with torch.no_grad():  # the image of the final latent (the previews showed noisy steps)
            self._show(self.recon_view, to_uint8(res.G.synthesis(res.ws, noise_mode="const")))
        text = f"PSNR {res.psnr:.1f} dB with the latent alone"
        if res.pti_psnr is not None:
            text += f", {res.pti_psnr:.1f} dB after tuning"
        steps = len(res.step_ms)
        text += f" ({steps} steps, {res.total_s:.1f} s)"
        self.recon_caption.setText(text)
        self.progress.setValue(self._steps_total)
        self.progress.setFormat("Done")
        self.edit_button.setEnabled(True)
        self.edit_button.setDefault(True)

    def _on_failed(self, message):
        self._finish_run()
        self.progress.setValue(0)
        self.progress.setFormat("Failed")
        self._set_note(message)

    def wait_done(self, timeout_s=None):
        """Block until the running inversion has finished (tests and closing)."""
        if self.worker is not None:
            self.worker.wait() if timeout_s is None else self.worker.wait(int(timeout_s * 1000))

    # ----- closing ------------------------------------------------------------------
    def done(self, r):
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait()
            self.worker = None
        super().done(r)
