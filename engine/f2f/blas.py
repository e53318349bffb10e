"""Run numpy's BLAS single-threaded around the f2f per-frame maths.

Everything f2f multiplies or solves per frame is small (at most 1434 x 40). OpenBLAS still
splits such calls over its threads, and when the cores are busy (MediaPipe, capture, the
GUI) every call waits for the others: on a loaded two-core machine a frame took 15-25 ms
with two BLAS threads and about 2 ms with one. This is what ``threadpoolctl`` does, for
numpy's own OpenBLAS only, without the dependency; where the library is not found it does
nothing.
"""
from __future__ import annotations

import contextlib
import ctypes
import logging
import re
from collections.abc import Iterator

log = logging.getLogger(__name__)
_API: tuple | None = None
_LOOKED = False


def _openblas() -> tuple | None:
    """(get, set) of numpy's OpenBLAS thread count, or None."""
    global _API, _LOOKED
    if _LOOKED:
        return _API
    _LOOKED = True
    try:
        import numpy  # noqa: F401  (its BLAS must be loaded to be found)

        with open("/proc/self/maps") as f:
            libs = sorted({m for m in re.findall(r"(/\S+\.so[.\d]*)", f.read())
                           if "openblas" in m.lower()})
        for path in libs:
            lib = ctypes.CDLL(path)
            for suffix in ("64_", ""):
                get = getattr(lib, f"openblas_get_num_threads{suffix}", None)
                put = getattr(lib, f"openblas_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    put.argtypes = [ctypes.c_int]
                    _API = (get, put)
                    return _API
    except OSError as e:  # no /proc (not Linux) or an unloadable library: leave it be
        log.debug("OpenBLAS thread control unavailable: %s", e)
    return None


@contextlib.contextmanager
def blas_threads(n: int = 1) -> Iterator[None]:
    api = _openblas()
    if api is None:
        yield
        return
    get, put = api
    before = int(get())
    if before != n:
        put(n)
    try:
        yield
    finally:
        if before != n:
            put(before)
