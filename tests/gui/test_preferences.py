"""Edit › Preferences: the LPIPS weights file and the compute device, saved and used."""
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QKeySequence

from dragedit.gui.invert_dialog import InvertDialog
from dragedit.gui.preferences import PreferencesDialog
from dragedit.gui.settings import AppSettings

from gui_helpers import make_window

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "weights" / "alexnet-features.pt"


def test_preferences_action_is_in_the_edit_menu_with_ctrl_comma(qtbot, settings, messages, gen_path):
    w = make_window(qtbot, settings, gen_path)
    action = w.actions_["preferences"]
    assert action.shortcut() == QKeySequence("Ctrl+,")
    edit_menu = next(m for m in w.menuBar().actions() if m.text() == "&Edit").menu()
    assert action in edit_menu.actions()
    dlg = w.dialogs.open_preferences()
    assert isinstance(dlg, PreferencesDialog) and dlg.isVisible()
    dlg.reject()
    w.close()


def test_a_file_that_is_not_alexnet_is_refused_with_the_reason(qtbot, settings, tmp_path):
    bad = tmp_path / "notes.pt"
    bad.write_text("hello")
    dlg = PreferencesDialog(AppSettings(settings))
    qtbot.addWidget(dlg)
    dlg.lpips_path.setText(str(bad))
    dlg.accept()
    assert dlg.result() == 0 and "notes.pt" in dlg.error.text()
    assert "pop from empty list" not in dlg.error.text() and "AlexNet" in dlg.error.text()
    assert AppSettings(settings).lpips_weights is None, "nothing is saved from a refused dialog"


def test_the_hint_under_the_weights_path_says_what_is_there(qtbot, settings, tmp_path):
    dlg = PreferencesDialog(AppSettings(settings))
    qtbot.addWidget(dlg)
    dlg.lpips_path.setText(str(tmp_path / "missing.pth"))
    assert "no file" in dlg.lpips_note.text() and "used for" not in dlg.lpips_note.text()
    dlg.lpips_path.setText(str(tmp_path))
    assert "folder" in dlg.lpips_note.text()
    dlg.accept()
    assert dlg.result() == 0 and "is a folder" in dlg.error.text()


@pytest.mark.skipif(not SHARED.is_file(), reason=f"{SHARED} absent")
def test_chosen_weights_and_device_are_saved_and_reach_the_inversion(qtbot, settings, gen_path):
    import dragedit
    dlg = PreferencesDialog(AppSettings(settings))
    qtbot.addWidget(dlg)
    dlg.lpips_path.setText(str(SHARED))
    dlg.device.setCurrentIndex(dlg.device.findData("cpu"))
    dlg.accept()
    assert dlg.result() == 1 and not dlg.error.text()
    settings.sync()
    again = AppSettings(QSettings(settings.fileName(), QSettings.Format.IniFormat))
    assert again.lpips_weights == str(SHARED)
    assert again.device == "cpu"
    G = dragedit.load_generator(gen_path)
    inv = InvertDialog(G, Path(__file__).parents[1] / "data" / "face.png", settings=settings)
    qtbot.addWidget(inv)
    assert inv.options().lpips_weights == str(SHARED)


def test_settings_survive_a_hand_edited_file(settings):
    settings.setValue(AppSettings.DEVICE_KEY, "quantum")
    assert AppSettings(settings).device == "auto"
    with pytest.raises(ValueError, match="quantum"):
        AppSettings(settings).device = "quantum"
    AppSettings(settings).device = "cuda:1"
    assert AppSettings(settings).device == "cuda:1"
