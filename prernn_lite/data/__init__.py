"""Data: generated stand-in tasks, real-dataset loaders, augmentation and metrics.

Stand-ins (seeded, fast on a CPU; sizes per profile in ``profiles``):

- ``faces``     ``FaceSequences`` / ``FaceFrames``: a drawn face with the 68 iBUG landmarks
- ``gestures``  ``GestureSequences`` / ``GestureClips``: strokes whose *order* is the class
- ``actions``   ``ActionVideos`` / ``ActionFrames``: appearance x motion, RGB + flow stacks

Real datasets, same sample format: ``vw300`` (300VW, ``.pts`` files via ``pts``),
``nvgesture`` (nvGesture list files), ``ucf101`` (splits, precomputed ``flow``).
Shared: ``video`` (OpenCV frames), ``augment`` (one draw per sequence), ``metrics``
(NME, accuracy, late fusion, temporal references), ``manifest`` (``data_samples/``).
"""

from .actions import ACTION_CLASSES, ActionFrames, ActionVideos
from .augment import IBUG_FLIP_PERM, AugmentConfig, SequenceAugment, augment_video
from .faces import FaceFrames, FaceSequences
from .gestures import DIRECTIONS, GESTURE_CLASSES, GestureClips, GestureSequences
from .metrics import (
    accuracy,
    causal_reference,
    hard_mask,
    interpolation_reference,
    late_fusion,
    nme,
)
from .nvgesture import NvGestureSequences, clip_starts, parse_nvgesture_list
from .profiles import get_profile, make_profile
from .pts import pixels_to_pts, pts_to_pixels, read_pts, write_pts
from .ucf101 import UCF101Videos, read_class_index, read_split, segment_starts
from .video import count_frames, read_frames, resize_frames, write_video
from .vw300 import FaceCrop, VW300Sequences, crop_and_resize, face_box, vw300_videos

# ``flow`` and ``manifest`` are also command-line tools (``python -m prernn_lite.data.flow``);
# importing them lazily keeps ``runpy`` from finding them already imported.
_LAZY = {
    "flow": ("FarnebackSettings", "compute_flow", "flow_info", "flow_method", "flow_to_color",
             "load_flow", "save_flow", "stack_flow"),
    "manifest": ("ManifestReport", "samples_dir", "verify_manifest", "write_manifest"),
}


def __getattr__(name: str):
    for module, names in _LAZY.items():
        if name in names:
            from importlib import import_module

            return getattr(import_module(f"{__name__}.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ACTION_CLASSES", "DIRECTIONS", "GESTURE_CLASSES", "IBUG_FLIP_PERM",
    "ActionFrames", "ActionVideos", "AugmentConfig", "FaceCrop", "FaceFrames",
    "FaceSequences", "FarnebackSettings", "GestureClips", "GestureSequences",
    "ManifestReport", "NvGestureSequences", "SequenceAugment", "UCF101Videos",
    "VW300Sequences", "accuracy", "augment_video", "causal_reference", "clip_starts",
    "compute_flow", "count_frames", "crop_and_resize", "face_box", "flow_info",
    "flow_method", "flow_to_color", "get_profile", "hard_mask", "interpolation_reference",
    "late_fusion", "load_flow", "make_profile", "nme", "parse_nvgesture_list",
    "pixels_to_pts", "pts_to_pixels", "read_class_index", "read_frames", "read_pts",
    "read_split", "resize_frames", "samples_dir", "save_flow", "segment_starts",
    "stack_flow", "verify_manifest", "vw300_videos", "write_manifest", "write_pts",
    "write_video",
]
