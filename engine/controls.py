"""The one list of rig controls, named as ARKit blendshapes.

Left and Right are the subject's own (as in ARKit): eyeBlinkLeft closes the subject's left
eye, which appears on the right of an unmirrored image.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Control:
    name: str
    region: str  # "eyes" | "brows" | "mouth"
    patch: str  # the APEM patch it shows in: "eye_l" | "eye_r" | "lip"


def _eye(side: str) -> list[Control]:
    patch = "eye_l" if side == "Left" else "eye_r"
    names = ["eyeBlink", "eyeWide", "eyeSquint", "eyeLookUp", "eyeLookDown", "eyeLookIn",
             "eyeLookOut"]
    return [Control(n + side, "eyes", patch) for n in names]


CONTROLS: tuple[Control, ...] = tuple(
    _eye("Left")
    + _eye("Right")
    + [
        Control("browDownLeft", "brows", "eye_l"),
        Control("browDownRight", "brows", "eye_r"),
        Control("browInnerUp", "brows", "eye_l"),
        Control("browOuterUpLeft", "brows", "eye_l"),
        Control("browOuterUpRight", "brows", "eye_r"),
        Control("jawOpen", "mouth", "lip"),
        Control("jawLeft", "mouth", "lip"),
        Control("jawRight", "mouth", "lip"),
        Control("mouthClose", "mouth", "lip"),
        Control("mouthSmileLeft", "mouth", "lip"),
        Control("mouthSmileRight", "mouth", "lip"),
        Control("mouthFrownLeft", "mouth", "lip"),
        Control("mouthFrownRight", "mouth", "lip"),
        Control("mouthPucker", "mouth", "lip"),
        Control("mouthFunnel", "mouth", "lip"),
        Control("mouthStretchLeft", "mouth", "lip"),
        Control("mouthStretchRight", "mouth", "lip"),
        Control("mouthLeft", "mouth", "lip"),
        Control("mouthRight", "mouth", "lip"),
        Control("mouthRollLower", "mouth", "lip"),
        Control("mouthRollUpper", "mouth", "lip"),
        Control("mouthPressLeft", "mouth", "lip"),
        Control("mouthPressRight", "mouth", "lip"),
        Control("cheekPuff", "mouth", "lip"),
        # The last 14 of ARKit's 52. noseSneer is read from the lip patch, whose top edge
        # holds the nose wings; cheekSquint from the eye patches (the lower lids and the
        # cheek below them rise).
        Control("cheekSquintLeft", "eyes", "eye_l"),
        Control("cheekSquintRight", "eyes", "eye_r"),
        Control("noseSneerLeft", "mouth", "lip"),
        Control("noseSneerRight", "mouth", "lip"),
        Control("mouthUpperUpLeft", "mouth", "lip"),
        Control("mouthUpperUpRight", "mouth", "lip"),
        Control("mouthLowerDownLeft", "mouth", "lip"),
        Control("mouthLowerDownRight", "mouth", "lip"),
        Control("mouthDimpleLeft", "mouth", "lip"),
        Control("mouthDimpleRight", "mouth", "lip"),
        Control("mouthShrugUpper", "mouth", "lip"),
        Control("mouthShrugLower", "mouth", "lip"),
        Control("jawForward", "mouth", "lip"),
        Control("tongueOut", "mouth", "lip"),
    ]
)
assert len(CONTROLS) == 52, "ARKit has 52 blendshapes"

CONTROL_NAMES: tuple[str, ...] = tuple(c.name for c in CONTROLS)
INDEX: dict[str, int] = {n: i for i, n in enumerate(CONTROL_NAMES)}
REGIONS: dict[str, tuple[str, ...]] = {
    r: tuple(c.name for c in CONTROLS if c.region == r) for r in ("eyes", "brows", "mouth")
}
# Neutral calibration must not touch these, or blinking stops.
EYELID_CONTROLS: tuple[str, ...] = tuple(
    n for n in CONTROL_NAMES if n.startswith(("eyeBlink", "eyeWide", "eyeSquint"))
)
# Controls the landmarks cannot show: MediaPipe has no tongue points (the rig's tongueOut
# field only drops the lower lip a little, a copy of part of jawOpen's). Landmark-only
# methods (heuristic, f2f) leave them at 0; the learned path reads them from the pixels.
LANDMARK_BLIND: tuple[str, ...] = ("tongueOut",)
# Pairs that cannot be active together; sequence generators respect them.
EXCLUSIVE: tuple[tuple[str, str], ...] = (
    ("eyeBlinkLeft", "eyeWideLeft"),
    ("eyeBlinkRight", "eyeWideRight"),
    ("eyeLookUpLeft", "eyeLookDownLeft"),
    ("eyeLookUpRight", "eyeLookDownRight"),
    ("eyeLookInLeft", "eyeLookOutLeft"),
    ("eyeLookInRight", "eyeLookOutRight"),
    ("jawLeft", "jawRight"),
    ("mouthLeft", "mouthRight"),
    ("mouthSmileLeft", "mouthFrownLeft"),
    ("mouthSmileRight", "mouthFrownRight"),
    ("browDownLeft", "browOuterUpLeft"),
    ("browDownRight", "browOuterUpRight"),
)
