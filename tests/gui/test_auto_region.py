"""Drag › Auto region: off by default; when on and no mask is painted, the handles' parts are proposed
as the flexible area, shown as an outline; Accept makes it the mask (undoable), Esc dismisses it."""
import os

import numpy as np
from PySide6.QtCore import Qt

from dragedit.edit.auto_mask import auto_mask
from gui_helpers import add_pair
from region_helpers import SHOTS


def proposed(qtbot, w):
    qtbot.waitUntil(lambda: w.auto_region.proposal is not None, timeout=10000)
    return w.auto_region


def test_auto_region_is_off_by_default_and_proposes_nothing(qtbot, win):
    assert not win.actions_["auto_region"].isChecked()
    add_pair(win, (20, 20), (28, 24))
    qtbot.wait(400)
    assert win.auto_region.proposal is None and not win.auto_region.bar.isVisible()


def test_accept_makes_the_proposal_the_mask_in_one_undoable_step(qtbot, win):
    win.actions_["auto_region"].trigger()
    add_pair(win, (20, 20), (28, 24))
    auto = proposed(qtbot, win)
    expected = auto_mask(win.session, win.doc.pairs())
    assert np.array_equal(auto.proposal, expected)
    assert auto.bar.isVisible() and auto.outline.paths
    os.makedirs(SHOTS, exist_ok=True)
    assert win.grab().save(f"{SHOTS}/auto_region.png")
    qtbot.mouseClick(auto.accept_button, Qt.MouseButton.LeftButton)
    assert np.array_equal(win.session.mask, expected) and win.session.mask_mode == "flexible"
    assert win.doc.undo_stack.undoText() == "Auto region mask"
    assert auto.proposal is None and not auto.bar.isVisible()
    add_pair(win, (40, 40), (44, 44))
    qtbot.wait(400)
    assert auto.proposal is None      # a mask is painted: nothing more to propose
    win.undo()
    win.undo()
    assert win.session.mask is None


def test_esc_dismisses_the_proposal_until_the_pairs_change(qtbot, win):
    win.actions_["auto_region"].trigger()
    add_pair(win, (20, 20), (28, 24))
    auto = proposed(qtbot, win)
    win.actions_["cancel"].trigger()      # Esc
    assert auto.proposal is None and not auto.bar.isVisible() and win.session.mask is None
    win.doc.maskChanged.emit()
    qtbot.wait(400)
    assert auto.proposal is None
    win.points.move_point(0, "target", 30, 26)
    proposed(qtbot, win)
