"""Optical flow: a known translation is recovered, storage round-trips, the CLI resumes."""

import pickle
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from prernn_lite.data import flow as fl
from prernn_lite.data.manifest import samples_dir
from prernn_lite.data.video import write_video


def _texture(h, w, seed=0):
    rng = np.random.default_rng(seed)
    t = cv2.GaussianBlur(rng.uniform(0, 255, (h, w)).astype(np.float32), (0, 0), 2.0)
    return np.round((t - t.min()) / (t.max() - t.min()) * 200 + 20).astype(np.uint8)


def test_farneback_recovers_a_known_translation():
    big = _texture(100, 100)
    prev = big[20:84, 20:84]
    nxt = big[19:83, 17:81]  # content moved right by 3 px and down by 1 px
    flow = fl.compute_flow(prev, nxt, method="farneback")
    assert flow.shape == (64, 64, 2) and flow.dtype == np.float32
    mean = flow[12:-12, 12:-12].reshape(-1, 2).mean(0)
    np.testing.assert_allclose(mean, [3.0, 1.0], atol=0.1)


def test_method_resolution():
    has_contrib = hasattr(cv2, "optflow")
    assert fl.flow_method("auto") == ("tvl1" if has_contrib else "farneback")
    assert fl.flow_method("farneback") == "farneback"
    with pytest.raises(ValueError, match="valid: auto, tvl1, farneback"):
        fl.flow_method("lucas")
    if not has_contrib:
        with pytest.raises(RuntimeError, match="opencv-contrib"):
            fl.flow_method("tvl1")


def test_quantisation_by_hand():
    # q = round((f + 20) / 40 * 255): -20 -> 0, -10 -> 63.75 -> 64, 0 -> 127.5 -> 128, 20 -> 255
    np.testing.assert_array_equal(fl.quantize_flow(np.array([-25.0, -20, -10, 0, 20, 30])),
                                  [0, 0, 64, 128, 255, 255])
    np.testing.assert_allclose(fl.dequantize_flow(np.array([0, 64, 255], np.uint8)),
                               [-20.0, 64 / 255 * 40 - 20, 20.0], rtol=1e-6)


@pytest.mark.parametrize("codec,tol", [("png", 20 / 255 + 1e-5), ("jpg", 0.5)])
def test_save_load_round_trip(tmp_path, codec, tol):
    yy, xx = np.mgrid[0:24, 0:32].astype(np.float32)
    flow = np.stack([np.stack([xx / 4 - 4 + t, yy / 3 - 3 - t], -1) for t in range(3)])
    f = tmp_path / "v.npz"
    fl.save_flow(f, flow, bound=20, method="farneback", codec=codec)
    assert fl.flow_info(f) == {"num_flows": 3, "height": 24, "width": 32, "bound": 20.0,
                               "method": "farneback", "codec": codec}
    got = fl.load_flow(f)
    assert got.shape == (3, 24, 32, 2) and got.dtype == np.float32
    assert np.abs(got - flow).max() <= tol
    np.testing.assert_array_equal(fl.load_flow(f, [2, 0]), got[[2, 0]])
    with pytest.raises(IndexError, match=r"v\.npz: flow field 3 requested"):
        fl.load_flow(f, [3])
    assert not list(tmp_path.glob("*.part"))


def test_stack_flow_channel_order():
    flows = np.zeros((12, 2, 2, 2), np.float32)
    flows[..., 0] = np.arange(12)[:, None, None]  # x of field t is t
    flows[..., 1] = -np.arange(12)[:, None, None]  # y of field t is -t
    st = fl.stack_flow(flows, 1, 10)
    assert st.shape == (20, 2, 2)
    expected = [v for t in range(1, 11) for v in (t, -t)]  # x1, y1, x2, y2, ...
    np.testing.assert_array_equal(st[:, 0, 0], expected)
    with pytest.raises(IndexError):
        fl.stack_flow(flows, 3, 10)


def test_flow_to_color_by_hand():
    flow = np.array([[[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, 0.0]]])
    rgb = fl.flow_to_color(flow, max_magnitude=1.0)
    # HSV hue 0 = red; 90 deg (down) = (0.5, 1, 0); 180 deg (left) = cyan; zero = black
    np.testing.assert_allclose(rgb[0].astype(int), [[255, 0, 0], [128, 255, 0],
                                                    [0, 255, 255], [0, 0, 0]], atol=1)


def test_cli_computes_then_skips_then_redoes_an_interrupted_video(tmp_path, capsys):
    videos = samples_dir() / "ucf101" / "UCF-101"
    out = tmp_path / "flow"
    args = ["--videos", str(videos), "--out", str(out), "--method", "farneback"]
    assert fl.main(args) == {"computed": 4, "skipped": 0, "method": "farneback"}
    files = sorted(out.rglob("*.npz"))
    assert [f.relative_to(out).as_posix() for f in files] == [
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.npz",
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.npz",
        "HandstandPushups/v_HandStandPushups_g01_c01.npz",
        "HandstandPushups/v_HandStandPushups_g08_c01.npz"]
    assert fl.flow_info(files[0])["num_flows"] == 13  # 14 frames -> 13 fields
    stamps = [f.stat().st_mtime_ns for f in files]
    assert fl.main(args) == {"computed": 0, "skipped": 4, "method": "farneback"}
    assert [f.stat().st_mtime_ns for f in files] == stamps
    # an interrupted run leaves a .part file and no .npz; a corrupt .npz is redone too
    files[1].rename(files[1].with_name(files[1].name + ".part"))
    files[2].write_bytes(b"garbage")
    assert fl.main(args) == {"computed": 2, "skipped": 2, "method": "farneback"}
    assert not list(out.rglob("*.part"))
    assert "farneback" in capsys.readouterr().err


def test_cli_as_a_module(tmp_path):
    (tmp_path / "v").mkdir()
    write_video(tmp_path / "v" / "a.avi", np.stack([_texture(32, 32, s) for s in range(3)]))
    r = subprocess.run([sys.executable, "-m", "prernn_lite.data.flow", "--videos",
                        str(tmp_path / "v"), "--out", str(tmp_path / "o"), "--codec", "png"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "computed 1, skipped 0" in r.stdout
    assert fl.flow_info(tmp_path / "o" / "a.npz")["num_flows"] == 2


class _Touch:
    """Unpickling this object creates ``marker``: proof that a file was unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return Path.touch, (Path(self.marker),)


def _saved(tmp_path):
    f = tmp_path / "v.npz"
    fl.save_flow(f, np.zeros((2, 8, 8, 2), np.float32), codec="png")
    return f


def test_truncated_flow_file_names_the_path(tmp_path):
    f = _saved(tmp_path)
    raw = f.read_bytes()
    f.write_bytes(raw[:len(raw) // 2])
    for read in (fl.load_flow, fl.flow_info):
        with pytest.raises(ValueError, match=rf"^{re.escape(str(f))}: not a readable flow "
                                             r"\.npz \(BadZipFile: .*data\.flow"):
            read(f)
    f.write_bytes(b"")
    with pytest.raises(ValueError, match=rf"^{re.escape(str(f))}: not a readable .*EOFError"):
        fl.load_flow(f)


def test_pickled_flow_file_is_refused_never_unpickled(tmp_path):
    marker = tmp_path / "unpickled"
    f = tmp_path / "evil.npz"
    arrays = {"offsets": np.zeros(5, np.int64), "shape": np.array([2, 8, 8]),
              "bound": np.float64(20), "method": np.str_(""), "codec": np.str_("png")}
    np.savez(f, data=np.array([_Touch(marker)], dtype=object), **arrays)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(f))}: .*Object arrays cannot be "
                                         r"loaded when allow_pickle=False"):
        fl.load_flow(f)
    f.write_bytes(pickle.dumps(_Touch(marker)))  # a whole pickle named .npz
    with pytest.raises(ValueError, match=rf"^{re.escape(str(f))}: .*pickled"):
        fl.flow_info(f)
    assert not marker.exists()


def test_flow_file_without_the_flow_keys_names_them(tmp_path):
    f = tmp_path / "other.npz"
    np.savez(f, data=np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match=r"other\.npz: not a flow file: keys \['offsets', "
                                         r"'shape', 'bound'\] missing \(it holds \['data'\]\)"):
        fl.load_flow(f)
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(ValueError, match=r"one\.npy: holds a single float64 array, not a flow"):
        fl.load_flow(tmp_path / "one.npy")
    with pytest.raises(FileNotFoundError, match="absent.npz"):
        fl.load_flow(tmp_path / "absent.npz")
