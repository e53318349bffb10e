"""The performer puppet as a live camera-like source: endless natural motion on a photo."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from lprr.engine.capture import GeneratorSource


def puppet_frames(photo: str | Path, seed: int = 0, fps: float = 30.0, size: int = 256,
                  chunk_s: float = 20.0) -> Iterator[np.ndarray]:
    """Frames forever, generated chunk by chunk so start-up stays quick."""
    from lprr.engine.world.puppet import Puppet
    from lprr.engine.world.puppet_effects import Realism, head_motion
    from lprr.engine.world.sequences import natural_sequence

    puppet = Puppet(photo, size=size, seed=seed, realism=Realism())
    n = int(chunk_s * fps)
    chunk = 0
    while True:
        weights = natural_sequence(n, fps=fps, seed=seed + chunk)
        poses = head_motion(n, fps, seed=seed + 1000 + chunk)
        for i, w in enumerate(weights):
            yield puppet.render(w, poses[i])[0]
        chunk += 1


def puppet_source(photo: str | Path, seed: int = 0, fps: float = 30.0) -> GeneratorSource:
    from lprr.engine.world.puppet import load_photo

    load_photo(photo)  # a missing or unreadable photo is a user error now, not mid-capture
    return GeneratorSource(lambda: puppet_frames(photo, seed, fps), fps)
