"""The side panel: model facts, latent, drag settings, mask brush, the list of point pairs, export.

Buttons are bound to the window's QActions (one action = one command, one shortcut, one tooltip),
so the panel holds only the value widgets; the window connects them. The controls used on every
edit are always shown; the rest sit in collapsible sections so the panel fits a 1200x800 window.
"""
from __future__ import annotations


from PySide6.QtCore import QItemSelectionModel, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout,
                               QGridLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QScrollArea,
                               QSizePolicy, QSpinBox, QToolButton, QTreeView,
                               QVBoxLayout, QWidget)

from ..edit.drag_defaults import EDIT_STEPS, EXPORT_FPS, PAPER_LR, SMALL_MODEL_LR, SMALL_MODEL_SIZE, TRUNCATION_PSI

MARGINS = (10, 4, 10, 6)
SPACING = 5


def action_button(action, text_beside=True, expand=True) -> QToolButton:
    b = QToolButton()
    b.setDefaultAction(action)
    b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon if text_beside
                         else Qt.ToolButtonStyle.ToolButtonIconOnly)
    if expand:
        b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    b.setAutoRaise(False)
    return b


def _group(title):
    box = QGroupBox(title)
    form = QFormLayout(box)
    form.setContentsMargins(*MARGINS)
    form.setHorizontalSpacing(8)
    form.setVerticalSpacing(SPACING)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return box, form


class Section(QWidget):
    """A titled block whose body folds away (the arrow button); `expanded` is remembered by the window."""

    def __init__(self, title, expanded=False, parent=None):
        super().__init__(parent)
        self.toggle = QToolButton()
        self.toggle.setText(title)
        self.toggle.setCheckable(True)
        self.toggle.setChecked(expanded)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setAutoRaise(True)
        self.toggle.setStyleSheet("QToolButton { border: none; font-weight: bold; }")
        self.body = QWidget()
        self.form = QFormLayout(self.body)
        self.form.setContentsMargins(0, 2, 0, 0)
        self.form.setHorizontalSpacing(8)
        self.form.setVerticalSpacing(SPACING)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.toggle)
        lay.addWidget(self.body)
        self.toggle.toggled.connect(self.set_expanded)
        self.set_expanded(expanded)

    def set_expanded(self, on):
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        if self.toggle.isChecked() != on:
            self.toggle.setChecked(on)
        self.body.setVisible(on)

    @property
    def expanded(self) -> bool:
        return self.toggle.isChecked()


class _PointsView(QTreeView):
    """The Points list asks for little height (a few rows) and grows into whatever the panel has left."""

    def sizeHint(self):
        return QSize(super().sizeHint().width(), 64)


class SeedBox(QSpinBox):
    """The seed; when the image comes from elsewhere (a photo, a latent file) it shows that instead
    of a stale number, and Enter on any number (even the old one) goes back to that seed."""
    seedEntered = Signal(int)

    def __init__(self):
        super().__init__()
        self._other = None
        self.editingFinished.connect(self._entered)

    def set_other_source(self, text):
        self._other = text or None
        self.lineEdit().setPlaceholderText(text or "")
        self.lineEdit().setText(self.textFromValue(self.value()))

    def textFromValue(self, v):
        return "" if self._other else super().textFromValue(v)

    def _entered(self):
        text = self.lineEdit().text().strip()
        if self._other and text.isdigit():
            self.seedEntered.emit(int(text))


def _buttons(*buttons, columns=2):
    w = QWidget()
    grid = QGridLayout(w)
    grid.setContentsMargins(0, 0, 0, 0)
    grid.setHorizontalSpacing(SPACING)
    grid.setVerticalSpacing(SPACING)
    for i, b in enumerate(buttons):
        grid.addWidget(b, i // columns, i % columns)
    return w


class SidePanel(QScrollArea):
    pairActivated = Signal(int)   # a row of the points list was selected

    def __init__(self, actions: dict, parent=None):
        super().__init__(parent)
        self.flashing = False         # the Points list is lit up (Start with no pairs)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        body = QWidget()
        col = QVBoxLayout(body)
        col.setContentsMargins(6, 4, 6, 4)
        col.setSpacing(5)
        a = actions

        # Model
        box, form = _group("Model")
        self.model_file = QLabel("none")
        self.model_file.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model_file.setWordWrap(True)
        row = QHBoxLayout()
        row.setSpacing(SPACING)
        row.addWidget(action_button(a["open_model"], text_beside=False, expand=False))
        form.addRow("File", row)
        self.model_resolution = QLabel("-")
        self.model_latent = QLabel("-")
        self.model_params = self.model_latent  # shown on the latent row
        self.model_file.setWordWrap(False)
        facts = QVBoxLayout()
        facts.setSpacing(0)
        top = QHBoxLayout()
        top.setSpacing(SPACING)
        top.addWidget(self.model_file)
        top.addWidget(self.model_resolution)
        top.addStretch(1)
        facts.addLayout(top)
        facts.addWidget(self.model_latent)
        row.insertLayout(0, facts, 1)
        col.addWidget(box)
        self._info = {}

        # Latent
        box, form = _group("Latent")
        self.source = QLabel("-")
        self.source.setWordWrap(True)
        self.source.setToolTip("Where the image on the canvas came from")
        form.addRow("Source", self.source)
        self.seed = SeedBox()
        self.seed.setRange(0, 2 ** 31 - 1)
        self.seed.setKeyboardTracking(False)
        self.seed.setToolTip("Seed of the random latent (Enter applies)")
        row = QHBoxLayout()
        row.setSpacing(SPACING)
        row.addWidget(self.seed, 1)
        row.addWidget(action_button(a["random_seed"], text_beside=False, expand=False))
        row.addWidget(action_button(a["reset_image"], text_beside=False, expand=False))
        form.addRow("Seed", row)
        self.truncation = QDoubleSpinBox()
        self.truncation.setRange(0.0, 1.5)
        self.truncation.setSingleStep(0.05)
        self.truncation.setDecimals(2)
        self.truncation.setValue(TRUNCATION_PSI)
        self.truncation.setKeyboardTracking(False)
        self.truncation.setToolTip("Truncation psi: lower is more typical, higher more varied")
        form.addRow("Truncation", self.truncation)
        self.space = QComboBox()
        self.space.addItem("W+ (per layer)", "w+")
        self.space.addItem("W (shared)", "w")
        self.space.setToolTip("Latent space the drag optimises (applies at the next Start)")
        self.space.currentIndexChanged.connect(lambda _i: self._show_latent())
        col.addWidget(box)

        # Drag
        box, form = _group("Drag")
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(4)
        self.lr.setRange(0.0, 0.1)
        self.lr.setSingleStep(0.0005)
        self.lr.setSpecialValueText("auto")
        self.lr.setValue(0.0)
        self.lr.setToolTip(f"Adam learning rate, applies at the next Start (auto: {SMALL_MODEL_LR:g} for models "
                           f"of {SMALL_MODEL_SIZE} px or less, {PAPER_LR:g} as in the paper for larger ones)")
        self.steps = QSpinBox()
        self.steps.setRange(1, 10000)
        self.steps.setValue(EDIT_STEPS)
        self.steps.setToolTip("Most iterations one Start may take")
        form.addRow("Step budget", self.steps)
        self.tracker = QComboBox()
        self.tracker.addItem("Nearest neighbour (DragGAN)", "nn")
        self.tracker.addItem("Motion prior, sub-pixel", "motion")
        self.tracker.addItem("Template + motion prior", "patch")
        self.tracker.setToolTip("How handles are followed from one iteration to the next")
        self.stop_distance = QDoubleSpinBox()
        self.stop_distance.setRange(0.0, 64.0)
        self.stop_distance.setDecimals(1)
        self.stop_distance.setSingleStep(0.5)
        self.stop_distance.setSpecialValueText("auto")
        self.stop_distance.setSuffix(" px")
        self.stop_distance.setToolTip("A handle within this distance of its target counts as reached (auto: 2 px)")
        self.start_button = action_button(a["start_stop"])
        self.start_button.setMinimumHeight(30)
        f = self.start_button.font()
        f.setBold(True)
        self.start_button.setFont(f)
        form.addRow(_buttons(self.start_button, action_button(a["reset_points"]), columns=2))
        self.drag_more = Section("More drag settings")
        self.drag_more.form.addRow("Stop within", self.stop_distance)
        self.drag_more.form.addRow("Step size", self.lr)
        self.drag_more.form.addRow("Tracker", self.tracker)
        self.drag_more.form.addRow("Space", self.space)
        form.addRow(self.drag_more)
        col.addWidget(box)

        # Mask
        box, form = _group("Mask")
        self.mask_mode = QComboBox()
        self.mask_mode.addItem("Flexible: only the painted area moves", "flexible")
        self.mask_mode.addItem("Fixed: the painted area stays", "fixed")
        self.mask_mode.setToolTip("What the painted area means for the drag")
        self.brush = QSpinBox()
        self.brush.setRange(1, 256)
        self.brush.setValue(6)
        self.brush.setSuffix(" px")
        self.brush.setToolTip("Brush radius in image pixels ([ smaller, ] larger)")
        self.show_mask = QCheckBox("Show")
        self.show_mask.setChecked(True)
        self.show_mask.setToolTip("Show the painted area over the image (H)")
        self.mask_mode.setItemText(0, "Flexible: painted area moves")
        self.mask_mode.setItemText(1, "Fixed: painted area stays")
        row = QHBoxLayout()
        row.setSpacing(SPACING)
        row.addWidget(self.mask_mode, 3)
        row.addWidget(self.brush, 1)
        form.addRow("Brush", row)
        row = QHBoxLayout()
        row.setSpacing(SPACING)
        row.addWidget(action_button(a["mask_tool"]), 1)
        row.addWidget(action_button(a["clear_mask"]), 1)
        row.addWidget(self.show_mask)
        form.addRow(row)
        col.addWidget(box)

        # Points
        box = QGroupBox("Points")
        v = QVBoxLayout(box)
        v.setContentsMargins(*MARGINS)
        v.setSpacing(SPACING)
        self.points = _PointsView()      # its model (points_model.PairsModel) is the document's pairs
        self.points.setRootIsDecorated(False)
        self.points.setUniformRowHeights(True)
        self.points.setAlternatingRowColors(True)
        self.points.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.points.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.points.setMinimumHeight(64)
        self.points_box = box
        self.points.setToolTip("Click the image: first the handle (red), then its target (blue)")
        v.addWidget(self.points, 1)
        v.addWidget(_buttons(action_button(a["remove_pair"]), columns=1))
        col.addWidget(box, 1)            # the list takes the height the folded sections leave

        # Export (the Export dialog has every option; these are its defaults and the image overlay)
        self.export_more = Section("Files and export")
        box = self.export_more
        form = self.export_more.form
        self.fps = QSpinBox()
        self.fps.setRange(1, 120)
        self.fps.setValue(EXPORT_FPS)
        self.fps.setSuffix(" fps")
        self.fps.setToolTip("Frames per second of exported GIF and MP4 files")
        form.addRow("Speed", self.fps)
        self.overlay = QCheckBox("Draw points on exported frames")
        self.overlay.setToolTip("Draw handles, targets and arrows on exported frames and images")
        form.addRow(self.overlay)
        form.addRow(_buttons(action_button(a["save_image"]), action_button(a["export_gif"]),
                             action_button(a["save_latent"]), action_button(a["load_latent"]),
                             action_button(a["save_session"]), action_button(a["open_session"]), columns=2))
        col.addWidget(box)
        # One folded section open at a time, so the panel fits at 1200x800 without scrolling.
        self.drag_more.toggle.toggled.connect(lambda on: on and self.export_more.set_expanded(False))
        self.export_more.toggle.toggled.connect(lambda on: on and self.drag_more.set_expanded(False))
        self._align_labels(body)
        self.setWidget(body)
        body.setMinimumWidth(300)
        self.setMinimumWidth(body.minimumSizeHint().width() + 16)

    @staticmethod
    def _align_labels(body):
        """One label column width for every group, so the fields line up down the panel."""
        labels = []
        for form in body.findChildren(QFormLayout):
            for r in range(form.rowCount()):
                item = form.itemAt(r, QFormLayout.ItemRole.LabelRole)
                if item is not None and isinstance(item.widget(), QLabel):
                    labels.append(item.widget())
        width = max((lb.sizeHint().width() for lb in labels), default=0)
        for lb in labels:
            lb.setMinimumWidth(width)
            lb.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    # ----- model facts ----------------------------------------------------------------------
    def show_model(self, path, info):
        if path is None:
            self.model_file.setText("none")
            self.model_file.setToolTip("")
            for w in (self.model_resolution, self.model_latent):
                w.setText("-")
            self._info = {}
            return
        self.model_file.setText(str(path.name))
        self.model_file.setToolTip(str(path))
        res = info.get("resolution")
        self.model_resolution.setText(f"{res} x {res} px" if res else "-")
        self.model_resolution.setStyleSheet("color: palette(mid);")
        self._info = dict(info)
        self._show_latent()

    def _show_latent(self):
        """The latent row says what the drag optimises: W (one vector for all layers) or W+."""
        info = self._info
        if not info:
            return
        n, k, d = info.get("params"), info.get("num_ws", "?"), info.get("w_dim", "?")
        space = "W" if self.space.currentData() == "w" else "W+"
        shape = f"1 x {d}" if space == "W" else f"{k} x {d}"
        self.model_latent.setText(f"latent {shape} ({space})" + (f" · {n / 1e6:.2f} M params" if n else ""))
        self.model_latent.setToolTip(f"z: {info.get('z_dim', '?')} values; W+: {k} vectors of {d}; "
                                     f"W: one vector of {d} shared by all {k} layers. Drag space: {space}")

    def show_source(self, text, seed_text=None):
        """text: 'seed 5', 'photo face.png', 'latent edit.npz'. seed_text: what the seed box shows
        instead of a number when the image is not a seed's."""
        self.source.setText(text)
        self.seed.set_other_source(seed_text)

    def flash_points(self, ms=900):
        """Draw the eye to the Points list (Start with no pairs): its background lights up, then fades
        back. Only colours change (a palette, not a style sheet), so nothing on the panel moves."""
        view = self.points.viewport()
        self.ensureWidgetVisible(self.points_box)
        normal = view.palette()
        lit = view.palette()
        lit.setColor(QPalette.ColorRole.Base, QColor(255, 236, 160))
        lit.setColor(QPalette.ColorRole.AlternateBase, QColor(255, 228, 140))
        self.points.setPalette(lit)
        self.flashing = True
        timer = QTimer(self.points)   # dies with the list
        timer.setSingleShot(True)
        timer.timeout.connect(lambda: (self.points.setPalette(normal), setattr(self, "flashing", False)))
        timer.timeout.connect(timer.deleteLater)
        timer.start(ms)

    # ----- points list ------------------------------------------------------------------------
    def set_points_model(self, model):
        """Show `model` (the document's pairs) in the Points list."""
        t = self.points
        t.setModel(model)
        hdr = t.header()
        hdr.setStretchLastSection(True)
        for c in range(3):
            hdr.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        t.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())

    def select_pair(self, selected=-1):
        """Select row `selected` (-1: none) without reporting it back as the user's choice."""
        t = self.points
        model = t.model()
        if model is None:
            return
        t.blockSignals(True)
        t.selectionModel().blockSignals(True)
        if 0 <= selected < model.rowCount():
            index = model.index(selected, 0)
            flags = (QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
            t.selectionModel().setCurrentIndex(index, flags)
        else:
            t.selectionModel().clearSelection()
        t.selectionModel().blockSignals(False)
        t.blockSignals(False)
        t.viewport().update()

    def selected_pair(self) -> int:
        rows = self.points.selectionModel().selectedRows() if self.points.selectionModel() else []
        return rows[0].row() if rows else -1

    def _selection_changed(self):
        self.pairActivated.emit(self.selected_pair())
