"""Sessions and latents on disk from the window: save and open (.json + .npz, latent .npz), the
autosave on close and File › Recover last session. The file format is sessionfile.py's; this class moves a session between that
format and the window (the panel's settings, one undoable edit, the source label)."""
from __future__ import annotations

from pathlib import Path

from ..errors import DragEditError

SESSION_FILTER = "dragedit sessions (*.json)"
LATENT_FILTER = "Latents (*.npz *.npy)"


class SessionIO:
    def __init__(self, host):
        self.host = host   # the main window

    def settings_dict(self):
        h = self.host
        p = h.panel
        return dict(steps=p.steps.value(), fps=p.fps.value(), overlay=p.overlay.isChecked(),
                    brush=p.brush.value())

    def save_dialog(self):
        h = self.host
        if not h._need_session():
            return
        path = h.ask_save_path("Save session", SESSION_FILTER, "session", "session.json")
        if path:
            self.save(path)

    def save(self, path) -> bool:
        from .sessionfile import save_session
        h = self.host
        if h.session is None:
            return False
        h._apply_params()
        try:
            out = save_session(path, h.session, h.model_path, self.settings_dict())
        except DragEditError as exc:
            h.show_message("warning", "Cannot save session", str(exc))
            return False
        h.undo_stack.set_clean()
        h.status(f"Saved session {out}.")
        return True

    def open_dialog(self):
        h = self.host
        path = h.ask_open_path("Open session", SESSION_FILTER, "session")
        if path:
            self.open(path)

    def open(self, path) -> bool:
        from .sessionfile import read_session, session_snapshot
        h = self.host
        try:
            data = read_session(path)
        except DragEditError as exc:
            h.show_message("warning", "Cannot open session", str(exc))
            return False
        model = data["model"]
        if model and (h.model_path is None or Path(model).resolve() != h.model_path):
            if not Path(model).exists() and h.session is not None:
                h.show_message("warning", "Cannot open session",
                               f"the session's model {model} does not exist: open that model first")
                return False
            if not h.open_model(model):
                return False
        if h.session is None:
            h.show_message("warning", "Cannot open session", "the session names no model: open a model first")
            return False
        try:
            snap = session_snapshot(data, h.session)
        except DragEditError as exc:
            h.show_message("warning", "Cannot open session", str(exc))
            return False
        pr = data["params"]
        h._set_quietly(h.panel.lr, pr.lr or 0.0)
        h._set_combo(h.panel.tracker, pr.tracker)
        h._set_combo(h.panel.space, pr.space)
        h._set_quietly(h.panel.stop_distance, pr.stop_distance or 0.0)
        st = data.get("settings") or {}
        for key, w in (("steps", h.panel.steps), ("fps", h.panel.fps), ("brush", h.panel.brush)):
            try:
                if key in st:
                    w.setValue(int(st[key]))
            except (TypeError, ValueError):
                pass
        if "overlay" in st:
            h.panel.overlay.setChecked(bool(st["overlay"]))

        def apply():
            h.session.restore(snap)
            h._apply_params()

        ok = h._edit(f"Open session {Path(path).name}", apply, changes_latent=True, title="Cannot open session",
                     source=("session", Path(path).name))
        if ok:
            h._set_quietly(h.panel.seed, h.session.seed)
            h._set_quietly(h.panel.truncation, h.session.params.truncation_psi)
            h._set_combo(h.panel.mask_mode, h.session.mask_mode)
            h.canvas.set_mask_mode(h.session.mask_mode)
            h.canvas.set_mask(h.session.mask)
            h.status(f"Opened session {path}.")
        return ok

    def recover(self):
        h = self.host
        h.banner.hide()
        p = h.recovery.path
        if not p.is_file():
            h.show_message("info", "Nothing to recover", "No session was saved when the app last closed.")
            return
        h.recovery.mark_offered()
        self.open(p)

    def autosave(self) -> bool:
        h = self.host
        return h.recovery.save(h.session, h.model_path, self.settings_dict())

    def save_latent_dialog(self):
        h = self.host
        if not h._need_session():
            return
        path = h.ask_save_path("Save latent", LATENT_FILTER, "latent", f"seed{h.session.seed}.npz")
        if path:
            self.save_latent(path)

    def save_latent(self, path) -> bool:
        from ..io.latents import save_latent
        h = self.host
        p = Path(path)
        if p.suffix.lower() != ".npz":
            p = p.with_name(p.name + ".npz")
        try:
            save_latent(p, h.session.ws, seed=h.session.seed, model=str(h.model_path),
                        truncation_psi=h.session.params.truncation_psi)
        except OSError as exc:
            h.show_message("warning", "Cannot save latent", f"{p}: {exc.strerror or exc}")
            return False
        h.status(f"Saved latent {p}.")
        return True

    def load_latent_dialog(self):
        h = self.host
        if not h._need_session():
            return
        path = h.ask_open_path("Load latent", LATENT_FILTER, "latent")
        if path:
            self.load_latent(path)

    def load_latent(self, path) -> bool:
        from ..io.latents import load_latent
        h = self.host
        try:
            ws = load_latent(path)
        except DragEditError as exc:
            h.show_message("warning", "Cannot load latent", str(exc))
            return False
        return h._edit(f"Load latent {Path(path).name}", lambda: h.session.set_latent(ws),
                       changes_latent=True, title="Cannot load latent", source=("latent", Path(path).name))
