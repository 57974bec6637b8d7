"""Sessions and latents on disk from the window: save and open (.json + .npz, latent .npz), the
autosave on close and File › Recover last session. The file format and its validation are the
engine's (`dragedit.edit.session_file`); this class moves a validated session into the document
(it gets the document, the widgets it sets and a FileServices, not the window).

Opens are whole steps: everything is read and checked first (a session's points and mask against
the model it will be shown on, that model loaded into a new object when it is another one); only
then does anything on screen change, as one undoable edit. On any error: one message, nothing changed."""
from __future__ import annotations

from pathlib import Path

from ..errors import DragEditError
from .timeline_file import load_timeline, save_timeline
from .widget_values import set_combo, set_quietly

SESSION_FILTER = "dragedit sessions (*.json)"
LATENT_FILTER = "Latents (*.npz *.npy)"


class SessionIO:
    def __init__(self, doc, panel, canvas, banner, recovery, app):
        self.doc, self.panel, self.canvas, self.banner, self.recovery = doc, panel, canvas, banner, recovery
        self.app = app     # FileServices

    def settings_dict(self):
        p = self.panel
        return dict(steps=p.steps.value(), fps=p.fps.value(), overlay=p.overlay.isChecked(),
                    brush=p.brush.value())

    def save_dialog(self):
        if not self.app.need_session():
            return
        path = self.app.files.ask_save_path("Save session", SESSION_FILTER, "session", f"{self.app.source_stem()}.json")
        if path:
            self.save(path)

    def save(self, path) -> bool:
        from ..edit.session_file import save_session
        if self.doc.session is None:
            return False
        self.app.apply_params()
        try:
            out = save_session(path, self.doc.session, self.doc.model_path, self.settings_dict())
        except DragEditError as exc:
            self.app.show_message("warning", "Cannot save session", str(exc))
            return False
        self.doc.undo_stack.setClean()
        self.app.status(f"Saved session {out}.")
        return True

    def open_dialog(self):
        path = self.app.files.ask_open_path("Open session", SESSION_FILTER, "session")
        if path:
            self.open(path)

    def open(self, path, timeline_path=None) -> bool:
        """timeline_path: the run saved with a recovered session (shown when it made that image)."""
        from ..edit.session_file import read_session
        title = "Cannot open session"
        self.doc.stop_run(wait=True)
        try:
            file = read_session(path)
            other = self._other_model(file)
            if other is None and self.doc.session is None:
                raise DragEditError("the session names no model: open a model first")
        except DragEditError as exc:
            self.app.show_message("warning", title, str(exc))
            return False
        opened = None
        if other is not None:
            opened = self.app.models.load(other, file.seed, title)
            if opened is None:
                return False
        try:
            file.check_fits(opened.G if opened is not None else self.doc.session.G)
        except DragEditError as exc:
            self.app.show_message("warning", title, f"{Path(path).name}: {exc}")
            return False
        session = self.doc.session if opened is None else opened.session
        snap = file.snapshot_for(session)
        timeline = None if timeline_path is None else load_timeline(timeline_path, snap["ws"], session.size)
        self._show_settings(file)
        text, source = f"Open session {Path(path).name}", ("session", Path(path).name)

        def apply():
            session.restore(snap)
            self.app.apply_params()

        if opened is None:
            ok = self.doc.edit(text, apply, changes_latent=True, title=title, source=source, timeline=timeline)
        else:   # the model swap and the session on it: one undoable step (undo brings the old model back)
            ok = self.app.models.install(opened, file.seed, title, text=text, then=apply, source=source,
                                         timeline=timeline)
        if ok:
            set_quietly(self.panel.seed, self.doc.session.seed)
            set_quietly(self.panel.truncation, self.doc.session.params.truncation_psi)
            set_combo(self.panel.mask_mode, self.doc.session.mask_mode)
            self.canvas.set_mask_mode(self.doc.session.mask_mode)
            self.canvas.set_mask(self.doc.session.mask)
            self.app.status(f"Opened session {path}.")
        return ok

    def _other_model(self, file):
        """The session's model file when it is not the one open (None: the open one will do)."""
        if not file.model:
            return None
        model = Path(file.model)
        if self.doc.model_path is not None and model.resolve() == self.doc.model_path:
            return None
        if not model.exists():
            raise DragEditError(f"the session's model {model} does not exist: open that model first")
        return model

    def _show_settings(self, file):
        """The panel shows the session's drag parameters and window settings (all validated)."""
        p = self.panel
        pr, st = file.params, file.settings
        set_quietly(p.lr, pr.lr or 0.0)
        set_combo(p.tracker, pr.tracker)
        set_combo(p.space, pr.space)
        set_quietly(p.stop_distance, pr.stop_distance or 0.0)
        for key, w in (("steps", p.steps), ("fps", p.fps), ("brush", p.brush)):
            if key in st:
                w.setValue(int(st[key]))
        if "overlay" in st:
            p.overlay.setChecked(bool(st["overlay"]))

    def recover(self) -> bool:
        self.banner.hide()
        p = self.recovery.path
        if not p.is_file():
            self.app.show_message("info", "Nothing to recover", "No session was saved when the app last closed.")
            return False
        self.recovery.mark_offered()
        return self.open(p, timeline_path=self.timeline_path())

    def timeline_path(self) -> Path:
        return self.recovery.path.with_name("autosave.timeline.npz")

    def autosave(self) -> bool:
        saved = self.recovery.save(self.doc.session, self.doc.model_path, self.settings_dict())
        if saved:   # and the run that made the image, so Recover brings the timeline back too
            save_timeline(self.timeline_path(), self.doc.run_frames)
        return saved

    def save_latent_dialog(self):
        if not self.app.need_session():
            return
        path = self.app.files.ask_save_path("Save latent", LATENT_FILTER, "latent", f"{self.app.source_stem()}.npz")
        if path:
            self.save_latent(path)

    def save_latent(self, path) -> bool:
        from ..io.latents import save_latent
        p = Path(path)
        if p.suffix.lower() != ".npz":
            p = p.with_name(p.name + ".npz")
        try:
            save_latent(p, self.doc.session.ws, seed=self.doc.session.seed, model=str(self.doc.model_path),
                        truncation_psi=self.doc.session.params.truncation_psi)
        except OSError as exc:
            self.app.show_message("warning", "Cannot save latent", f"{p}: {exc.strerror or exc}")
            return False
        self.app.status(f"Saved latent {p}.")
        return True

    def load_latent_dialog(self):
        if not self.app.need_session():
            return
        path = self.app.files.ask_open_path("Load latent", LATENT_FILTER, "latent")
        if path:
            self.load_latent(path)

    def load_latent(self, path) -> bool:
        """A latent file is a new image: checked against the model first, then shown with the old
        image's points and mask cleared in the same undoable edit (as a new seed or a photo)."""
        from ..io.latents import load_latent
        if self.doc.session is None:
            return False
        G = self.doc.session.G
        try:
            ws = load_latent(path, expect=(G.num_ws, G.w_dim))
        except DragEditError as exc:
            self.app.show_message("warning", "Cannot load latent", str(exc))
            return False
        name = Path(path).name
        return self.app.replace_image(f"Load latent {name}", lambda: self.doc.session.set_latent(ws), ("latent", name),
                               f"Loaded {name}", title="Cannot load latent")
