"""The few app services that the file actions (SessionIO, PhotoOpen) need besides the document:
file dialogs, messages, the status bar and the model opener. One small object instead of the
whole window, so those classes can be built and tested with just these."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass
class FileServices:
    files: Any                                     # FileDialogs: ask for a file, remember its folder
    show_message: Callable[[str, str, str], None]  # (kind, title, text)
    status: Callable[..., None]                    # (text, milliseconds=8000)
    need_session: Callable[[], bool]               # False, after a message, when no model is open
    source_stem: Callable[[], str]                 # a default file name for what is on screen
    apply_params: Callable[[], bool]               # the panel's drag settings into the session
    replace_image: Callable[..., bool]             # a new image as one undoable step (LatentController)
    models: Any                                    # ModelController: load, install, open
    settings: Any                                  # QSettings (inversion settings, where tuned models go)
    dialog_parent: Any                             # QWidget dialogs open over
    give_focus_back_after: Callable[[Any], None]   # a dialog: the canvas gets the keys back when it closes
