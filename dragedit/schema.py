"""Declared fields for values that come from users' files: each field names its type, its range and
whether it is required, and `check_fields` applies a table of them in one place, so every bad
value gets the same kind of message: the field, the value, and what was expected.

JSON gives Python's bool where a number is expected (`True` is an int), floats such as 1e30 or
Infinity where a whole number is expected, and strings, lists or null anywhere; each checker
refuses those instead of letting `int()` or a comparison raise later."""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .errors import DragEditError

class FieldError(DragEditError):
    """A value that does not match its declared field. `field` is its dotted name."""

    def __init__(self, field: str, value, expected: str):
        self.field, self.value, self.expected = field, value, expected
        super().__init__(f"{field} is {show(value)}: expected {expected}")


def show(value, limit: int = 60) -> str:
    """A short repr for a message (a long string or a deep list is cut)."""
    try:
        text = repr(value)
    except (RecursionError, ValueError):
        text = f"a {type(value).__name__}"
    return text if len(text) <= limit else text[:limit - 3] + "..."


class Invalid(Exception):
    """Raised by a checker with what it expected; `check_fields` adds the field's name."""

    def __init__(self, expected: str, sub: str = "", value=None, has_value: bool = False):
        super().__init__(expected)
        self.expected, self.sub = expected, sub
        self.value, self.has_value = value, has_value   # the bad item, when it is inside the field's value


Checker = Callable[[Any], Any]


@dataclass(frozen=True)
class Field:
    name: str
    check: Checker
    required: bool = False
    default: Any = None


def check_fields(doc, fields, where: str = "") -> dict:
    """-> {name: checked value} for each declared field (the default where an optional one is
    absent). Keys that are not declared are ignored (a newer file may carry more)."""
    if not isinstance(doc, dict):
        raise FieldError(where or "the file", doc, "an object")
    out = {}
    for f in fields:
        name = f"{where}.{f.name}" if where else f.name
        if f.name not in doc:
            if f.required:
                raise FieldError(name, MISSING_VALUE, "a value (this field is required)")
            out[f.name] = f.default
            continue
        value = doc[f.name]
        try:
            out[f.name] = f.check(value)
        except Invalid as bad:
            raise FieldError(name + bad.sub, bad.value if bad.has_value else value, bad.expected) from None
        except FieldError as inner:   # a field of a nested object
            raise FieldError(f"{name}.{inner.field}", inner.value, inner.expected) from None
    return out


class _Missing:
    def __repr__(self):
        return "missing"


MISSING_VALUE = _Missing()


def _is_number(v) -> bool:
    """int, float or a numpy scalar of either (a script's values), never a bool."""
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _is_whole(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def integer(lo: int | None = None, hi: int | None = None) -> Checker:
    """A whole number (not a bool, not a float) in [lo, hi]."""
    def check(v):
        if not _is_whole(v) or (lo is not None and v < lo) \
                or (hi is not None and v > hi):
            raise Invalid(_range_text("a whole number", lo, hi))
        return int(v)
    return check


def number(lo: float | None = None, hi: float | None = None, above: float | None = None) -> Checker:
    """A finite number (int or float, not a bool) in [lo, hi], or > above."""
    def check(v):
        if not _is_number(v) or not math.isfinite(v) or (lo is not None and v < lo) \
                or (hi is not None and v > hi) or (above is not None and v <= above):
            if above is not None:
                at_most = f" and at most {_num(hi)}" if hi is not None else ""
                raise Invalid(f"a finite number above {_num(above)}{at_most}")
            raise Invalid(_range_text("a finite number", lo, hi))
        return float(v)
    return check


def boolean() -> Checker:
    def check(v):
        if not isinstance(v, bool):
            raise Invalid("true or false")
        return v
    return check


def text(choices=None, max_len: int = 4096) -> Checker:
    """A string without NUL characters, of at most max_len characters, optionally one of choices."""
    def check(v):
        if choices is not None:
            if not isinstance(v, str) or v not in choices:
                raise Invalid("one of " + ", ".join(repr(c) for c in choices))
            return v
        if not isinstance(v, str) or "\x00" in v or len(v) > max_len:
            raise Invalid(f"a string (no NUL character, at most {max_len} characters)")
        return v
    return check


def optional(check: Checker) -> Checker:
    """null, or what `check` accepts."""
    def opt(v):
        return None if v is None else check(v)
    opt.__doc__ = check.__doc__
    return opt


def list_of(item: Checker, min_len: int = 0, max_len: int = 100_000, what: str = "a list") -> Checker:
    """A JSON list of items that `item` accepts; a bad item is named by its index."""
    def check(v):
        if not isinstance(v, list) or not min_len <= len(v) <= max_len:
            size = f"{min_len}" if min_len == max_len else f"{min_len} to {max_len}"
            raise Invalid(f"{what} of {size} items")
        out = []
        for i, x in enumerate(v):
            try:
                out.append(item(x))
            except Invalid as bad:
                raise Invalid(bad.expected, f"[{i}]{bad.sub}", bad.value if bad.has_value else x, True) from None
        return out
    return check


def _range_text(kind: str, lo, hi) -> str:
    if lo is not None and hi is not None:
        return f"{kind} from {_num(lo)} to {_num(hi)}"
    if lo is not None:
        return f"{kind} >= {_num(lo)}"
    if hi is not None:
        return f"{kind} <= {_num(hi)}"
    return kind


def _num(x) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"
