"""A trained GAN as `synthgen sample` sees it (model.sample.TrainedModel): one network pass per
image, truncation psi from --truncation or the run's `sampling:` config. Rows record sampler `gan`,
1 step, guidance 1 (the plain conditional model), churn 0 and the truncation used."""

from __future__ import annotations

import torch

from synthgen.errors import SynthgenError
from synthgen.model.config_files import load_run_config
from synthgen.model.gan.config import GanSamplingConfig, GanTrainConfig
from synthgen.model.gan.pipeline import GanPipeline
from synthgen.model.run_folder import RunFolder
from synthgen.model.sample import TrainedModel

GAN_SAMPLER = "gan"


def load_gan_model(folder: RunFolder, sampler: str | None, steps: int | None, guidance: float | None,
                   churn: float | None, batch_size: int | None, truncation: float | None) -> TrainedModel:
    diffusion_only = {"--sampler": sampler not in (None, GAN_SAMPLER), "--steps": steps not in (None, 1),
                      "--guidance": guidance not in (None, 1.0), "--churn": churn not in (None, 0.0)}
    given = [name for name, set_ in diffusion_only.items() if set_]
    if given:
        raise SynthgenError(f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to diffusion models; "
                            f"{folder.root} holds a GAN (options: --truncation, --batch-size)")
    if truncation is not None and not 0.0 < truncation <= 1.0:
        raise SynthgenError(f"--truncation must be in (0, 1] (1 = no truncation), got {truncation}")
    if batch_size is not None and batch_size <= 0:
        raise SynthgenError(f"--batch-size must be positive, got {batch_size}")
    pipeline = GanPipeline.load(folder.model_dir)
    defaults = GanSamplingConfig()
    if folder.config.is_file():
        config = load_run_config(folder.config)
        if isinstance(config, GanTrainConfig):
            defaults = config.sampling
    psi = truncation if truncation is not None else defaults.truncation

    def generate(conditions: torch.Tensor, seeds: list[int], device: torch.device) -> torch.Tensor:
        return pipeline(conditions, seeds, psi, device)

    return TrainedModel("gan", "gan", pipeline.labels, pipeline.label_prior, pipeline.image_size, pipeline.bit_depth,
                        batch_size or defaults.batch_size,
                        {"sampler": GAN_SAMPLER, "steps": 1, "guidance": 1.0, "churn": 0.0, "truncation": psi}, generate)
