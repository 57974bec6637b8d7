"""View › Compare › Side by side: the start image in a second canvas beside the edited one, the two
panes of equal size, zoomed and panned together (a wheel, a drag or a scroll bar in either pane
moves both)."""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QSplitter

from .canvas import Canvas


class SideBySide(QObject):
    def __init__(self, canvas: Canvas, splitter: QSplitter):
        super().__init__(splitter)
        self.main = canvas
        self.splitter = splitter
        self.pane = Canvas()
        self.pane.setObjectName("start_image_pane")
        self.pane.placeholder = "No start image"
        self.pane.setToolTip("The image this edit started from")
        splitter.addWidget(self.pane)
        self.pane.hide()
        self._linking = False
        for a, b in ((canvas, self.pane), (self.pane, canvas)):
            a.zoomChanged.connect(lambda _z, a=a, b=b: self._copy(a, b))
            a.horizontalScrollBar().valueChanged.connect(lambda _v, a=a, b=b: self._copy(a, b))
            a.verticalScrollBar().valueChanged.connect(lambda _v, a=a, b=b: self._copy(a, b))
        splitter.splitterMoved.connect(lambda *_: self._equal())

    @property
    def shown(self) -> bool:
        return not self.pane.isHidden()

    def set_shown(self, on: bool):
        self.pane.setVisible(bool(on))
        if on:
            self._equal()
            self._copy(self.main, self.pane)

    def set_frame(self, frame):
        if frame is None:
            self.pane.clear("No start image")
            return
        self.pane.set_frame(frame)
        self.pane.set_before(frame)
        self.pane.set_compare("hold")     # draws the "Start image" badge
        self.pane.set_show_pixels(self.main.show_pixels)
        self._copy(self.main, self.pane)

    def _equal(self):
        """Two equal panes, whatever the splitter was dragged to."""
        if self.shown:
            total = sum(self.splitter.sizes())
            self.splitter.setSizes([total // 2, total - total // 2])

    def _copy(self, src: Canvas, dst: Canvas):
        if self._linking or not self.shown or not src.has_image() or not dst.has_image():
            return
        self._linking = True
        try:
            if src.fitting:
                dst.fit_to_window()
            elif abs(dst.zoom - src.zoom) > 1e-9:
                dst.set_zoom(src.zoom)
            dst.horizontalScrollBar().setValue(src.horizontalScrollBar().value())
            dst.verticalScrollBar().setValue(src.verticalScrollBar().value())
            dst.viewport().update()
        finally:
            self._linking = False


def make_splitter() -> QSplitter:
    s = QSplitter(Qt.Orientation.Horizontal)
    s.setChildrenCollapsible(False)
    return s
