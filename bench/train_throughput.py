"""Training throughput: images/s of synthgen's training step against a bare MONAI loop.

Both use the identical network (MONAI DiffusionModelUNet with the same config), batch size and data
(the same image tensor), in the same process, alternating rounds so machine load hits both alike.
synthgen's step adds what a real run needs: augmentation, label dropout, min-SNR weights, gradient
clipping, the LR schedule and the EMA update. Target ratio >= 0.95.

    .venv/bin/python bench/train_throughput.py --config configs/train/pneumoniamnist32.yaml --size 32
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from monai.networks.schedulers import DDPMScheduler

from synthgen.chest_phantom import phantom
from synthgen.imageset import ImageSet
from synthgen.model.config_files import load_train_config, with_overrides
from synthgen.model.data import load_training_data
from synthgen.model.network import build_unet, network_conditions
from synthgen.model.train import _Trainer, with_measured_sigma_data
from synthgen.model.run_folder import RunFolder


def bare_monai_steps(config, data, steps: int) -> float:
    """The loop of MONAI's 2D DDPM tutorial: noise, MSE on epsilon, AdamW; seconds per step."""
    torch.manual_seed(0)
    unet = build_unet(config.network, data.label_space.dim)
    optimizer = torch.optim.AdamW(unet.parameters(), lr=config.training.lr)
    scheduler = DDPMScheduler(num_train_timesteps=config.diffusion.timesteps)
    batch = config.training.batch_size
    start = time.perf_counter()
    for step in range(steps):
        rows = torch.randint(0, len(data), (batch,))
        images, conditions = data.images[rows], network_conditions(data.conditions[rows], config.network)
        noise = torch.randn_like(images)
        timesteps = torch.randint(0, config.diffusion.timesteps, (batch,))
        output = unet(scheduler.add_noise(images, noise, timesteps), timesteps, class_labels=conditions)
        loss = torch.nn.functional.mse_loss(output, noise)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - start) / steps


def synthgen_steps(config, data, image_set, steps: int, first_step: int) -> float:
    trainer = _Trainer(config, data, image_set, RunFolder(Path(tempfile.mkdtemp())), torch.device("cpu"), 0, 1, False)
    start = time.perf_counter()
    for step in range(first_step, first_step + steps):
        trainer._step(step)
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("configs/train/pneumoniamnist32.yaml"))
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=10, help="steps per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    config = with_overrides(load_train_config(args.config), training={"grid_per_class": 0})
    with tempfile.TemporaryDirectory() as tmp:
        image_set = ImageSet.open(phantom(Path(tmp) / "data", n=512, size=args.size, seed=0).root)
        data = load_training_data(image_set, "train", config.conditioning.use_findings)
        config = with_measured_sigma_data(config, data)  # as train() does before it builds the trainer
        bare_monai_steps(config, data, 2)  # warm-up (allocator, oneDNN primitives)
        synthgen_steps(config, data, image_set, 2, 0)
        bare, ours = [], []
        for round_ in range(args.rounds):
            bare.append(bare_monai_steps(config, data, args.steps))
            ours.append(synthgen_steps(config, data, image_set, args.steps, round_ * args.steps))
    batch = config.training.batch_size
    bare_rate, our_rate = batch / min(bare), batch / min(ours)
    print(f"config {args.config} at {args.size}², batch {batch}, {torch.get_num_threads()} threads, "
          f"best of {args.rounds} rounds x {args.steps} steps")
    print(f"{'loop':<34}{'s/step':>8}{'images/s':>10}")
    print(f"{'bare MONAI loop':<34}{min(bare):>8.3f}{bare_rate:>10.1f}")
    print(f"{'synthgen train step':<34}{min(ours):>8.3f}{our_rate:>10.1f}")
    print(f"ratio synthgen/bare throughput: {our_rate / bare_rate:.3f} (target >= 0.95)")


if __name__ == "__main__":
    main()
