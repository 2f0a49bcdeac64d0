import pytest

from prernn_lite.runtime import PROFILES, current_profile, default_device


def test_profiles_and_default():
    assert PROFILES == ("ci", "lite", "full")
    assert current_profile(environ={}) == "ci"
    assert current_profile(environ={"PROFILE": " FULL "}) == "full"
    assert current_profile(environ={"PROFILE": ""}) == "ci"


def test_bad_profile_lists_valid_ones():
    with pytest.raises(ValueError, match=r"'gpu'.*\('ci', 'lite', 'full'\)"):
        current_profile(environ={"PROFILE": "gpu"})
    with pytest.raises(ValueError, match="unknown profile"):
        default_device("fast")


def test_cpu_profiles_stay_on_cpu():
    assert default_device("ci").type == "cpu"
    assert default_device("lite").type == "cpu"
