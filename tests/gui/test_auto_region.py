"""Drag › Auto region: off by default; when on and no mask is painted, the handles' parts are proposed
as the flexible area, shown as an outline; Accept makes it the mask (undoable), Esc dismisses it."""
import os

import numpy as np
from PySide6.QtCore import Qt

from dragedit.edit.auto_mask import auto_mask
from gui_helpers import add_pair, loop_probe
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


def test_a_slow_proposal_never_blocks_the_event_loop_and_the_newest_pairs_win(qtbot, win, monkeypatch):
    """Each part selection made 0.3 s slow on purpose: the event loop's longest pause stays far below it while
    the proposal is computed on its thread, a target moved meanwhile drops the older proposal (it stops
    between pairs), and the proposal that appears is the one for the pairs on screen."""
    import time


    from dragedit.edit import auto_mask as auto_mask_mod
    slow_s = 0.3
    original = auto_mask_mod.PartSelection
    made = []

    def slow(*a, **k):
        made.append(a[1])
        time.sleep(slow_s)
        return original(*a, **k)

    add_pair(win, (20, 20), (28, 24))
    add_pair(win, (40, 40), (44, 46))
    monkeypatch.setattr(auto_mask_mod, "PartSelection", slow)
    timer, gaps = loop_probe()
    win.actions_["auto_region"].trigger()          # asks at once: the first proposal is under way
    qtbot.waitUntil(lambda: len(made) >= 1, timeout=5000)
    win.points.move_point(0, "target", 30, 26)      # the pairs change while it is computed
    auto = proposed(qtbot, win)
    timer.stop()
    assert win.doc.pairs()[0][1] == (30.0, 26.0)
    assert max(gaps) < slow_s * 1000 / 2, max(gaps)
    assert auto._pairs == win.doc.pairs()
    monkeypatch.setattr(auto_mask_mod, "PartSelection", original)
    assert np.array_equal(auto.proposal, auto_mask(win.session, win.doc.pairs()))
    # the first request stopped after its first pair: two selections for it would be 0.3 s wasted
    assert len(made) == 3, made
    assert auto.bar.isVisible() and auto.outline.paths


def test_a_change_while_a_proposal_is_computed_shows_nothing_old(qtbot, win, monkeypatch):
    """A mask painted (or the tool turned off) while a proposal is computed: the late result is dropped."""
    import time

    from dragedit.edit import auto_mask as auto_mask_mod
    original = auto_mask_mod.PartSelection

    def slow(*a, **k):
        time.sleep(0.3)
        return original(*a, **k)

    add_pair(win, (20, 20), (28, 24))
    monkeypatch.setattr(auto_mask_mod, "PartSelection", slow)
    win.actions_["auto_region"].trigger()
    win.doc.edit("mask", lambda: win.session.set_mask(np.ones(win.session.size, bool), "flexible"))
    assert win.auto_region.wait_idle(10)
    qtbot.wait(100)
    assert win.auto_region.proposal is None and not win.auto_region.bar.isVisible()
    win.undo()                                      # no mask again: the proposal comes back
    proposed(qtbot, win)
    win.actions_["auto_region"].trigger()           # off while one is computed
    win.points.move_point(0, "target", 30, 26)
    assert win.auto_region.wait_idle(10)
    qtbot.wait(100)
    assert win.auto_region.proposal is None and not win.auto_region.bar.isVisible()
