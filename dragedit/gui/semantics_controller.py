"""The semantic workflows of the window: sliders (live preview, one undoable edit per release),
suggested points (ghosts that become handles) and one-click part masks.

The window creates one SemanticsController and calls `install` and `update_enabled`; everything
else arrives through the edit document's signals (model and latent changes, after they are
applied) and through the canvas overlay's."""
from __future__ import annotations

import logging

import numpy as np
import torch
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QDockWidget

from ..edit import semantics
from ..errors import DragEditError
from .canvas_overlay import CanvasOverlay, ghost_label
from .semantic_preview import PreviewRenderer
from .semantics_panel import SemanticsPanel, pretty

log = logging.getLogger(__name__)


class SemanticsController(QObject):
    def __init__(self, doc, window, controls_dock, canvas, actions, click, mask_mode, status):
        """window: the QMainWindow the Semantics dock joins, tabbed with controls_dock; actions:
        name -> QAction (suggest_points, cancel, mask_tool); click(x, y): a click on the image, as
        the Points tool takes it; mask_mode: the panel's mask-mode box; status(text[, ms])."""
        super().__init__(window)
        self.doc, self.canvas, self.click, self.mask_mode, self.status = doc, canvas, click, mask_mode, status
        self.panel = SemanticsPanel()
        self.dock = QDockWidget("Semantics", window)
        self.dock.setObjectName("semantics")
        self.dock.setWidget(self.panel)
        self.dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                              | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                              | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        # A tab beside Controls rather than a second dock under it: stacked, the two split the
        # height and the Controls panel no longer fits at 1200x800 without scrolling.
        window.tabifyDockWidget(controls_dock, self.dock)
        controls_dock.raise_()
        self.preview = PreviewRenderer(self)
        self.preview.ready.connect(self._on_preview)
        self.overlay = CanvasOverlay(canvas)
        self.overlay.ghostClicked.connect(self._on_ghost)
        self.overlay.partRequested.connect(self.select_part)
        self.overlay.partWheel.connect(self.grow_part)
        self.overlay.partCommit.connect(self.commit_part)
        self.overlay.partCancel.connect(self.clear_part)
        p = self.panel
        p.pressed.connect(self._on_pressed)
        p.moved.connect(self._on_moved)
        p.released.connect(lambda i: self.commit(i))
        p.layersChanged.connect(self._on_layers)
        p.resetRequested.connect(self.reset)
        self.action = actions["suggest_points"]   # Drag > Suggest points (G), toggles show_ghosts
        actions["cancel"].triggered.connect(self.clear_part)
        actions["mask_tool"].toggled.connect(lambda on: on or self.clear_part())
        doc.modelChanged.connect(self._sync)
        doc.latentChanged.connect(self._sync)
        self._session = None
        self.base = None            # latent the slider amounts are relative to
        self.committed = None       # latent of the last commit (equal to the session's: sliders are true)
        self._token = 0
        self._shown_token = 0       # previews up to this token are stale (a commit came after them)
        self._committing = False
        self._ghost_ws = None
        self.selection = None       # PartSelection while a part is being chosen
        self.last_preview_ms = None

    # ----- what this uses of the window (one place to adapt if the window changes) ------------
    def _running(self) -> bool:
        return self.doc.running

    def _shown_frame(self):
        """The frame on screen if it shows the session's latent, else None."""
        return self.doc.current_frame()

    def _undoable(self, text, fn, **kw) -> bool:
        return self.doc.edit(text, fn, **kw)

    def _start_handle(self, x, y):
        self.click(x, y)

    # ----- window hooks --------------------------------------------------------------------
    def update_enabled(self, has, running):
        self.panel.setEnabled(has and not running)
        self.action.setEnabled(has and not running)

    # ----- model and latent ------------------------------------------------------------------
    def _sync(self):
        s = self.doc.session
        if s is not self._session:
            self._model_changed(s)
            return
        if s is None or self._committing:
            return
        if self.committed is not None and not torch.equal(s.ws, self.committed) and not self.panel.any_down():
            self._rebase()
        if self.overlay.ghosts and self._ghost_ws is not None and not torch.equal(s.ws, self._ghost_ws):
            self.show_ghosts(True)   # the image changed under the ghosts: suggest again

    def _model_changed(self, s):
        self._session = s
        self.clear_part()
        self.overlay.set_ghosts([])
        self.action.setChecked(False)
        if s is None:
            self.panel.set_directions([], "No model")
            return
        try:
            names = semantics.factor_names(s.G)
            ds = semantics.directions(s.G, "all", k=0 if names else 8)
        except DragEditError as exc:
            self.panel.set_directions([], f"No semantic directions: {exc}")
            return
        title = ("Named factors of this model (±3 spans each factor's range)" if names else
                 "Top SeFa directions of this model's style layers (standard deviations of W)")
        self.panel.set_directions(ds, title)
        self._rebase()

    def _rebase(self):
        s = self.doc.session
        self.base = None if s is None else s.ws.clone()
        self.committed = self.base
        self.panel.zero()

    def _ensure_base(self):
        s = self.doc.session
        if self.base is None or self.committed is None or not torch.equal(s.ws, self.committed):
            self._rebase()

    # ----- sliders ---------------------------------------------------------------------------
    def _busy(self) -> bool:
        if self.doc.session is None:
            return True
        if self._running():
            self.status("Stop the drag before using the semantic sliders.")
            return True
        return False

    def _target_ws(self):
        return semantics.apply(self.doc.session.G, self.base, self.panel.edits())

    def _on_pressed(self, i):
        if not self._busy():
            self._ensure_base()

    def _on_moved(self, i):
        if self._busy() or self.base is None:
            return
        ws = self._target_ws()
        self._token += 1
        self.preview.request(self.doc.session.G, ws, self._token)
        if not self.panel.sliders[i].isSliderDown():
            self.commit(i, merge=True)   # keyboard or wheel: every step is an edit, merged per slider

    def _on_layers(self, i):
        if self.panel.sliders[i].value():
            self._on_moved(i)
            if self.panel.sliders[i].isSliderDown():
                return
            self.commit(i)

    def _on_preview(self):
        r = self.preview.take()
        if r is None:
            return
        frame, token, ms, low = r
        if frame is None:
            self.status(f"preview failed: {low}")
            return
        if token <= self._shown_token or self._running() or self.doc.session is None:
            return
        self.last_preview_ms = ms
        self.panel.info.setText(f"preview {ms:.0f} ms" + (" (low-res)" if low else ""))
        self.canvas.set_frame(frame)

    def commit(self, i=None, merge=False, text=None) -> bool:
        """Make the sliders' latent the session's (one undoable edit); the next drag starts from it."""
        if self._busy() or self.base is None:
            return False
        s = self.doc.session
        ws = self._target_ws()
        self._shown_token = self._token      # previews still on their way are older than this
        if torch.equal(ws, s.ws):
            if self._shown_frame() is not None:
                self.canvas.set_frame(self._shown_frame())
            return False
        if text is None:
            d = self.panel.directions[i] if i is not None else None
            text = (f"{pretty(d.name)} {self.panel.amount(i):+.1f}" if d is not None else "Semantic edit")
        self._committing = True
        try:
            ok = self._undoable(text, lambda: s.set_latent(ws), changes_latent=True,
                              merge_key=f"semantic:{i}" if merge else None)
        finally:
            self._committing = False
        if ok:
            self.committed = s.ws.clone()
        return ok

    def reset(self):
        if self._busy() or self.base is None:
            return
        self.panel.zero()
        self.commit(text="Reset semantic sliders")

    # ----- suggested points ------------------------------------------------------------------
    def show_ghosts(self, on):
        if not on:
            self.overlay.set_ghosts([])
            return
        s = self.doc.session
        if s is None or self._running():
            self.action.setChecked(False)
            return
        from ..edit.suggest import suggest_points
        try:
            pts = suggest_points(s, frame=self._shown_frame())
        except (DragEditError, ValueError, OSError) as exc:
            self.status(f"No suggestions: {exc}")
            self.action.setChecked(False)
            return
        self._ghost_ws = s.ws.clone()
        self.overlay.set_ghosts(pts)
        kind = "landmarks" if pts and pts[0]["kind"] == "landmark" else "distinctive feature points"
        self.status(f"{len(pts)} suggested points ({kind}): click one to make it a handle, then click its target.")

    def _on_ghost(self, i):
        g = self.overlay.ghosts[i]
        self._start_handle(g["x"], g["y"])
        self.overlay.set_ghosts([p for k, p in enumerate(self.overlay.ghosts) if k != i])
        self.status(f"Handle at {ghost_label(g)} ({g['x']:.1f}, {g['y']:.1f}): now click its target.")

    # ----- part masks ------------------------------------------------------------------------
    def select_part(self, x, y):
        s = self.doc.session
        if s is None or self._busy():
            return
        from ..edit.part_mask import PartSelection
        try:
            self.selection = PartSelection(s.features(), (x, y), s.size)
        except DragEditError as exc:
            self.status(str(exc))
            return
        self._show_part()

    def _show_part(self):
        sel = self.selection
        region = sel.region()
        self.overlay.set_part(region, f"Part: similarity ≥ {sel.threshold:.2f} ({int(region.sum())} px) — "
                                      "wheel grows/shrinks, click adds, Alt+click subtracts, right-click cancels")

    def grow_part(self, steps):
        if self.selection is not None:
            self.selection.grow(steps)
            self._show_part()

    def commit_part(self, subtract):
        s = self.doc.session
        if self.selection is None or s is None or self._busy():
            return
        region = self.selection.region()
        cur = s.mask if s.mask is not None else np.zeros(s.size, bool)
        new = (cur & ~region) if subtract else (cur | region)
        m = new if new.any() else None
        mode = self.mask_mode.currentData()
        self._undoable("Subtract part from mask" if subtract else "Add part to mask", lambda: s.set_mask(m, mode))
        self.canvas.set_mask(s.mask)
        self.clear_part()

    def clear_part(self):
        self.selection = None
        self.overlay.set_part(None)
