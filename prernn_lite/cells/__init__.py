"""Recurrent cells: traditional ``VRNN``/``LSTM``/``GRU`` and PreRNN's Pre cells.

- ``traditional``  from-scratch layers equal to ``torch.nn.RNN/LSTM/GRU``
- ``pre``          ``PreVRNN``/``PreLSTM``/``PreGRU.from_linear(fc)``: a pre-trained
                   fully connected layer made recurrent (gate-dependent or SIH)
- ``conv``         ``PreConvVRNN``/``PreConvLSTM``/``PreConvGRU.from_conv2d(conv)``
- ``_recurrence``  the time loop, step functions and checks they all share
"""

from .conv import PreConvGRU, PreConvLSTM, PreConvVRNN
from .pre import PreGRU, PreLSTM, PreVRNN
from .traditional import GRU, LSTM, VRNN

__all__ = ["VRNN", "LSTM", "GRU", "PreVRNN", "PreLSTM", "PreGRU",
           "PreConvVRNN", "PreConvLSTM", "PreConvGRU"]
