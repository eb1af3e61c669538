"""Rerun a trained GAN run's choice of final weights with either selection metric, without retraining.

    OMP_NUM_THREADS=1 python bench/gan_choice.py --run runs/gvd/gan/run --data runs/pm32-data --metric two_sample

The candidates are the trainer's own (synthgen/model/gan/train.py): every snapshot before the last step,
the final classic EMA and each final power-function profile, read back from RUN/snapshots and
RUN/checkpoints/last.pt; the choice draws the trainer's samples (training.seed, selection_images), so its
FDs and flagged counts are the ones the run's model card records. Prints SnapshotChoice.to_dict() as
JSON, with the seconds the choice took.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from synthgen.imageset import ImageSet  # noqa: E402
from synthgen.model.checkpoint import load_checkpoint  # noqa: E402
from synthgen.model.config_files import load_train_config  # noqa: E402
from synthgen.model.data import load_training_data  # noqa: E402
from synthgen.model.ema import averaged_state, profile_name  # noqa: E402
from synthgen.model.gan.config import SelectionMetric  # noqa: E402
from synthgen.model.gan.networks import Generator  # noqa: E402
from synthgen.model.gan.pipeline import GanPipeline  # noqa: E402
from synthgen.model.gan.select import choose_snapshot  # noqa: E402
from synthgen.model.gan.train import GAN_CHECKPOINT_KEYS  # noqa: E402
from synthgen.model.run_folder import RunFolder, load_state_dict  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="a GAN run folder with snapshots or EMA profiles")
    parser.add_argument("--data", type=Path, required=True, help="the prepared image set it was trained on")
    parser.add_argument("--metric", choices=[m.value for m in SelectionMetric], default=SelectionMetric.TWO_SAMPLE.value)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    run, image_set = RunFolder(args.run), ImageSet.open(args.data)
    config = load_train_config(run.root / "config.yaml")
    training = load_training_data(image_set, config.training.split, config.conditioning.use_findings)
    state = load_checkpoint(run.checkpoint, GAN_CHECKPOINT_KEYS)

    def generator(state_dict: dict) -> Generator:
        module = Generator(config.generator, training.label_space.dim, training.image_size)
        module.load_state_dict(state_dict)
        return module.eval()

    candidates = {run.snapshot(step).stem: generator(load_state_dict(run.snapshot(step)))
                  for step in run.snapshot_steps() if step < int(state["step"])}
    candidates["final"] = generator(averaged_state(state["ema"]))
    for sigma_rel, profile in zip(config.training.ema_profiles, state.get("ema_profiles", [])):
        candidates[f"final-{profile_name(sigma_rel)}"] = generator(profile)

    def sample(module, conditions, seeds):
        return GanPipeline(module, training.label_space, training.image_size)(conditions, seeds,
                                                                              config.sampling.truncation)

    started = time.perf_counter()
    choice = choose_snapshot(candidates, training, image_set, config.conditioning.use_findings,
                             config.training.selection_images, config.training.seed, sample,
                             SelectionMetric(args.metric))
    print(json.dumps({**choice.to_dict(), "seconds": round(time.perf_counter() - started, 1)}, indent=1))


if __name__ == "__main__":
    main()
