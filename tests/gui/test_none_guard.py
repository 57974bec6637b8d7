"""Void Qt calls must not use up None's references (PySide6 6.12 on Python 3.11 aborts otherwise)."""
import subprocess
import sys


def test_a_million_void_qt_calls_leave_none_alive():
    code = ("from PySide6.QtGui import QPen\n"
            "from dragedit.gui.none_guard import keep_none_alive\n"
            "keep_none_alive()\n"
            "pen = QPen()\n"
            "for _ in range(1_000_000):\n"
            "    pen.setWidthF(1.5)\n"
            "print('alive')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "alive" in out.stdout, out.stderr[-500:]
