"""prernn_lite: make a pre-trained CNN's feed-forward layers recurrent (PreRNN).

A small PyTorch library behind the PreRNN teaching book (Yang, Molchanov & Kautz,
*Making Convolutional Networks Recurrent for Visual Sequence Learning*, CVPR 2018).

Modules, one idea each:

- ``cells``       traditional VRNN/LSTM/GRU and PreVRNN/PreLSTM/PreGRU (FC and conv)
- ``params``      parameter counts and the hidden size matching Table 1's "Similar" column
- ``backbones``   VGG16, C3D, ResNet50 and lite CNNs, made recurrent with ``make_recurrent``
- ``data``        stand-in tasks, real-dataset loaders, augmentation, metrics
- ``train``       one training loop with the paper's recipes
- ``gates``       gate recording and saturation statistics
- ``stats``       what a result means across seeds: 95 % intervals, one rule for "clear"
- ``runtime``     the profile switch (``ci``, ``lite``, ``full``), defined once
- ``experiments`` the runs behind the book's tables (CSV under ``results/``)
- ``widgets``     interactive controls with static renderings
- ``diagrams``    the book's structure diagrams (cells, PreRNN structures, model path, two streams)
"""

__version__ = "0.1.0"
