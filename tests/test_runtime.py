import dataclasses

import pytest

from prernn_lite.data.profiles import STANDIN_PROFILES, get_profile
from prernn_lite.experiments import EXPERIMENTS
from prernn_lite.experiments.settings import ProfileSettings, resolve
from prernn_lite.runtime import PROFILES, current_profile


def test_profiles_and_default():
    assert PROFILES == ("ci", "lite", "full")
    assert current_profile(environ={}) == "ci"
    assert current_profile(environ={"PROFILE": " FULL "}) == "full"
    assert current_profile(environ={"PROFILE": ""}) == "ci"


def test_bad_profile_lists_valid_ones():
    with pytest.raises(ValueError, match=r"'gpu'.*\('ci', 'lite', 'full'\)"):
        current_profile(environ={"PROFILE": "gpu"})


def test_full_has_one_meaning_the_real_datasets():
    """The stand-ins exist in ci and lite only; asking one for 'full' says why not."""
    assert set(STANDIN_PROFILES) < set(PROFILES)
    for task in ("faces", "gestures", "actions"):
        with pytest.raises(ValueError, match="real dataset"):
            get_profile(task, "full")


def test_every_experiment_resolves_the_runtime_profiles_and_nothing_else():
    for name, exp in EXPERIMENTS.items():
        for profile in PROFILES:
            try:
                settings = exp.settings(profile)
            except ValueError as err:  # a profile it does not offer says why
                assert profile == "full" and "(" in str(err), (name, err)
                continue
            assert settings.profile == profile and settings.full == (profile == "full")
        with pytest.raises(ValueError, match="unknown profile 'gpu'.*ci, lite, full"):
            exp.settings("gpu")


def test_resolve_applies_only_the_profile_changes():
    @dataclasses.dataclass(frozen=True)
    class Demo(ProfileSettings):
        PROFILE_CHANGES = {"ci": {"epochs": 1}, "lite": {}, "full": {"epochs": 30}}
        NO_PROFILE = {}
        epochs: int = 8
        seeds: tuple = (0, 1)

    assert resolve(Demo, "ci") == Demo(profile="ci", epochs=1, seeds=(0, 1))
    assert Demo.for_profile("lite") == Demo()
    assert Demo.for_profile("full").epochs == 30
