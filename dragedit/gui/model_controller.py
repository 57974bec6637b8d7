"""Opening a model from the window: read and check it into a new object first (a large file in a
thread, with a busy bar and a note), and only then swap it in; on any failure one message, and the
current model and edits stay. The reading itself is gui/model_open.py's."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QGuiApplication

from ..errors import DragEditError
from .device_choice import device_text
from .model_open import ModelLoader, OpenedModel, is_large, load_model
from .widget_values import set_quietly


class ModelController(QObject):
    def __init__(self, doc, panel, canvas, status_view, params: Callable, device: Callable,
                 show_message: Callable, status: Callable, forget_view: Callable[[], None],
                 installed: Callable[[Path], None], parent=None):
        """params(): the panel's DragParams; device(): (device, precision) for the next model;
        forget_view(): before a swap, the old edit is autosaved and its marks and overlays go;
        installed(path): after a swap (recent models, the window's actions)."""
        super().__init__(parent)
        self.doc, self.panel, self.canvas, self.status_view = doc, panel, canvas, status_view
        self.params, self.device, self.status = params, device, status
        self.last_message = ""   # the text of the newest message (the empty canvas repeats why)

        def message(kind, title, text):
            self.last_message = text
            show_message(kind, title, text)
        self.show_message = message
        self.forget_view, self.installed = forget_view, installed
        self.loader = None      # a ModelLoader while a large model file is read
        doc.modelChanged.connect(self._show_model)   # also when undo or redo puts another model back

    def _show_model(self):
        session = self.doc.session
        if session is None:
            return
        self.status_view.device.setText(device_text(session.device, session.precision))
        self.panel.show_model(self.doc.model_path, self.doc.model_info)

    def _seed(self, seed) -> int:
        return self.panel.seed.value() if seed is None else int(seed)

    def show_no_model(self, reason):
        if self.doc.session is not None:
            return
        text = "No model is open."
        if reason:
            text += f"\n\n{reason}"
        text += "\n\nOpen a StyleGAN2/3 .pkl or a .pt model with File › Open model (Ctrl+O),\n" \
                "or drop it onto this window."
        self.canvas.clear(text)
        if reason:
            self.status(reason, 0)

    def open_initial(self, model, seed=None):
        """The model named on the command line (a file or a registry name); on failure the empty
        canvas says why."""
        from ..models import resolve_model_path
        if seed is not None:
            set_quietly(self.panel.seed, int(seed))
        try:
            path = resolve_model_path(model)
        except DragEditError as exc:
            self.show_no_model(str(exc))
            self.show_message("warning", "No model", f"{exc}\n\nOpen a model file with File › Open model "
                                                     "(Ctrl+O) or drop one onto the window.")
            return
        self.last_message = ""
        if not self.open(path):
            self.show_no_model(self.last_message)

    def open(self, path, seed=None, background=None) -> bool:
        """Load a generator; on any failure show a message and keep the current model and edits.
        A large file (background None) is read in a thread with a note in the status bar: True then
        means the load started, and the model is swapped in when it is read and checked."""
        if background is None:
            background = is_large(path)
        if background:
            return self._open_in_background(path, seed)
        self.doc.stop_run(True)
        opened = self.load(path, seed, "Cannot open model")
        return opened is not None and self.install(opened, seed, "Cannot open model", text=_open_text(opened))

    def _open_in_background(self, path, seed) -> bool:
        if self.loader is not None:
            self.show_message("info", "Opening a model", "Another model is still being read: wait for it.")
            return False
        path = Path(path).expanduser()
        size = path.stat().st_size / 2 ** 20 if path.exists() else 0
        device, precision = self.device()
        loader = ModelLoader(path, self._seed(seed), self.params(), device, precision, self)
        self.loader = loader

        def done(opened, error):
            self.loader = None
            loader.wait()
            loader.deleteLater()
            self.status_view.show_busy(False)
            if opened is None:
                self.show_message("warning", "Cannot open model", error)
                return
            self.doc.stop_run(True)
            self.install(opened, seed, "Cannot open model", text=_open_text(opened))

        loader.loaded.connect(done)
        self.status_view.show_busy(True)
        self.status(f"Reading {path.name} ({size:.0f} MB)… the current image stays editable until it is ready.", 0)
        loader.start()
        return True

    def wait(self):
        """A large model still being read (at close): let it finish."""
        if self.loader is not None:
            self.loader.wait()

    def load(self, path, seed=None, title="Cannot open model") -> OpenedModel | None:
        """Read and check a model into a new object (nothing on screen changes); None after a message."""
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            return load_model(path, self._seed(seed), self.params(), *self.device())
        except DragEditError as exc:
            self.show_message("warning", title, str(exc))
            return None
        finally:
            QGuiApplication.restoreOverrideCursor()

    def install(self, opened: OpenedModel, seed=None, title="Cannot open model", text=None, then=None,
                source=None, timeline=None) -> bool:
        """Swap a loaded model in: the old edit is autosaved (File > Recover last session). With `text`
        the swap (and then(), a session's state on the new model) is one undoable step; on a
        DragEditError from then() the previous model comes back and the message says why."""
        if not self.doc.worker.wait_idle(120):
            self.show_message("warning", title, "the previous model is still busy: try again")
            return False
        self.forget_view()
        self.canvas.placeholder = "Rendering…"
        old_seed = self.panel.seed.value()
        if seed is not None:
            set_quietly(self.panel.seed, int(seed))
        try:
            ok = self.doc.install(opened, text, then, source, timeline)
        except DragEditError as exc:
            set_quietly(self.panel.seed, old_seed)
            self.show_message("warning", title, str(exc))
            return False
        if not ok:
            self.show_message("warning", title, "the previous model is still busy: try again")
            return False
        path = self.doc.model_path
        self.installed(path)
        self.status(f"Opened {path.name}: {opened.info['resolution']} px. Click a handle, then its target.")
        return True


def _open_text(opened: OpenedModel) -> str:
    return f"Open model {opened.path.name}"
