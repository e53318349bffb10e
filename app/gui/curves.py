"""Scrolling weight curves (pyqtgraph): the last ~10 s of the controls the user picks, in
two plots, eyes + brows and mouth.

Kept cheap (measured here, offscreen, both plots): 1-px pens (a 2-px pen goes through
Qt's stroker: 7.3 vs 3.0 ms a repaint), at most ``max_points`` samples a curve (a plot is
~600 px wide; the pipeline may run at 120 fps, 1200 samples in 10 s: 13 vs 7 ms with 2-px
pens), plain PlotCurveItems with the finite check off, the legend cached as a pixmap.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem, QHBoxLayout, QWidget

from lprr.app.gui.history import WeightHistory
from lprr.engine.controls import CONTROL_NAMES, REGIONS

pg.setConfigOptions(antialias=False, background=(24, 24, 28), foreground=(200, 200, 205))

GROUPS = ("eyes", "mouth")
DEFAULT_CURVES = ("eyeBlinkLeft", "eyeBlinkRight", "browInnerUp", "jawOpen", "mouthSmileLeft",
                  "mouthPucker")


def group_of(name: str) -> str:
    """Eyes and brows share a plot (the same split as the smoothing groups)."""
    if name in REGIONS["eyes"] or name in REGIONS["brows"] or name.startswith(("eye", "brow")):
        return "eyes"
    return "mouth"


class CurvesWidget(QWidget):
    def __init__(self, history: WeightHistory, seconds: float = 10.0, max_points: int = 500,
                 parent=None):
        super().__init__(parent)
        self.history = history
        self.seconds = seconds
        self.max_points = max_points
        self.shown_total = -1  # history.total at the last refresh
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.plots: dict[str, pg.PlotWidget] = {}
        for g in GROUPS:
            pw = pg.PlotWidget(title=f"{g} {'+ brows ' if g == 'eyes' else ''}(last "
                                     f"{seconds:.0f} s)")
            pw.setYRange(-0.02, 1.02, padding=0)
            pw.setXRange(-seconds, 0, padding=0)
            pw.setMouseEnabled(False, False)
            pw.hideButtons()
            # No grid: under software rendering its alpha-blended lines cost ~7 ms a frame.
            pw.setLabel("bottom", "s")
            legend = pw.addLegend(offset=(5, 5), labelTextSize="8pt")
            legend.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            lay.addWidget(pw)
            self.plots[g] = pw
        self.items: dict[str, pg.PlotCurveItem] = {}
        self.set_selected(DEFAULT_CURVES)

    @property
    def selected(self) -> tuple[str, ...]:
        return tuple(self.items)

    def set_selected(self, names: Iterable[str]) -> None:
        names = [n for n in names if n in CONTROL_NAMES or n in self.history.names]
        for n in [n for n in self.items if n not in names]:
            item = self.items.pop(n)
            self.plots[group_of(n)].removeItem(item)
        for n in names:
            if n in self.items:
                continue
            colour = pg.intColor(CONTROL_NAMES.index(n) if n in CONTROL_NAMES else len(self.items),
                                 hues=len(CONTROL_NAMES) // 2, values=2, maxValue=255,
                                 minValue=190)
            item = pg.PlotCurveItem(name=n, pen=pg.mkPen(colour, width=1),
                                    skipFiniteCheck=True)
            self.plots[group_of(n)].addItem(item)
            self.items[n] = item
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> bool:
        """Redraw from the history (GUI thread) if it changed; True when it did."""
        total = self.history.total
        if total == self.shown_total and not force:
            return False
        self.shown_total = total
        t, w = self.history.snapshot(self.seconds, self.max_points)
        names = self.history.names
        x = t - t[-1] if len(t) else t
        for n, item in self.items.items():
            if n in names and len(t):
                item.setData(x, w[:, names.index(n)])
            else:
                item.setData(np.zeros(0), np.zeros(0))
        return True

    def points(self, name: str) -> int:
        """How many samples the curve of ``name`` shows now (tests)."""
        item = self.items.get(name)
        if item is None or item.xData is None:
            return 0
        return len(item.xData)
