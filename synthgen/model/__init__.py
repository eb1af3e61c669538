"""The generator: a class-conditional MONAI diffusion UNet, its training loop and its sampler
(and, with `model.kind: gan`, the GAN family in gan/).

    config.py      training configuration (YAML sections as validated dataclasses) and the Sampler registry
    labels.py      label space: class + findings -> conditioning vector
    network.py     the MONAI DiffusionModelUNet with a label-vector embedding
    diffusion.py   noise schedulers, training objective, loss weighting
    augment.py     radiograph-safe batch augmentation
    data.py        training images and deterministic batches from an image set
    checkpoint.py  atomic training-state checkpoints
    run_folder.py  the run folder layout and the saved model (config JSON beside the weights)
    pipeline.py    model + scheduler + a short loop: the sampler
    train.py       `train()`: the training loop (single process or torchrun/DDP)
    sample.py      `sample()`: write a synthetic image set from a trained run (either kind)
    sample_options.py  SampleOptions: what `synthgen sample` and a run's `sample:` section set
    gan/           the class-conditional GAN: config, networks, DiffAugment, losses, trainer, pipeline
"""
