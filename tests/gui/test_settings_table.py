"""One copy of each default: the command line, the engine and a fresh window show the same steps,
fps and truncation, and every remembered window value is declared once (key, type, default)."""
from PySide6.QtCore import QSettings

from dragedit.cli import build_parser
from dragedit.edit import drag_defaults as D
from dragedit.edit.drag import DragParams
from dragedit.gui.settings import WINDOW_SETTINGS, read_setting


def test_the_command_line_and_a_fresh_window_share_the_defaults(win):
    args = build_parser().parse_args(["edit"])
    assert args.steps == D.EDIT_STEPS == win.panel.steps.value()
    assert args.fps == D.EXPORT_FPS == win.panel.fps.value()
    assert DragParams().truncation_psi == D.TRUNCATION_PSI == win.panel.truncation.value()
    assert win.session.params.truncation_psi == D.TRUNCATION_PSI


def test_every_setting_the_window_saves_is_declared_and_reads_back_typed(win, tmp_path):
    win.window_state.save()
    saved = {k for k in win.settings.allKeys() if not k.startswith(("window/", "dirs/", "recent/", "recovery/"))}
    assert saved <= set(WINDOW_SETTINGS), saved - set(WINDOW_SETTINGS)
    bad = QSettings(str(tmp_path / "bad.ini"), QSettings.Format.IniFormat)
    for key, setting in WINDOW_SETTINGS.items():
        bad.setValue(key, "not a value" if setting.kind is not str else "x")
        value = read_setting(bad, key)
        assert isinstance(value, setting.kind), key
        if setting.kind in (int, float):
            assert value == setting.default, key


def test_every_window_setting_has_a_place_in_the_window(win):
    """The table and the window agree: each key is shown somewhere (or read where it is used)."""
    shown = set(win.window_state.widgets())
    used_elsewhere = {"export/scale", "export/smooth", "quit/ask"}   # the export dialog, the quit question
    assert shown | used_elsewhere == set(WINDOW_SETTINGS), set(WINDOW_SETTINGS) ^ (shown | used_elsewhere)
