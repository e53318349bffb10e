"""The real-footage benchmark's measures give known answers on a tiny labelled clip: a
perfect method, a constant one and a method that is right one frame late; label files load,
check their clip and fail with one clear line."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from lprr.engine.controls import CONTROL_NAMES, INDEX
from lprr.engine.errors import UserError
from lprr.engine.labels import ClipLabels, file_sha256
from lprr.engine.realbench import auc, labels_from_truth, score_labelled

N = 60
SPANS = {"face": [(0, 50)], "neutral": [(0, 12)], "still": [(0, 12)],
         "eye_closed_left": [(15, 18), (35, 38)], "eye_closed_right": [(15, 18)],
         "mouth_open": [(20, 28)], "smile": [(40, 48)], "uncertain": [(48, 50)]}


def tiny_labels() -> ClipLabels:
    return ClipLabels("tiny.avi", N, 30.0, {k: list(v) for k, v in SPANS.items()})


def perfect(labels: ClipLabels) -> np.ndarray:
    w = np.zeros((N, len(CONTROL_NAMES)))
    w[:, INDEX["eyeBlinkLeft"]] = labels.mask("eye_closed_left")
    w[:, INDEX["eyeBlinkRight"]] = labels.mask("eye_closed_right")
    w[:, INDEX["jawOpen"]] = labels.mask("mouth_open")
    w[:, INDEX["mouthSmileLeft"]] = w[:, INDEX["mouthSmileRight"]] = labels.mask("smile")
    return w


def geometry_of(labels: ClipLabels) -> dict[str, np.ndarray]:
    """Landmark measures that follow the labels (open lids shrink when closed)."""
    return {"lip_gap": 0.02 + 0.3 * labels.mask("mouth_open"),
            "mouth_width": 1.0 + 0.2 * labels.mask("smile"),
            "lid_gap_left": 0.3 - 0.25 * labels.mask("eye_closed_left"),
            "lid_gap_right": 0.3 - 0.25 * labels.mask("eye_closed_right")}


def test_perfect_method():
    lab = tiny_labels()
    s = score_labelled(perfect(lab), CONTROL_NAMES, lab, geometry_of(lab))
    assert s["frames"] == 48  # face frames minus the uncertain ones
    for k in ("eye_closed_left", "eye_closed_right", "mouth_open", "smile"):
        assert s["auc"][k] == pytest.approx(1.0)
    assert np.isnan(s["auc"]["brows_raised"])  # no raised brows labelled: undefined
    assert s["mean_auc"] == pytest.approx(1.0)
    b = s["blinks"]["both"]
    assert (b["true_events"], b["pred_events"], b["matched"]) == (3, 3, 3)
    assert b["recall"] == b["precision"] == b["f1"] == 1.0
    assert s["leak"]["mean"] == 0.0 and s["still_jitter"] == 0.0
    for r in s["geometry_r"].values():
        assert r == pytest.approx(1.0)


def test_constant_method():
    lab = tiny_labels()
    s = score_labelled(np.full((N, len(CONTROL_NAMES)), 0.3), CONTROL_NAMES, lab,
                       geometry_of(lab), faces=np.ones(N, bool))
    assert s["mean_auc"] == pytest.approx(0.5)  # chance
    b = s["blinks"]["both"]
    assert b["pred_events"] == 0 and b["recall"] == 0.0 and b["precision"] == 0.0
    assert s["leak"]["mean"] == pytest.approx(0.3)
    assert all(np.isnan(r) for r in s["geometry_r"].values())  # r of a constant
    assert s["faces_found"] == 1.0 and s["false_faces"] == 10  # frames 50-59 have no face


def test_one_frame_late():
    lab = tiny_labels()
    late = np.roll(perfect(lab), 1, axis=0)
    s = score_labelled(late, CONTROL_NAMES, lab, geometry_of(lab))
    # every event is still found (2 frames of tolerance) ...
    assert s["blinks"]["both"]["matched"] == 3
    # ... but a frame at each edge is wrong: AUC and r drop below perfect, by a known amount
    pos = lab.mask("eye_closed_left") & lab.scored
    neg = lab.scored & ~lab.mask("eye_closed_left")
    assert s["auc"]["eye_closed_left"] == pytest.approx(auc(late[:, INDEX["eyeBlinkLeft"]],
                                                           pos, neg))
    assert 0.8 < s["auc"]["eye_closed_left"] < 0.99
    assert 0.5 < s["geometry_r"]["jaw~lip gap"] < 0.95


def test_auc_known_values():
    x = np.array([0.1, 0.4, 0.35, 0.8])
    pos = np.array([False, True, False, True])
    assert auc(x, pos, ~pos) == pytest.approx(1.0)
    assert auc(-x, pos, ~pos) == pytest.approx(0.0)
    assert auc(np.ones(4), pos, ~pos) == pytest.approx(0.5)
    assert np.isnan(auc(x, np.zeros(4, bool), np.ones(4, bool)))


def test_labels_from_truth_classes():
    w = np.zeros((40, len(CONTROL_NAMES)), np.float32)
    w[10:14, INDEX["eyeBlinkLeft"]] = 1.0
    w[20:30, INDEX["jawOpen"]] = 0.6
    lab = labels_from_truth(w, CONTROL_NAMES, 30.0)
    assert lab.spans["eye_closed_left"] == [(10, 14)] and lab.spans["mouth_open"] == [(20, 30)]
    assert lab.mask("neutral").sum() == 40 - 4 - 10
    s = score_labelled(w, CONTROL_NAMES, lab)
    assert s["auc"]["mouth_open"] == 1.0


def test_label_files(tmp_path):
    clip = tmp_path / "tiny.avi"
    vw = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48))
    for i in range(5):
        vw.write(np.full((48, 64, 3), i * 40, np.uint8))
    vw.release()
    f = tmp_path / "tiny.toml"
    f.write_text(f'clip = "tiny.avi"\nsha256 = "{file_sha256(clip)}"\nframes = 5\nfps = 30\n'
                 '[spans]\nface = [[0, 5]]\neye_closed_left = [[1, 3]]\n')
    lab = ClipLabels.load(f)
    assert lab.find_clip() == clip and lab.at(2) == ["eye_closed_left"]
    assert len(list(lab.open())) == 5
    f.write_text(f.read_text().replace("[[1, 3]]", "[[1, 9]]"))
    with pytest.raises(UserError, match=r"outside \[0, 5\)"):
        ClipLabels.load(f)
    f.write_text('clip = "tiny.avi"\nsha256 = "00"\nframes = 5\nfps = 30\n[spans]\n')
    with pytest.raises(UserError, match="sha256 differs"):
        ClipLabels.load(f).find_clip()
    f.write_text('clip = "tiny.avi"\nframes = 5\nfps = 30\n[spans]\nsmiles = [[0, 1]]\n')
    with pytest.raises(UserError, match="unknown label 'smiles'"):
        ClipLabels.load(f)


def test_stills_label_file(tmp_path):
    f = tmp_path / "stills.toml"
    f.write_text('kind = "stills"\nfps = 30\nrepeat = 6\nsettle = 2\n'
                 '[[photo]]\nclip = "package:skimage/data/astronaut.png"\nlabels = ["smile"]\n'
                 '[[photo]]\nclip = "package:skimage/data/camera.png"\nlabels = ["neutral"]\n')
    lab = ClipLabels.load(f)
    assert lab.frames == 12 and lab.spans["smile"] == [(0, 6)]
    assert lab.scored.sum() == 8  # 2 settling frames after each cut are left out
    frames = list(lab.open())
    assert len(frames) == 12 and frames[0].shape == (512, 512, 3)


def test_eval_labels_command(tmp_path):
    """`lprr eval --labels` end to end on 45 labelled frames of the demo clip (labels from
    its ground truth), the real MediaPipe models, both neutral conditions."""
    import json

    from lprr.app.cli import main
    from lprr.engine.paths import ASSETS
    from lprr.engine.take import Take

    take = Take(ASSETS / "demo" / "clip")
    cap = cv2.VideoCapture(str(take.frames_path))
    clip = tmp_path / "cut.avi"
    vw = None
    for _ in range(45):
        ok, f = cap.read()
        assert ok
        if vw is None:
            vw = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), take.fps,
                                 (f.shape[1], f.shape[0]))
        vw.write(f)
    vw.release()
    truth = take.weights_for(CONTROL_NAMES)[:45]
    lab = labels_from_truth(truth, CONTROL_NAMES, take.fps, clip="cut.avi")
    lab.spans["neutral"] = lab.spans["still"] = [(0, 6)]
    lab.save(tmp_path / "cut.toml")
    assert ClipLabels.load(tmp_path / "cut.toml").spans == lab.spans
    out = tmp_path / "out"
    rc = main(["eval", "--labels", str(tmp_path / "cut.toml"), "--method",
               "heuristic,mediapipe", "--out", str(out)])
    assert rc == 0
    rep = json.loads((out / "real_scores.json").read_text())
    conds = {c["condition"]: c for c in rep["clips"]}
    assert set(conds) == {"none", "neutral"}
    for c in conds.values():
        assert set(c["methods"]) == {"heuristic", "mediapipe", "all zeros"}
        assert c["methods"]["all zeros"]["mean_auc"] == 0.5
    assert "| mediapipe |" in (out / "real_accuracy.md").read_text()
    assert (out / "real_cut_none.png").is_file()


def test_rankings_and_tau():
    from lprr.engine.evaluate_real import REFERENCE, kendall_tau, rank_by

    assert kendall_tau(["a", "b", "c"], ["a", "b", "c"]) == 1.0
    assert kendall_tau(["a", "b", "c"], ["c", "b", "a"]) == -1.0
    assert kendall_tau(["a", "b", "c", "d"], ["b", "a", "c", "d"]) == pytest.approx(4 / 6)
    summ = {"x": {"mean_auc": 0.9, "blink_recall": 1.0, "blink_precision": 0.5, "leak": 0.2},
            "y": {"mean_auc": 0.7, "blink_recall": 0.5, "blink_precision": 0.5, "leak": 0.0},
            REFERENCE: {"mean_auc": 0.5, "blink_recall": 0.0, "blink_precision": 0.0,
                        "leak": 0.0}}
    assert rank_by(summ, "mean AUC") == ["x", "y"]
    assert rank_by(summ, "blink F1") == ["x", "y"]  # F1 0.67 against 0.5
    assert rank_by(summ, "leak on neutral") == ["y", "x"]  # lower is better


def test_webcam_take_starts_neutral():
    from lprr.engine.world.sequences import natural_sequence, webcam_sequence

    nat = natural_sequence(300, 30, seed=4)
    cam = webcam_sequence(300, 30, seed=4)
    assert nat[:45].max(1).min() > 0.05  # the natural take is never at rest ...
    assert cam[:45].max() == 0.0  # ... the webcam take's first 1.5 s are
    np.testing.assert_allclose(cam[90:], nat[90:])  # then the same performance
    lab = labels_from_truth(cam, CONTROL_NAMES, 30.0)
    assert lab.mask("neutral")[:45].all()


def test_eval_labels_missing_clip_is_one_line(tmp_path, capsys):
    from lprr.app.cli import main

    f = tmp_path / "x.toml"
    f.write_text('clip = "gone.mp4"\nframes = 5\nfps = 30\n[spans]\nface = [[0, 5]]\n')
    assert main(["eval", "--labels", str(f), "--method", "heuristic"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "gone.mp4" in err[0] and "fetch_realfaces" in err[0]
