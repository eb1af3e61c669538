"""Where training runs: the torch device, and the process group when launched by torchrun."""

from __future__ import annotations

import math
import os

import torch

from synthgen.errors import SynthgenError


def start_distributed(device: str) -> tuple[int, int]:
    """(rank, world size); joins the process group when launched by torchrun."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if device != "cpu" and torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size()


def training_device(name: str, rank: int) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise SynthgenError(f"training.device is {name!r} but no CUDA GPU is available: use cpu or auto")
        index = int(os.environ.get("LOCAL_RANK", rank)) if name == "cuda" else int(name.split(":")[1])
        return torch.device("cuda", index)
    if name != "cpu":
        raise SynthgenError(f"training.device {name!r} is not one of auto, cpu, cuda, cuda:N")
    return torch.device("cpu")


def budget_limits(steps: int | None, minutes: float | None) -> tuple[float, float]:
    """(most steps, most seconds) of a training budget; infinite where the config leaves it unset."""
    return (steps if steps is not None else math.inf, minutes * 60.0 if minutes is not None else math.inf)


def should_stop(step: float, max_steps: float, out_of_time: bool, world_size: int, timed: bool,
                device: torch.device) -> bool:
    """Whether training stops now; every process stops at the same step: under torchrun (with a
    minutes budget, `timed`), any process out of time stops all."""
    if step >= max_steps:
        return True
    if world_size > 1 and timed:
        import torch.distributed as dist

        flag = torch.tensor([float(out_of_time)], device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())
    return out_of_time
