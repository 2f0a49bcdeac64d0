"""Training: the paper's recipes and one loop for every task.

PreRNN trains every network with SGD (momentum 0.9, weight decay 5e-4) and fine-tunes
the backbone jointly with the recurrent layers; only the learning-rate rule changes
between tasks (supplementary, section 1). This package is cut into one idea a module:

- ``recipes``     :class:`Recipe`, the paper's :data:`RECIPES`, :func:`get_recipe`, :func:`scaled`
- ``schedules``   the three rules as ``torch.optim`` schedulers (:func:`make_scheduler`)
- ``checkpoint``  seeding, RNG states, atomic ``last.pt`` files for exact resumption
- ``distributed`` ``torchrun`` + DistributedDataParallel helpers
- ``loop``        :func:`fit`, which knows a task only through ``loss_fn`` and ``eval_fn``

>>> import torch
>>> from torch import nn
>>> from prernn_lite.train import fit, get_recipe, scaled
>>> _ = torch.manual_seed(0)
>>> x = torch.randn(32, 3); y = x.sum(1, keepdim=True)
>>> loader = torch.utils.data.DataLoader(list(zip(x, y)), batch_size=8, shuffle=True)
>>> def mse(model, batch):
...     inputs, targets = batch
...     return nn.functional.mse_loss(model(inputs), targets)
>>> recipe = scaled(get_recipe("action_temporal"), 0.05)   # 5 epochs, /2 every epoch
>>> hist = fit(nn.Linear(3, 1), loader, mse, recipe, progress=False)
>>> hist.lr
[0.01, 0.005, 0.0025, 0.00125, 0.000625]
>>> hist.train_loss[-1] < hist.train_loss[0]
True
"""

from .checkpoint import CheckpointMismatchError, load_checkpoint, save_checkpoint, seed_everything
from .distributed import DistInfo, dist_info, distributed_loader, init_distributed
from .loop import History, fit, to_device
from .recipes import RECIPES, SCHEDULES, Recipe, get_recipe, scaled
from .schedules import PlateauDecay, StepRule, lr_trace, make_scheduler, reached_stop

__all__ = [
    "RECIPES", "SCHEDULES", "CheckpointMismatchError", "DistInfo", "History", "PlateauDecay",
    "Recipe", "StepRule", "dist_info", "distributed_loader", "fit", "get_recipe",
    "init_distributed", "load_checkpoint", "lr_trace", "make_scheduler", "reached_stop",
    "save_checkpoint", "scaled", "seed_everything", "to_device",
]
