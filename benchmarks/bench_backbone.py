"""Backbone throughput: images/s of the frozen CNN on 224x224 canvases.

Usage: python benchmarks/bench_backbone.py [--batch 64] [--repeats 3]

On a GPU it also runs bfloat16 autocast + channels-last, the settings the feature
cache uses. Speed does not depend on the weights, so ResNet50 runs with random
weights here (no download needed).
"""

from __future__ import annotations

import argparse
import time

import torch

from wmgeom.models.registry import build_backbone


def images_per_second(net, device, batch, repeats, fast):
    x = torch.rand(batch, 3, 224, 224, device=device)
    if fast:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=fast):
        net(x)  # warm-up
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(repeats):
            net(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
    return batch * repeats / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, CPU threads {torch.get_num_threads()}")
    print(f"{'backbone':<20}{'device':<8}{'mode':<22}{'batch':>6}{'images/s':>12}")
    for name, weights in (("efficientnet_lite0", None), ("resnet50", "random")):
        net = build_backbone(name, weights)
        for device in devices:
            net = net.to(device)
            modes = [("fp32", False)] + ([("bf16+channels_last", True)]
                                         if device.type == "cuda" else [])
            batch = args.batch if device.type == "cpu" else max(args.batch, 256)
            for label, fast in modes:
                ips = images_per_second(net, device, batch, args.repeats, fast)
                print(f"{name:<20}{device.type:<8}{label:<22}{batch:>6}{ips:>12.1f}")


if __name__ == "__main__":
    main()
