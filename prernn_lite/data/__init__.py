"""Data: stand-in tasks, real-dataset loaders, augmentation and metrics."""
