"""The Points list's model: a QAbstractTableModel over the document's pairs, so the list, its
selection and the canvas read one source (the pairs live only in the session)."""
from __future__ import annotations

import math

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

COLUMNS = ("#", "Handle", "Target", "Distance")


class PairsModel(QAbstractTableModel):
    def __init__(self, doc, parent=None):
        super().__init__(parent)
        self.doc = doc
        self._rows = 0
        doc.pairsChanged.connect(self.refresh)
        doc.modelChanged.connect(self.refresh)

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.doc.pairs())

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        pairs = self.doc.pairs()
        if not index.isValid() or not 0 <= index.row() < len(pairs):
            return None
        hd, tg = pairs[index.row()]
        c = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (str(index.row() + 1), f"{hd[0]:.1f}, {hd[1]:.1f}", f"{tg[0]:.1f}, {tg[1]:.1f}",
                    f"{math.dist(hd, tg):.1f} px")[c]
        if role == Qt.ItemDataRole.TextAlignmentRole and c == 3:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def refresh(self):
        """Rows added or removed at the end, values changed in place (a selection survives a run)."""
        n = len(self.doc.pairs())
        if n > self._rows:
            self.beginInsertRows(QModelIndex(), self._rows, n - 1)
            self._rows = n
            self.endInsertRows()
        elif n < self._rows:
            self.beginRemoveRows(QModelIndex(), n, self._rows - 1)
            self._rows = n
            self.endRemoveRows()
        if n:
            self.dataChanged.emit(self.index(0, 0), self.index(n - 1, len(COLUMNS) - 1))
