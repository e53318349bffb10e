"""Where weights go each frame: the ``Sink`` interface and the UDP plumbing the network sinks share."""
from __future__ import annotations

import errno
import logging
import socket
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from lprr.engine.errors import UserError

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"  # OSC goes only where the user says; never broadcast by default


class Sink(ABC):
    """Receives one frame of weights at a time (weights[i] belongs to names[i])."""

    name = "sink"
    _names: tuple[str, ...] | None = None  # the control list the encoders were built for
    _t0: float | None = None  # time of the first frame sent

    @abstractmethod
    def send(self, weights: np.ndarray, names: Sequence[str], t: float, frame_index: int,
             face: bool = True) -> None:
        """t: seconds (any origin; sinks send it relative to their first frame)."""

    def close(self) -> None:
        pass

    def _compile(self, names: tuple[str, ...]) -> None:
        """Build whatever depends on the control list (called when it changes)."""

    def _clock(self, names: Sequence[str], t: float) -> float:
        """Rebuild for a new control list if needed; seconds since the first frame."""
        names = tuple(names)
        if names != self._names:
            self._compile(names)
            self._names = names
        if self._t0 is None:
            self._t0 = t
        return float(t - self._t0)

    def __enter__(self) -> Sink:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def parse_endpoint(text: str | None, default_port: int,
                   default_host: str = DEFAULT_HOST) -> tuple[str, int]:
    """'HOST:PORT', 'HOST', ':PORT', 'PORT' or '[v6]:PORT' -> (host, port)."""
    if not text:
        return default_host, default_port
    text = text.strip()
    host, port = text, ""
    if text.startswith("["):  # [::1]:9000
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
    elif text.isdigit():
        host, port = "", text
    elif text.count(":") == 1:
        host, port = text.split(":")
    try:
        p = int(port) if port else default_port
    except ValueError:
        raise UserError(f"bad port in {text!r}; use HOST:PORT, e.g. 127.0.0.1:{default_port}") \
            from None
    if not 0 < p < 65536:
        raise UserError(f"port {p} out of range in {text!r}")
    return host or default_host, p


def resolve_udp(host: str, port: int, what: str = "OSC") -> tuple[int, tuple]:
    """(address family, socket address) for a UDP destination; UserError if it cannot resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise UserError(f"cannot resolve {what} host {host!r} ({reason}); give an IP address "
                        f"or a name this machine can resolve") from None
    # Prefer IPv4 when a name has both: most receivers (Blender add-ons, VMC apps) bind IPv4.
    infos.sort(key=lambda i: i[0] != socket.AF_INET)
    family, _, _, _, addr = infos[0]
    return family, addr


class UdpSink(Sink):
    """A UDP destination resolved once at creation; a send error is logged once, never raised."""

    what = "OSC"

    def __init__(self, host: str = DEFAULT_HOST, port: int = 9000):
        self.host, self.port = host, port
        family, self.addr = resolve_udp(host, port, self.what)
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sent = 0  # datagrams handed to the OS
        self.errors = 0
        self._logged: set[int] = set()

    def _send(self, data: bytes) -> bool:
        try:
            self.sock.sendto(data, self.addr)
        except OSError as e:  # unreachable network, message too long, no buffer space...
            self.errors += 1
            code = e.errno or -1
            if code not in self._logged:
                self._logged.add(code)
                log.warning("%s: sending to %s:%d failed (%s); will keep trying, and log this "
                            "error only once", self.name, self.host, self.port,
                            e.strerror or errno.errorcode.get(code, str(e)))
            return False
        self.sent += 1
        return True

    def close(self) -> None:
        if self.sock.fileno() != -1:
            self.sock.close()

    def describe(self) -> str:
        return f"{self.name} -> {self.host}:{self.port}"

