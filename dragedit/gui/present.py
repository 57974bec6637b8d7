"""Show a dialog with the keyboard: raised and activated, so Esc and Enter reach it at once.

Why: a window manager gives a new top-level window the focus, but not every desktop does (a bare
X server has no window manager at all), and without it key presses keep going to the main window,
whose Esc cancels a pending point instead of closing the dialog.
"""
from __future__ import annotations


def present(dialog, window_modal=False):
    """Show `dialog` (non-modal, or window-modal with `window_modal`) and give it the keyboard."""
    if window_modal:
        dialog.open()
    else:
        dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog
