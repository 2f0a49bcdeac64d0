"""``.pts`` reading: whitespace variants accepted, structural errors named by file and line."""

import re

import numpy as np
import pytest

from prernn_lite.data.manifest import samples_dir
from prernn_lite.data.pts import pixels_to_pts, pts_to_pixels, read_pts, write_pts

HAND = np.array([[1.5, 2.5], [3.0, 4.0]])
VARIANTS = {
    "plain": "version: 1\nn_points: 2\n{\n1.5 2.5\n3 4\n}\n",
    "two_spaces": "version: 1\nn_points:  2\n{\n1.5 2.5\n3 4\n}\n",
    "crlf": "version: 1\r\nn_points:  2\r\n{\r\n1.5 2.5\r\n3 4\r\n}\r\n",
    "trailing_tabs": "version: 1 \t\nn_points:  2\t\n{\t\n1.5 2.5\t \n3\t4  \n}\t\n",
    "no_final_newline": "version: 1\nn_points:  2\n{\n1.5 2.5\n3 4\n}",
    "blank_lines": "\nversion: 1\nn_points: 2\n\n{\n1.5 2.5\n\n3 4\n}\n\n\n",
    "crlf_no_newline_bom": "\ufeffversion: 1\r\nn_points:  2\r\n{\r\n1.5 2.5\r\n3 4\r\n}",
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_whitespace_variants_parse_to_the_hand_values(tmp_path, name):
    f = tmp_path / "a.pts"
    f.write_bytes(VARIANTS[name].encode("utf-8"))
    got = read_pts(f)
    assert got.shape == (2, 2) and got.dtype == np.float64
    np.testing.assert_array_equal(got, HAND)


def _independent_parse(path):
    """Numbers between the braces, found with a regex: a reference that shares no code."""
    text = path.read_bytes().decode()
    inner = text[text.index("{") + 1:text.rindex("}")]
    return np.array([float(v) for v in re.findall(r"-?\d+\.\d+|-?\d+", inner)]).reshape(-1, 2)


@pytest.mark.parametrize("frame", [1, 2, 3, 4, 5, 6])
def test_fixture_variants_match_an_independent_parse(frame):
    f = samples_dir() / "300vw" / "001" / "annot" / f"{frame:06d}.pts"
    raw = f.read_bytes()
    if frame == 2:
        assert b"\r\n" in raw  # the fixture really has the variant it claims
    if frame == 3:
        assert b"\t \n" in raw
    if frame == 4:
        assert not raw.endswith(b"\n")
    assert b"n_points:  68" in raw
    np.testing.assert_array_equal(read_pts(f), _independent_parse(f))


BAD = {  # file: (line, words the message must contain); lines counted by hand in make_samples
    "missing_version.pts": (1, "version"),
    "wrong_count.pts": (71, "after 67 points"),
    "extra_point.pts": (72, "expected '}'"),
    "non_numeric.pts": (13, "abc"),
    "three_values.pts": (6, "two numbers"),
    "missing_close_brace.pts": (71, "end of file"),
    "missing_open_brace.pts": (3, "'{'"),
    "text_after_brace.pts": (73, "after '}'"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_malformed_files_name_file_and_line(name):
    f = samples_dir() / "bad" / name
    line, words = BAD[name]
    with pytest.raises(ValueError) as err:
        read_pts(f)
    msg = str(err.value)
    assert msg.startswith(f"{f}:{line}:"), msg
    assert words in msg


@pytest.mark.parametrize("text,line", [
    ("", 1),
    ("version: 1\nn_points: two\n{\n}\n", 2),
    ("version: 1\nn_points: 1\n{\nnan 2\n}\n", 4),
    ("version: 1\nn_points: 1\n{\n1 inf\n}\n", 4),
    ("version: 1\nn_points: 1\n{\n1,5 2\n}\n", 4),
])
def test_more_malformed_inputs(tmp_path, text, line):
    f = tmp_path / "x.pts"
    f.write_text(text)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(f))}:{line}:"):
        read_pts(f)


def test_write_then_read_and_the_written_text(tmp_path):
    f = tmp_path / "w.pts"
    write_pts(f, HAND)
    assert f.read_text() == "version: 1\nn_points: 2\n{\n1.500 2.500\n3.000 4.000\n}\n"
    np.testing.assert_array_equal(read_pts(f), HAND)
    with pytest.raises(ValueError):
        write_pts(f, np.zeros((3, 3)))


def test_one_based_conversion():
    # the top-left pixel's centre is (1, 1) in a .pts file and (0, 0) in pixel coordinates
    np.testing.assert_array_equal(pts_to_pixels(np.array([[1.0, 1.0], [10.5, 3.0]])),
                                  [[0.0, 0.0], [9.5, 2.0]])
    np.testing.assert_array_equal(pixels_to_pts(np.array([[0.0, 0.0]])), [[1.0, 1.0]])


@pytest.mark.parametrize("raw, line, byte, offset", [
    (b"version: 1\nn_points: 1\n{\n1.5 2\xb05\n}\n", 4, "0xb0", 30),  # a Latin-1 degree sign
    (b"\xef\xbb\xbfversion: 1\r\nn_points: 1\r\n{\r\n1 2 \xff\r\n}\r\n", 4, "0xff",
     35),  # a BOM and CRLF line ends: the offset counts the BOM's three bytes
    (b"\xe9version: 1\n", 1, "0xe9", 0),
])
def test_non_utf8_byte_names_file_line_and_byte(tmp_path, raw, line, byte, offset):
    f = tmp_path / "latin1.pts"
    f.write_bytes(raw)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(f))}:{line}: not UTF-8 text: "
                                         rf"byte {byte} at offset {offset} "):
        read_pts(f)
