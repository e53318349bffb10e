"""``lprr blender``: the Blender round trip (add-on install, demo character, dataset renders,
recorded takes keyframed into a .blend).

    lprr blender install-addon [--dest ADDONS_DIR | --zip FILE] [--blender PATH] [--no-vendor]
    lprr blender export-character OUT_DIR
    lprr blender render-take --out TAKE [--blend FILE --object NAME] [--frames 20]
                             [--resolution 256] [--seed 0] [--engine CYCLES] [--blender PATH]
    lprr blender import-take TAKE --blend FILE --object NAME [--start FRAME] [--take-fps FPS]
                             [--out FILE] [--blender PATH]

The Blender-side code lives in ``scripts/blender/`` (the receiver add-on ``lprr_receiver``,
``demo_character.py``, ``render_take.py`` and ``import_take.py``); this module only prepares
files and starts Blender.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from lprr.engine.errors import UserError
from lprr.engine.paths import ROOT

log = logging.getLogger(__name__)

BLENDER_SCRIPTS = ROOT / "scripts" / "blender"
ADDON_SRC = BLENDER_SCRIPTS / "lprr_receiver"
ADDON_NAME = "lprr_receiver"
BLENDER_ENV = "LPRR_BLENDER"  # path of the blender binary, if not on PATH
CHARACTER_JSON = "character.json"


# ------------------------------------------------------------------------- blender binary
def find_blender(explicit: str | None = None) -> str | None:
    """``explicit``, else $LPRR_BLENDER, else ``blender`` on PATH; None when there is none."""
    for cand in (explicit, os.environ.get(BLENDER_ENV), "blender"):
        if cand:
            path = shutil.which(cand)
            if path:
                return path
    return None


def blender_version(blender: str) -> tuple[int, int]:
    out = subprocess.run([blender, "--version"], check=False, capture_output=True,
                         text=True, timeout=60).stdout
    m = re.search(r"Blender (\d+)\.(\d+)", out)
    if not m:
        raise UserError(f"cannot read the version of {blender} (got {out[:80]!r})")
    return int(m.group(1)), int(m.group(2))


def user_addons_dir(version: tuple[int, int]) -> Path:
    """Blender's per-user add-ons folder for a version (what Preferences > Install uses)."""
    v = f"{version[0]}.{version[1]}"
    system = platform.system()
    if system == "Windows":
        base = Path(os.environ.get("APPDATA", Path.home())) / "Blender Foundation" / "Blender"
    elif system == "Darwin":
        base = Path.home() / "Library" / "Application Support" / "Blender"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "blender"
    return base / v / "scripts" / "addons"


# ------------------------------------------------------------------------- add-on install
def python_osc_dir() -> Path:
    """The installed ``pythonosc`` package folder of this Python."""
    try:
        import pythonosc
    except ImportError:
        raise UserError("python-osc is not installed in this environment "
                        "(pip install python-osc)") from None
    return Path(pythonosc.__file__).resolve().parent


def _addon_files(vendor: bool) -> list[tuple[Path, str]]:
    """(source file, path inside the add-on folder) for every file the add-on ships."""
    files = [(p, p.relative_to(ADDON_SRC).as_posix()) for p in sorted(ADDON_SRC.rglob("*.py"))
             if "_vendor" not in p.parts]
    if vendor:
        osc = python_osc_dir()
        for p in sorted(osc.rglob("*")):
            rel = p.relative_to(osc)
            if p.is_file() and "__pycache__" not in rel.parts and rel.parts[0] != "test":
                files.append((p, f"_vendor/pythonosc/{rel.as_posix()}"))
        lic = next(iter(osc.parent.glob("python_osc-*.dist-info/LICENSE*")), None)
        if lic is not None:
            files.append((lic, "_vendor/pythonosc/LICENSE.txt"))
    return files


def install_addon(addons_dir: str | Path, vendor: bool = True) -> Path:
    """Copy the add-on (and python-osc, unless ``vendor`` is False) into ``addons_dir``."""
    dest = Path(addons_dir) / ADDON_NAME
    if dest.exists():
        shutil.rmtree(dest)
    for src, rel in _addon_files(vendor):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    return dest


def build_addon_zip(zip_path: str | Path, vendor: bool = True) -> Path:
    """A zip for Edit > Preferences > Add-ons > Install..."""
    zip_path = Path(zip_path)
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as z:
        for src, rel in _addon_files(vendor):
            z.write(src, f"{ADDON_NAME}/{rel}")
    return zip_path


# ------------------------------------------------------------------------- demo character
def export_demo_character(out_dir: str | Path) -> Path:
    """OBJs of the demo character (neutral + one per control) and ``character.json``,
    which tells ``scripts/blender/demo_character.py`` which vertex is which landmark, which
    faces are lips and brows, where the irises are, and the colours."""
    from lprr.engine.controls import CONTROL_NAMES
    from lprr.engine.face import topology as T
    from lprr.engine.world.character import DemoCharacter

    out = Path(out_dir)
    ch = DemoCharacter(256)
    ch.export_obj(out)
    n_skirt = 2 * len(T.FACE_OVAL)

    def vid(i: int) -> int:  # export_obj's order: face mesh, skirt rings, then the irises
        return i if i < T.N_MESH else i + n_skirt

    def rgb(bgr):  # 0..1 sRGB
        return [round(c / 255.0, 4) for c in reversed(bgr)]

    lk = ch.look
    lips = T.UPPER_LIP + T.LOWER_LIP + T.LIP_CORNERS_L + T.LIP_CORNERS_R
    info = {
        "controls": list(CONTROL_NAMES),
        "vertices": T.N_LANDMARKS + n_skirt,
        "landmark_vertices": [vid(i) for i in range(T.N_LANDMARKS)],
        "regions": {"lips": sorted({vid(i) for i in lips}),
                    "brows": sorted({vid(i) for i in T.BROW_L + T.BROW_R})},
        "eyes": [{"side": side, "iris": [vid(i) for i in iris],
                  "opening": [vid(i) for i in opening]}
                 for side, iris, opening in (("left", T.IRIS_L, T.EYE_OPENING_L),
                                             ("right", T.IRIS_R, T.EYE_OPENING_R))],
        "mouth_opening": [vid(i) for i in T.MOUTH_OPENING],
        "colours": {"skin": rgb(lk.skin), "lips": rgb(lk.lips), "brows": rgb(lk.brows),
                    "iris": rgb(lk.iris), "sclera": rgb(lk.sclera), "mouth": rgb(lk.mouth),
                    "background": rgb(lk.background)},
        "framing": {"iod_fraction": lk.pixels_per_unit, "centre_v": lk.centre_v},
    }
    (out / CHARACTER_JSON).write_text(json.dumps(info, indent=1))
    return out


# ------------------------------------------------------------------------- running Blender
def blender_command(blender: str, script: Path, script_args: list[str],
                    blend: str | Path | None = None) -> list[str]:
    cmd = [blender, "-b"]
    if blend:
        cmd.append(str(blend))
    else:
        cmd.append("--factory-startup")
    return [*cmd, "--python-exit-code", "1", "--python", str(script), "--", *script_args]


def render_take(out: str | Path, frames: int = 20, resolution: int | str = 256, seed: int = 0,
                engine: str = "CYCLES", samples: int = 16, blend: str | Path | None = None,
                object_name: str | None = None, landmarks: str | None = None,
                fps: float = 30.0, blender: str | None = None, timeout: float | None = None,
                extra: list[str] | None = None) -> Path:
    """Render a take with ``scripts/blender/render_take.py``. Without ``blend`` the demo
    character is exported to a temporary folder and imported first."""
    exe = find_blender(blender)
    if exe is None:
        raise UserError("no blender binary found: install Blender (Debian/Ubuntu: "
                        f"apt-get install blender), put it on PATH or set {BLENDER_ENV}")
    args = ["--out", str(out), "--frames", str(frames), "--resolution", str(resolution),
            "--seed", str(seed), "--engine", engine, "--samples", str(samples),
            "--fps", str(fps)]
    if landmarks:
        args += ["--landmarks", landmarks]
    if object_name:
        args += ["--object", object_name]
    with tempfile.TemporaryDirectory(prefix="lprr_demo_char_") as tmp:
        if blend is None:
            export_demo_character(tmp)
            args += ["--demo-character", tmp]
        cmd = blender_command(exe, BLENDER_SCRIPTS / "render_take.py", args + list(extra or []),
                              blend)
        log.info("running %s", " ".join(cmd))
        r = subprocess.run(cmd, check=False, capture_output=True, text=True,
                           timeout=timeout)
    if r.returncode != 0:
        tail = "\n".join((r.stdout + r.stderr).strip().splitlines()[-15:])
        raise UserError(f"Blender failed (exit {r.returncode}):\n{tail}")
    return Path(out)


RESULT_PREFIX, ERROR_PREFIX = "LPRR_RESULT ", "LPRR_ERROR "  # import_take.py's report lines


def import_take(take: str | Path, blend: str | Path, object_name: str,
                start: int | None = None, out: str | Path | None = None,
                take_fps: float | None = None, blender: str | None = None,
                timeout: float | None = None) -> dict:
    """Keyframe a recorded take onto ``object_name``'s shape keys in ``blend`` with
    ``scripts/blender/import_take.py`` and save (in place, or to ``out``); returns the
    script's report (keyed, missing, frames, keys, first_frame, last_frame, ...).

    The take is parsed here, with lprr's reader, and handed to Blender as plain JSON rows:
    one parser of recordings for lprr, and Blender needs nothing of lprr's."""
    from lprr.engine.sinks.recorder import read_recording_timed

    rec = read_recording_timed(take, take_fps)
    if len(rec.times) == 0:
        raise UserError(f"take {take} has no frames")
    blend = Path(blend)
    if not blend.is_file():
        raise UserError(f"no such .blend: {blend}")
    exe = find_blender(blender)
    if exe is None:
        raise UserError("no blender binary found: install Blender (Debian/Ubuntu: "
                        f"apt-get install blender), put it on PATH or set {BLENDER_ENV}")
    with tempfile.TemporaryDirectory(prefix="lprr_take_") as tmp:
        rows = Path(tmp) / "rows.json"
        rows.write_text(json.dumps({"names": rec.names, "times": rec.times.tolist(),
                                    "values": rec.values.tolist()}))
        args = ["--rows", str(rows), "--object", object_name]
        if start is not None:
            args += ["--start", str(start)]
        if out is not None:
            args += ["--out", str(Path(out).resolve())]
        cmd = blender_command(exe, BLENDER_SCRIPTS / "import_take.py", args, blend.resolve())
        log.info("running %s", " ".join(cmd))
        r = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout)
    lines = (r.stdout + "\n" + r.stderr).splitlines()
    for ln in lines:
        if ln.startswith(ERROR_PREFIX):
            raise UserError(ln[len(ERROR_PREFIX):])
    result = next((ln for ln in lines if ln.startswith(RESULT_PREFIX)), None)
    if r.returncode == 0 and result is not None:
        return json.loads(result[len(RESULT_PREFIX):])
    opened = next((ln for ln in lines if ln.startswith("Error: ")), None)
    if opened is not None and result is None:  # Blender itself could not open the file
        raise UserError(f"Blender cannot open {blend}: {opened[len('Error: '):]}")
    tail = "\n".join("\n".join(lines).strip().splitlines()[-15:])
    raise UserError(f"Blender failed (exit {r.returncode}):\n{tail}")


# ------------------------------------------------------------------------- CLI
def _run_install(args: argparse.Namespace) -> int:
    vendor = not args.no_vendor
    if args.zip:
        z = build_addon_zip(args.zip, vendor)
        print(f"wrote {z}: in Blender, Edit > Preferences > Add-ons > Install..., pick it, "
              "then enable 'Animation: lprr receiver'")
        return 0
    if args.dest:
        dest = Path(args.dest)
    else:
        exe = find_blender(args.blender)
        if exe is None:
            raise UserError("no blender binary found to read its version from: give --dest "
                            f"ADDONS_DIR, --blender PATH or set {BLENDER_ENV}")
        dest = user_addons_dir(blender_version(exe))
    path = install_addon(dest, vendor)
    print(f"installed {path}" + (" (with python-osc)" if vendor else ""))
    print("enable it: Edit > Preferences > Add-ons, search 'lprr receiver' (or run "
          "blender -b --python-expr \"import addon_utils, bpy; addon_utils.enable("
          "'lprr_receiver', default_set=True); bpy.ops.wm.save_userpref()\")")
    return 0


def _run_export(args: argparse.Namespace) -> int:
    out = export_demo_character(args.out)
    print(f"wrote the demo character to {out}; import it in Blender with\n  blender -b "
          f"--python {BLENDER_SCRIPTS / 'demo_character.py'} -- --obj-dir {out} "
          "--save demo_character.blend")
    return 0


def _run_render(args: argparse.Namespace) -> int:
    if args.blend and not args.object:
        raise UserError("--blend needs --object (the mesh with the shape keys)")
    out = render_take(args.out, args.frames, args.resolution, args.seed, args.engine,
                      args.samples, args.blend, args.object, args.landmarks, args.fps,
                      args.blender)
    print(f"wrote take {out}")
    return 0


def _run_import_take(args: argparse.Namespace) -> int:
    rep = import_take(args.take, args.blend, args.object, args.start, args.out,
                      args.take_fps, args.blender)
    if rep["missing"]:
        print(f"{rep['object']} has no shape key for {len(rep['missing'])} of the take's names: "
              f"{', '.join(rep['missing'])}")
    frames = (f"frames {rep['first_frame']}-{rep['last_frame']} at {rep['scene_fps']:g} fps"
              if rep["keys"] else "nothing keyed")
    print(f"wrote {rep['keys']} keyframes ({len(rep['keyed'])} shape keys x {rep['frames']} "
          f"frames; {frames}) on {rep['object']}, saved {rep['saved']}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("blender", help="Blender: install the receiver add-on, export the demo "
                       "character, render a labelled take, import a recorded take",
                       description="The Blender round trip. See scripts/blender/.")
    kinds = p.add_subparsers(dest="blender_command", required=True, metavar="ACTION")

    i = kinds.add_parser("install-addon", help="install the OSC receiver add-on "
                         "(with python-osc bundled)")
    i.add_argument("--dest", help="Blender add-ons folder (default: the user folder of the "
                   "installed Blender's version)")
    i.add_argument("--zip", help="write an installable zip instead")
    i.add_argument("--blender", help=f"blender binary (default: ${BLENDER_ENV} or PATH)")
    i.add_argument("--no-vendor", action="store_true",
                   help="do not copy python-osc into the add-on (set its path in the add-on "
                        "preferences instead)")
    i.set_defaults(func=_run_install)

    e = kinds.add_parser("export-character", help="write the demo character as OBJs + "
                         "character.json for scripts/blender/demo_character.py")
    e.add_argument("out", type=Path)
    e.set_defaults(func=_run_export)

    r = kinds.add_parser("render-take", help="render a take with rig-weight labels in Blender")
    r.add_argument("--out", type=Path, required=True, help="take folder to write")
    r.add_argument("--frames", type=int, default=20)
    r.add_argument("--resolution", default="256", help="N or WxH pixels (default 256)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--fps", type=float, default=30.0)
    r.add_argument("--engine", default="CYCLES",
                   choices=["CYCLES", "BLENDER_WORKBENCH", "BLENDER_EEVEE"])
    r.add_argument("--samples", type=int, default=16, help="Cycles samples (default 16)")
    r.add_argument("--blend", help="your .blend (default: the demo character)")
    r.add_argument("--object", help="mesh with the shape keys (needed with --blend)")
    r.add_argument("--landmarks", help="JSON list of vertex indices, one per landmark "
                   "(default: the object's 'lprr_landmarks' property)")
    r.add_argument("--blender", help=f"blender binary (default: ${BLENDER_ENV} or PATH)")
    r.set_defaults(func=_run_render)

    t = kinds.add_parser("import-take", help="keyframe a recorded take (lprr run --record) "
                         "onto an object's shape keys in a .blend",
                         description="Keys the take's rows at the scene's frame rate: the row "
                         "at media time t goes to frame START + round(t * scene fps), so START "
                         "is where the source video's first frame sits. Shape keys are matched "
                         "by name (exactly, then ignoring case); the take replaces their keys "
                         "in its frame range. The scene's frame_end grows to cover the take.")
    t.add_argument("take", type=Path, help="recorded .csv or .jsonl (lprr run --record)")
    t.add_argument("--blend", type=Path, required=True, help="the .blend to key")
    t.add_argument("--object", required=True, help="mesh with the shape keys")
    t.add_argument("--start", type=int, default=None, metavar="FRAME",
                   help="scene frame of the take's time 0 (default: the scene's frame_start)")
    t.add_argument("--take-fps", type=float, default=None, metavar="FPS",
                   help="frame rate of a CSV take's timecodes (default: inferred from them; "
                        "30 for takes under a second)")
    t.add_argument("--out", type=Path, help="save to this .blend (default: --blend, in place)")
    t.add_argument("--blender", help=f"blender binary (default: ${BLENDER_ENV} or PATH)")
    t.set_defaults(func=_run_import_take)
