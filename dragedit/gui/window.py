"""MainWindow builds the widgets and controllers and wires them to the edit document (gui/document.py):
latent_controller, mask_controller, run_controller, model_controller, points_controller, status_view,
window_state, window_parts and the others each get the document and the widgets they use.

Rules this file keeps:
- The worker owns the session while a run goes on. From here only point and mask edits reach the
  session during a run (the session's lock makes them safe between steps); anything that replaces
  the latent (seed, undo, timeline, opening files) first stops the run and waits for it (at most one
  iteration).
- Frames are painted from the worker's single newest-frame slot, never from a queue.
- Every failure a user can cause ends in `show_message` (a non-modal box; tests replace it) or the
  status bar; the state on screen stays as it was.
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import (QDockWidget, QMainWindow, QUndoView, QVBoxLayout, QWidget)

from . import icons
from .action_state import update_actions, window_title
from .actions import COMMANDS, make_action
from .canvas import Canvas
from .compare import Compare
from .side_by_side import SideBySide, make_splitter
from .device_choice import app_device, device_text
from .document import EditDocument
from .export_controller import ExportController
from .file_drop import dropped_files, open_dropped
from .file_services import FileServices
from .files import FileDialogs
from .command_handlers import command_handlers
from .image_save import ImageSave
from .keys import HeldKeys
from .latent_controller import LatentController
from .mask_controller import MaskController
from .model_controller import ModelController
from .panels import SidePanel
from .photo_open import PhotoOpen
from .points_controller import PointsController
from .points_model import PairsModel
from .recent import RecentModels
from .run_controller import RunController
from .region_tool import RegionTool   # issue 24
from .warp_preview import WarpPreview
from .auto_region import AutoRegion
from .recovery import Recovery, RecoveryBanner, ask_quit
from .semantics_controller import SemanticsController
from .session_io import SessionIO
from .settings import AppSettings, read_setting
from .status_view import StatusView
from .window_dialogs import WindowDialogs, message_box
from .timeline import TimelineBar
from .wheelguard import guard_wheel
from .window_parts import build_menus, make_dock, make_toolbar
from .window_state import WindowState

log = logging.getLogger(__name__)

MODEL_FILTER = "StyleGAN models (*.pkl *.pt *.pth);;All files (*)"


class MainWindow(QMainWindow):
    def __init__(self, model="default", seed=0, settings: QSettings | None = None, parent=None,
                 device="auto", precision="auto"):
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings()
        self._precision_asked = precision  # --device other than auto wins over Preferences
        self.device, self.precision, device_note = app_device(
            AppSettings(self.settings).device if device == "auto" else device, precision)
        self.doc = EditDocument(self)   # the edit state; this window shows it and forwards edits
        self.doc.source = ("seed", 0 if seed is None else int(seed))
        self.messages: list = []      # (kind, title, text) of every message shown
        self._closing = False
        self.confirm_quit = False     # run_app turns this on: quitting with unsaved work asks first
        self.recovery = Recovery(self.settings)
        self.files = FileDialogs(self.settings, self)
        self.dialogs = WindowDialogs(self, self.settings, lambda: self.canvas, lambda: self.model_path,
                                     lambda: self.set_device(AppSettings(self.settings).device))
        self.exporter = None          # made with the panel (it reads the panel's export defaults)

        self.setWindowTitle("dragedit")
        self.setWindowIcon(icons.app_icon())
        self.setAcceptDrops(True)

        self._build_actions()
        self._build_ui()
        self._build_menus()
        self._bind_document()
        self.window_state = WindowState(self.settings, self, self.panel, self.actions_)   # kept between launches
        self.window_state.restore()
        self.keys = HeldKeys(self, self.canvas, self.actions_["compare_hold"], lambda: self.runs.toggle())   # Space, \\
        self.keys.install()
        self._update_actions()
        self.models.show_no_model("")
        if model is not None:
            self.models.open_initial(model, seed)
        if device_note:  # e.g. CUDA asked for but absent: the CPU is used, and the user is told
            self.status(device_note, 0)
        if self.recovery.offer_once():
            self.banner.show()

    # =============================================================== the document's state (read-only here)
    session = property(lambda self: self.doc.session)
    model_path = property(lambda self: self.doc.model_path)

    def _bind_document(self):
        """The views follow the document's signals; nothing here changes the edit state itself."""
        d = self.doc
        d.frameChanged.connect(lambda: self.canvas.set_frame(d.frame) if d.frame is not None else None)
        d.imageKnown.connect(lambda frame, ws: self.compare.note(frame, ws, d.session.ws_initial))
        d.sourceChanged.connect(self._show_source)
        d.modelChanged.connect(self._model_changed)
        d.historyChanged.connect(self._update_actions)
        d.message.connect(lambda kind, title, text: self.show_message(kind, title, text))
        d.status.connect(lambda text, ms: self.status(text, ms))

    # =============================================================== construction
    def _show_pixels(self, on):
        self.canvas.set_show_pixels(on)
        self.side_by_side.pane.set_show_pixels(on)

    def _build_actions(self):
        handlers = command_handlers(self)
        self.actions_: dict[str, QAction] = {}
        for command in COMMANDS:
            a = make_action(command, self, handlers[command.name])
            self.addAction(a)
            self.actions_[command.name] = a
        group = QActionGroup(self)
        group.addAction(self.actions_["points_tool"])
        group.addAction(self.actions_["mask_tool"])
        group.addAction(self.actions_["region_tool"])   # issue 24
        self.actions_["start_stop"].setIconText("Start")

    def _build_ui(self):
        self.canvas = Canvas()
        self.canvas.hovered.connect(lambda x, y: self.status_view.show_hover(x, y))
        self.canvas.zoomChanged.connect(lambda z: self.status_view.show_zoom(z))

        self.view_split = make_splitter()            # the canvas, and the start image beside it when asked
        self.view_split.addWidget(self.canvas)
        self.side_by_side = SideBySide(self.canvas, self.view_split)
        self.compare = Compare(self.canvas, self._render_start, self.side_by_side)
        self.timeline_bar = TimelineBar()
        self.timeline_slider, self.timeline_label = self.timeline_bar.slider, self.timeline_bar.label
        self.banner = RecoveryBanner()
        self.banner.recoverRequested.connect(lambda: self.sessions.recover())
        central = QWidget()
        col = QVBoxLayout(central)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        col.addWidget(self.banner)
        col.addWidget(self.view_split, 1)
        col.addWidget(self.timeline_bar)
        self.setCentralWidget(central)

        self.panel = SidePanel(self.actions_)
        self.points_model = PairsModel(self.doc, self)   # the Points list reads the document's pairs
        self.panel.set_points_model(self.points_model)
        self.points = PointsController(self.doc, self.canvas, self.panel, self.points_model, self)
        self.exporter = ExportController(self.doc, self.panel, self.settings, self.files,
                                         self.dialogs.give_focus_back_after,
                                         self)
        self.image_save = ImageSave(self.doc, self.panel.overlay, self.files, lambda *m: self.show_message(*m),
                                    lambda *t: self.status(*t))
        self.points.changed.connect(self._show_points_state)
        self.points.status.connect(lambda text: self.status(text))
        p = self.panel
        self.latent = LatentController(self.doc, p, self.points, self.status)   # seed, truncation, drag settings
        tools = (self.actions_["points_tool"], self.actions_["mask_tool"])
        self.masks = MaskController(self.doc, self.canvas, p, tools, self.status)   # strokes, mode, brush
        self.actions_["points_tool"].setChecked(True)
        p.show_mask.toggled.connect(self.actions_["toggle_mask"].setChecked)
        self.actions_["toggle_mask"].setChecked(p.show_mask.isChecked())
        self.dock = make_dock("Controls", "controls", p, self)   # View > Controls brings it back
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        guard_wheel(p)
        self.toolbar = make_toolbar(self.actions_)
        self.addToolBar(self.toolbar)

        self.status_view = StatusView(self.statusBar(), device_text(self.device, self.precision))
        self.semantics = SemanticsController(self.doc, self, self.dock, self.canvas, self.actions_,   # Semantics
                                             self.points.click, self.panel.mask_mode, self.status)   # panel, ghosts
        cancel, status = self.actions_["cancel"], self.status
        self.region_tool = RegionTool(self.doc, self.canvas, cancel, status, self)   # issue 24: Region tool,
        self.warp_preview = WarpPreview(self.doc, self.canvas, self.region_tool, self.points.changed, status,
                                        self)                                              # warp preview,
        self.auto_region = AutoRegion(self.doc, self.canvas, self.points.changed, cancel, status, self)   # auto mask
        self.models = ModelController(self.doc, self.panel, self.canvas, self.status_view, self.latent.params_from_ui,
                                      lambda: (self.device, self.precision), lambda *m: self.show_message(*m),
                                      lambda *t: self.status(*t), self._forget_view, self._installed, self)
        self.runs = RunController(self.doc, self.panel, self.timeline_bar, self.status_view, self.latent.apply_params,
                                  lambda: self.points.pending, self.status, self._update_actions)   # Start/Stop
        app = FileServices(self.files, lambda *m: self.show_message(*m), lambda *t: self.status(*t),
                           self.need_session, self.source_stem, self.latent.apply_params, self.latent.replace_image,
                           self.models, self.settings, self, self.dialogs.give_focus_back_after)
        self.sessions = SessionIO(self.doc, self.panel, self.canvas, self.banner, self.recovery, app)   # sessions,
        self.photos = PhotoOpen(self.doc, app)                                                   # photos
        self.history_view = QUndoView(self.doc.undo_stack)   # Edit > History: click an entry to go back to it
        self.history_view.setEmptyLabel("Start")
        self.history_dock = make_dock("History", "history", self.history_view, self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.history_dock)
        self.history_dock.hide()

    def _build_menus(self):
        def recent(menu):
            self.recent_menu = menu
            self.recent = RecentModels(self.settings, menu, self.open_model)
        build_menus(self.menuBar(), self.actions_, recent, self.history_dock.toggleViewAction(), self.panel_actions)

    def panel_actions(self) -> list:
        """View's show/hide action of each dock and of the toolbar, named after it."""
        docks = self.findChildren(QDockWidget)
        acts = [d.toggleViewAction() for d in docks] + [self.toolbar.toggleViewAction()]
        for act in acts:
            act.setStatusTip(f"Show or hide the {act.text()} panel")
        return acts

    def show_message(self, kind, title, text):
        """Every message box goes through here (non-modal; tests replace this method)."""
        self.messages.append((kind, title, text))
        self.statusBar().showMessage(text, 15000)
        return message_box(self, kind, title, text)

    def status(self, text, timeout=8000):
        self.statusBar().showMessage(text, timeout)

    def set_device(self, device="auto", precision=None):
        """The device setting (Preferences): used from the next model opened; the status bar keeps
        showing where the open model runs. precision None: what the command line asked for."""
        self.device, self.precision, note = app_device(device, precision or self._precision_asked)
        if self.session is None:
            self.status_view.device.setText(device_text(self.device, self.precision))
        if note:
            self.status(note, 0)

    # =============================================================== model
    def open_model_dialog(self):
        path = self.files.ask_open_path("Open model", MODEL_FILTER, "model")
        if path:
            self.open_model(path)

    def open_model(self, path, seed=None, background=None) -> bool:
        """See ModelController.open: False, after a message, leaves the current model and edits."""
        return self.models.open(path, seed, background)

    def _forget_view(self):
        """Before another model is opened: the old edit is autosaved, its mask overlay goes."""
        self.sessions.autosave()  # what was being edited can come back with File > Recover last session
        self.canvas.set_mask(None)

    def _model_changed(self):
        """Another model is in (opened, or put back by undo/redo): marks and overlays of the old one go."""
        self.points.clear_marks()
        self.canvas.cancel_interaction()
        self.compare.forget()

    def _installed(self, path):
        self.recent.add(path)
        self._update_actions()

    def _show_points_state(self):
        self.status_view.show_pairs(self.doc.pairs())
        self._update_actions()

    # =============================================================== undoable edits
    def undo(self):
        text = self.doc.undo()
        if text is not None:
            self.status(f"Undid: {text}")

    def redo(self):
        text = self.doc.redo()
        if text is not None:
            self.status(f"Redid: {text}")

    # =============================================================== latent (see latent_controller.py)

    def _show_source(self):
        """Title, Latent panel and seed box name where the image came from."""
        kind, name = self.doc.source
        text = f"{kind} {name}"
        self.panel.show_source(text, None if kind == "seed" else text)
        self._update_actions()

    def source_stem(self) -> str:
        """A file name (no extension) for what is on screen, after where it came from: seed5,
        sample_face (a photo), the latent's or the session's own name."""
        kind, name = self.doc.source
        if kind == "seed":
            return f"seed{name}"
        stem = Path(str(name)).stem
        return stem or kind

    def _ws_initial(self):
        return None if self.session is None else self.session.ws_initial

    def _render_start(self):
        """The start image, rendered here when no frame of it was kept (never during a run)."""
        if self.session is None or self.doc.running or not self.doc.worker.wait_idle(5):
            return None
        return self.session.render(self.session.ws_initial)

    # =============================================================== export
    def need_session(self) -> bool:
        if self.session is None:
            self.show_message("info", "No model", "Open a model first (File › Open model, Ctrl+O).")
            return False
        return True

    # =============================================================== drag and drop
    def dragEnterEvent(self, event):
        if dropped_files(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event):
        files = dropped_files(event.mimeData())
        if files:
            event.acceptProposedAction()
            self.open_path(files[0])

    def open_path(self, path):
        """Open whatever file the user dropped (see gui/file_drop.py)."""
        return open_dropped(path, open_image=self.photos.open, open_session=self.sessions.open,
                            load_latent=self.sessions.load_latent, open_model=self.open_model,
                            has_session=lambda: self.session is not None, show_message=self.show_message)

    # =============================================================== misc
    def _update_actions(self):
        has, running = self.session is not None, self.doc.running
        update_actions(self.actions_, self.doc)
        self.panel.space.setEnabled(has and not running)
        self.panel.seed.setEnabled(has)
        self.panel.truncation.setEnabled(has)
        self.timeline_bar.set_busy(running)
        self.semantics.update_enabled(has, running)
        title = window_title(self.doc)
        if self.windowTitle() != title:
            self.setWindowTitle(title)

    # =============================================================== settings
    def setting(self, key):
        """A remembered value (gui/settings.py's WINDOW_SETTINGS names each key, type and default)."""
        return read_setting(self.settings, key)

    def _unsaved(self) -> bool:
        return not self.doc.undo_stack.isClean() and self.recovery.worth_saving(self.session)

    def ask_quit(self) -> bool:
        return ask_quit(self, self.settings)

    def closeEvent(self, event):
        if not self._closing and self.confirm_quit and self._unsaved() \
                and self.setting("quit/ask") and not self.ask_quit():
            event.ignore()
            return
        if not self._closing:
            self._closing = True
            try:
                self.runs.stop(wait=True)
                self.models.wait()   # a large model still being read: let it finish
                self.exporter.shutdown()
                if self.sessions.autosave() and self.doc.undo_stack.isClean():
                    self.recovery.mark_offered()   # saved as a session already: nothing to offer
                self.window_state.save()
            finally:
                self.warp_preview.shutdown()   # issue 24
                self.auto_region.shutdown()
                self.doc.shutdown()
                self.keys.remove()
        super().closeEvent(event)

