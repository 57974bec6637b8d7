"""File › Open recent model: the list in QSettings and the menu built from it each time it opens."""
from __future__ import annotations

from pathlib import Path

MAX_RECENT = 8


class RecentModels:
    def __init__(self, settings, menu, open_model):
        self.settings, self.menu, self.open_model = settings, menu, open_model
        menu.aboutToShow.connect(self.fill)

    def add(self, path):
        recent = [p for p in self.paths() if p != str(path)]
        recent.insert(0, str(path))
        self.settings.setValue("recent/models", recent[:MAX_RECENT])

    def paths(self) -> list:
        v = self.settings.value("recent/models", [])
        if isinstance(v, str):
            v = [v] if v else []
        return [str(x) for x in (v or [])]

    def fill(self):
        m = self.menu
        m.clear()
        recent = self.paths()
        if not recent:
            m.addAction("(none)").setEnabled(False)
            return
        for i, p in enumerate(recent):
            a = m.addAction(f"&{i + 1}  {Path(p).name}")
            a.setToolTip(p)
            a.setStatusTip(p)
            a.setEnabled(Path(p).exists())
            a.triggered.connect(lambda _=False, p=p: self.open_model(p))
        m.addSeparator()
        m.addAction("Clear list", lambda: self.settings.setValue("recent/models", []))
