"""Backbones and how PreRNN makes them recurrent.

The paper transforms the feed-forward layers of pre-trained CNNs: VGG16's and C3D's fc6
and fc7, and a 2048-d layer of ResNet50. This package provides those networks and
their CPU-sized twins, and turns any of them into a sequence model:

- ``zoo``      ``vgg16``, ``resnet50`` (torchvision) and ``c3d`` (own C3D whose keys
               match the public Sports-1M weights); ``weights``: None, an enum, or a file
- ``weights``  safe loading of plain state_dict files (never unpickles a model)
- ``lite``     ``LiteCNN2d`` (frames) and ``LiteCNN3d`` (clips): fc6, fc7, fc8 like the
               big ones, pre-trainable on a CPU in minutes
- ``anatomy``  cuts a backbone into trunk, named layers (``fc6``, ``fc7``…) and head;
               ``replace_head`` gives it a new head for another number of classes;
               ``layer_sizes`` the (in, out) of the layers, for parameter matching
- ``sequence`` the sequence model: trunk per frame, stages along time, head per step;
               ``FeatureModel``: the same without its trunk, on trunk features
- ``build``    ``make_recurrent`` (PreRNN), ``make_baseline`` (traditional RNN on fc7)
               and ``make_frame_model`` (the frame-level reference)
- ``cross``    ``cross_modality``: a copy whose first conv reads optical-flow stacks,
               started from the RGB filters (the two-stream temporal network)

>>> import torch
>>> cnn = LiteCNN2d(image_size=32, fc_size=64, num_outputs=10).eval()
>>> seq = make_recurrent(cnn, layers=("fc6", "fc7"), cell="vrnn").eval()
>>> x = torch.randn(2, 4, 3, 32, 32)                    # (N, T, C, H, W)
>>> torch.allclose(seq(x), make_frame_model(cnn)(x), atol=1e-6)  # W_hh starts at 0
True
"""

from .anatomy import FrameSpec, dissect, layer_sizes, replace_head
from .build import make_baseline, make_frame_model, make_recurrent
from .cross import cross_modality
from .lite import LiteCNN2d, LiteCNN3d
from .sequence import FeatureModel, FrameModel, SequenceModel
from .weights import load_state_dict_file
from .zoo import C3D, c3d, resnet50, vgg16

__all__ = [
    "C3D",
    "FeatureModel",
    "FrameModel",
    "FrameSpec",
    "LiteCNN2d",
    "LiteCNN3d",
    "SequenceModel",
    "c3d",
    "cross_modality",
    "dissect",
    "layer_sizes",
    "load_state_dict_file",
    "make_baseline",
    "make_frame_model",
    "make_recurrent",
    "replace_head",
    "resnet50",
    "vgg16",
]
