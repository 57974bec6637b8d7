"""File › Open image: a photo is inverted into the model in the inversion dialog (background
thread, nothing changes until the user accepts), then shown as one undoable edit that clears the
old image's points and mask; with pivotal tuning the tuned generator is saved beside the app's
settings and opened like any model. `host` is the main window (messages, file dialogs, the open
model, replace_image)."""
from __future__ import annotations

import time
from pathlib import Path

from ..errors import DragEditError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
IMAGE_FILTER = "Images (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES) + ");;All files (*)"


class PhotoOpen:
    def __init__(self, host):
        self.host = host
        self.dialog = None          # the inversion dialog while it is open

    def open_dialog(self):
        h = self.host
        if not h.need_session():
            return
        path = h.files.ask_open_path("Open image", IMAGE_FILTER, "image")
        if path:
            self.open(path)

    def open(self, path):
        """Show the inversion dialog for a photo (non-blocking); returns it, or None on a bad file."""
        from .invert_dialog import InvertDialog
        h = self.host
        if not h.need_session():
            return None
        h.stop_run(wait=True)
        if not h.doc.worker.wait_idle(60):
            h.show_message("warning", "Cannot open image", "the model is still busy: try again")
            return None
        dlg = InvertDialog(h.session.G, path, settings=h.settings, parent=h)
        if dlg.error:
            h.show_message("warning", "Cannot open image", dlg.error)
            dlg.deleteLater()
            return None
        h.remember_dir("image", path)
        dlg.accepted.connect(lambda: self.apply(dlg.result, path))
        dlg.finished.connect(dlg.deleteLater)
        h.give_focus_back_after(dlg)
        self.dialog = dlg
        dlg.open()
        return dlg

    def apply(self, res, path) -> bool:
        """Edit the inverted photo. A latent alone is one undoable edit (points and mask of the old
        image are cleared with it); a tuned generator is saved and opened like any model."""
        h = self.host
        if res is None:
            return False
        name = Path(path).name
        quality = f"PSNR {res.psnr:.1f} dB" + (f", {res.pti_psnr:.1f} dB after tuning"
                                              if res.pti_psnr is not None else "")
        if res.pti_psnr is not None:
            from ..io.checkpoint import save_generator
            folder = Path(h.settings.fileName()).parent / "inversions"
            out = folder / f"{Path(path).stem}-tuned-{time.strftime('%Y%m%d-%H%M%S')}.pt"
            try:
                folder.mkdir(parents=True, exist_ok=True)
                save_generator(res.G, out, latent=res.ws.cpu(), source_image=str(path),
                               source_model=str(h.model_path or ""))
            except (OSError, DragEditError) as exc:
                h.show_message("warning", "Cannot save the tuned model", str(exc))
                return False
            if not h.open_model(out, background=False):   # the status below needs it opened
                return False
            h.status(f"Opened {name} ({quality}); the tuned model is saved as {out}.", 0)
            return True
        ok = h.replace_image(f"Open image {name}", lambda: h.session.set_latent(res.ws, as_start=True),
                             ("photo", name), f"Opened {name}", title="Cannot open image")
        if ok:
            h.status(f"Opened {name} ({quality}). Click a handle, then its target.", 0)
        return ok
