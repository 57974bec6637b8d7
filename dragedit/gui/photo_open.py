"""File › Open image: a photo is inverted into the model in the inversion dialog (background
thread, nothing changes until the user accepts), then shown as one undoable edit that clears the
old image's points and mask; with pivotal tuning the tuned generator is saved beside the app's
settings and opened like any model. It gets the document and a FileServices (messages, file
dialogs, the model opener, replace_image), not the window."""
from __future__ import annotations

import time
from pathlib import Path

from ..errors import DragEditError
from .present import present

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
IMAGE_FILTER = "Images (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES) + ");;All files (*)"


class PhotoOpen:
    def __init__(self, doc, app):
        self.doc, self.app = doc, app   # EditDocument, FileServices
        self.dialog = None          # the inversion dialog while it is open

    def open_dialog(self):
        if not self.app.need_session():
            return
        path = self.app.files.ask_open_path("Open image", IMAGE_FILTER, "image")
        if path:
            self.open(path)

    def open(self, path):
        """Show the inversion dialog for a photo (non-blocking); returns it, or None on a bad file."""
        from .invert_dialog import InvertDialog
        if not self.app.need_session():
            return None
        self.doc.stop_run(wait=True)
        if not self.doc.worker.wait_idle(60):
            self.app.show_message("warning", "Cannot open image", "the model is still busy: try again")
            return None
        dlg = InvertDialog(self.doc.session.G, path, settings=self.app.settings, parent=self.app.dialog_parent)
        if dlg.error:
            self.app.show_message("warning", "Cannot open image", dlg.error)
            dlg.deleteLater()
            return None
        self.app.files.remember_dir("image", path)
        dlg.accepted.connect(lambda: self.apply(dlg.result, path))
        dlg.finished.connect(dlg.deleteLater)
        self.app.give_focus_back_after(dlg)
        self.dialog = dlg
        present(dlg, window_modal=True)
        return dlg

    def apply(self, res, path) -> bool:
        """Edit the inverted photo. A latent alone is one undoable edit (points and mask of the old
        image are cleared with it); a tuned generator is saved and opened like any model."""
        if res is None:
            return False
        name = Path(path).name
        quality = f"PSNR {res.psnr:.1f} dB" + (f", {res.pti_psnr:.1f} dB after tuning"
                                              if res.pti_psnr is not None else "")
        if res.pti_psnr is not None:
            from ..io.checkpoint import save_generator
            folder = Path(self.app.settings.fileName()).parent / "inversions"
            out = folder / f"{Path(path).stem}-tuned-{time.strftime('%Y%m%d-%H%M%S')}.pt"
            try:
                folder.mkdir(parents=True, exist_ok=True)
                save_generator(res.G, out, latent=res.ws.cpu(), source_image=str(path),
                               source_model=str(self.doc.model_path or ""))
            except (OSError, DragEditError) as exc:
                self.app.show_message("warning", "Cannot save the tuned model", str(exc))
                return False
            if not self.app.models.open(out, background=False):   # the status below needs it opened
                return False
            self.app.status(f"Opened {name} ({quality}); the tuned model is saved as {out}.", 0)
            return True
        ok = self.app.replace_image(f"Open image {name}", lambda: self.doc.session.set_latent(res.ws, as_start=True),
                             ("photo", name), f"Opened {name}", title="Cannot open image")
        if ok:
            self.app.status(f"Opened {name} ({quality}). Click a handle, then its target.", 0)
        return ok
