"""Exporting a run's frames in the background: the options, the thread that writes, and the dialog.

The window hands over the frames (plain arrays and point lists, nothing of the session) and an
`ExportOptions`; drawing points, scaling and encoding all happen in `ExportJob`'s thread, so the
window keeps painting. Cancel is checked after every frame; the writers in io/export.py write to
a hidden part file, so a cancelled or failed export leaves nothing behind.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QProgressBar, QPushButton, QSpinBox, QVBoxLayout)

from ..edit.drag_defaults import EXPORT_FPS
from ..errors import DragEditError
from .settings import read_setting
from .wheelguard import guard_wheel
from .present import present

log = logging.getLogger(__name__)
KINDS = (("png", "PNG sequence (a folder)"), ("gif", "Animated GIF"), ("mp4", "MP4 video"))
SCALES = ((0, "Auto (about 512 px with points)"), (1, "1x"), (2, "2x"), (4, "4x"))


@dataclass(frozen=True)
class ExportOptions:
    kind: str = "gif"          # 'png' | 'gif' | 'mp4'
    scale: int = 0             # 0: auto (legible markers when drawn, else 1x), or 1, 2, 4
    smooth: bool = False       # Lanczos instead of nearest when enlarging
    overlay: bool = False      # draw handles, targets and arrows
    fps: int = EXPORT_FPS

    def factor(self, size: int) -> int:
        from ..io.export import overlay_scale
        if self.scale:
            return int(self.scale)
        return overlay_scale(size) if self.overlay else 1


def target_path(path, kind) -> Path:
    """The file (or folder, for PNG) an export writes; a missing extension is added."""
    p = Path(path)
    if kind != "png" and p.suffix.lower() != f".{kind}":
        p = p.with_name(p.name + f".{kind}")
    return p


def kind_of_path(path) -> str | None:
    """'gif' or 'mp4' when the path's extension names one, else None (a folder of PNGs, or no say)."""
    ext = Path(str(path)).suffix.lower().lstrip(".")
    return ext if ext in ("gif", "mp4") else None


def render_frame(entry, options: ExportOptions):
    """One output frame of a timeline entry: scaled, with points when asked."""
    from ..io.export import draw_points, scale_frame
    frame = entry["frame"]
    k = options.factor(max(frame.shape[:2]))
    if options.overlay:
        return draw_points(frame, entry["handles"], entry["targets"], scale=k, smooth=options.smooth)
    return scale_frame(frame, k, options.smooth)


class ExportJob(QThread):
    progress = Signal(int, int)
    done = Signal(str, str)        # 'ok' | 'cancelled' | 'error', and a sentence for the user

    def __init__(self, entries, path, options: ExportOptions, parent=None):
        super().__init__(parent)
        self.entries = list(entries)
        self.path = target_path(path, options.kind)
        self.options = options
        self._cancel = threading.Event()
        self.result = None

    def cancel(self):
        self._cancel.set()

    def _progress(self, done, _total):
        self.progress.emit(done, len(self.entries))
        return not self._cancel.is_set()

    def run(self):
        from ..io import export
        o, n = self.options, len(self.entries)
        frames = (render_frame(e, o) for e in self.entries)
        try:
            if self._cancel.is_set():
                raise export.ExportCancelled()
            if o.kind == "png":
                out = export.save_png_sequence(frames, self.path, progress=self._progress)
                where = f"{len(out)} PNG files in {self.path}"
            elif o.kind == "gif":
                where = str(export.save_gif(frames, self.path, fps=o.fps, progress=self._progress))
            elif o.kind == "mp4":
                where = str(export.save_mp4(frames, self.path, fps=o.fps, progress=self._progress))
                if not export.h264_available():
                    where += " (MPEG-4 part 2: install imageio-ffmpeg for H.264 that browsers play)"
            else:
                raise DragEditError(f"unknown export format {o.kind!r}: use png, gif or mp4")
        except export.ExportCancelled:
            self.result = ("cancelled", "Export cancelled: nothing was written.")
        except DragEditError as exc:
            self.result = ("error", str(exc))
        except OSError as exc:
            self.result = ("error", f"{self.path}: {exc.strerror or exc}")
        except Exception as exc:
            log.exception("export failed")
            self.result = ("error", f"{self.path}: {type(exc).__name__}: {exc}")
        else:
            self.result = ("ok", f"Exported {n} frames: {where}.")
        self.done.emit(*self.result)


class ExportController(QObject):
    """The window's exports: the dialog, at most one job at a time, and what the user is told.
    It gets the document (the timeline; messages and status go out through its signals), the side
    panel (the export defaults it shows), the settings, the file dialogs and a hook for each dialog
    it opens; `parent` is the dialogs' Qt parent."""
    progress = Signal(int, int)
    finished = Signal(str, str)

    def __init__(self, doc, panel, settings, files, on_dialog, parent=None):
        super().__init__(parent)
        self.doc, self.panel, self.settings, self.files = doc, panel, settings, files
        self.on_dialog = on_dialog
        self.parent_widget = parent
        self.job: ExportJob | None = None
        self.dialog: ExportDialog | None = None
        self.progress.connect(self._show_progress)
        self.finished.connect(self._show_result)

    # ----- the flow the window's actions start ------------------------------------------
    def options(self, kind) -> ExportOptions:
        return ExportOptions(kind=kind, scale=read_setting(self.settings, "export/scale"),
                             smooth=read_setting(self.settings, "export/smooth"),
                             overlay=self.panel.overlay.isChecked(), fps=self.panel.fps.value())

    def open_dialog(self, kind="gif"):
        timeline = self.doc.timeline
        if len(timeline) < 2:
            self.doc.message.emit("info", "Nothing to export", "There are no frames yet: run a drag first.")
            return None
        if self.dialog is not None:
            self.dialog.close()
        folder = Path(self.files.last_dir("export") or Path.home())
        start = str(folder / ("edit" if kind == "png" else f"edit.{kind}"))
        size = max(timeline[0]["frame"].shape[:2])
        dlg = ExportDialog(self.options(kind), start, self._ask_path, len(timeline), size, self.parent_widget)
        dlg.startRequested.connect(lambda path, opts: self.export(path, options=opts))
        dlg.cancelRequested = self.cancel
        dlg.finished.connect(lambda _r: self.cancel() if dlg.running else None)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.destroyed.connect(lambda *_: self._forget(dlg))
        self.dialog = dlg
        self.on_dialog(dlg)
        present(dlg)
        return dlg

    def _forget(self, dlg):
        if self.dialog is dlg:
            self.dialog = None

    def _ask_path(self, kind, current):
        if kind == "png":
            return self.files.ask_directory("Export frames to folder", "export")
        filt = "GIF animation (*.gif)" if kind == "gif" else "MP4 video (*.mp4)"
        return self.files.ask_save_path(f"Export frames as {kind.upper()}", filt, "export", Path(current).name)

    def export(self, path, kind=None, options: ExportOptions | None = None) -> bool:
        """Start writing the frames of the run on the timeline (the start image first): 'png' (a folder),
        'gif' or 'mp4'. False (and a message) when it cannot start; `busy` until the file is complete,
        cancelled or failed."""
        timeline = self.doc.timeline
        if options is None:
            options = self.options(kind or Path(path).suffix.lower().lstrip(".") or "png")
        elif kind is not None:
            options = replace(options, kind=kind)
        typed = kind_of_path(path)
        if typed is not None and typed != options.kind:   # x.gif typed while the format says MP4: a GIF
            options = replace(options, kind=typed)
        try:
            if self.busy:
                raise DragEditError("an export is already running: wait for it or cancel it")
            self.start(timeline, path, options)
        except DragEditError as exc:
            self.doc.message.emit("warning", "Cannot export frames", str(exc))
            return False
        self.panel.overlay.setChecked(options.overlay)
        self.panel.fps.setValue(options.fps)
        self.settings.setValue("export/scale", options.scale)
        self.settings.setValue("export/smooth", options.smooth)
        out = target_path(path, options.kind)
        self.files.remember_dir("export", str(out))
        if self.dialog is not None:
            self.dialog.set_running(True)
        self.doc.status.emit(f"Exporting {len(timeline)} frames to {out}…", 0)
        return True

    def _show_progress(self, done, total):
        if self.dialog is not None:
            self.dialog.set_progress(done, total)
        self.doc.status.emit(f"Exporting: {done} / {total} frames written…", 0)

    def _show_result(self, status, text):
        if self.dialog is not None:
            self.dialog.finish(status, text)
        if status == "error":
            self.doc.message.emit("warning", "Cannot export frames", text)
        else:
            self.doc.status.emit(text, 8000)

    # ----- the job -------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self.job is not None

    def start(self, entries, path, options: ExportOptions) -> bool:
        if self.job is not None:
            return False
        if len(entries) < 2:
            raise DragEditError("there are no frames to export: run a drag first")
        job = ExportJob(entries, path, options, self)
        job.progress.connect(self.progress)
        job.done.connect(self._done)
        self.job = job
        job.start()
        return True

    def cancel(self):
        if self.job is not None:
            self.job.cancel()

    def _done(self, status, text):
        job, self.job = self.job, None
        if job is not None:
            job.wait()
            job.deleteLater()
        self.finished.emit(status, text)

    def shutdown(self):
        if self.job is not None:
            self.job.cancel()
            self.job.wait(30000)


class ExportDialog(QDialog):
    """Options, a path, then progress with Cancel. Non-modal: the window stays usable."""
    startRequested = Signal(str, object)     # path, ExportOptions

    def __init__(self, options: ExportOptions, path: str, browse, n_frames: int, size: int, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Export frames")
        self._browse, self._size, self._n = browse, size, n_frames
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.kind = QComboBox()
        for k, text in KINDS:
            self.kind.addItem(text, k)
        self.kind.setCurrentIndex(max(0, self.kind.findData(options.kind)))
        form.addRow("Format", self.kind)
        self.scale = QComboBox()
        for k, text in SCALES:
            self.scale.addItem(text, k)
        self.scale.setCurrentIndex(max(0, self.scale.findData(options.scale)))
        self.smooth = QComboBox()
        self.smooth.addItem("Nearest (crisp pixels)", False)
        self.smooth.addItem("Smooth", True)
        self.smooth.setCurrentIndex(1 if options.smooth else 0)
        row = QHBoxLayout()
        row.addWidget(self.scale, 1)
        row.addWidget(self.smooth, 1)
        form.addRow("Size", row)
        self.overlay = QCheckBox("Draw handles, targets and arrows")
        self.overlay.setChecked(options.overlay)
        form.addRow("Points", self.overlay)
        self.fps = QSpinBox()
        self.fps.setRange(1, 120)
        self.fps.setSuffix(" fps")
        self.fps.setValue(int(options.fps))
        form.addRow("Speed", self.fps)
        self.path = QLineEdit(path)
        self.browse_button = browse_button = QPushButton("Browse…")
        browse_button.clicked.connect(self.browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse_button)
        form.addRow("Save to", row)
        lay.addLayout(form)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)
        self.progress = QProgressBar()
        self.progress.setRange(0, max(n_frames, 1))
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m frames")
        lay.addWidget(self.progress)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self._cancel_or_close)
        lay.addWidget(self.buttons)
        self.running = False
        self.cancelRequested = None   # set by the window: a callable
        for w in (self.kind, self.scale, self.smooth):
            w.currentIndexChanged.connect(self._refresh)
        self.overlay.toggled.connect(self._refresh)
        self.fps.valueChanged.connect(self._refresh)
        self.setMinimumWidth(460)
        guard_wheel(self)
        self._refresh()

    def options(self) -> ExportOptions:
        return ExportOptions(kind=self.kind.currentData(), scale=int(self.scale.currentData()),
                             smooth=bool(self.smooth.currentData()), overlay=self.overlay.isChecked(),
                             fps=self.fps.value())

    def _refresh(self, *_):
        o = self.options()
        if not self.running:
            self.progress.setValue(0)     # a changed option is a new export: no old count
        side = self._size * o.factor(self._size)
        secs = self._n / max(o.fps, 1)
        self.summary.setText(f"{self._n} frames of {side} x {side} px"
                             + ("" if o.kind == "png" else f", {secs:.1f} s at {o.fps} fps"))
        p = self.path.text().strip()
        if p:
            old = Path(p)
            new = old.with_suffix("" if o.kind == "png" else f".{o.kind}") \
                if old.suffix.lower() in ("", ".gif", ".mp4") else old
            if new != old:
                self.path.setText(str(new))

    def browse(self):
        path = self._browse(self.options().kind, self.path.text())
        if path:
            self.path.setText(path)
            self._refresh()

    def start(self) -> bool:
        if self.running:
            return False
        path = self.path.text().strip()
        if not path:
            self.summary.setText("Choose where to save the frames.")
            return False
        typed = kind_of_path(path)
        if typed is not None and typed != self.kind.currentData():
            self.kind.setCurrentIndex(self.kind.findData(typed))   # the typed extension wins
        self.startRequested.emit(path, self.options())
        return self.running

    def set_running(self, on):
        self.running = on
        for w in (self.kind, self.scale, self.smooth, self.overlay, self.fps, self.path, self.browse_button,
                  self.export_button):
            w.setEnabled(not on)
        self.cancel_button.setText("Cancel")
        if on:
            self.progress.setValue(0)

    def set_progress(self, done, total):
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def finish(self, status, text):
        self.set_running(False)
        self.summary.setText(text)
        if status != "ok":
            self.progress.setValue(0)     # cancelled or failed: nothing was written
        if status == "ok":
            self.cancel_button.setText("Close")
            self.export_button.setText("Export again")

    def _cancel_or_close(self):
        if self.running and self.cancelRequested is not None:
            self.cancelRequested()
        else:
            self.reject()

