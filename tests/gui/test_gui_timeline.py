"""Issue 16, defects 1, 5, 6, 7: the timeline always describes the image on the canvas, one iteration
count everywhere, labels that say where the image came from, and a new seed that clears the old
image's points and mask in one undoable edit."""
import numpy as np
import pytest
import torch

from gui_helpers import add_pair, make_window, photo_of, wait_run_end



def run(qtbot, w, steps=4, pair=((20, 20), (44, 40))):
    if not w.session.pairs:
        add_pair(w, *pair)
    w.panel.steps.setValue(steps)
    w.panel.stop_distance.setValue(0.1)
    assert w.runs.start()
    wait_run_end(qtbot, w)
    return w.doc.run_frames


def shows(w, run_frames):
    """The bar shows exactly this run (or none) and the canvas shows its frame."""
    if run_frames is None:
        return (w.doc.run_frames is None and not w.timeline_slider.isEnabled()
                and w.timeline_label.text() == "No run yet")
    return (w.doc.run_frames is not None and w.doc.run_frames.frames is run_frames.frames
            and w.timeline_slider.value() == w.doc.run_frames.index and w.timeline_slider.isEnabled()
            and w.timeline_label.text() == w.doc.run_frames.label())


def test_undo_and_redo_bring_the_timeline_with_the_run(qtbot, win):
    w = win
    first = run(qtbot, w, steps=4)
    assert first is not None and shows(w, first)
    second = run(qtbot, w, steps=3)
    assert second.frames is not first.frames and shows(w, second)
    w.undo()  # the second run is undone: the timeline is the first run's again, at its last frame
    assert shows(w, first) and w.doc.run_frames.index == len(first.frames) - 1
    assert torch.equal(w.session.ws, first.frames[-1]["ws"])
    w.undo()  # before any run: no timeline, and no iteration count of an undone run in the status bar
    assert shows(w, None) and w.doc.timeline == [] and w.status_view.iteration.text() == ""
    w.redo()
    assert shows(w, first)
    w.redo()
    assert shows(w, second)


def test_undoing_a_picked_frame_puts_the_slider_back(qtbot, win):
    w = win
    r = run(qtbot, w, steps=5)
    last = len(r.frames) - 1
    w.timeline_slider.setValue(0)
    assert w.doc.run_frames.index == 0 and w.timeline_label.text().startswith("iteration 0 /")
    assert w.status_view.iteration.text() == "iteration 0"
    assert np.array_equal(w.doc.frame, r.frames[0]["frame"])
    w.undo()  # issue: the image came back but the slider stayed on frame 0
    assert w.timeline_slider.value() == last and w.timeline_label.text() == r.label(last)
    assert np.array_equal(w.doc.frame, r.frames[-1]["frame"])
    w.redo()
    assert w.timeline_slider.value() == 0 and np.array_equal(w.doc.frame, r.frames[0]["frame"])


@pytest.mark.parametrize("how", ["seed", "reset", "latent", "session", "image"])
def test_a_new_image_ends_the_timeline_and_undo_restores_it(qtbot, win, tmp_path, how):
    w = win
    r = run(qtbot, w, steps=4)
    w.sessions.save_latent(tmp_path / "lat.npz")
    w.sessions.save(tmp_path / "s.json")
    if how == "seed":
        w.panel.seed.setValue(9)
    elif how == "reset":
        w.latent.reset_image()
    elif how == "latent":
        assert w.sessions.load_latent(tmp_path / "lat.npz")
    elif how == "session":
        assert w.sessions.open(tmp_path / "s.json")
    else:
        ws = w.session.ws.clone() * 0.5
        res = type("R", (), dict(ws=ws, psnr=20.0, pti_psnr=None))()
        assert w.photos.apply(res, photo_of(tmp_path))
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=10000)
    assert shows(w, None), how
    assert not w.actions_["export_gif"].isEnabled()
    # scrubbing is impossible now, and export says there are no frames
    assert not w.exporter.export(tmp_path / "x.gif")
    w.undo()
    assert shows(w, r), how


def test_one_iteration_count_everywhere(qtbot, win):
    w = win
    r = run(qtbot, w, steps=6)  # the step budget ends it
    msg = w.statusBar().currentMessage()
    assert "6 iterations" in msg
    assert w.status_view.iteration.text() == "iteration 6"
    assert w.timeline_label.text() == "iteration 6 / 6" and r.last_step == 6
    r2 = run(qtbot, w, steps=3)  # the next run counts from 1 again, not across runs
    assert w.status_view.iteration.text() == "iteration 3" and r2.last_step == 3
    assert "3 iterations" in w.statusBar().currentMessage()
    # Stop: the same number in the message, the status bar and the timeline
    w.panel.steps.setValue(5000)
    assert w.runs.start()
    qtbot.waitUntil(lambda: w.status_view.last_progress is not None and w.session.iteration >= 12, timeout=20000)
    w.runs.stop(wait=True)
    n = w.doc.run_frames.last_step
    assert f"Stopped after {n} iterations" in w.statusBar().currentMessage()
    assert w.status_view.iteration.text() == f"iteration {n}" and w.timeline_label.text() == f"iteration {n} / {n}"


def test_a_run_that_needs_steps_reaches_its_target_and_says_so_once(qtbot, settings, messages):
    """On the shipped face model a short drag needs a few iterations; the status bar, the timeline
    and the message agree on the count, the loss line says reached, and Space again does nothing."""
    from dragedit.models import DEFAULT_GENERATOR
    w = make_window(qtbot, settings, DEFAULT_GENERATOR, seed=0)
    add_pair(w, (64, 70), (64, 76))
    w.panel.stop_distance.setValue(2.0)
    assert w.runs.start()
    wait_run_end(qtbot, w, timeout=120000)
    text = w.statusBar().currentMessage()
    n = w.doc.run_frames.last_step
    assert text.startswith("Reached the target after") and n > 1 and f"after {n} iterations" in text
    assert w.status_view.iteration.text() == f"iteration {n}" and w.timeline_label.text() == f"iteration {n} / {n}"
    assert "0.0000" not in w.status_view.loss.text() and "reached" in w.status_view.loss.text()
    entries = len(w.doc.undo_stack)
    assert not w.runs.start() and "already within 2 px" in w.statusBar().currentMessage()
    assert len(w.doc.undo_stack) == entries and w.doc.run_frames.last_step == n
    w.close()


def test_a_new_seed_clears_points_and_mask_in_one_undoable_edit(qtbot, win):
    w = win
    add_pair(w, (20, 20), (40, 30))
    add_pair(w, (10, 50), (12, 40))
    mask = np.zeros((64, 64), bool)
    mask[5:20, 5:20] = True
    w.masks.paint_stroke(mask)
    assert w.session.mask is not None
    w.panel.seed.setValue(11)
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=10000)
    assert w.session.seed == 11 and not w.session.pairs and w.session.mask is None
    assert w.canvas.pairs == [] and w.canvas.mask is None and w.panel.points.model().rowCount() == 0
    msg = w.statusBar().currentMessage()
    assert "cleared 2 pairs and the mask" in msg
    w.undo()  # one step brings back seed, pairs and mask
    assert w.session.seed == 1 and len(w.session.pairs) == 2 and w.session.mask is not None
    assert w.canvas.mask is not None and w.panel.seed.value() == 1


def test_labels_name_where_the_image_came_from(qtbot, win, tmp_path):
    w = win
    assert "seed 1" in w.windowTitle() and w.panel.source.text() == "seed 1"
    assert w.panel.seed.text() == "1"
    w.sessions.save_latent(tmp_path / "mine.npz")
    w.panel.seed.setValue(4)
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=10000)
    assert "seed 4" in w.windowTitle()
    assert w.sessions.load_latent(tmp_path / "mine.npz")
    # the seed box no longer claims seed 4: the image is the latent file's
    assert "latent mine.npz" in w.windowTitle() and w.panel.source.text() == "latent mine.npz"
    assert w.panel.seed.text() == "" and "mine.npz" in w.panel.seed.lineEdit().placeholderText()
    w.undo()
    assert "seed 4" in w.windowTitle() and w.panel.seed.text() == "4"
    w.redo()
    # Enter on a seed (even the old one) goes back to a seed's image
    w.panel.seed.lineEdit().setText("4")
    w.panel.seed.editingFinished.emit()
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=10000)
    assert w.doc.source == ("seed", 4) and "seed 4" in w.windowTitle()
    # photos
    res = type("R", (), dict(ws=w.session.ws.clone() * 0.9, psnr=20.0, pti_psnr=None))()
    assert w.photos.apply(res, photo_of(tmp_path, name="face.png"))
    assert "photo face.png" in w.windowTitle() and w.panel.source.text() == "photo face.png"


def test_the_model_panel_names_the_drag_space(win):
    p = win.panel
    p.space.setCurrentIndex(p.space.findData("w+"))
    assert "(W+)" in p.model_latent.text()
    p.space.setCurrentIndex(p.space.findData("w"))
    text = p.model_latent.text()
    assert "(W)" in text and "W+" not in text and text.startswith("latent 1 x 32")


def test_the_timeline_grows_with_a_run_also_after_a_seed_change(qtbot, win):
    w = win
    w.panel.seed.setValue(3)                        # a new image: no run made it yet
    assert w.timeline_label.text() == "No run yet"
    add_pair(w, (20, 20), (44, 40))
    w.panel.steps.setValue(400)
    w.panel.stop_distance.setValue(0.1)
    assert w.runs.start()
    qtbot.waitUntil(lambda: w.status_view.iteration.text() not in ("", "iteration 0", "iteration 1"), timeout=20000)
    label, status = w.timeline_label.text(), w.status_view.iteration.text()
    assert label != "No run yet" and "running" in label
    assert label.split(" (")[0] == status or int(label.split()[1]) <= int(status.split()[1])
    assert w.timeline_slider.maximum() >= 2 and not w.timeline_slider.isEnabled()
    w.runs.stop(wait=True)
    n = w.doc.run_frames.last_step
    assert w.timeline_label.text() == f"iteration {n} / {n}" and w.timeline_slider.isEnabled()


def test_recover_last_session_brings_the_timeline_back(qtbot, settings, messages, gen_path):
    from PySide6.QtCore import QSettings
    w = make_window(qtbot, settings, gen_path)
    run(qtbot, w, steps=5)
    n, frames = w.doc.run_frames.last_step, [e["frame"].copy() for e in w.doc.timeline]
    w.close()                                        # the autosave (and its timeline) is written here
    again = make_window(qtbot, QSettings(settings.fileName(), QSettings.Format.IniFormat), gen_path)
    assert again.doc.timeline == []
    assert again.sessions.recover()
    assert len(again.doc.timeline) == len(frames) and again.doc.run_frames.last_step == n
    assert all(np.array_equal(a["frame"], b) for a, b in zip(again.doc.timeline, frames))
    assert again.timeline_label.text() == f"iteration {n} / {n}" and again.timeline_slider.isEnabled()
    again.timeline_slider.setValue(0)                # and it can be picked from like any run
    assert np.array_equal(again.doc.frame, frames[0])
    again.close()
