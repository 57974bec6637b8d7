"""A guard for PySide6 builds that return None from void methods without a new reference.

Such a build (PySide6 6.12 on Python 3.11 here) relies on None being immortal, as it is from Python
3.12 (PEP 683). On 3.11 each void call (QPainter.drawEllipse, QPen.setWidth, ...) takes one reference
away from None, and after some hundred thousand of them, a few minutes of painting many points,
Python aborts with "none_dealloc: deallocating None". Giving None a reference count that no session
can spend makes it immortal in effect, as 3.12 does."""
from __future__ import annotations

import sys

SPARE_REFS = 1 << 40


def keep_none_alive() -> None:
    if sys.version_info >= (3, 12):
        return
    import ctypes
    refcount = ctypes.c_ssize_t.from_address(id(None))   # ob_refcnt is a PyObject's first field
    if refcount.value < SPARE_REFS:
        refcount.value += SPARE_REFS
