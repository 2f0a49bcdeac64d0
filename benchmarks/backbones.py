"""Cost of PreRNN over the frame-level network: forward+backward time (and GPU memory).

For each backbone this times one training step (forward, backward) of the frame-level
model (the feed-forward network applied frame by frame) and of the 2-layer PreLSTM and
PreGRU (fc6 + fc7 transformed, gate-dependent mode), all in the same run, and prints
the ratios. Target: at most 1.3x the frame-level model.

- CPU: the lite backbones (``LiteCNN2d`` 64x64 frames, ``LiteCNN3d`` 8x32x32 clips);
  time only (``tracemalloc`` does not see torch's allocator). Steps of the three arms
  are interleaved and the best of ``--repeats`` is reported (with the ratio of medians):
  on a shared CPU the best time is the least disturbed one.
- GPU (when available): the same plus VGG16 at 224x224 under autocast (AMP), with the
  peak CUDA memory of each step.

Run: ``python benchmarks/backbones.py [--repeats 10]``. Not a test: absolute times
depend on the machine; only the ratios within one run mean anything.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from prernn_lite.backbones import LiteCNN2d, LiteCNN3d, make_frame_model, make_recurrent, vgg16

ARMS: dict[str, Callable[[nn.Module], nn.Module]] = {
    "frame-level": lambda m: make_frame_model(m, copy=False),
    "PreLSTM fc6+fc7": lambda m: make_recurrent(m, ("fc6", "fc7"), "lstm", copy=False),
    "PreGRU fc6+fc7": lambda m: make_recurrent(m, ("fc6", "fc7"), "gru", copy=False),
}


def one_step(model: nn.Module, x: torch.Tensor, amp: bool) -> float:
    """Seconds of one forward+backward (synchronised on GPU)."""
    start = time.perf_counter()
    model.zero_grad(set_to_none=True)
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp):
        out = model(x)                                                  # (N, T, outputs)
    out.float().square().mean().backward()
    if x.is_cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start


def compare_cpu(name: str, build: Callable[[], nn.Module], x: torch.Tensor,
                repeats: int) -> list[tuple]:
    """All arms alive at once, steps interleaved, best of ``repeats``: a busy CPU slows
    every arm alike, and the best time is the least disturbed one."""
    torch.manual_seed(0)
    models = {arm: make(build()).train() for arm, make in ARMS.items()}
    times: dict[str, list[float]] = {arm: [] for arm in models}
    for _ in range(repeats + 1):
        for arm, model in models.items():
            times[arm].append(one_step(model, x, amp=False))
    best = {arm: min(t[1:]) for arm, t in times.items()}  # first step is a warm-up
    med = {arm: statistics.median(t[1:]) for arm, t in times.items()}
    base = "frame-level"
    return [(name, arm, tuple(x.shape), best[arm] * 1e3, best[arm] / best[base],
             med[arm] / med[base], float("nan"), float("nan")) for arm in models]


def compare_gpu(name: str, build: Callable[[], nn.Module], x: torch.Tensor, repeats: int,
                amp: bool) -> list[tuple]:
    """One arm at a time, so that each peak of CUDA memory is that arm's alone."""
    rows = []
    for arm, make in ARMS.items():
        torch.manual_seed(0)
        model = make(build().to(x.device)).train()
        one_step(model, x, amp)  # warm-up
        torch.cuda.reset_peak_memory_stats()
        t = sorted(one_step(model, x, amp) for _ in range(repeats))
        rows.append([name, arm, tuple(x.shape), t[0] * 1e3, t[0], statistics.median(t),
                     torch.cuda.max_memory_allocated() / 2**30, 0.0])
        del model
        torch.cuda.empty_cache()
    base = rows[0]
    for row in rows:
        row[4], row[5], row[7] = row[4] / base[4], row[5] / base[5], row[6] / base[6]
    return [tuple(row) for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    lite2d = lambda: LiteCNN2d(image_size=64, fc_size=256)  # noqa: E731
    lite3d = lambda: LiteCNN3d(clip_len=8, image_size=32, fc_size=256)  # noqa: E731
    # the recurrence costs a fixed time per step, the trunk a time per frame: two batches
    lite = [("LiteCNN2d", lite2d, (4, 8, 3, 64, 64)), ("LiteCNN2d", lite2d, (16, 8, 3, 64, 64)),
            ("LiteCNN3d", lite3d, (4, 8, 3, 8, 32, 32)),
            ("LiteCNN3d", lite3d, (16, 8, 3, 8, 32, 32))]
    rows = []
    for name, build, shape in lite:
        x = torch.randn(shape, device=device)
        rows += (compare_gpu(name, build, x, args.repeats, amp=False) if cuda
                 else compare_cpu(name, build, x, args.repeats))
    if cuda:
        x = torch.randn(2, 8, 3, 224, 224, device=device)
        rows += compare_gpu("VGG16 AMP", lambda: vgg16(weights=None), x, args.repeats, True)
    print(f"device: {torch.cuda.get_device_name() if cuda else 'cpu'}, "
          f"threads: {torch.get_num_threads()}, torch {torch.__version__}")
    print(f"{'backbone':<10} {'model':<16} {'input (N, T, ...)':<22} {'best ms':>8} "
          f"{'x frame':>8} {'median x':>9} {'peak GiB':>9} {'x frame':>8}")
    for name, arm, shape, ms, ratio, med_ratio, peak, peak_ratio in rows:
        mem = f"{peak:9.2f} {peak_ratio:8.2f}" if cuda else f"{'-':>9} {'-':>8}"
        print(f"{name:<10} {arm:<16} {str(shape):<22} {ms:8.1f} {ratio:8.2f} "
              f"{med_ratio:9.2f} {mem}")


if __name__ == "__main__":
    main()
