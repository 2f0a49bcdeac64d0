"""Dynamic hand gestures (nvGesture in the paper): why order matters, and what PreRNN
makes of a clip network.

Floors, each importing only the ones below it:

- ``common``      settings, arms, scores, confusion, the arms x seeds loop
- ``lite``        the ``ci``/``lite`` setup: the stroke-order stand-in and the lite 3-D CNN
- ``full``        the ``full`` setup: nvGesture and C3D (every choice the paper leaves open)
- ``experiment``  ``gesture``: the one place the profile picks a setup

Importing this package registers its experiment.
"""

from .common import (
    GestureSettings,
    confusion,
    evaluate_sequences,
    gesture_arms,
    score_loss,
    sequence_scores,
    with_new_head,
    write_confusion,
)
from .experiment import ci_settings, run_gesture
from .lite import (
    fit_arm,
    load_gestures,
    order_references,
    ordered_clip_reference,
    train_set,
)

__all__ = [
    "GestureSettings", "ci_settings", "confusion", "evaluate_sequences", "fit_arm",
    "gesture_arms", "load_gestures", "order_references", "ordered_clip_reference",
    "run_gesture", "score_loss", "sequence_scores", "train_set", "with_new_head",
    "write_confusion",
]
