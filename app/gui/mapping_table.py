"""The per-control table: gain, offset, exponent and clamp (min, max) of the output mapping,
saved to and loaded from the mapping TOML (lprr.engine.post.mapping), plus the neutral offsets
the last calibration measured (read-only)."""
from __future__ import annotations

from dataclasses import asdict, fields
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from lprr.engine.controls import CONTROL_NAMES, REGIONS
from lprr.engine.errors import UserError
from lprr.engine.post.mapping import ControlMap, WeightMapping

KEYS = tuple(f.name for f in fields(ControlMap))  # gain, offset, exponent, min, max
HEADERS = ("control", *KEYS, "neutral")
_CHANGED = QBrush(QColor(255, 210, 120))
_REGION_OF = {n: r for r, names in REGIONS.items() for n in names}


class MappingTable(QTableWidget):
    changed = Signal(dict)  # name -> ControlMap, every control
    invalid = Signal(str)  # a cell that could not be used (the old value is put back)

    def __init__(self, parent=None):
        super().__init__(len(CONTROL_NAMES), len(HEADERS), parent)
        self.setHorizontalHeaderLabels(HEADERS)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(20)
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in range(1, len(HEADERS)):
            self.horizontalHeader().setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.default = ControlMap()
        self.regions: dict[str, ControlMap] = {}
        self.rename: dict[str, str] = {}  # the file's [rename] table, for the OSC output
        self._maps: dict[str, ControlMap] = {n: ControlMap() for n in CONTROL_NAMES}
        self._filling = False
        for r, n in enumerate(CONTROL_NAMES):
            item = QTableWidgetItem(n)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.setItem(r, 0, item)
            ro = QTableWidgetItem("")
            ro.setFlags(Qt.ItemFlag.ItemIsEnabled)
            ro.setToolTip("neutral offset from the last calibration (subtracted before the "
                          "mapping; eyelids are never offset)")
            self.setItem(r, len(HEADERS) - 1, ro)
        self._fill()
        self.itemChanged.connect(self._edited)

    # -- data -------------------------------------------------------------------------------
    def maps(self) -> dict[str, ControlMap]:
        return dict(self._maps)

    def _cell(self, row: int, column: int) -> QTableWidgetItem:
        """The item of a cell (``__init__`` and ``_fill`` make one in every cell)."""
        item = self.item(row, column)
        assert item is not None
        return item

    def set_value(self, name: str, key: str, value: float) -> None:
        """Edit one cell as a user would (emits ``changed``)."""
        self._cell(CONTROL_NAMES.index(name), 1 + KEYS.index(key)).setText(_fmt(value))

    def set_neutral(self, offsets: dict[str, float]) -> None:
        for r, n in enumerate(CONTROL_NAMES):
            v = offsets.get(n)
            self._cell(r, len(HEADERS) - 1).setText("" if v is None else f"{v:.3f}")

    def neutral(self, name: str) -> str:
        return self._cell(CONTROL_NAMES.index(name), len(HEADERS) - 1).text()

    def _fill(self) -> None:
        self._filling = True
        try:
            for r, n in enumerate(CONTROL_NAMES):
                m = asdict(self._maps[n])
                for c, k in enumerate(KEYS, start=1):
                    item = self.item(r, c)
                    if item is None:
                        item = QTableWidgetItem()
                        self.setItem(r, c, item)
                    item.setText(_fmt(m[k]))
                self._mark(r)
        finally:
            self._filling = False

    def _mark(self, row: int) -> None:
        changed = self._maps[CONTROL_NAMES[row]] != ControlMap()
        for c in range(1, 1 + len(KEYS)):
            item = self._cell(row, c)
            item.setBackground(_CHANGED if changed else QBrush())
            if changed:
                item.setForeground(QBrush(QColor(20, 20, 20)))
            else:
                item.setData(Qt.ItemDataRole.ForegroundRole, None)

    def _edited(self, item: QTableWidgetItem) -> None:
        if self._filling or not 1 <= item.column() <= len(KEYS):
            return
        name, key = CONTROL_NAMES[item.row()], KEYS[item.column() - 1]
        old = self._maps[name]
        try:
            value = float(item.text())
            new = ControlMap(**{**asdict(old), key: value})
            if new.exponent <= 0:
                raise ValueError("exponent must be > 0")
            if new.min > new.max:
                raise ValueError(f"min {new.min} is above max {new.max}")
        except ValueError as e:
            self._filling = True
            item.setText(_fmt(getattr(old, key)))
            self._filling = False
            self.invalid.emit(f"{name} {key}: {e}")
            return
        self._maps[name] = new
        self._filling = True
        self._mark(item.row())
        self._filling = False
        self.changed.emit(self.maps())

    # -- TOML -------------------------------------------------------------------------------
    def load(self, path: str | Path) -> None:
        """Read a mapping TOML (UserError when it is not valid); emits ``changed``."""
        m = WeightMapping.load(path, CONTROL_NAMES)
        self.default, self.regions, self.rename = m.default, dict(m.regions), dict(m.rename)
        self._maps = {n: m.for_control(n) for n in CONTROL_NAMES}
        self._fill()
        self.changed.emit(self.maps())

    def reset(self) -> None:
        self.default, self.regions, self.rename = ControlMap(), {}, {}
        self._maps = {n: ControlMap() for n in CONTROL_NAMES}
        self._fill()
        self.changed.emit(self.maps())

    def save(self, path: str | Path) -> Path:
        """Write the table as TOML: the loaded [default]/[regions] kept, controls that differ
        from them as [controls.NAME]."""
        controls = {n: m for n, m in self._maps.items()
                    if m != self.regions.get(_REGION_OF.get(n, ""), self.default)}
        mapping = WeightMapping(CONTROL_NAMES, self.default, self.regions, controls, self.rename)
        try:
            return mapping.save(path)
        except OSError as e:
            raise UserError(f"cannot save mapping to {path}: {e.strerror}") from None


def _fmt(v: float) -> str:
    return f"{v:g}"
