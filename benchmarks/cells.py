"""Forward+backward time of prernn_lite's cells relative to torch.nn, on CPU.

Run ``python benchmarks/cells.py [--repeats 15] [--sizes 512 1024]``. For each size
(F = H) it times ``out.sum().backward()`` on a batch of N=8 sequences of T=16 steps and
prints a markdown table of median times and the median over rounds of the ratio
ours / torch.nn, all measured in the same run (warm-up first; in each round every cell
and its reference run back to back, so drifting load hits both sides alike). Traditional
cells are compared with the torch.nn module of the same kind given the same weights;
Pre cells (built from an ``nn.Linear`` with ``hh_init="uniform"``) with the torch.nn
module of the same gate count. Targets: ratio <= 1.5 for traditional and gate-mode cells,
SIH faster than gate mode. Not a test: timings are machine-dependent.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from prernn_lite.cells import GRU, LSTM, VRNN, PreGRU, PreLSTM

N, T = 8, 16


def step_time(model: nn.Module, x: torch.Tensor) -> float:
    """Seconds for one forward+backward pass."""
    model.zero_grad(set_to_none=True)
    start = time.perf_counter()
    out = model(x)[0]
    out.sum().backward()
    return time.perf_counter() - start


def compare(pairs: dict[str, tuple[nn.Module, nn.Module]], x: torch.Tensor,
            repeats: int, warmup: int = 3) -> dict[str, list[tuple[float, float]]]:
    """Per round and pair, seconds (ours, reference), measured back to back.

    Every round times every pair, alternating which side goes first; ratios are taken
    within a round, so load that drifts over the run (other processes) hits both sides.
    """
    rounds: dict[str, list[tuple[float, float]]] = {k: [] for k in pairs}
    for r in range(warmup + repeats):
        for name, (ours, ref) in pairs.items():
            if r % 2:
                b, a = step_time(ref, x), step_time(ours, x)
            else:
                a, b = step_time(ours, x), step_time(ref, x)
            if r >= warmup:
                rounds[name].append((a, b))
    return rounds


def build(size: int) -> dict[str, tuple[nn.Module, nn.Module]]:
    pairs: dict[str, tuple[nn.Module, nn.Module]] = {}
    for name, ours, ref in [("VRNN", VRNN(size, size), nn.RNN(size, size, batch_first=True)),
                            ("LSTM", LSTM(size, size), nn.LSTM(size, size, batch_first=True)),
                            ("GRU", GRU(size, size), nn.GRU(size, size, batch_first=True))]:
        ours.load_state_dict(ref.state_dict())
        pairs[name] = (ours, ref)
    for cls, ref in [(PreLSTM, nn.LSTM), (PreGRU, nn.GRU)]:
        for mode in ("gate", "sih"):
            cell = cls.from_linear(nn.Linear(size, size), mode=mode, hh_init="uniform")
            pairs[f"{cls.__name__} {mode}"] = (cell, ref(size, size, batch_first=True))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, N={N}, T={T}, "
          f"float32, forward+backward, median of {args.repeats}\n")
    print("| cell | F = H | ours (ms) | torch.nn (ms) | ours / torch.nn | SIH / gate |")
    print("|---|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        x = torch.randn(N, T, size)
        res = compare(build(size), x, args.repeats)
        med = statistics.median
        for name, rounds in res.items():
            ours, ref = med(a for a, _ in rounds), med(b for _, b in rounds)
            ratio = med(a / b for a, b in rounds)
            sih = ""
            if name.endswith("sih"):  # this round's SIH time / the same round's gate time
                gate = res[name.replace("sih", "gate")]
                sih = f"{med(a / g for (a, _), (g, _) in zip(rounds, gate, strict=True)):.2f}"
            ref_name = {"PreLSTM": "LSTM", "PreGRU": "GRU", "VRNN": "RNN"}.get(
                name.split()[0], name)
            print(f"| {name} (vs nn.{ref_name}) | {size} | {ours * 1e3:.1f} | {ref * 1e3:.1f} "
                  f"| {ratio:.2f} | {sih} |")

if __name__ == "__main__":
    main()
