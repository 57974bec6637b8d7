"""What the window tests do as a user would: open a window on a small model, click image pixels,
add pairs, wait for a run, make a photo the small model can reach. The fixtures are in conftest.py."""
import torch
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from dragedit.gui.window import MainWindow
from dragedit.nets.stylegan2 import Generator


def small_generator(seed=0):
    """A random 64-px generator: fast, but it does not really move content when dragged."""
    torch.manual_seed(seed)
    return Generator(16, 0, 32, 64, 3, mapping_kwargs=dict(num_layers=2),
                     synthesis_kwargs=dict(channels={4: 32, 8: 32, 16: 32, 32: 16, 64: 16}))


def make_window(qtbot, settings, model, seed=1):
    w = MainWindow(model=None if model is None else str(model), seed=seed, settings=settings)
    qtbot.addWidget(w)
    w.resize(1000, 700)
    w.show()
    qtbot.waitExposed(w)
    if w.session is not None:
        qtbot.waitUntil(lambda: w.doc.frame_ok, timeout=10000)
    return w


def wpos(w, x, y) -> QPoint:
    p = w.canvas.image_to_widget(x, y)
    return QPoint(round(p.x()), round(p.y()))


def click(w, x, y, button=Qt.MouseButton.LeftButton):
    QTest.mouseClick(w.canvas.viewport(), button, Qt.KeyboardModifier.NoModifier, wpos(w, x, y))


def add_pair(w, h, t):
    click(w, *h)
    click(w, *t)


def wait_run_end(qtbot, w, timeout=20000):
    qtbot.waitUntil(lambda: not w.doc.running, timeout=timeout)


def run_a_few(qtbot, w, steps=5):
    add_pair(w, (20, 20), (44, 40))
    w.panel.steps.setValue(steps)
    w.panel.stop_distance.setValue(0.1)
    w.runs.start()
    wait_run_end(qtbot, w)


def photo_of(tmp_path, seed=5, name="photo.png"):
    """A photo the small generator can reach: its own image of another seed."""
    from dragedit.imaging import to_uint8
    from dragedit.nets.stylegan2 import ws_from_seed
    G = small_generator()
    with torch.no_grad():
        img = to_uint8(G.synthesis(ws_from_seed(G, seed)))
    path = tmp_path / name
    Image.fromarray(img).save(path)
    return path


def loop_probe(interval_ms=5):
    """A timer ticking every `interval_ms` while the event loop runs; returns (timer, gaps): each
    gap (ms) between ticks is appended, so max(gaps) is the longest the loop was blocked."""
    from PySide6.QtCore import QElapsedTimer, QTimer
    gaps, clock = [], QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    def tick():
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(interval_ms)
    timer.timeout.connect(tick)
    timer.start()
    return timer, gaps
