"""Opens are whole steps: a failed Open model, Open session, Load latent, Open image or Recover
leaves the window exactly as it was (model, points, mask, latent, timeline, undo history, panel)
and says why in one message; a good open changes everything at once."""
import dataclasses
import json

import numpy as np
import pytest
import torch
from PIL import Image

from dragedit.edit.drag import DragSession
from dragedit.edit.session_file import save_session
from dragedit.io.checkpoint import save_generator
from dragedit.io.latents import save_latent
from dragedit.nets.stylegan2 import Generator
from gui_helpers import add_pair, run_a_few


def other_generator():
    """A 32-px model: another image size and another latent shape than the window's 64-px one."""
    torch.manual_seed(1)
    return Generator(16, 0, 32, 32, 3, mapping_kwargs=dict(num_layers=2),
                     synthesis_kwargs=dict(channels={4: 32, 8: 32, 16: 32, 32: 16}))


def state(w):
    """What a user sees of the open work, as plain values."""
    s, stack = w.session, w.doc.undo_stack
    return dict(
        session=id(s), model=w.model_path, G=id(s.G), source=w.doc.source, title=w.windowTitle(),
        ws=s.ws.cpu().numpy().copy(), ws_initial=s.ws_initial.cpu().numpy().copy(), seed=s.seed,
        pairs=[(p.handle, p.target) for p in s.pairs], canvas_pairs=list(w.canvas.pairs),
        mask=None if s.mask is None else s.mask.copy(), mask_mode=s.mask_mode,
        params=dataclasses.asdict(s.params), timeline=len(w.doc.timeline), run=id(w.doc.run_frames),
        undo=(len(stack), stack.canUndo(), stack.undoText(), stack.isClean()),
        panel=(w.panel.seed.value(), w.panel.truncation.value(), w.panel.steps.value(), w.panel.fps.value(),
               w.panel.lr.value(), w.panel.space.currentData(), w.panel.mask_mode.currentData()),
        frame=w.doc.frame.copy())


def assert_same(before, after):
    for key, value in before.items():
        other = after[key]
        if isinstance(value, np.ndarray) or value is None:
            assert (value is None and other is None) or np.array_equal(value, other), key
        else:
            assert value == other, key


@pytest.fixture
def worked(qtbot, win):
    """A window with work on it: a run on the timeline, a second pair, a fixed mask, an undo history."""
    w = win
    run_a_few(qtbot, w, steps=3)
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=10000)
    add_pair(w, (30, 10), (34, 14))
    mask = np.zeros((64, 64), bool)
    mask[5:25, 5:25] = True
    w.masks.paint_stroke(mask)
    assert len(w.doc.timeline) > 1 and len(w.session.pairs) == 2 and w.session.mask is not None
    return w


def fails_cleanly(w, messages, open_it, *words):
    before, n = state(w), len(messages)
    assert not open_it()
    assert len(messages) == n + 1, messages[n:]
    text = messages[-1][2]
    for word in words:
        assert word in text, text
    assert_same(before, state(w))
    return text


def other_model_session(tmp_path, edit):
    """A session saved on the 32-px model, then changed by edit(doc) (a hand-edited file)."""
    model = save_generator(other_generator(), tmp_path / "other.pt")
    s = DragSession(other_generator(), seed=2)
    s.add_pair((4, 4), (8, 8))
    path = save_session(tmp_path / "other.json", s, model)
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))
    return path


def test_a_session_for_another_model_with_a_point_outside_its_image_changes_nothing(worked, messages, tmp_path):
    def outside(doc):
        doc.pop("size")                     # hand-written files may say no size: only the model can tell
        doc["pairs"] = [[4, 4, 50, 50]]     # inside the open 64-px image, outside the session's 32-px one

    path = other_model_session(tmp_path, outside)
    fails_cleanly(worked, messages, lambda: worked.sessions.open(path), "other.json", "(50, 50)", "32x32")


def test_a_session_with_a_bad_value_is_refused_before_anything_changes(worked, messages, tmp_path):
    path = other_model_session(tmp_path, lambda doc: doc["params"].update(truncation_psi="x"))
    fails_cleanly(worked, messages, lambda: worked.sessions.open(path), "truncation_psi")
    path = other_model_session(tmp_path, lambda doc: doc.update(seed=1e30))
    fails_cleanly(worked, messages, lambda: worked.sessions.open(path), "seed")


def test_a_session_whose_model_fails_to_load_changes_nothing(worked, messages, tmp_path):
    path = other_model_session(tmp_path, lambda doc: None)
    (tmp_path / "other.pt").write_bytes(b"\x80\x04 not a model")
    fails_cleanly(worked, messages, lambda: worked.sessions.open(path), "other.pt")


def test_a_good_session_for_another_model_opens_in_one_step(worked, messages, tmp_path):
    path = other_model_session(tmp_path, lambda doc: None)
    assert worked.sessions.open(path)
    w = worked
    assert w.model_path.name == "other.pt" and w.session.G.img_resolution == 32
    assert [(p.handle, p.target) for p in w.session.pairs] == [((4, 4), (8, 8))]
    assert w.session.mask is None and w.doc.timeline == [] and w.doc.source == ("session", "other.json")


def test_undo_after_a_session_for_another_model_brings_the_old_model_back(qtbot, worked, messages, tmp_path):
    w = worked
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=10000)
    before = state(w)
    path = other_model_session(tmp_path, lambda doc: None)
    assert w.sessions.open(path)
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=10000)
    assert w.session.G.img_resolution == 32 and w.doc.frame.shape[:2] == (32, 32)
    assert w.doc.undo_stack.undoText() == "Open session other.json"
    w.undo()
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=10000)
    back = state(w)
    assert back["model"] == before["model"] and back["G"] == before["G"] and w.session.G.img_resolution == 64
    for key in ("ws", "pairs", "canvas_pairs", "mask", "mask_mode", "timeline", "run", "source", "frame"):
        other = back[key]
        value = before[key]
        assert np.array_equal(value, other) if isinstance(value, np.ndarray) else value == other, key
    assert w.panel.model_file.text() == before["model"].name and w.panel.model_resolution.text() == "64 x 64 px"
    assert w.windowTitle() == before["title"]
    w.redo()
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=10000)
    assert w.model_path.name == "other.pt" and w.session.G.img_resolution == 32
    assert [(p.handle, p.target) for p in w.session.pairs] == [((4, 4), (8, 8))]
    assert w.doc.source == ("session", "other.json") and w.doc.frame.shape[:2] == (32, 32)
    assert w.panel.model_file.text() == "other.pt" and w.panel.model_resolution.text() == "32 x 32 px"
    assert messages == []


def test_a_session_state_that_fails_on_the_new_model_puts_the_old_model_back(worked, messages, tmp_path,
                                                                              monkeypatch):
    from dragedit.errors import DragEditError
    path = other_model_session(tmp_path, lambda doc: None)
    restore = DragSession.restore

    def failing(self, snap):
        if self.G.img_resolution == 32:    # only on the model the session brings
            raise DragEditError("other.json: the state does not fit (simulated)")
        return restore(self, snap)

    monkeypatch.setattr(DragSession, "restore", failing)
    fails_cleanly(worked, messages, lambda: worked.sessions.open(path), "simulated")
    assert worked.panel.model_resolution.text() == "64 x 64 px"


def test_open_model_is_one_undoable_step(qtbot, worked, messages, tmp_path):
    w = worked
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=10000)
    old_model, old_pairs, old_ws = w.model_path, list(w.canvas.pairs), w.session.ws.clone()
    other = save_generator(other_generator(), tmp_path / "other.pt")
    assert w.open_model(other, background=False)
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=10000)
    assert w.model_path.name == "other.pt" and list(w.canvas.pairs) == []
    assert w.doc.undo_stack.undoText() == "Open model other.pt"
    w.points.click(5, 5)                 # a handle waiting for its target on the 32-px image
    assert w.points.pending is not None
    w.undo()
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=10000)
    assert w.model_path == old_model and list(w.canvas.pairs) == old_pairs and torch.equal(w.session.ws, old_ws)
    assert w.points.pending is None             # it belonged to the other model's image
    assert w.doc.frame.shape[:2] == (64, 64)
    w.redo()
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=10000)
    assert w.model_path.name == "other.pt" and w.doc.frame.shape[:2] == (32, 32)
    assert messages == []


def test_a_failed_model_open_changes_nothing(worked, messages, tmp_path):
    G = other_generator()
    with torch.no_grad():
        next(G.synthesis.parameters()).view(-1)[0] = float("nan")
    bad = save_generator(G, tmp_path / "nan.pt")
    fails_cleanly(worked, messages, lambda: worked.open_model(bad), "nan.pt")
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(b"\x80\x04 not a pickle")
    fails_cleanly(worked, messages, lambda: worked.open_model(junk), "junk.pkl")


def test_a_latent_for_another_model_changes_nothing(worked, messages, tmp_path):
    other = DragSession(other_generator(), seed=3)
    path = tmp_path / "other_latent.npz"
    save_latent(path, other.ws, seed=3)
    fails_cleanly(worked, messages, lambda: worked.sessions.load_latent(path), "other_latent.npz")


def test_a_bad_photo_changes_nothing(worked, messages, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("this is not an image")
    fails_cleanly(worked, messages, lambda: worked.photos.open(text) is not None, "notes.png")
    tiny = tmp_path / "dot.png"
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(tiny)
    fails_cleanly(worked, messages, lambda: worked.photos.open(tiny) is not None, "dot.png")


def test_a_failed_recover_changes_nothing(worked, messages, tmp_path):
    def outside(doc):
        doc.pop("size")
        doc["pairs"] = [[4, 4, 50, 50]]

    path = other_model_session(tmp_path, outside)
    recovery = worked.recovery.path
    recovery.parent.mkdir(parents=True, exist_ok=True)
    recovery.write_text(path.read_text())
    (recovery.with_suffix(".npz")).write_bytes((tmp_path / "other.npz").read_bytes())
    doc = json.loads(recovery.read_text())
    doc["data"] = "autosave.npz"
    recovery.write_text(json.dumps(doc))
    fails_cleanly(worked, messages, worked.sessions.recover, "(50, 50)")


def test_load_latent_clears_the_old_images_points_and_mask_in_one_undoable_step(worked, tmp_path):
    w = worked
    other = DragSession(w.session.G, seed=9)
    path = tmp_path / "nine.npz"
    save_latent(path, other.ws, seed=9)
    pairs, mask, entries = list(w.canvas.pairs), w.session.mask.copy(), len(w.doc.undo_stack)
    assert w.sessions.load_latent(path)
    assert not w.session.pairs and w.session.mask is None and w.canvas.pairs == [] and w.canvas.mask is None
    assert len(w.doc.undo_stack) == entries + 1 and w.doc.source == ("latent", "nine.npz")
    assert "cleared 2 pairs and the mask" in w.statusBar().currentMessage()
    w.undo()
    assert list(w.canvas.pairs) == pairs and np.array_equal(w.session.mask, mask)


def test_default_file_names_follow_where_the_image_came_from(worked, tmp_path):
    w = worked
    asked = []
    w.files.ask_save_path = lambda title, filters, key, name="": asked.append(name) or ""
    w.actions_["save_latent"].trigger()
    assert asked[-1] == "seed1.npz"
    other = DragSession(w.session.G, seed=9)
    save_latent(tmp_path / "sample_face.npz", other.ws, seed=9)
    assert w.sessions.load_latent(tmp_path / "sample_face.npz")
    for action, name in (("save_latent", "sample_face.npz"), ("save_image", "sample_face.png"),
                         ("save_session", "sample_face.json")):
        w.actions_[action].trigger()
        assert asked[-1] == name, action


def test_history_panel_goes_back_to_any_entry_and_edits_in_a_row_merge(qtbot, win, tmp_path):
    from PySide6.QtGui import QUndoStack
    w = win
    assert isinstance(w.doc.undo_stack, QUndoStack)
    start_ws = w.session.ws.clone()
    add_pair(w, (20, 20), (30, 30))
    for psi in (0.5, 0.55, 0.6):                  # a slider dragged: one entry
        w.panel.truncation.setValue(psi)
    assert len(w.doc.undo_stack) == 2 and w.doc.undo_stack.undoText().startswith("Truncation 0.60")
    assert not w.doc.undo_stack.isClean()
    assert w.sessions.save(tmp_path / "s.json") and w.doc.undo_stack.isClean()
    edit = next(a for a in w.menuBar().actions() if a.text() == "&Edit").menu()
    history = next(a for a in edit.actions() if a.text() == "History")
    history.trigger()
    assert w.history_dock.isVisible()
    view = w.history_view
    view.setCurrentIndex(view.model().index(0, 0))  # "Start": before the first edit
    assert w.doc.undo_stack.index() == 0 and not w.session.pairs and torch.equal(w.session.ws, start_ws)
    assert w.panel.truncation.value() == pytest.approx(0.7) and w.canvas.pairs == []
    view.setCurrentIndex(view.model().index(2, 0))  # and forward again, to the saved state
    assert len(w.session.pairs) == 1 and w.panel.truncation.value() == pytest.approx(0.6)
    assert w.doc.undo_stack.isClean()


def test_a_large_model_is_read_in_the_background_and_swapped_in_whole(qtbot, worked, messages, tmp_path,
                                                                        monkeypatch):
    import dragedit.gui.model_open as mo
    monkeypatch.setattr(mo, "LARGE_MODEL_BYTES", 0)      # every file counts as large here
    w = worked
    before = state(w)
    other = save_generator(other_generator(), tmp_path / "big.pt")
    assert w.open_model(other)                            # started: the window is unchanged meanwhile
    assert w.status_view.busy.isVisible() and "Reading big.pt" in w.statusBar().currentMessage()
    assert_same(before, state(w))
    qtbot.waitUntil(lambda: w.models.loader is None, timeout=30000)
    assert w.model_path.name == "big.pt" and w.session.G.img_resolution == 32 and not w.status_view.busy.isVisible()
    qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=10000)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x80\x04 not a model")
    before, n = state(w), len(messages)
    assert w.open_model(bad)
    qtbot.waitUntil(lambda: w.models.loader is None, timeout=30000)
    assert len(messages) == n + 1 and "bad.pt" in messages[-1][2]
    assert_same(before, state(w))
