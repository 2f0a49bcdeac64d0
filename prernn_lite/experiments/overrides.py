"""``--set [NAME.]FIELD=VALUE``: change one settings field of the experiments being run.

Every experiment's settings are a frozen dataclass (:mod:`.settings`); ``--set`` changes
one of its fields from the command line, e.g. a list file of the real nvGesture download
(``gesture --profile full --data-root /d/nvGesture --set train_list=/d/my_train.lst``).
``FIELD=VALUE`` goes to every experiment being run that has ``FIELD``;
``NAME.FIELD=VALUE`` to experiment ``NAME`` only. The value is read as the field's type
(its default's, or its annotation's where the default is ``None``): ``int``, ``float``,
``bool`` (``true``/``false``), a comma-separated tuple, or text; ``none`` clears a field
whose default is ``None``.

Refused, naming the value: a field no experiment being run has, a value that is not of
the field's type, a field with its own option (``--profile``, ``--seeds``, ``--cells``,
``--tasks``, ``--data-root``, ``--weights``), and a field that only the ``full`` profile
reads (``ProfileSettings.FULL_ONLY``) given with another profile.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

__all__ = ["OWN_OPTION", "parse_value", "set_changes"]

#: fields with an option of their own, and that option
OWN_OPTION = {"profile": "--profile", "seeds": "--seeds", "cells": "--cells",
              "tasks": "--tasks", "data_root": "--data-root", "weights": "--weights"}

_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


def _scalar(text: str, kind: type) -> Any:
    if kind is bool:
        if text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        raise ValueError(f"expected true or false, got {text!r}")
    return kind(text)


def parse_value(settings: Any, field_name: str, text: str) -> Any:
    """``text`` read as the type of ``settings``' field ``field_name``.

    >>> from prernn_lite.experiments.gestures.common import GestureSettings
    >>> s = GestureSettings()
    >>> parse_value(s, "max_epochs", "12"), parse_value(s, "lr", "1e-3")
    (12, 0.001)
    >>> parse_value(s, "augment", "false"), parse_value(s, "train_list", "/d/a.lst")
    (False, '/d/a.lst')
    >>> parse_value(s, "pixel_mean", "90,98,102"), parse_value(s, "n_train", "none")
    ((90.0, 98.0, 102.0), None)
    >>> from prernn_lite.experiments.faces.common import FaceSettings
    >>> parse_value(FaceSettings(), "train_videos", "001,002")
    ('001', '002')
    >>> parse_value(s, "max_epochs", "ten")
    Traceback (most recent call last):
    ...
    ValueError: invalid literal for int() with base 10: 'ten'
    """
    field = next(f for f in dataclasses.fields(settings) if f.name == field_name)
    default = getattr(settings, field_name)
    annotation = str(field.type)
    if text.lower() == "none" and (default is None or "None" in annotation):
        return None
    if isinstance(default, tuple):
        kind = type(default[0]) if default else str
        return tuple(_scalar(part.strip(), kind) for part in text.split(",") if part.strip())
    if default is not None and not (isinstance(default, bool) and "str" in annotation):
        return _scalar(text, type(default))
    kinds = {"int": int, "float": float, "bool": bool}
    if annotation.startswith("tuple["):
        kind = kinds.get(annotation[6:].split(",")[0].split("]")[0].strip(), str)
        return tuple(_scalar(part.strip(), kind) for part in text.split(",") if part.strip())
    for name, kind in kinds.items():
        if annotation.startswith(name):
            return _scalar(text, kind)
    return text


def set_changes(values: list[str] | None, settings: Mapping[str, Any]
                ) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The field changes of ``--set`` ``values`` per experiment in ``settings`` (name ->
    settings of the experiments being run), and the problems found (usage errors).

    >>> from prernn_lite.experiments.gestures.common import GestureSettings
    >>> from prernn_lite.experiments.faces.common import FaceSettings
    >>> run = {"gesture": GestureSettings.for_profile("full"),
    ...        "table1": FaceSettings.for_profile("full")}
    >>> set_changes(["train_list=/d/t.lst", "gesture.max_epochs=5"], run)[0]
    {'gesture': {'train_list': '/d/t.lst', 'max_epochs': 5}}
    >>> for problem in set_changes(["colour=red", "table1.max_epochs=x", "seeds=1"], run)[1]:
    ...     print(problem)
    --set colour=red: no experiment being run (gesture, table1) has a setting 'colour'
    --set table1.max_epochs=x: experiment 'table1' has no setting 'max_epochs'
    --set seeds=1: use --seeds
    """
    changes: dict[str, dict[str, Any]] = {}
    problems = []
    for value in values or ():
        key, sep, text = value.partition("=")
        name, dot, field_name = key.rpartition(".")
        if not sep or not field_name:
            problems.append(f"--set {value}: expected FIELD=VALUE or NAME.FIELD=VALUE")
            continue
        if field_name in OWN_OPTION:
            problems.append(f"--set {value}: use {OWN_OPTION[field_name]}")
            continue
        if dot and name not in settings:
            problems.append(f"--set {value}: experiment {name!r} is not being run "
                            f"({', '.join(settings)})")
            continue
        targets = [n for n in ([name] if dot else settings)
                   if field_name in {f.name for f in dataclasses.fields(settings[n])}]
        if not targets:
            problems.append(f"--set {value}: " + (
                f"experiment {name!r} has no setting {field_name!r}" if dot else
                f"no experiment being run ({', '.join(settings)}) has a setting "
                f"{field_name!r}"))
            continue
        for n in targets:
            s = settings[n]
            if field_name in type(s).FULL_ONLY and not s.full:
                problems.append(f"--set {value}: {field_name!r} is read by --profile full "
                                f"only, got --profile {s.profile}")
                break
            try:
                changes.setdefault(n, {})[field_name] = parse_value(s, field_name, text)
            except ValueError as err:
                problems.append(f"--set {value}: not a valid {field_name!r} of {n} ({err})")
                break
    return changes, problems
