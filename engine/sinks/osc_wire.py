"""OSC 1.0 encoding for the per-frame hot path.

python-osc's builders cost about 0.45 ms for a 38-control VMC bundle on this machine; these
pre-encoded templates produce byte-identical packets in a few tens of microseconds. Tests parse
every packet with python-osc (and receive it with its real UDP server).
"""
from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

IMMEDIATELY = b"\x00\x00\x00\x00\x00\x00\x00\x01"  # OSC time tag "now"
_BUNDLE = b"#bundle\x00"
_F32 = struct.Struct(">f")


def osc_string(s: str | bytes) -> bytes:
    """A null-terminated string padded to a multiple of 4 bytes."""
    b = s.encode("utf-8") if isinstance(s, str) else s
    return b + b"\x00" * (4 - len(b) % 4)


def osc_message(address: str, *args: float | str | bool) -> bytes:
    """Encode one message; ints -> i, floats -> f, str -> s, bool -> T/F."""
    tags, data = [","], []
    for a in args:
        if isinstance(a, bool):
            tags.append("T" if a else "F")
        elif isinstance(a, int):
            tags.append("i")
            data.append(struct.pack(">i", a))
        elif isinstance(a, float):
            tags.append("f")
            data.append(_F32.pack(a))
        elif isinstance(a, str):
            tags.append("s")
            data.append(osc_string(a))
        else:
            raise TypeError(f"unsupported OSC argument {a!r}")
    return osc_string(address) + osc_string("".join(tags)) + b"".join(data)


class FloatArrayMessage:
    """``address ,fff...f`` with a fixed count: one struct.pack per frame."""

    def __init__(self, address: str, count: int):
        self.prefix = osc_string(address) + osc_string("," + "f" * count)
        self.pack = struct.Struct(f">{count}f").pack

    def encode(self, values: Sequence[float]) -> bytes:
        return self.prefix + self.pack(*values)


class LabelledFloatMessages:
    """One ``address [,s name] ,f value`` element per name, size-prefixed for a bundle.

    ``address`` may contain ``{name}`` (e.g. "/lprr/w/{name}"); with ``name_arg`` the name is
    also sent as a string argument before the float (as VMC's /VMC/Ext/Blend/Val does).
    """

    def __init__(self, address: str, names: Sequence[str], name_arg: bool):
        self.heads = []
        for n in names:
            if name_arg:
                body = osc_string(address.format(name=n)) + osc_string(",sf") + osc_string(n)
            else:
                body = osc_string(address.format(name=n)) + osc_string(",f")
            self.heads.append(struct.pack(">i", len(body) + 4) + body)

    def encode(self, values: Sequence[float]) -> list[bytes]:
        pack = _F32.pack
        return [h + pack(v) for h, v in zip(self.heads, values)]


def bundle_of_sized(sized: Iterable[bytes], timetag: bytes = IMMEDIATELY) -> bytes:
    """A bundle from elements that already carry their int32 size prefix."""
    return _BUNDLE + timetag + b"".join(sized)


def sized(element: bytes) -> bytes:
    return struct.pack(">i", len(element)) + element


BUNDLE_HEADER = len(_BUNDLE) + len(IMMEDIATELY)  # 16 bytes before the first element
MAX_DATAGRAM = 1472  # one Ethernet frame's UDP payload (1500 - 20 IPv4 - 8 UDP)


def split_bundles(sized: Sequence[bytes], limit: int = MAX_DATAGRAM,
                  timetag: bytes = IMMEDIATELY) -> list[bytes]:
    """Size-prefixed elements packed, in order, into as few bundles of <= ``limit`` bytes as
    fit (greedy). An element that alone exceeds the limit gets a bundle of its own."""
    out: list[bytes] = []
    cur: list[bytes] = []
    size = BUNDLE_HEADER
    for e in sized:
        if cur and size + len(e) > limit:
            out.append(_BUNDLE + timetag + b"".join(cur))
            cur, size = [], BUNDLE_HEADER
        cur.append(e)
        size += len(e)
    if cur:
        out.append(_BUNDLE + timetag + b"".join(cur))
    return out
