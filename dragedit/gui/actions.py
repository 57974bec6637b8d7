"""The window's commands as one typed table: name, text, what it does, keys, icon, when it is
enabled. The QActions, the menus, the toolbar and Help › Keyboard shortcuts are all made from it,
so a command's keys and description are written once. The mouse gestures (which are not actions)
are a table of their own beside it, shown on the same Help page."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QIcon, QKeySequence

from . import icons

K = QKeySequence.StandardKey


@dataclass(frozen=True)
class Command:
    name: str
    text: str                 # the menu text, also the command's name in Help
    tip: str                  # what it does (tooltip, status tip, Help)
    keys: tuple = ()          # shortcuts: key strings or QKeySequence.StandardKey values
    shown_keys: str = ""      # keys read outside Qt's shortcuts (Space, a held key), shown after a tab
    icon: str = ""            # a Qt standard icon (SP_...) or one of ICONS
    checkable: bool = False
    needs: str = ""           # '' always enabled; 'model' an open model; 'frames' a run on the timeline


ICONS: dict[str, Callable[[], QIcon]] = {
    "undo": icons.undo_icon, "redo": lambda: icons.undo_icon(True), "dice": icons.dice_icon,
    "points": icons.points_icon, "brush": icons.brush_icon, "fit": icons.fit_icon,
}

COMMANDS = (
    Command("open_model", "Open model…", "Open a StyleGAN2/3 .pkl (PyTorch or TensorFlow era), a rosinality .pt "
            "or a dragedit .pt model", (K.Open,), icon="SP_DialogOpenButton"),
    Command("open_image", "Open image…", "Open a photo: invert it into the model, then drag it", ("Ctrl+I",),
            icon="SP_FileDialogContentsView", needs="model"),
    Command("open_session", "Open session…", "Open a saved editing session (.json)", ("Ctrl+Shift+O",),
            icon="SP_DirOpenIcon"),
    Command("save_session", "Save session…", "Save points, mask, latent, model and settings (.json + .npz)",
            ("Ctrl+Shift+S",), icon="SP_DialogSaveButton", needs="model"),
    Command("recover_session", "Recover last session", "Reopen the session saved automatically when the app "
            "closed or another model was opened", icon="SP_BrowserReload"),
    Command("save_image", "Save image…", "Save the current image as PNG or JPEG", (K.Save,),
            icon="SP_DialogSaveButton", needs="model"),
    Command("save_latent", "Save latent…", "Save the current latent (.npz)", ("Ctrl+Alt+S",), icon="SP_DriveFDIcon",
            needs="model"),
    Command("load_latent", "Load latent…", "Load a latent saved from dragedit (.npz); the old image's points and "
            "mask are cleared with it", ("Ctrl+L",), icon="SP_DirOpenIcon", needs="model"),
    Command("export_gif", "Export frames…", "Export the frames of the run on the timeline (GIF, MP4 or PNG; size, "
            "points, speed)", ("Ctrl+E",), icon="SP_MediaPlay", needs="frames"),
    Command("export_png", "Frames as PNG…", "Export the frames of the run as a PNG sequence", ("Ctrl+Shift+E",),
            icon="SP_FileDialogListView", needs="frames"),
    Command("export_mp4", "Frames as MP4…", "Export the frames of the run as an MP4 video", ("Ctrl+Alt+E",),
            icon="SP_MediaPlay", needs="frames"),
    Command("quit", "Quit", "Quit dragedit", (K.Quit,), icon="SP_DialogCloseButton"),
    Command("preferences", "Preferences…", "LPIPS weights file and compute device", ("Ctrl+,",),
            icon="SP_FileDialogDetailedView"),
    Command("undo", "Undo", "Undo the last point edit, mask stroke, seed change or run", (K.Undo,), icon="undo",
            needs="model"),
    Command("redo", "Redo", "Redo what was undone", ("Ctrl+Shift+Z", "Ctrl+Y"), icon="redo", needs="model"),
    Command("start_stop", "Start", "Start or stop the drag", shown_keys="Space", icon="SP_MediaPlay",
            needs="model"),
    Command("reset_points", "Reset points", "Remove every point pair", ("Ctrl+Backspace",),
            icon="SP_DialogResetButton", needs="model"),
    Command("remove_pair", "Remove pair", "Remove the selected pair (right-click a point also removes it)",
            (K.Delete,), icon="SP_TrashIcon", needs="model"),
    Command("cancel", "Cancel", "Drop a handle that waits for its target", ("Esc",)),
    Command("reset_image", "Reset image", "Back to the seed's image (points and mask stay)", ("Ctrl+R",),
            icon="SP_BrowserReload", needs="model"),
    Command("random_seed", "Random seed", "Pick a random seed", ("Ctrl+Shift+R",), icon="dice", needs="model"),
    Command("points_tool", "Points", "Click handles and targets", ("P",), icon="points", checkable=True),
    Command("mask_tool", "Paint mask", "Paint the mask (right button erases)", ("M",), icon="brush",
            checkable=True),
    # issue 24 (gui/region_tool.py, gui/warp_preview.py, gui/auto_region.py)
    Command("region_tool", "Region", "Select a region (drag a rectangle, Alt+drag a lasso, Shift+click a part), then "
            "drag inside to move it, a corner to scale, the ring to rotate", ("R",), icon="SP_TitleBarMaxButton",
            checkable=True),
    Command("warp_preview", "Warp preview", "Before a run, show the image warped by the pairs (fixed outside the "
            "mask): what was asked for, at once", ("W",), checkable=True),
    Command("auto_region", "Auto region", "Propose the flexible area from the handles' parts when no mask is "
            "painted: Accept takes it as the mask, Esc dismisses", checkable=True),
    Command("brush_smaller", "Smaller brush", "Make the brush smaller", ("[",)),
    Command("brush_larger", "Larger brush", "Make the brush larger", ("]",)),
    Command("toggle_mask", "Show mask", "Show the mask overlay", ("H",), checkable=True),
    Command("clear_mask", "Clear mask", "Remove the painted mask", ("Shift+M",), icon="SP_DialogDiscardButton",
            needs="model"),
    Command("zoom_in", "Zoom in", "Zoom in", (K.ZoomIn, "+", "="), needs="model"),
    Command("zoom_out", "Zoom out", "Zoom out", (K.ZoomOut, "-"), needs="model"),
    Command("fit", "Fit to window", "Fit the image to the window", ("F", "Ctrl+0"), icon="fit", needs="model"),
    Command("actual_size", "Actual pixels", "One image pixel per screen pixel", ("1", "Ctrl+1"), needs="model"),
    Command("show_pixels", "Show pixels", "Above 100%, show each image pixel as a sharp square instead of "
            "scaling the picture smoothly", ("Ctrl+Shift+P",), checkable=True),
    Command("compare_hold", "Show start image", "Show the image this edit started from while \\ is held",
            shown_keys="\\ (hold)", checkable=True),
    Command("compare_split", "Split before/after", "Left half: the start image; right half: the image now",
            ("Ctrl+B",), checkable=True),
    Command("compare_side", "Side by side", "The start image beside the image now: two equal panes, zoomed and "
            "panned together", checkable=True),
    Command("suggest_points", "Suggest points", "Show suggested handle points (landmarks on the face model, "
            "distinctive features on any): click one to make it a handle", ("G",), icon="points", checkable=True,
            needs="model"),
    Command("shortcuts", "Keyboard shortcuts", "Every command's keys and the mouse gestures", ("Ctrl+/",),
            icon="SP_DialogHelpButton"),
    Command("howto", "How to drag-edit", "A short guide to the editing loop", ("Shift+F1",)),
    Command("about", "About dragedit", "Version and credits", (K.HelpContents,), icon="SP_MessageBoxInformation"),
)

COMMAND = {c.name: c for c in COMMANDS}

# Menus and toolbar, by command name; None: a separator; '@name': a place the window fills itself.
MENUS = (
    ("&File", ("open_model", "open_image", "@recent", None, "open_session", "save_session", "recover_session",
               None, "save_image", "save_latent", "load_latent", "export_gif", None, "quit")),
    ("&Edit", ("undo", "redo", "@history", None, "remove_pair", "reset_points", "cancel", None, "reset_image",
               "random_seed", None, "preferences")),
    ("&View", ("zoom_in", "zoom_out", "fit", "actual_size", "show_pixels", "warp_preview", None, "toggle_mask",
               "@compare", None, "@panels")),
    ("&Drag", ("start_stop", None, "points_tool", "mask_tool", "region_tool", "brush_smaller", "brush_larger",
               "clear_mask", "auto_region", None, "suggest_points")),
    ("&Help", ("howto", "shortcuts", None, "about")),
)
TOOLBAR = ("open_model", "open_image", "save_image", None, "undo", "redo", None, "points_tool", "mask_tool",
           "region_tool", None, "fit", None, "start_stop", "reset_points", "suggest_points")
ICON_ONLY = ("open_model", "open_image", "save_image", "undo", "redo", "fit")

MOUSE = (
    ("Click", "Points tool: a handle (red), then its target (blue); a suggested point becomes a handle"),
    ("Drag a point", "Move a handle or a target (also while a run goes on)"),
    ("Right-click a point", "Remove its pair"),
    ("Left drag / right drag", "Mask tool: paint / erase (Ctrl+drag erases too)"),
    ("Shift+click", "Mask tool: select the part under the cursor; the wheel grows or shrinks it"),
    ("Click / Alt+click", "With a part selected: add it to / subtract it from the mask; right-click cancels"),
    ("Drag / Alt+drag / Shift+click", "Region tool: select a rectangle / a lasso / a part as a region"),
    ("Drag the gizmo", "Region tool: inside moves, a corner scales (Shift: uniform), the ring rotates (Shift: 15°)"),
    ("Wheel", "Zoom about the cursor"),
    ("Space+drag, middle drag", "Pan the image (Space alone starts or stops the drag)"),
)


def key_text(command: Command) -> str:
    """The keys of a command as a person reads them (NativeText), shown keys first."""
    seqs = [QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in command.keys]
    return ", ".join(s for s in [command.shown_keys, *seqs] if s)


def tip_text(command: Command) -> str:
    keys = key_text(command)
    return f"{command.tip} ({keys})" if keys else command.tip


def make_action(command: Command, parent, handler=None) -> QAction:
    """A QAction for the command, shortcuts window-wide; handler gets `toggled` when checkable."""
    text = command.text + (f"\t{command.shown_keys}" if command.shown_keys else "")
    a = QAction(text, parent)
    a.setObjectName(command.name)
    if command.icon:
        a.setIcon(ICONS[command.icon]() if command.icon in ICONS else icons.standard(command.icon))
    if command.keys:
        a.setShortcuts([QKeySequence(k) for k in command.keys])
        a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    a.setToolTip(tip_text(command))
    a.setStatusTip(command.tip)
    a.setCheckable(command.checkable)
    if handler is not None:
        (a.toggled if command.checkable else a.triggered).connect(handler)
    return a


def shortcut_rows(commands=COMMANDS) -> list:
    """(command, keys, what it does) for every command with keys, in the table's order."""
    return [(c.text.rstrip("…"), key_text(c), c.tip) for c in commands if key_text(c)]
