"""Name styles: what a control is called on the wire (VMC, native OSC).

- ``arkit``  (default): lprr's own ARKit camelCase names, ``eyeBlinkLeft``, ``jawOpen``.
- ``pascal``: "perfect sync" PascalCase, ``EyeBlinkLeft``, ``JawOpen``: what VMagicMirror (and
  VSeeFace's perfect-sync avatars) look up, case-sensitively.
- ``vrm0``: the VRM 0.x preset clips, computed from the controls (a VRM 0.x avatar without
  perfect sync has only these). ``VRM0_TABLE`` below is the documented table; weights of
  controls a model lacks count as 0.

A rename table (``[rename]`` in the mapping TOML, or the sinks' ``rename`` option) is applied
after the style; its keys are the styled names (``Joy = "Happy"`` with ``vrm0``).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from lprr.engine.errors import UserError

log = logging.getLogger(__name__)

NAME_STYLES: tuple[str, ...] = ("arkit", "pascal", "vrm0")

# VRM 0.x preset clips from the controls. Each helper below is a mean of two controls
# (Left and Right are the subject's own):
#   blinkL, blinkR = eyeBlinkLeft, eyeBlinkRight
#   open   = jawOpen
#   round  = max(mouthPucker, mouthFunnel)
#   spread = mean(mouthStretchLeft, mouthStretchRight)
#   smile  = mean(mouthSmileLeft, mouthSmileRight)
#   squint = mean(eyeSquintLeft, eyeSquintRight)
#   frown  = mean(mouthFrownLeft, mouthFrownRight)
#   browDown = mean(browDownLeft, browDownRight)
VRM0_TABLE: tuple[tuple[str, str], ...] = (
    # Both eyes closed go to Blink, the rest of each eye to its own clip: the clips add up on
    # the avatar, so each eye closes exactly as far as the performer's.
    ("Blink", "min(blinkL, blinkR)"),
    ("Blink_L", "blinkL - Blink"),
    ("Blink_R", "blinkR - Blink"),
    # The five mouth shapes split the mouth's activity 1 - (1-open)(1-round)(1-spread): they
    # never sum over 1, and a closed, relaxed mouth sends all five at 0.
    ("A", "open * (1 - round) * (1 - spread)"),
    ("I", "spread * (1 - open) * (1 - round)"),
    ("U", "round * (1 - open)"),
    ("E", "spread * open * (1 - round)"),
    ("O", "round * open"),
    # Emotions: Joy is a smile with the eyes narrowed (VRM's Joy clip closes the eyes), Fun the
    # same smile with the eyes open.
    ("Joy", "smile * squint"),
    ("Angry", "browDown"),
    ("Sorrow", "frown"),
    ("Fun", "smile * (1 - squint)"),
)
VRM0_CLIPS: tuple[str, ...] = tuple(c for c, _ in VRM0_TABLE)

_VRM0_INPUTS = ("eyeBlinkLeft", "eyeBlinkRight", "jawOpen", "mouthPucker", "mouthFunnel",
                "mouthStretchLeft", "mouthStretchRight", "mouthSmileLeft", "mouthSmileRight",
                "eyeSquintLeft", "eyeSquintRight", "mouthFrownLeft", "mouthFrownRight",
                "browDownLeft", "browDownRight")


def pascal(name: str) -> str:
    """``eyeBlinkLeft`` -> ``EyeBlinkLeft`` (ARKit perfect-sync style)."""
    return name[:1].upper() + name[1:]


def vrm0_clips(w: Mapping[str, float] | Callable[[str], np.ndarray | np.floating]
               ) -> dict[str, np.ndarray | np.floating]:
    """The VRM0_TABLE clips from control weights (a name -> value lookup; arrays broadcast)."""
    get = w if callable(w) else (lambda n: np.float32(w.get(n, 0.0)))

    def mean(a: str, b: str) -> np.ndarray | np.floating:
        return 0.5 * (get(a) + get(b))

    bl, br = get("eyeBlinkLeft"), get("eyeBlinkRight")
    opn = get("jawOpen")
    rnd = np.maximum(get("mouthPucker"), get("mouthFunnel"))
    spr = mean("mouthStretchLeft", "mouthStretchRight")
    smile, squint = mean("mouthSmileLeft", "mouthSmileRight"), mean("eyeSquintLeft",
                                                                    "eyeSquintRight")
    both = np.minimum(bl, br)
    return {
        "Blink": both, "Blink_L": bl - both, "Blink_R": br - both,
        "A": opn * (1 - rnd) * (1 - spr), "I": spr * (1 - opn) * (1 - rnd),
        "U": rnd * (1 - opn), "E": spr * opn * (1 - rnd), "O": rnd * opn,
        "Joy": smile * squint, "Angry": mean("browDownLeft", "browDownRight"),
        "Sorrow": mean("mouthFrownLeft", "mouthFrownRight"), "Fun": smile * (1 - squint),
    }


def check_style(style: str) -> str:
    if style not in NAME_STYLES:
        raise UserError(f"unknown name style {style!r}; use one of {', '.join(NAME_STYLES)}")
    return style


@dataclass
class WireNames:
    """Turns (weights, control names) into (values, names) as they go on the wire."""

    style: str = "arkit"
    rename: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_style(self.style)
        self.rename = dict(self.rename)

    def compile(self, names: Sequence[str]
                ) -> tuple[tuple[str, ...], Callable[[np.ndarray], np.ndarray]]:
        """(wire names, function from a (C,) weight vector to the wire values)."""
        names = tuple(names)
        if self.style == "vrm0":
            index = {n: i for i, n in enumerate(names)}
            lacking = [n for n in _VRM0_INPUTS if n not in index]
            if lacking:
                log.warning("vrm0 names: the model has no %s; counted as 0", ", ".join(lacking))
            zero = np.float32(0.0)

            def convert(w: np.ndarray) -> np.ndarray:
                w = np.clip(np.asarray(w, np.float32), 0.0, 1.0)
                clips = vrm0_clips(lambda n: w[index[n]] if n in index else zero)
                return np.array([clips[c] for c in VRM0_CLIPS], np.float32)

            out = VRM0_CLIPS
        else:
            out = tuple(pascal(n) for n in names) if self.style == "pascal" else names

            def convert(w: np.ndarray) -> np.ndarray:
                return np.asarray(w, np.float32)

        return tuple(self.rename.get(n, n) for n in out), convert
