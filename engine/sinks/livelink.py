"""Live Link Face UDP packets, as Unreal's LiveLinkFace / AppleARKit face plugin reads them.

Layout (network byte order, as Unreal's FNboSerializeFromBuffer reads it; default port 11111):

    uint8    packet version (6)
    int32    device-id length, then that many UTF-8 bytes (no terminator)
    int32    subject-name length, then that many UTF-8 bytes
    int32    frame number          } FQualifiedFrameTime: frame time...
    float32  sub-frame (0..1)      }
    int32    frame-rate numerator  } ...and its frame rate
    int32    frame-rate denominator}
    uint8    blendshape count (61)
    61 x float32 in EARFaceBlendShape order (below)

Channels are placed by NAME into that order (never by index: lprr's control order differs);
slots lprr does not produce (the head and eye rotations; any ARKit shape a trained model lacks)
are 0.

Like the iPhone app: the device id is a 36-character UUID, one per install
(lprr.engine.user_config.livelink_device_id); with that length the packet is also what the
``pylivelinkface`` library expects. The frame time is the source's timecode: the frame number
and sub-frame of the source's media time at the source's frame rate (30000/1001 for 29.97).
"""
from __future__ import annotations

import logging
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from lprr.engine.sinks.base import DEFAULT_HOST, UdpSink

log = logging.getLogger(__name__)

DEFAULT_PORT = 11111
PACKET_VERSION = 6

# Unreal's EARFaceBlendShape enum order (ARKit names; the last 9 are rotations in radians).
EAR_BLENDSHAPES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft",
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight",
    "jawForward", "jawLeft", "jawRight", "jawOpen",
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft", "noseSneerRight",
    "tongueOut",
    "headYaw", "headPitch", "headRoll",
    "leftEyeYaw", "leftEyePitch", "leftEyeRoll",
    "rightEyeYaw", "rightEyePitch", "rightEyeRoll",
)
EAR_INDEX = {n: i for i, n in enumerate(EAR_BLENDSHAPES)}
assert len(EAR_BLENDSHAPES) == 61

_HEADER_TAIL = struct.Struct(">ifii")  # frame, sub-frame, rate numerator, rate denominator
_VALUES = struct.Struct(">B61f")


def _lp_string(s: str) -> bytes:
    b = s.encode("utf-8")
    return struct.pack(">i", len(b)) + b


def frame_rate(fps: float | None, default: tuple[int, int] = (60, 1)) -> tuple[int, int]:
    """A source's frame rate as Unreal's FFrameRate (numerator, denominator): 30 -> 30/1,
    29.97 -> 30000/1001, 0 or None (unknown) -> ``default``."""
    if not fps or fps <= 0 or not math.isfinite(fps):
        return default
    if abs(fps - round(fps)) < 1e-3:
        return round(fps), 1
    ntsc = round(fps * 1.001)
    if abs(fps - ntsc * 1000 / 1001) < 1e-3:
        return ntsc * 1000, 1001
    f = Fraction(fps).limit_denominator(1001)
    return f.numerator, f.denominator


def encode_livelink(values61: Sequence[float], subject: str = "lprr", device_id: str = "lprr",
                    frame: int = 0, sub_frame: float = 0.0, fps: int = 60,
                    fps_den: int = 1) -> bytes:
    """One packet from 61 values already in EARFaceBlendShape order."""
    return (bytes([PACKET_VERSION]) + _lp_string(device_id) + _lp_string(subject)
            + _HEADER_TAIL.pack(int(frame), float(sub_frame), int(fps), int(fps_den))
            + _VALUES.pack(61, *values61))


@dataclass
class LiveLinkFrame:
    version: int
    device_id: str
    subject: str
    frame: int
    sub_frame: float
    fps: int
    fps_den: int
    values: np.ndarray  # (61,) in EAR order

    def by_name(self) -> dict[str, float]:
        return {n: float(v) for n, v in zip(EAR_BLENDSHAPES, self.values)}


def decode_livelink(packet: bytes) -> LiveLinkFrame:
    """Parse a packet (ours or the iPhone app's); ValueError if it is not one."""
    try:
        version = packet[0]
        pos = 1
        strings = []
        for _ in range(2):
            (n,) = struct.unpack_from(">i", packet, pos)
            if n < 0 or pos + 4 + n > len(packet):
                raise ValueError(f"bad string length {n}")
            strings.append(packet[pos + 4:pos + 4 + n].decode("utf-8"))
            pos += 4 + n
        frame, sub, num, den = _HEADER_TAIL.unpack_from(packet, pos)
        pos += _HEADER_TAIL.size
        count = packet[pos]
        if count != 61:
            raise ValueError(f"blendshape count {count}, expected 61")
        values = np.array(struct.unpack_from(">61f", packet, pos + 1), np.float32)
    except (IndexError, struct.error, UnicodeDecodeError) as e:
        raise ValueError(f"not a Live Link Face packet: {e}") from None
    return LiveLinkFrame(version, strings[0], strings[1], frame, sub, num, den, values)


class LiveLinkSink(UdpSink):
    name = "livelink"
    what = "Live Link"

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 subject: str = "lprr", device_id: str | None = None,
                 fps: float | None = None):
        """``device_id`` None: this install's id. ``fps``: the source's frame rate (None or 0:
        unknown, then 60/1, the iPhone app's rate)."""
        super().__init__(host, port)
        if device_id is None:
            from lprr.engine.user_config import livelink_device_id

            device_id = livelink_device_id()
        self.subject, self.device_id = subject, device_id
        self.fps, self.fps_den = frame_rate(fps)

    def _compile(self, names: tuple[str, ...]) -> None:
        slots = [(i, EAR_INDEX.get(n)) for i, n in enumerate(names)]
        unknown = [names[i] for i, s in slots if s is None]
        if unknown:
            log.warning("livelink: no Live Link slot for %s; not sent", ", ".join(unknown))
        self._src = np.array([i for i, s in slots if s is not None], np.intp)
        self._dst = np.array([s for _, s in slots if s is not None], np.intp)
        self._prefix = bytes([PACKET_VERSION]) + _lp_string(self.device_id) + _lp_string(self.subject)

    def send(self, weights: np.ndarray, names: Sequence[str], t: float, frame_index: int,
             face: bool = True) -> None:
        self._clock(names, t)
        frames = max(0.0, float(t)) * self.fps / self.fps_den  # t: the source's media time
        whole = math.floor(frames + 1e-6)  # 1.9999999 from float noise is frame 2
        out = np.zeros(61, np.float32)
        out[self._dst] = np.asarray(weights, np.float32)[self._src]
        self._send(self._prefix + _HEADER_TAIL.pack(whole, max(0.0, float(frames - whole)), self.fps,
                                                    self.fps_den)
                   + _VALUES.pack(61, *out.tolist()))
