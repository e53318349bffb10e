"""Per-control output mapping from a TOML file: ``y = clamp(offset + gain * x**exponent, min, max)``.

``x`` is the weight after calibration and smoothing, clamped to [0, 1] first so the curve is
defined. File layout (every key optional; a control inherits its region, then ``[default]``)::

    [default]
    gain = 1.0
    offset = 0.0
    exponent = 1.0
    min = 0.0
    max = 1.0

    [regions.mouth]         # "eyes", "brows" or "mouth" (lprr.engine.controls.REGIONS)
    gain = 1.1

    [controls.jawOpen]      # an ARKit control name
    exponent = 0.8

    [rename]                # names on the wire (VMC, native OSC), after --names
    jawOpen = "MouthOpen"   # (keys are the styled names: EyeBlinkLeft with --names pascal)
"""
from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from lprr.engine.controls import CONTROL_NAMES, REGIONS
from lprr.engine.errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10
    import tomli as tomllib


@dataclass(frozen=True)
class ControlMap:
    gain: float = 1.0
    offset: float = 0.0
    exponent: float = 1.0
    min: float = 0.0
    max: float = 1.0


_KEYS = tuple(f.name for f in fields(ControlMap))
_REGION_OF = {n: r for r, names in REGIONS.items() for n in names}


class WeightMapping:
    """Vectorised mapping over ``names``; ``apply`` works on (C,) or (N, C)."""

    def __init__(self, names: Sequence[str] = CONTROL_NAMES, default: ControlMap | None = None,
                 regions: dict[str, ControlMap] | None = None,
                 controls: dict[str, ControlMap] | None = None,
                 rename: dict[str, str] | None = None):
        self.names = tuple(names)
        self.rename = dict(rename or {})
        self.default = default or ControlMap()
        self.regions = dict(regions or {})
        self.controls = dict(controls or {})
        rows = [self.for_control(n) for n in self.names]
        self.gain = np.array([r.gain for r in rows], np.float32)
        self.offset = np.array([r.offset for r in rows], np.float32)
        self.exponent = np.array([r.exponent for r in rows], np.float32)
        self.lo = np.array([r.min for r in rows], np.float32)
        self.hi = np.array([r.max for r in rows], np.float32)
        self.identity = bool(np.all(self.gain == 1) and np.all(self.offset == 0)
                             and np.all(self.exponent == 1) and np.all(self.lo <= 0)
                             and np.all(self.hi >= 1))

    def for_control(self, name: str) -> ControlMap:
        if name in self.controls:
            return self.controls[name]
        return self.regions.get(_REGION_OF.get(name, ""), self.default)

    def apply(self, x: np.ndarray) -> np.ndarray:
        x = np.clip(np.asarray(x, np.float32), 0.0, 1.0)
        if self.identity:
            return x
        y = self.offset + self.gain * np.power(x, self.exponent)
        return np.clip(y, self.lo, self.hi).astype(np.float32)

    __call__ = apply

    # -- TOML ---------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path, names: Sequence[str] = CONTROL_NAMES) -> WeightMapping:
        return cls.from_dict(_read_toml(path), names, where=str(path))

    @classmethod
    def from_dict(cls, data: dict, names: Sequence[str] = CONTROL_NAMES,
                  where: str = "mapping") -> WeightMapping:
        unknown = set(data) - {"default", "regions", "controls", "rename"}
        if unknown:
            raise UserError(f"{where}: unknown table(s) {sorted(unknown)}; use [default], "
                            "[regions.NAME], [controls.NAME] or [rename]")
        rename = _rename(data.get("rename", {}), where)
        default = _entry(data.get("default", {}), ControlMap(), f"{where} [default]")
        regions = {}
        for r, d in (data.get("regions") or {}).items():
            if r not in REGIONS:
                raise UserError(f"{where}: unknown region {r!r} (use {', '.join(REGIONS)})")
            regions[r] = _entry(d, default, f"{where} [regions.{r}]")
        controls = {}
        for c, d in (data.get("controls") or {}).items():
            if c not in names:
                raise UserError(f"{where}: unknown control {c!r} in [controls.{c}]")
            base = regions.get(_REGION_OF.get(c, ""), default)
            controls[c] = _entry(d, base, f"{where} [controls.{c}]")
        return cls(names, default, regions, controls, rename)

    def to_toml(self) -> str:
        lines = ["# lprr control mapping: y = clamp(offset + gain * x**exponent, min, max)", ""]

        def table(header: str, m: ControlMap, base: ControlMap | None) -> None:
            d, b = asdict(m), asdict(base) if base else None
            keys = [k for k in _KEYS if b is None or d[k] != b[k]]
            if keys:
                lines.append(f"[{header}]")
                lines.extend(f"{k} = {_fmt(d[k])}" for k in keys)
                lines.append("")

        table("default", self.default, None)
        for r, m in self.regions.items():
            table(f"regions.{r}", m, self.default)
        for c, m in self.controls.items():
            table(f"controls.{c}", m, self.regions.get(_REGION_OF.get(c, ""), self.default))
        if self.rename:
            lines.append("[rename]")
            lines.extend(f"{_key(k)} = {json.dumps(v)}" for k, v in self.rename.items())
            lines.append("")
        return "\n".join(lines)

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        p.write_text(self.to_toml(), encoding="utf-8")
        return p


def load_rename(path: str | Path) -> dict[str, str]:
    """Only the ``[rename]`` table of a mapping file (what the sinks need)."""
    return _rename(_read_toml(path).get("rename", {}), str(path))


def _read_toml(path: str | Path) -> dict:
    p = Path(path)
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"mapping file not found: {p}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{p}: not valid TOML ({e})") from None


def _rename(d: object, where: str) -> dict[str, str]:
    if not isinstance(d, dict) or not all(isinstance(v, str) and v for v in d.values()):
        raise UserError(f'{where} [rename]: expected name = "new name" lines, e.g. '
                        'jawOpen = "MouthOpen"')
    return dict(d)


def _key(k: str) -> str:
    """A TOML key: bare when it can be (jawOpen, Blink_L), quoted otherwise."""
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def _fmt(v: float) -> str:
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return repr(float(v))


def _entry(d: dict, base: ControlMap, where: str) -> ControlMap:
    if not isinstance(d, dict):
        raise UserError(f"{where}: expected a table of {', '.join(_KEYS)}")
    bad = set(d) - set(_KEYS)
    if bad:
        raise UserError(f"{where}: unknown key(s) {sorted(bad)}; allowed: {', '.join(_KEYS)}")
    try:
        vals = {k: float(v) for k, v in d.items()}
    except (TypeError, ValueError):
        raise UserError(f"{where}: values must be numbers") from None
    m = ControlMap(**{**asdict(base), **vals})
    if m.exponent <= 0:
        raise UserError(f"{where}: exponent must be > 0, got {m.exponent}")
    if m.min > m.max:
        raise UserError(f"{where}: min {m.min} is above max {m.max}")
    return m
