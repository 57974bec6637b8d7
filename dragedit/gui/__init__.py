"""The desktop app (PySide6). The engine (`dragedit.edit`, `dragedit.io`) knows nothing of Qt:
this package only shows the session's state and forwards the user's edits to it.

- `app.py`       `run_app()`: QApplication, organisation/app names for QSettings, the main window.
- `document.py`  EditDocument: the one owner of the edit state (session, frame, run, timeline,
                 history, worker), changed by named operations, announced by signals.
- `history.py`   the edit history on QUndoStack: one StateCommand (state before and after) per edit.
- `window.py`    MainWindow: builds the views and controllers and binds them to the document.
- `actions.py`   the command table (menus, toolbar and Help are made from it) and the mouse gestures.
- `settings.py`  typed preferences and WINDOW_SETTINGS, every remembered window value with its default.
- `canvas.py`    the image view: zoom/pan, exact widget <-> image mapping, points, arrows, mask brush.
- `points_controller.py`, `points_model.py`  pairs from clicks; the Points list's table model.
- `keys.py`      Space (start/stop, pan) and held \\ (the start image) for the whole window.
- `compare.py`, `side_by_side.py`  the start image: held, split, or in a linked pane beside the canvas.
- `model_open.py`, `session_io.py`, `photo_open.py`  opens as whole steps: read and check first.
- `timeline.py`, `timeline_file.py`  the run that made the image; saved beside the autosave.
- `worker.py`    the thread that owns the DragSession while it runs and publishes only the newest frame.
- `none_guard.py` keeps None alive under PySide6 builds that spend its references (Python < 3.12).
- `panels.py`    the side panel (model facts, latent, drag settings, mask, points list, export).
"""
from .none_guard import keep_none_alive

# PySide6 6.12 on Python 3.11 takes a reference from None on every void call (see none_guard.py):
# done here, before any module of the app can paint.
keep_none_alive()
