"""Retargeting methods behind one interface, so the pipeline, ``lprr run``, ``lprr eval``
and the GUI treat the learned path and the landmark-only methods alike.

A method receives a batch of ``FrameResult`` that have a face (landmarks in pixels, APEM
patches and transform) and fills ``raw_weights`` (and ``reenacted`` patches when it
makes them). Post-processing and sinks come after it and are shared.
"""
from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from lprr.engine.backends import BackendOptions
from lprr.engine.errors import UserError
from lprr.engine.timing import StageTimes

if TYPE_CHECKING:  # the registry stays cheap to import (the CLI's --help reads it)
    from lprr.engine.retarget import FrameResult

log = logging.getLogger(__name__)

# name -> "module:Class"; every class takes (models, backend, options, times).
METHODS: dict[str, str] = {
    "lprr": "lprr.engine.retarget:Retargeter",
    "heuristic": "lprr.engine.heuristic:HeuristicMethod",
    "f2f": "lprr.engine.f2f.method:F2FMethod",
    "mediapipe": "lprr.engine.mediapipe_method:MediaPipeMethod",
}


# The default of `lprr run`, `demo` and `gui`: the method that scores best on the real-footage
# benchmark (docs/accuracy.md: mean detection AUC over the labelled real clips, no neutral
# given). Rerun scripts/accuracy.py after a model or method change and keep this in step.
DEFAULT_METHOD = "mediapipe"


class Method(Protocol):
    name: str
    controls: list[str]
    times: StageTimes
    # The front end's landmarker (lprr.engine.retarget.FrontEnd; LANDMARKERS): DEFAULT_LANDMARKER
    # for every built-in method, which also reads its calibration clips with it. ``--landmarker``
    # changes the front end only. Methods without the attribute get facemesh.
    landmarker: str
    # Faces smaller than this (px between the eye centres) read as no face for the method.
    min_face_px: float

    @property
    def backend_name(self) -> str: ...

    def describe(self) -> str: ...

    def warmup(self) -> None: ...

    def infer_frames(self, batch: list[FrameResult]) -> None: ...

    def close(self) -> None: ...


def create_method(method: str, models: str | Path, backend: str = "auto",
                  options: BackendOptions | None = None,
                  times: StageTimes | None = None, **extra) -> Method:
    """``extra`` goes to the method's constructor (e.g. ``calibration`` for the landmark
    methods: an unlabelled performer video or take that starts with a neutral face).

    An option the method does not name is a UserError, never silently dropped (the
    constructors' catch-all ``**kwargs`` would swallow it)."""
    check_method_options(method, extra)
    return method_class(method)(models, backend, options, times, **extra)


def method_class(method: str) -> type:
    """The class registered under ``method`` (imported on first use)."""
    if method not in METHODS:
        raise UserError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    module, cls = METHODS[method].split(":")
    return getattr(importlib.import_module(module), cls)


# The four arguments every method takes (create_method passes them positionally).
_COMMON = ("models", "backend", "options", "times")


def method_options(method: str) -> frozenset[str]:
    """The options ``method``'s constructor names beyond the four every method takes. A
    catch-all ``**kwargs`` does not count: an option has to be named to be used."""
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    params = inspect.signature(method_class(method)).parameters
    return frozenset(n for n, p in params.items() if n not in _COMMON and p.kind in named)


def _flag(option: str) -> str:
    return "--" + option.replace("_", "-")


def _takers(option: str) -> str:
    takers = [m for m in METHODS if option in method_options(m)]
    return f"it applies to {', '.join(takers)}" if takers else "no method takes it"


def check_method_options(method: str, extra: Mapping[str, Any]) -> None:
    """UserError naming each option in ``extra`` that ``method`` does not take."""
    unknown = [k for k in extra if k not in method_options(method)]
    if unknown:
        raise UserError("; ".join(f"{_flag(k)} does not apply to method {method} "
                                  f"({_takers(k)})" for k in unknown))


def split_method_options(methods: Sequence[str],
                         extra: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per method, the options of ``extra`` it takes, for a run of several methods (``lprr
    eval --method all``). An option none of them takes is a UserError (as for one method);
    one that only some take is applied to those, with one warning line naming the methods
    that ignore it."""
    if len(methods) == 1:
        check_method_options(methods[0], extra)
        return {methods[0]: dict(extra)}
    takes = {m: method_options(m) for m in methods}
    for k in extra:
        ignored = [m for m in methods if k not in takes[m]]
        if len(ignored) == len(methods):
            raise UserError(f"{_flag(k)} applies to none of the methods chosen "
                            f"({', '.join(methods)}; {_takers(k)})")
        if ignored:
            log.warning("%s applies to %s only; ignored by %s", _flag(k),
                        ", ".join(m for m in methods if m not in ignored), ", ".join(ignored))
    return {m: {k: v for k, v in extra.items() if k in takes[m]} for m in methods}
