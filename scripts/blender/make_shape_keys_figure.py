"""Make docs/blender_shape_keys.png: lprr streams four poses over OSC to the receiver add-on
in a real, headless Blender, which renders the demo character after each one arrives.

    python scripts/blender/make_shape_keys_figure.py [--out docs/blender_shape_keys.png]

Runs in lprr's environment (it needs numpy, OpenCV and python-osc) and starts Blender itself.
The add-on is loaded from this source tree and finds python-osc through $LPRR_PYTHON_OSC.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from lprr.app.commands import blender as bl
from lprr.engine.controls import CONTROL_NAMES, INDEX
from lprr.engine.sinks import create_sink

POSES = [
    ("neutral", {}),
    ("jawOpen .6, browInnerUp .8, eyeWide .6",
     {"jawOpen": 0.6, "browInnerUp": 0.8, "browOuterUpLeft": 0.6, "browOuterUpRight": 0.6,
      "eyeWideLeft": 0.6, "eyeWideRight": 0.6, "mouthFunnel": 0.3}),
    ("mouthSmile .9, eyeSquint .5",
     {"mouthSmileLeft": 0.9, "mouthSmileRight": 0.9, "eyeSquintLeft": 0.5,
      "eyeSquintRight": 0.5, "cheekPuff": 0.2}),
    ("eyeBlinkLeft 1, mouthLeft .7, eyeLookOutRight .8",
     {"eyeBlinkLeft": 1.0, "mouthLeft": 0.7, "browDownLeft": 0.6, "eyeLookOutRight": 0.8,
      "eyeLookInLeft": 0.8}),
]

DRIVER = r'''
import sys, time
import bpy
argv = sys.argv[sys.argv.index("--") + 1:]
scripts, obj_dir, out_dir, n, res, samples = argv[0], argv[1], argv[2], int(argv[3]), int(argv[4]), int(argv[5])
sys.path.insert(0, scripts)
import lprr_receiver, demo_character, render_take
lprr_receiver.register()
demo_character.clear_scene()
obj = demo_character.import_character(obj_dir)
scene = bpy.context.scene
demo_character.setup_scene(obj, res, obj_dir)
render_take.configure_render(scene, "CYCLES", (res, res), samples)
print("READY", lprr_receiver.start(port=0, object_name=obj.name), flush=True)
done, end = 0, time.monotonic() + 120
while done < n and time.monotonic() < end:
    if lprr_receiver.pump():
        scene.render.filepath = f"{out_dir}/{done}.png"
        bpy.ops.render.render(write_still=True)
        print("RENDERED", done, flush=True)
        done += 1
    time.sleep(0.002)
lprr_receiver.stop()
'''


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "blender_shape_keys.png")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--samples", type=int, default=32)
    a = ap.parse_args()
    blender = bl.find_blender()
    if blender is None:
        raise SystemExit("no blender binary found")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bl.export_demo_character(tmp / "char")
        (tmp / "driver.py").write_text(DRIVER)
        env = dict(os.environ, LPRR_PYTHON_OSC=str(bl.python_osc_dir().parent))
        cmd = [blender, "-b", "--factory-startup", "--python-exit-code", "1", "--python",
               str(tmp / "driver.py"), "--", str(bl.BLENDER_SCRIPTS), str(tmp / "char"),
               str(tmp), str(len(POSES)), str(a.size), str(a.samples)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=env)

        def wait_for(prefix: str) -> str:
            for line in proc.stdout:
                if line.startswith(prefix):
                    return line[len(prefix):].strip()
            raise SystemExit(f"Blender ended before printing {prefix!r}")

        try:
            port = int(wait_for("READY"))
            sink = create_sink("native", f"127.0.0.1:{port}")
            for k, (_label, pose) in enumerate(POSES):
                w = np.zeros(len(CONTROL_NAMES), np.float32)
                for name, v in pose.items():
                    w[INDEX[name]] = v
                sink.send(w, CONTROL_NAMES, t=time.monotonic(), frame_index=k)
                wait_for("RENDERED")
            sink.close()
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        tiles = []
        for k, (label, _pose) in enumerate(POSES):
            img = cv2.imread(str(tmp / f"{k}.png"))
            s = a.size
            crop = img[int(0.08 * s): int(0.92 * s), int(0.12 * s): int(0.88 * s)]
            band = np.full((34, crop.shape[1], 3), 245, np.uint8)
            for j, part in enumerate(_wrap(label, 30)):
                cv2.putText(band, part, (4, 14 + 15 * j), cv2.FONT_HERSHEY_SIMPLEX, 0.36,
                            (40, 40, 40), 1, cv2.LINE_AA)
            tiles.append(np.vstack([crop, band]))
        sheet = np.hstack([np.pad(t, ((0, 0), (0, 4), (0, 0)), constant_values=255)
                           for t in tiles])[:, :-4]
        a.out.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(a.out), sheet, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {a.out} ({a.out.stat().st_size // 1024} KB)")
    return 0


def _wrap(text: str, width: int) -> list[str]:
    lines, cur = [], ""
    for word in text.split(" "):
        if cur and len(cur) + 1 + len(word) > width:
            lines.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}".strip()
    return [*lines, cur][:2]


if __name__ == "__main__":
    sys.exit(main())
