"""Errors a user may see: each message names the file or value and what was expected."""


class DragEditError(Exception):
    """Base class for errors that are reported to the user as a message, never a traceback."""


class ModelFileError(DragEditError):
    """A model file is missing, unreadable, unsafe or not a generator."""
