"""The window's access to the session file format (dragedit/edit/session_file.py, Qt-free).

`read_session` here returns the validated `SessionFile` as a dict of its fields, the shape the
window's open code reads; `session_snapshot` takes that dict (or a SessionFile) back."""
from __future__ import annotations

import dataclasses

from ..edit.session_file import FORMAT, VERSION, SessionFile, save_session, session_snapshot  # noqa: F401
from ..edit.session_file import read_session as read_session_file


def read_session(path) -> dict:
    """All of a session, read and validated (or one DragEditError), as a dict of SessionFile's fields."""
    file = read_session_file(path)
    return {f.name: getattr(file, f.name) for f in dataclasses.fields(SessionFile)}
