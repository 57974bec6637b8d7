"""The Semantics slider's live preview in the real window: full size on a 128-px model whose full
render is fast, even after a slow, loaded start (the timings come from a scripted clock)."""
import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QApplication

from dragedit.edit import semantics as S

pytestmark = pytest.mark.usefixtures("one_thread")   # see conftest.py


class ScriptedClock:
    """Each render reads the clock twice (start, end); the end is `durations_ms[k]` after the start."""

    def __init__(self, durations_ms):
        self.durations = list(durations_ms)
        self.t, self.calls, self.k = 0.0, 0, 0

    def __call__(self):
        self.calls += 1
        if self.calls % 2 == 0:
            ms = self.durations[min(self.k, len(self.durations) - 1)]
            self.k += 1
            self.t += ms / 1000
        return self.t


@pytest.fixture
def win(face_win):
    return face_win


def test_a_128px_models_slider_preview_is_full_size_when_a_full_render_is_fast(qtbot, win, monkeypatch):
    w = win
    G = w.session.G
    assert G.img_resolution == 128
    shown = []
    real_set_frame = w.canvas.set_frame
    monkeypatch.setattr(w.canvas, "set_frame", lambda f: (shown.append(f.copy()), real_set_frame(f)))
    # a loaded start (warm-up, three renders slower than 1/15 s), then 49 ms per full render
    w.semantics.preview.clock = ScriptedClock([400, 180, 150, 120] + [49] * 100)
    i = [d.name for d in w.semantics.panel.directions].index("smile")
    s = w.semantics.panel.sliders[i]
    s.setSliderDown(True)
    amounts = [0.2 * k for k in range(1, 13)]
    for a in amounts:
        s.setValue(int(round(a * 100)))
        qtbot.waitUntil(lambda: w.semantics.preview.idle(), timeout=10000)
        QApplication.processEvents()
    lows = w.semantics.preview.low_flags
    assert len(lows) == len(amounts)
    assert not any(lows[-6:])                    # back to (and staying at) full size once renders are fast
    assert "low-res" not in w.semantics.panel.info.text()
    target = S.apply(G, w.semantics.base, w.semantics.panel.edits())
    full = S.preview_frame(G, target, low_res=False)
    assert shown[-1].shape == (128, 128, 3)
    # What the user sees is the full render of the edit. Not bit-equal: the preview thread's OpenMP
    # thread count is its own (a per-thread setting), so float sums may round 1 level apart; a
    # low-resolution frame, scaled up, differs by tens of levels at the eyes and mouth.
    diff = np.abs(shown[-1].astype(int) - full.astype(int))
    assert diff.max() <= 2 and diff.mean() < 0.1, (diff.max(), diff.mean())
    s.setSliderDown(False)
