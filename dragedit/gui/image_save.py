"""File › Save image: the frame on screen as PNG/JPEG, with the points drawn on it when the
panel's overlay box is ticked; a bad path or no image yet ends in one message."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..errors import DragEditError

IMAGE_SAVE_FILTER = "PNG image (*.png);;JPEG image (*.jpg *.jpeg)"


class ImageSave:
    def __init__(self, doc, overlay_box, files, show_message: Callable, status: Callable):
        """overlay_box: the panel's 'draw the points' check box; files: gui/files.py's dialogs."""
        self.doc, self.overlay_box, self.files = doc, overlay_box, files
        self.show_message, self.status = show_message, status

    def dialog(self, stem):
        """stem: the suggested name, after where the image came from."""
        path = self.files.ask_save_path("Save image", IMAGE_SAVE_FILTER, "export", f"{stem}.png")
        if path:
            if not Path(path).suffix:
                path += ".png"
            self.save(path)

    def save(self, path) -> bool:
        from ..io.export import draw_points, save_image
        try:
            frame = self.doc.frame
            if frame is None:
                raise DragEditError("there is no image yet: wait for the model to render")
            if self.overlay_box.isChecked():
                pairs = self.doc.pairs()
                frame = draw_points(frame, [h for h, _ in pairs], [t for _, t in pairs])
            out = save_image(frame, path)
        except DragEditError as exc:
            self.show_message("warning", "Cannot save image", str(exc))
            return False
        self.status(f"Saved {out}.")
        return True
