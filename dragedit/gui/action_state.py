"""What the window's commands say and allow at each moment: enabled by gui/actions.py's `needs`,
Start/Stop and Undo/Redo texts, the panel's latent boxes, and the window title."""
from __future__ import annotations

from . import icons
from .actions import COMMAND, COMMANDS, key_text


def window_title(doc) -> str:
    """Model and source; Qt adds " — dragedit" (the application's display name) itself where the
    platform shows titles."""
    title = f"{doc.model_path.name} — {doc.source[0]} {doc.source[1]}" if doc.model_path else "dragedit"
    return title + (" (running)" if doc.running else "")


def update_actions(actions, doc):
    """actions: name -> QAction, made from gui/actions.py's COMMANDS."""
    a = actions
    has = doc.session is not None
    running = doc.running
    frames = has and doc.run_frames is not None and len(doc.run_frames.frames) > 1
    for command in COMMANDS:   # 'needs' of gui/actions.py: when each command can be used
        if command.needs:
            a[command.name].setEnabled(frames if command.needs == "frames" else has)
    word = "Stop" if running else "Start"
    if a["start_stop"].iconText() != word:
        a["start_stop"].setText(f"{word}\tSpace")
        a["start_stop"].setIconText(word)
        a["start_stop"].setIcon(icons.standard("SP_MediaStop" if running else "SP_MediaPlay"))
        a["start_stop"].setToolTip(f"{word} the drag (Space)")
    stack = doc.undo_stack
    u, r = stack.canUndo(), stack.canRedo()
    a["undo"].setEnabled(has and u)
    a["redo"].setEnabled(has and r)
    a["undo"].setText(f"Undo {stack.undoText()}" if u else "Undo")
    a["redo"].setText(f"Redo {stack.redoText()}" if r else "Redo")
    for name in ("undo", "redo"):   # the menu names the edit; Help keeps the command's own name
        a[name].setToolTip(f"{a[name].text()} ({key_text(COMMAND[name])})")
