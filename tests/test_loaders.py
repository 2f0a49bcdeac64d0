"""Real-dataset loaders on the format fixtures of data_samples/: shapes, values checked
against hand computations, and errors that name the file (and line)."""

import shutil

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from prernn_lite.data.manifest import samples_dir
from prernn_lite.data.nvgesture import (
    NVGESTURE_LIST_NAMES,
    NVGESTURE_LISTS,
    NvGestureSequences,
    StreamRange,
    clip_starts,
    find_nvgesture_list,
    parse_nvgesture_list,
)
from prernn_lite.data.pts import read_pts, write_pts
from prernn_lite.data.ucf101 import UCF101Videos, read_class_index, read_split
from prernn_lite.data.video import count_frames, read_frames, write_video
from prernn_lite.data.vw300 import (
    VW300_TEST1,
    VW300_TEST2,
    VW300_TEST3,
    VW300_TRAIN,
    FaceCrop,
    VW300Sequences,
    crop_and_resize,
    face_box,
)

S = samples_dir()
NV = S / "nvgesture"
UCF = S / "ucf101"


# ---------------------------------------------------------------- video reading
def test_read_frames_selects_frames_and_returns_rgb():
    # colour frame f of the fixture is uniform RGB (10 f, 60 + 40 label, 200), label 1
    v = NV / "Video_data/class_01/subject1_r0/sk_color.avi"
    assert count_frames(v) == 24
    fr = read_frames(v, [7, 2, 7])
    assert fr.shape == (3, 32, 40, 3) and fr.dtype == np.uint8
    np.testing.assert_allclose(fr[:, 16, 20].astype(float), [[70, 100, 200], [20, 100, 200],
                                                             [70, 100, 200]], atol=4)
    assert read_frames(v).shape[0] == 24
    with pytest.raises(IndexError, match="sk_color.avi: frame 24"):
        read_frames(v, [23, 24])


def test_video_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.avi"):
        count_frames(tmp_path / "nope.avi")
    (tmp_path / "text.avi").write_text("not a video")
    with pytest.raises(OSError, match="text.avi"):
        read_frames(tmp_path / "text.avi", [0])


# ---------------------------------------------------------------- 300VW
def test_official_300vw_lists():
    assert (len(VW300_TRAIN), len(VW300_TEST1), len(VW300_TEST2), len(VW300_TEST3)) == (
        50, 31, 19, 14)
    everything = VW300_TRAIN + VW300_TEST1 + VW300_TEST2 + VW300_TEST3
    assert len(set(everything)) == 114


def test_face_box_and_crop_by_hand():
    # landmarks spanning x 10..30, y 5..25 (0-based): side 20 * 1.5 = 30, centre (20, 15)
    lm = np.array([[10.0, 5.0], [30.0, 25.0], [20.0, 10.0]])
    box = face_box(lm, margin=0.25)
    assert box == (5.0, 0.0, 30.0)
    # a 3x3 white dot centred on pixel (x=20, y=10) of a 40x40 frame
    img = np.zeros((1, 40, 40, 3), np.uint8)
    img[0, 9:12, 19:22] = 255
    out, lm_out = crop_and_resize(img, lm[None], [box], 60)  # scale a = 60 / 30 = 2
    # u = (x - left) * a - 0.5: (20 - 5) * 2 - 0.5 = 29.5, (10 - 0) * 2 - 0.5 = 19.5
    np.testing.assert_allclose(lm_out[0, 2], [29.5, 19.5])
    np.testing.assert_allclose(lm_out[0, 0], [9.5, 9.5])
    w = out[0, :, :, 0].astype(float)
    ys, xs = np.mgrid[0:60, 0:60]
    centroid = [(w * xs).sum() / w.sum(), (w * ys).sum() / w.sum()]
    np.testing.assert_allclose(centroid, [29.5, 19.5], atol=1e-6)  # the dot went there too
    # and back: x = (u + 0.5) / a + left
    np.testing.assert_allclose((lm_out[0] + 0.5) / 2 + [5.0, 0.0], lm)


def _tiny_300vw(root, n_frames=4):
    """One video '001' of black 40x40 frames with a 3x3 dot at 0-based pixel (20, 10)
    and landmarks: point 0 on the dot, the others on the corners of x 10..30, y 5..25."""
    (root / "001" / "annot").mkdir(parents=True)
    frames = np.zeros((n_frames, 40, 40, 3), np.uint8)
    frames[:, 9:12, 19:22] = 255
    write_video(root / "001" / "vid.avi", frames)
    px = np.array([[20.0, 10.0]] + [[10.0, 5.0], [30.0, 25.0]] * 33 + [[10.0, 25.0]])
    for k in range(n_frames):
        write_pts(root / "001" / "annot" / f"{k + 1:06d}.pts", px + 1)  # 1-based in the file
    return root


def test_300vw_landmark_lands_where_computed_by_hand(tmp_path):
    root = _tiny_300vw(tmp_path / "vw")
    ds = VW300Sequences(root, videos=["001"], seq_len=2, stride=1, image_size=60)
    assert len(ds) == 3
    s = ds[1]
    np.testing.assert_allclose(s["landmarks"][:, 0].numpy(), [[29.5, 19.5]] * 2, atol=1e-5)
    w = s["frames"][0, 0].numpy()
    w = np.where(w > 0.3, w, 0)  # ignore MJPG ringing
    ys, xs = np.mgrid[0:60, 0:60]
    np.testing.assert_allclose([(w * xs).sum() / w.sum(), (w * ys).sum() / w.sum()],
                               [29.5, 19.5], atol=0.3)


def test_300vw_fixture_shapes_and_landmarks_on_the_drawn_dots():
    ds = VW300Sequences(S / "300vw", videos=[1, "114"], seq_len=4, stride=4, image_size=64)
    assert len(ds) == 4 and ds.num_frames == {"001": 8, "114": 8}
    s = ds[3]
    assert s["frames"].shape == (4, 3, 64, 64) and s["frames"].dtype == torch.float32
    assert s["landmarks"].shape == (4, 68, 2) and s["landmarks"].dtype == torch.float32
    assert 0 <= s["frames"].min() and s["frames"].max() <= 1
    for k in ("occluded", "blurred", "dropped"):
        assert s["flags"][k].dtype == torch.bool and s["flags"][k].shape == (4,)
        assert not s["flags"][k].any()
    # the fixture draws a white 3x3 dot at every landmark: each lands on white
    r = s["landmarks"].round().long()
    on_dots = s["frames"][torch.arange(4)[:, None], 0, r[..., 1], r[..., 0]]
    assert on_dots.min() > 0.8
    # the landmarks are the file's values, 1-based -> 0-based, through the window's box
    raw = np.stack([read_pts(S / f"300vw/114/annot/{k:06d}.pts") for k in (5, 6, 7, 8)]) - 1
    left, top, side = face_box(raw, 0.25)
    a = 64 / side
    np.testing.assert_allclose(s["landmarks"].numpy(),
                               (raw - [left, top]) * a - 0.5, atol=1e-4)
    batch = next(iter(DataLoader(ds, batch_size=2)))
    assert batch["frames"].shape == (2, 4, 3, 64, 64) and batch["flags"]["occluded"].shape == (2, 4)


def test_300vw_per_frame_crop_centres_each_face():
    ds = VW300Sequences(S / "300vw", videos=["001"], seq_len=8, image_size=64,
                        crop=FaceCrop(margin=0.25, per="frame"))
    lm = ds[0]["landmarks"].numpy()  # (8, 68, 2)
    centres = (lm.min(1) + lm.max(1)) / 2
    np.testing.assert_allclose(centres, np.full((8, 2), 31.5), atol=1e-4)  # output centre


def test_300vw_errors_name_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"ibug\.doc\.ic\.ac\.uk/resources/300-VW"):
        VW300Sequences(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match=r"002/vid\.avi"):
        VW300Sequences(S / "300vw", split="train")  # the fixture has only 001 of the 50
    with pytest.raises(ValueError, match="valid: train, test, test1, test2, test3"):
        VW300Sequences(S / "300vw", split="val")
    root = tmp_path / "vw"
    shutil.copytree(S / "300vw", root)
    (root / "001" / "annot" / "000008.pts").unlink()
    with pytest.raises(ValueError, match=r"001/vid\.avi: 8 frames but 7 annotations"):
        VW300Sequences(root, videos=["001"], seq_len=4)
    (root / "001" / "annot" / "000003.pts").unlink()
    with pytest.raises(FileNotFoundError, match=r"001/annot/000003\.pts: annotation missing"):
        VW300Sequences(root, videos=["001"], seq_len=4)
    shutil.copy(S / "bad" / "non_numeric.pts", root / "114" / "annot" / "000002.pts")
    ds = VW300Sequences(root, videos=["114"], seq_len=4)
    with pytest.raises(ValueError, match=r"114/annot/000002\.pts:13:"):
        ds[0]


def test_300vw_seq_len_longer_than_the_videos(tmp_path):
    with pytest.raises(ValueError, match=r"seq_len=9 is longer than every video, so the dataset "
                                         r"would be empty; frames per video: 001: 8, 114: 8\. "
                                         r"Use seq_len <= 8"):
        VW300Sequences(S / "300vw", videos=["001", "114"], seq_len=9)
    root = _tiny_300vw(tmp_path / "vw")  # 001: 4 frames
    shutil.copytree(S / "300vw" / "114", root / "114")  # 8 frames
    with pytest.warns(UserWarning, match=r"seq_len=6 is longer than 1 of 2 videos, which give "
                                         r"no window \(frames per video: 001: 4\)"):
        ds = VW300Sequences(root, videos=["001", "114"], seq_len=6, stride=2)
    assert ds.windows == [("114", 0), ("114", 2)]  # 8 frames: windows 0..5 and 2..7
    with pytest.raises(ValueError, match="videos: expected at least one video id, got none"):
        VW300Sequences(root, videos=[])


# ---------------------------------------------------------------- nvGesture
def test_parse_nvgesture_list_by_hand():
    e = parse_nvgesture_list(NV / NVGESTURE_LISTS["train"])
    assert [x.label for x in e] == [0, 1] and [x.line for x in e] == [1, 2]
    assert e[1].path == "./Video_data/class_02/subject1_r0"
    assert e[1].streams == {"depth": StreamRange("sk_depth", 2, 22),
                            "color": StreamRange("sk_color", 2, 22),
                            "duo_left": StreamRange("duo_left", 3, 23)}


GOOD = ("path:./Video_data/class_01/subject1_r0 depth:sk_depth:3:19 color:sk_color:3:19 "
        "label:1")


@pytest.mark.parametrize("bad", [
    "Video_data/class_01/subject1_r0 color:sk_color:3:19 label:1",  # no path:
    "path:./a color:sk_color:3 label:1",  # three fields
    "path:./a color:sk_color:3:x label:1",  # not an int
    "path:./a color:sk_color:19:3 label:1",  # start > end
    "path:./a color:sk_color:3:19 label:0",  # labels are 1-based
    "path:./a color:sk_color:3:19",  # no label
    "path:./a colour:sk_color:3:19 label:1",  # unknown field
])
def test_malformed_nvgesture_line_names_file_and_line(tmp_path, bad):
    f = tmp_path / "x.lst"
    f.write_text(GOOD + "\n\n" + bad + "\n")
    with pytest.raises(ValueError, match=r"x\.lst:3: "):
        parse_nvgesture_list(f)


def test_clip_starts_by_hand():
    assert clip_starts(3, 19, 2, 8) == [3, 11]  # 16 frames = two consecutive clips
    assert clip_starts(2, 22, 2, 8) == [2, 14]  # 20 frames: first and last possible clip
    assert clip_starts(0, 10, 1, 4) == [3]  # one clip: centred
    with pytest.raises(ValueError):
        clip_starts(0, 5, 2, 8)


def test_nvgesture_colour_clips_hold_the_right_frames():
    ds = NvGestureSequences(NV, "train", "color", num_clips=2, clip_len=8, image_size=(16, 20))
    assert len(ds) == 2
    s = ds[0]
    assert s["clips"].shape == (2, 3, 8, 16, 20) and s["clips"].dtype == torch.float32
    assert s["label"].dtype == torch.int64 and s["label"].item() == 0
    px = s["clips"][:, :, :, 8, 10].numpy() * 255  # (T, 3, L)
    # clip starts 3 and 11; frame f has R = 10 f, G = 60 + 40 * 1, B = 200
    frames = np.array([range(3, 11), range(11, 19)])
    np.testing.assert_allclose(px[:, 0], 10 * frames, atol=4)
    np.testing.assert_allclose(px[:, 1], 100, atol=4)
    np.testing.assert_allclose(px[:, 2], 200, atol=4)
    assert ds[1]["label"].item() == 1
    batch = next(iter(DataLoader(ds, batch_size=2)))
    assert batch["clips"].shape == (2, 2, 3, 8, 16, 20) and batch["label"].tolist() == [0, 1]


def test_nvgesture_depth_is_grey_times_three():
    ds = NvGestureSequences(NV, "test", "depth", num_clips=2, clip_len=8, image_size=16)
    s = ds[0]
    c = s["clips"]
    assert c.shape == (2, 3, 8, 16, 16) and s["label"].item() == 0
    assert torch.equal(c[:, 0], c[:, 1]) and torch.equal(c[:, 0], c[:, 2])
    # test entry: frames 5:21 -> clips start 5 and 13; depth frame f is 250 - 10 f
    frames = np.array([range(5, 13), range(13, 21)])
    np.testing.assert_allclose(c[:, 0, :, 8, 8].numpy() * 255, 250 - 10 * frames, atol=4)


def test_nvgesture_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"research\.nvidia\.com.*correct_cvpr2016"):
        NvGestureSequences(tmp_path / "missing")
    root = tmp_path / "nv"
    shutil.copytree(NV, root)
    lst = root / NVGESTURE_LISTS["train"]
    lst.write_text(GOOD.replace("3:19", "10:30") + "\n")  # the video has 24 frames
    with pytest.raises(ValueError, match=r"subject1_r0/sk_color\.avi: frames 10:30 .*24"):
        NvGestureSequences(root, num_clips=2, clip_len=8)
    lst.write_text(GOOD.replace("subject1_r0", "subject9_r0") + "\n")
    with pytest.raises(FileNotFoundError, match=r"subject9_r0/sk_color\.avi"):
        NvGestureSequences(root)


WILD = ["nvgesture_train_correct_cvpr2016_v2.lst", "nvgesture_train_correct_cvpr2016.lst",
        "nvgesture_train_correct.lst"]  # the names NVIDIA's lists go by, written out by hand


def _nv_with_lists(tmp_path, names):
    """A copy of the nvGesture fixture whose train list exists under each of ``names``."""
    root = tmp_path / "nv"
    shutil.copytree(NV, root)
    lst = (root / NVGESTURE_LISTS["train"]).read_text()
    (root / NVGESTURE_LISTS["train"]).unlink()
    for name in names:
        (root / name).write_text(lst)
    return root


@pytest.mark.parametrize("name", WILD)
def test_nvgesture_list_is_found_under_the_names_used_in_the_wild(tmp_path, name):
    root = _nv_with_lists(tmp_path, [name])
    ds = NvGestureSequences(root, num_clips=2, clip_len=8, image_size=8)
    assert ds.list_file == root / name and [item[2] for item in ds.items] == [0, 1]
    assert NVGESTURE_LIST_NAMES["train"] == tuple(WILD)
    assert NVGESTURE_LIST_NAMES["test"] == tuple(n.replace("train", "test") for n in WILD)


def test_nvgesture_prefers_v2_says_so_and_takes_an_explicit_list(tmp_path):
    root = _nv_with_lists(tmp_path, WILD[1:])
    v2 = root / WILD[0]  # as in the real _v2 lists, a label differs from its class_NN folder
    v2.write_text((root / WILD[1]).read_text().replace("label:2", "label:7"))
    with pytest.warns(UserWarning, match=rf"several nvGesture train lists .*; using {WILD[0]}"):
        ds = NvGestureSequences(root, num_clips=2, clip_len=8, image_size=8)
    assert ds.list_file == v2 and [item[2] for item in ds.items] == [0, 6]  # label:7, 0-based
    ds = NvGestureSequences(root, num_clips=2, clip_len=8, image_size=8, list_file=root / WILD[2])
    assert ds.list_file == root / WILD[2] and [item[2] for item in ds.items] == [0, 1]
    with pytest.raises(FileNotFoundError, match=r"list_file .*mine\.lst: no such nvGesture list"):
        find_nvgesture_list(root, "train", list_file=root / "mine.lst")


def test_nvgesture_without_a_list_names_every_name_tried(tmp_path):
    root = _nv_with_lists(tmp_path, [])
    with pytest.raises(FileNotFoundError, match=rf"no nvGesture train list in {root}: tried "
                                                rf"{', '.join(WILD)}\. Request nvGesture"):
        NvGestureSequences(root)
    with pytest.raises(ValueError, match="unknown split 'val'; valid: train, test"):
        NvGestureSequences(root, split="val")


# ---------------------------------------------------------------- UCF101
def test_class_index_and_splits():
    names = read_class_index(UCF / "ucfTrainTestlist/classInd.txt")
    assert len(names) == 101 and names[0] == "ApplyEyeMakeup" and names[100] == "YoYo"
    assert names[36] == "HandstandPushups"
    assert read_split(UCF, 1, train=True) == [
        ("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi", 0),
        ("HandstandPushups/v_HandStandPushups_g08_c01.avi", 36)]
    assert read_split(UCF / "ucfTrainTestlist", 1, train=False) == [
        ("ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi", 0),
        ("HandstandPushups/v_HandStandPushups_g01_c01.avi", 36)]
    with pytest.raises(FileNotFoundError, match="trainlist02.txt"):
        read_split(UCF, 2)


def _ucf_copy(tmp_path):
    root = tmp_path / "UCF101"
    shutil.copytree(UCF, root)
    return root


@pytest.mark.parametrize("line,words", [
    ("ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi 2", "label '2'"),
    ("Juggling/v_Juggling_g01_c01.avi 1", "not in classInd"),
    ("ApplyEyeMakeup/v_Archery_g01_c01.avi 1", "does not belong"),
    ("ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi", "expected"),
])
def test_malformed_split_line_names_file_and_line(tmp_path, line, words):
    root = _ucf_copy(tmp_path)
    f = root / "ucfTrainTestlist" / "trainlist01.txt"
    f.write_text("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\n" + line + "\n")
    with pytest.raises(ValueError, match=rf"trainlist01\.txt:2: .*{words}"):
        read_split(root, 1)


def test_class_index_errors(tmp_path):
    f = tmp_path / "classInd.txt"
    f.write_text("1 A\n3 C\n")
    with pytest.raises(ValueError, match=r"classInd\.txt:2: expected index 2"):
        read_class_index(f)


def test_handstand_pushups_case_quirk(tmp_path):
    root = _ucf_copy(tmp_path)
    # a copy whose folder is spelled like the files, while classInd and the list say
    # "HandstandPushups": matched case-insensitively on both sides
    (root / "UCF-101" / "HandstandPushups").rename(root / "UCF-101" / "HandStandPushups")
    (root / "flow" / "HandstandPushups").rename(root / "flow" / "HandStandPushups")
    ds = UCF101Videos(root / "UCF-101", root / "flow", train=False, num_segments=2,
                      image_size=16)
    assert ds.items[1][0] == root / "UCF-101/HandStandPushups/v_HandStandPushups_g01_c01.avi"
    assert ds[1]["label"].item() == 36
    f = root / "ucfTrainTestlist" / "testlist01.txt"
    f.write_text("HANDSTANDPUSHUPS/v_handstandpushups_g01_c01.avi\n")
    assert read_split(root, 1, train=False) == [
        ("HANDSTANDPUSHUPS/v_handstandpushups_g01_c01.avi", 36)]


def test_ucf101_item_shapes_frames_and_flow_by_hand():
    ds = UCF101Videos(UCF / "UCF-101", UCF / "flow", split=1, train=True, num_segments=2,
                      image_size=(24, 64))
    assert len(ds) == 2 and [it[2] for it in ds.items] == [0, 36]
    s = ds[0]
    assert s["rgb"].shape == (2, 3, 24, 64) and s["rgb"].dtype == torch.float32
    assert s["flow"].shape == (2, 20, 24, 64) and s["flow"].dtype == torch.float32
    assert s["label"].dtype == torch.int64 and s["label"].item() == 0
    # 14 frames -> 13 fields; stacks of 10 can start at 0..3: parts of 2, middles 1 and 3;
    # RGB frames 1 + 5 = 6 and 3 + 5 = 8, whose top-left block is grey 15 f
    np.testing.assert_allclose(s["rgb"][:, :, 1, 1].numpy() * 255, [[90] * 3, [120] * 3],
                               atol=6)
    # the texture moves by (+2, +1) px a frame; frames 48x64 -> 24x64 halve y only
    inner = s["flow"][:, :, 6:-6, 12:-12]
    assert abs(inner[:, 0::2].median().item() - 2.0) < 0.15
    assert abs(inner[:, 1::2].median().item() - 0.5) < 0.1
    batch = next(iter(DataLoader(ds, batch_size=2)))
    assert batch["flow"].shape == (2, 2, 20, 24, 64) and batch["label"].tolist() == [0, 36]


def test_ucf101_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"crcv\.ucf\.edu"):
        UCF101Videos(tmp_path / "missing", tmp_path / "flow")
    root = _ucf_copy(tmp_path)
    (root / "flow" / "ApplyEyeMakeup" / "v_ApplyEyeMakeup_g08_c01.npz").unlink()
    with pytest.raises(FileNotFoundError, match=r"v_ApplyEyeMakeup_g08_c01\.npz.*data\.flow"):
        UCF101Videos(root / "UCF-101", root / "flow")
    (root / "UCF-101" / "ApplyEyeMakeup" / "v_ApplyEyeMakeup_g08_c01.avi").unlink()
    with pytest.raises(FileNotFoundError, match=r"v_ApplyEyeMakeup_g08_c01\.avi"):
        UCF101Videos(root / "UCF-101", root / "flow")
