"""Pieces of the main window made from gui/actions.py's tables: the toolbar, the menus, and the
docks (closable, each shown again from View)."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QDockWidget, QMenu, QMenuBar, QToolBar, QWidget

from .actions import ICON_ONLY, MENUS, TOOLBAR


def make_toolbar(actions) -> QToolBar:
    tb = QToolBar("Toolbar")
    tb.setObjectName("main_toolbar")
    tb.setIconSize(QSize(20, 20))
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for name in TOOLBAR:
        tb.addSeparator() if name is None else tb.addAction(actions[name])
    for name in ICON_ONLY:
        w = tb.widgetForAction(actions[name])
        if w is not None:
            w.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    return tb


def make_dock(title, object_name, widget: QWidget, parent) -> QDockWidget:
    """A movable, floatable, closable dock (View brings a closed one back)."""
    dock = QDockWidget(title, parent)
    dock.setObjectName(object_name)
    dock.setWidget(widget)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                     | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                     | QDockWidget.DockWidgetFeature.DockWidgetClosable)
    return dock


def build_menus(menubar: QMenuBar, actions, recent: Callable[[QMenu], None], history_action,
                panel_actions: Callable[[], list]):
    """Menus from MENUS; its '@' entries: @recent (recent(menu) fills the submenu it is given),
    @history (Edit › History), @compare (the three compare modes), @panels (one per dock)."""
    for title, names in MENUS:
        menu = menubar.addMenu(title)
        for name in names:
            if name is None:
                menu.addSeparator()
            elif name == "@recent":
                recent(menu.addMenu("Open recent model"))
            elif name == "@history":
                menu.addAction(history_action)
            elif name == "@compare":
                cmp = menu.addMenu("Compare with the start image")
                for mode in ("compare_hold", "compare_split", "compare_side"):
                    cmp.addAction(actions[mode])
            elif name == "@panels":
                for act in panel_actions():   # every panel can be shown again, however it was closed
                    menu.addAction(act)
            else:
                menu.addAction(actions[name])
