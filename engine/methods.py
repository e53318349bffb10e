"""Retargeting methods behind one interface, so the pipeline, ``lprr run``, ``lprr eval``
and the GUI treat the learned path and the landmark-only methods alike.

A method receives a batch of ``FrameResult`` that have a face (landmarks in pixels, APEM
patches and transform) and fills ``raw_weights`` (and ``reenacted`` patches when it
makes them). Post-processing and sinks come after it and are shared.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from engine.backends import BackendOptions
from engine.errors import UserError
from engine.timing import StageTimes

if TYPE_CHECKING:  # the registry stays cheap to import (the CLI's --help reads it)
    from engine.retarget import FrameResult

# name -> "module:Class"; every class takes (models, backend, options, times).
METHODS: dict[str, str] = {
    "lprr": "engine.retarget:Retargeter",
    "heuristic": "engine.heuristic:HeuristicMethod",
    "f2f": "engine.f2f.method:F2FMethod",
    "mediapipe": "engine.mediapipe_method:MediaPipeMethod",
}


class Method(Protocol):
    name: str
    controls: list[str]
    times: StageTimes
    # The front end's landmarker (engine.retarget.FrontEnd): "facemesh" unless the method
    # reads MediaPipe's blendshapes ("tasks"). Methods without the attribute get facemesh.
    landmarker: str

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
    methods: an unlabelled performer video or take that starts with a neutral face)."""
    return method_class(method)(models, backend, options, times, **extra)


def method_class(method: str) -> type:
    """The class registered under ``method`` (imported on first use)."""
    if method not in METHODS:
        raise UserError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    module, cls = METHODS[method].split(":")
    return getattr(importlib.import_module(module), cls)
