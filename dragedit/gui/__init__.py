"""The desktop app (PySide6). The engine (`dragedit.edit`, `dragedit.io`) knows nothing of Qt:
this package only shows the session's state and forwards the user's edits to it.

- `app.py`     `run_app()`: QApplication, organisation/app names for QSettings, the main window.
- `window.py`  MainWindow: actions, menus, the glue between canvas, panel, worker and undo stack.
- `canvas.py`  the image view: zoom/pan, exact widget <-> image mapping, points, arrows, mask brush.
- `worker.py`  the thread that owns the DragSession while it runs and publishes only the newest frame.
- `panels.py`  the side panel (model facts, latent, drag settings, mask, points list, export).
- `document.py` EditDocument: the one owner of the edit state (session, frame, run, timeline, history, worker).
- `history.py`  the edit history on QUndoStack: one StateCommand (state before and after) per edit.
- `session_io.py`  save/open a whole editing session (JSON + npz) and latents, each open in one step.
"""
