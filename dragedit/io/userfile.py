"""The first check of any file a user names (a photo, a mask, a latent, a session): it exists, it
is a file, it is not empty and not absurdly large. `os.stat` raises for names the system cannot
even look up (ENAMETOOLONG, ELOOP, EACCES on a folder above), so each of those becomes one
`DragEditError` naming the file instead of an `OSError` escaping from `Path.exists()`."""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from ..errors import DragEditError

_REASONS = {
    errno.ENOENT: "does not exist",
    errno.ENOTDIR: "does not exist (a part of the path is not a folder)",
    errno.ENAMETOOLONG: "cannot be opened: the file name is too long",
    errno.ELOOP: "cannot be opened: too many symbolic links",
    errno.EACCES: "cannot be opened: permission denied",
    errno.EPERM: "cannot be opened: permission denied",
}


def describe_os_error(exc: OSError) -> str:
    """'does not exist', 'cannot be opened: ...': the reason an OSError gives, for a message."""
    return _REASONS.get(exc.errno, f"cannot be read: {exc.strerror or exc}")


def short_name(path) -> str:
    """The path as a message shows it: an over-long name is cut in the middle."""
    text = str(path)
    return text if len(text) <= 200 else f"{text[:90]}...{text[-90:]}"


def check_user_file(path, what: str, max_bytes: int | None = None, expected: str = "") -> Path:
    """-> Path of a readable regular file, or a DragEditError that says why not.

    what: how the message names the file ('latent file', 'image file', ...); expected: what a
    folder should have been instead (e.g. 'an image file (PNG, JPEG, ...)')."""
    try:
        path = Path(path)
        if "\x00" in str(path):
            raise DragEditError(f"{what} {short_name(path)!r}: a file name cannot contain a NUL character")
        st = os.stat(path)
    except OSError as exc:
        raise DragEditError(f"{what} {short_name(path)} {describe_os_error(exc)}") from None
    except (TypeError, ValueError):
        raise DragEditError(f"{what} {path!r} is not a file name") from None
    if stat.S_ISDIR(st.st_mode):
        raise DragEditError(f"{short_name(path)} is a folder: expected {expected or what}")
    if not stat.S_ISREG(st.st_mode):
        raise DragEditError(f"{what} {short_name(path)} is not a regular file")
    if st.st_size == 0:
        raise DragEditError(f"{what} {short_name(path)} is empty")
    if max_bytes is not None and st.st_size > max_bytes:
        raise DragEditError(f"{what} {short_name(path)} is {st.st_size / 2 ** 20:.1f} MiB: larger than "
                            f"the {max_bytes / 2 ** 20:.0f} MiB such a file can be")
    return path


def read_user_bytes(path, what: str, max_bytes: int, expected: str = "") -> bytes:
    """The whole file, checked first and never more than max_bytes (it may grow while we read)."""
    path = check_user_file(path, what, max_bytes, expected)
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise DragEditError(f"{what} {short_name(path)} {describe_os_error(exc)}") from None
    if len(data) > max_bytes:
        raise DragEditError(f"{what} {short_name(path)} is larger than {max_bytes / 2 ** 20:.0f} MiB")
    return data
