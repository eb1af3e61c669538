"""The second generator family (`model.kind: gan`): a class-conditional GAN built from MONAI blocks.

    config.py    the GAN's training config sections (dispatched by model.config on model.kind)
    networks.py  generator (mapping + conditional-norm synthesis + noise) and projection discriminator
    augment.py   DiffAugment with an optional adaptive strength (ADA)
    losses.py    hinge loss and the R1 penalty
    step.py      one adversarial step (D then G)
    train.py     the trainer: same run folder, checkpoints, logs and resume as the diffusion trainer
    pipeline.py  the saved generator (config.json + weights.pt) and per-image-seeded sampling
    grid.py      per-class sample grids at checkpoints
    sample.py    the GAN as `synthgen sample` sees it
"""
