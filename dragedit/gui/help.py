"""Help › Keyboard shortcuts and Help › How to drag-edit, inside the app (no browser).

The shortcut table is made from the command table (gui/actions.py: each command's own name, keys
and description, never a menu's live text such as "Undo Paint mask"), followed by the mouse
gestures, so it cannot drift from what the keys and the mouse do.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHeaderView, QTableWidget, QTableWidgetItem,
                               QTabWidget, QTextBrowser, QVBoxLayout)

from .actions import MOUSE, shortcut_rows

HOW_TO = """
<h3>How to drag-edit</h3>
<ol>
<li><b>Open a model</b> (File › Open model, Ctrl+O) or start from the built-in face model.
Pick a <b>seed</b> for a random image, or File › Open image (Ctrl+I) to fit a photo first.</li>
<li><b>Click a handle</b> on the image (a red dot: the part you want to move), then <b>click its
target</b> (blue: where it should go). Add as many pairs as you like; drag a dot to move it,
right-click it to remove it. Drag › Suggest points (G) shows landmarks or distinctive points:
click one to make it a handle.</li>
<li>Optional: <b>paint a mask</b> (M). In <i>Flexible</i> mode only the painted area moves; in
<i>Fixed</i> mode the painted area stays as it is. [ and ] change the brush. With the mask tool,
Shift+click selects a whole <b>part</b> (an eye, the mouth): the wheel grows or shrinks it, a click
adds it to the mask, Alt+click subtracts it.</li>
<li>Press <b>Space</b> (or Start). The image follows the handles; the run stops when every handle
is within the stop distance of its target, or after the step budget. Space again stops it.
You can move targets while it runs.</li>
<li>Hold <b>\\</b> to see the image you started from; View › Compare with the start image also
shows a split view or the start image side by side. The <b>timeline</b> under the image holds
every frame of the run: pick one to continue from it.</li>
<li>The <b>Semantics</b> tab beside Controls has sliders for the model's named factors (smile,
yaw, ...) or its main directions: the image previews while you drag a slider, and letting go
makes the change one edit.</li>
<li><b>Undo</b> (Ctrl+Z) takes back a whole run, a point, a stroke, a slider or a seed change;
the timeline comes back with it.</li>
<li>Save the image (Ctrl+S), export the run as PNG frames, GIF or MP4 (File › Export frames…,
Ctrl+E), or save the whole session to continue later (File › Save session…). If you quit with
unsaved work, File › Recover last session brings it back.</li>
</ol>
<p><b>Tips.</b> Small moves (a few pixels per pair) work best; for a long move, run, then set a new
target. Fewer pairs converge faster. If a handle drifts, stop, drag it back, and go on.</p>
"""


class HelpDialog(QDialog):
    def __init__(self, parent=None, page=0):
        super().__init__(parent)
        self.setWindowTitle("dragedit help")
        self.tabs = QTabWidget()
        rows = shortcut_rows() + [(gesture, "mouse", what) for gesture, what in MOUSE]
        table = QTableWidget(len(rows), 3)
        table.setHorizontalHeaderLabels(["Command", "Keys", "What it does"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        table.setWordWrap(True)     # long descriptions wrap instead of being cut
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                if c == 1:
                    f = item.font()
                    f.setBold(True)
                    item.setFont(f)
                table.setItem(r, c, item)
        hdr = table.horizontalHeader()
        hdr.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        hdr.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        hdr.setStretchLastSection(True)
        table.resizeRowsToContents()
        hdr.sectionResized.connect(lambda *_: table.resizeRowsToContents())
        self.table = table
        self.tabs.addTab(table, "Keyboard shortcuts")
        self.howto = QTextBrowser()
        self.howto.setOpenExternalLinks(False)
        self.howto.setHtml(HOW_TO)
        self.tabs.addTab(self.howto, "How to drag-edit")
        self.tabs.setCurrentIndex(page)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.tabs)
        lay.addWidget(buttons)
        self.resize(760, 560)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def keys_of(self, command) -> str:
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).text() == command:
                return self.table.item(r, 1).text()
        return ""
