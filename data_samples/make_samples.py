"""Regenerate the dataset format fixtures of ``data_samples/`` (deterministic, seeded).

    python data_samples/make_samples.py

Writes, next to this script (each folder is deleted and rebuilt; other files are kept):

- ``300vw/``: videos ``001`` (a training id) and ``114`` (a test-1 id), 8 MJPG frames
  each (96x72), a synthetic 68-point face drawn as 3x3 white dots on grey, moving a
  known step per frame, and one ``.pts`` per frame. Whitespace variants of real files:
  ``n_points:  68`` (two spaces) everywhere; in ``001``: frame 2 CRLF, frame 3 trailing
  tabs/spaces, frame 4 no final newline, frame 5 blank lines.
- ``bad/``: malformed ``.pts`` files (see ``BAD`` below; tests know each error's line).
- ``nvgesture/``: the two list files and ``Video_data/class_NN/subjectS_r0/sk_color.avi``
  and ``sk_depth.avi`` (24 frames, 40x32). Colour frame ``f`` is uniform RGB
  ``(10 f, 60 + 40 label, 200)``, depth frame ``f`` grey ``250 - 10 f``. The lists name
  a ``duo_left`` stream, as the real ones do, but its videos are left out.
- ``ucf101/``: ``ucfTrainTestlist/`` (the real 101-class ``classInd.txt``, a 2-line
  ``trainlist01.txt`` and ``testlist01.txt``), ``UCF-101/<Class>/v_*.avi`` (14 frames,
  64x48: a smooth random texture moving by (+2, +1) px per frame, with a static 8x8
  top-left block of grey ``15 f`` that encodes the frame index) including the
  ``HandstandPushups/v_HandStandPushups_*`` quirk, and ``flow/`` computed from them with
  ``python -m prernn_lite.data.flow --method farneback``.

Then rewrites ``MANIFEST`` for the whole folder. MJPG/JPEG encoding can differ between
OpenCV builds, so a rebuild elsewhere may change hashes (not content that tests rely on).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np

from prernn_lite.data.flow import main as flow_main
from prernn_lite.data.manifest import write_manifest
from prernn_lite.data.pts import pixels_to_pts
from prernn_lite.data.video import write_video

HERE = Path(__file__).resolve().parent


def face_template() -> np.ndarray:
    """A rough iBUG 68-point face in a unit box (x right, y down), ``(68, 2)``."""
    t = np.linspace(0, np.pi, 17)
    jaw = np.stack([-np.cos(t), -0.2 + 1.2 * np.sin(t)], 1)  # 0-16
    bx = np.linspace(-0.8, -0.2, 5)
    brow_r = np.stack([bx, -0.55 - 0.1 * np.sin(np.linspace(0, np.pi, 5))], 1)  # 17-21
    brow_l = brow_r[::-1] * [-1, 1]  # 22-26
    bridge = np.stack([np.zeros(4), np.linspace(-0.35, 0.1, 4)], 1)  # 27-30
    nostrils = np.stack([np.linspace(-0.25, 0.25, 5), np.full(5, 0.25)], 1)  # 31-35

    def ring(cx, cy, rx, ry, n):  # starts at the left corner, upper part first
        a = np.pi - np.arange(n) * 2 * np.pi / n
        return np.stack([cx + rx * np.cos(a), cy - ry * np.sin(a)], 1)

    eyes = np.concatenate([ring(-0.45, -0.3, 0.18, 0.07, 6), ring(0.45, -0.3, 0.18, 0.07, 6)])
    mouth = np.concatenate([ring(0, 0.55, 0.4, 0.15, 12), ring(0, 0.55, 0.3, 0.06, 8)])
    return np.concatenate([jaw, brow_r, brow_l, bridge, nostrils, eyes, mouth])  # (68, 2)


def pts_text(points: np.ndarray, variant: str = "plain") -> str:
    body = "".join(f"{x:.3f} {y:.3f}" + ("\t " if variant == "trailing" else "") + "\n"
                   for x, y in points)
    text = f"version: 1\nn_points:  {len(points)}\n{{\n{body}}}\n"
    if variant == "crlf":
        text = text.replace("\n", "\r\n")
    elif variant == "no_final_newline":
        text = text.rstrip("\n")
    elif variant == "blank_lines":
        text = "\n" + text.replace("{\n", "{\n\n", 1) + "\n\n"
    return text


VARIANTS = {2: "crlf", 3: "trailing", 4: "no_final_newline", 5: "blank_lines"}


def make_300vw(rng: np.random.Generator) -> None:
    root = HERE / "300vw"
    template = face_template()
    specs = {"001": ((40.0, 32.0), 18.0, (2.0, 1.0)), "114": ((60.0, 36.0), 15.0, (-1.0, 1.0))}
    for vid, (centre, scale, step) in specs.items():
        (root / vid / "annot").mkdir(parents=True)
        frames = []
        for f in range(8):
            jitter = rng.normal(0, 0.3, size=(68, 2))
            px = template * scale + np.add(centre, np.multiply(step, f)) + jitter  # 0-based
            img = np.full((72, 96, 3), 40, np.uint8)
            for x, y in np.round(px).astype(int):
                img[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2] = 255
            frames.append(img)
            variant = VARIANTS.get(f + 1, "plain") if vid == "001" else "plain"
            text = pts_text(pixels_to_pts(px), variant)
            (root / vid / "annot" / f"{f + 1:06d}.pts").write_bytes(text.encode())
        write_video(root / vid / "vid.avi", np.stack(frames), fps=25)


def make_bad() -> None:
    bad = HERE / "bad"
    bad.mkdir()
    pts = pixels_to_pts(face_template() * 18 + 40)
    good = pts_text(pts).splitlines(keepends=True)  # line k (1-based) is good[k - 1]
    files = {
        "missing_version.pts": good[1:],  # error at line 1
        "wrong_count.pts": good[:3] + good[4:],  # 67 points (lines 4-70): '}' at line 71
        "extra_point.pts": good[:71] + [good[70]] + good[71:],  # 69 points: line 72
        "non_numeric.pts": good[:12] + ["12.5 abc\n"] + good[13:],  # point 10: line 13
        "three_values.pts": good[:5] + ["1.0 2.0 3.0\n"] + good[6:],  # line 6
        "missing_close_brace.pts": good[:71],  # ends after the last point: line 71
        "missing_open_brace.pts": good[:2] + good[3:],  # first point where '{' is: line 3
        "text_after_brace.pts": good + ["extra\n"],  # line 73
    }
    for name, lines in files.items():
        (bad / name).write_text("".join(lines))


def make_nvgesture() -> None:
    root = HERE / "nvgesture"
    entries = {  # folder: (label 1-based, start, end, split)
        "class_01/subject1_r0": (1, 3, 19, "train"),
        "class_02/subject1_r0": (2, 2, 22, "train"),
        "class_01/subject2_r0": (1, 5, 21, "test"),
    }
    lines: dict[str, list[str]] = {"train": [], "test": []}
    f = np.arange(24)
    for folder, (label, s, e, split) in entries.items():
        d = root / "Video_data" / folder
        d.mkdir(parents=True)
        color = np.zeros((24, 32, 40, 3), np.uint8)
        color[..., 0] = (10 * f)[:, None, None]
        color[..., 1] = 60 + 40 * label
        color[..., 2] = 200
        write_video(d / "sk_color.avi", color, fps=30)
        depth = np.broadcast_to((250 - 10 * f)[:, None, None], (24, 32, 40)).astype(np.uint8)
        write_video(d / "sk_depth.avi", depth, fps=30)
        lines[split].append(f"path:./Video_data/{folder} depth:sk_depth:{s}:{e} "
                            f"color:sk_color:{s}:{e} duo_left:duo_left:{s + 1}:{e + 1} "
                            f"label:{label}")
    lines["train"][0] += " "  # a trailing space, as editors leave them
    for split, ls in lines.items():
        (root / f"nvgesture_{split}_correct_cvpr2016.lst").write_text("\n".join(ls) + "\n")


UCF101_CLASSES = """ApplyEyeMakeup ApplyLipstick Archery BabyCrawling BalanceBeam BandMarching
BaseballPitch Basketball BasketballDunk BenchPress Biking Billiards BlowDryHair BlowingCandles
BodyWeightSquats Bowling BoxingPunchingBag BoxingSpeedBag BreastStroke BrushingTeeth
CleanAndJerk CliffDiving CricketBowling CricketShot CuttingInKitchen Diving Drumming Fencing
FieldHockeyPenalty FloorGymnastics FrisbeeCatch FrontCrawl GolfSwing Haircut Hammering
HammerThrow HandstandPushups HandstandWalking HeadMassage HighJump HorseRace HorseRiding
HulaHoop IceDancing JavelinThrow JugglingBalls JumpingJack JumpRope Kayaking Knitting LongJump
Lunges MilitaryParade Mixing MoppingFloor Nunchucks ParallelBars PizzaTossing PlayingCello
PlayingDaf PlayingDhol PlayingFlute PlayingGuitar PlayingPiano PlayingSitar PlayingTabla
PlayingViolin PoleVault PommelHorse PullUps Punch PushUps Rafting RockClimbingIndoor
RopeClimbing Rowing SalsaSpin ShavingBeard Shotput SkateBoarding Skiing Skijet SkyDiving
SoccerJuggling SoccerPenalty StillRings SumoWrestling Surfing Swing TableTennisShot TaiChi
TennisSwing ThrowDiscus TrampolineJumping Typing UnevenBars VolleyballSpiking WalkingWithDog
WallPushups WritingOnBoard YoYo""".split()


def make_ucf101(rng: np.random.Generator) -> None:
    root = HERE / "ucf101"
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    assert len(UCF101_CLASSES) == 101
    (lists / "classInd.txt").write_text(
        "".join(f"{i} {c}\r\n" for i, c in enumerate(UCF101_CLASSES, 1)))  # CRLF, as shipped
    train = ["ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1",
             "HandstandPushups/v_HandStandPushups_g08_c01.avi 37"]
    test = ["ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi",
            "HandstandPushups/v_HandStandPushups_g01_c01.avi"]
    (lists / "trainlist01.txt").write_text("".join(x + "\r\n" for x in train))
    (lists / "testlist01.txt").write_text("".join(x + "\r\n" for x in test))
    for rel in [t.split()[0] for t in train + test]:
        tex = cv2.GaussianBlur(rng.uniform(0, 1, (96, 128, 3)).astype(np.float32), (0, 0), 2.5)
        tex = (tex - tex.min()) / (tex.max() - tex.min()) * 190 + 30
        frames = np.stack([tex[20 - f:68 - f, 40 - 2 * f:104 - 2 * f] for f in range(14)])
        frames = np.round(frames).astype(np.uint8)
        frames[:, :8, :8] = (15 * np.arange(14))[:, None, None, None]
        (root / "UCF-101" / rel).parent.mkdir(parents=True, exist_ok=True)
        write_video(root / "UCF-101" / rel, frames, fps=25)
    flow_main(["--videos", str(root / "UCF-101"), "--out", str(root / "flow"),
               "--method", "farneback", "--bound", "20", "--codec", "jpg"])


def main() -> None:
    for name in ("300vw", "bad", "nvgesture", "ucf101"):
        shutil.rmtree(HERE / name, ignore_errors=True)
    rng = np.random.default_rng(2018)
    make_300vw(rng)
    make_bad()
    make_nvgesture()
    make_ucf101(rng)
    out = write_manifest(HERE)
    print(f"wrote fixtures and {out}")


if __name__ == "__main__":
    main()
