"""Setting a widget's value from the document without it reporting an edit back."""
from __future__ import annotations


def set_quietly(widget, value):
    widget.blockSignals(True)
    widget.setValue(value)
    widget.blockSignals(False)


def set_combo(combo, data):
    """Select the item holding `data` (if there is one), quietly."""
    i = combo.findData(data)
    if i >= 0 and i != combo.currentIndex():
        combo.blockSignals(True)
        combo.setCurrentIndex(i)
        combo.blockSignals(False)
