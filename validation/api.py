"""`validate()`: realism metrics, downstream regimes and the report for one synthetic image set.

    from validation import validate
    result = validate("runs/k64", "runs/k64", "runs/k64-synthetic", "runs/k64-validation")
    result.metrics["utility"]["tstr_trtr_auc_ratio"]["value"]

The output folder holds `report.html` and `metrics.json`; both are written into a staging folder
that is renamed into place at the end, so an error leaves nothing behind.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from synthgen import __version__
from synthgen.atomic import check_output_folder, staged_folder
from synthgen.errors import SynthgenError
from synthgen.imageset.summary import creation_time
from synthgen.progress import progress_bar
from validation import image_statistics
from validation.audit_summary import read_audit
from validation.classifier import Recipe
from validation.data import DEFAULT_MIN_PER_CLASS, ExternalTest, load_external_tests, load_validation_data
from validation.features import Encoder, classifier_encoder, load_torchscript_encoder
from validation.findings import finding_steps, score_findings
from validation.generator_run import read_training_curves, read_weight_choice
from validation.metrics_document import METRICS_FILE, ValidationMetrics
from validation.options import ValidateOptions
from validation.realism import RealismOptions, feature_realism
from validation.regimes import DEFAULT_LOW_DATA, plan_regimes, run_regimes, training_steps
from validation.report import render_report
from validation.two_sample import TwoSampleOptions, TwoSampleResult, two_sample_test
from validation.utility import summarize_regimes
from validation.verdict import THRESHOLDS, verdicts

log = logging.getLogger(__name__)

REPORT_FILE = "report.html"


@dataclass(frozen=True)
class ValidationResult:
    out: Path
    metrics: dict

    @property
    def report(self) -> Path:
        return self.out / REPORT_FILE


def validate(
    real_train: str | Path,
    real_test: str | Path,
    synthetic: str | Path,
    out: str | Path,
    audit: str | Path | None = None,
    seeds: int = ValidateOptions.seeds,
    seed: int = ValidateOptions.seed,
    recipe: Recipe | None = None,
    encoder: str | Path | None = None,
    low_data: Sequence[float] = DEFAULT_LOW_DATA,
    bootstrap: int = ValidateOptions.bootstrap,
    realism: RealismOptions | None = None,
    diversity_pairs: int = 200,
    min_per_class: int = DEFAULT_MIN_PER_CLASS,
    external_tests: Sequence[str | Path] = (),
    two_sample: TwoSampleOptions | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> ValidationResult:
    """Validate `synthetic` against `real_train`/`real_test` (see validation.data for how rows are
    chosen); train `seeds` classifiers per regime (seeds seed, seed+1, ...) and run the two-sample test
    with each of those seeds. `external_tests`:
    `[NAME=]SET[:SPLIT]` real test sets every regime is also scored on."""
    recipe = recipe or Recipe()
    realism = realism or RealismOptions()
    two_sample = two_sample or TwoSampleOptions()
    if seeds < 1:
        raise SynthgenError(f"--seeds must be at least 1 (3 or more for a seed spread), got {seeds}")
    if bootstrap < 100:
        raise SynthgenError(f"--bootstrap must be at least 100 resamples for a 95 % interval, got {bootstrap}")
    if diversity_pairs < 10:
        raise SynthgenError(f"diversity_pairs must be at least 10, got {diversity_pairs}")
    out = Path(out)
    check_output_folder(out, overwrite)
    regimes = plan_regimes(tuple(low_data))
    audit_summary = read_audit(audit) if audit is not None else None
    user_encoder = load_torchscript_encoder(encoder) if encoder is not None else None
    timings: dict[str, float] = {}
    started = clock = time.perf_counter()

    data = load_validation_data(real_train, real_test, synthetic, min_per_class)
    externals = load_external_tests(external_tests, data, min_per_class)
    if user_encoder is not None:  # fail on a broken encoder before minutes of training
        user_encoder.embed(data.test_images[:2])
    timings["load_s"], clock = time.perf_counter() - clock, time.perf_counter()

    seed_list = [seed + i for i in range(seeds)]
    with progress_bar(training_steps(regimes, seed_list, recipe), "downstream classifiers", "steps", progress) as step:
        runs = run_regimes(data, regimes, recipe, seed_list, step,
                           {test.name: (test.images, test.labels) for test in externals})
    results, trtr_model = runs.results, runs.encoder_model
    utility = summarize_regimes(results, data.classes, bootstrap, seed)
    external = _external_summaries(externals, runs.external, data.classes, bootstrap, seed)
    with progress_bar(finding_steps(data, seed_list, recipe), "finding classifiers", "steps", progress) as step:
        findings = score_findings(data, recipe, seed_list, bootstrap, seed, step)  # None without findings
    timings["downstream_s"], clock = time.perf_counter() - clock, time.perf_counter()

    chosen = user_encoder or classifier_encoder(
        trtr_model, f"penultimate layer of the TRTR classifier ({recipe.network}, seed {seed}) trained on real train"
    )
    train_f, test_f, synthetic_f = _embed_all(chosen, data, recipe.eval_batch_size, progress)
    feature_metrics = feature_realism(train_f, test_f, synthetic_f, (data.test_labels, data.synthetic_labels),
                                      len(data.classes), realism, seed)
    timings["embedding_and_realism_s"], clock = time.perf_counter() - clock, time.perf_counter()

    sets = {"real_train": (data.train_images, data.train_labels), "synthetic": (data.synthetic_images, data.synthetic_labels)}
    diversity = image_statistics.diversity(sets, data.classes, diversity_pairs, realism.resamples, seed)
    queries = {"real_test": (data.test_images, data.test_labels),
               "synthetic": (data.synthetic_images, data.synthetic_labels)}
    intensity = image_statistics.intensity(sets["real_train"], queries, data.classes, bootstrap, seed)
    high_frequency = image_statistics.high_frequency(sets["real_train"], queries, data.classes, realism.resamples, seed)
    timings["image_statistics_s"], clock = time.perf_counter() - clock, time.perf_counter()

    with progress_bar(2 * seeds * two_sample.steps, "two-sample test (real vs synthetic, real vs real)", "steps",
                      progress) as step:
        cnn = two_sample_test((data.train_images, data.train_labels, data.real_train.column("patient_id")),
                              (data.synthetic_images, data.synthetic_labels), len(data.classes), two_sample,
                              bootstrap, seed, step, repeats=seeds)
    timings["two_sample_s"] = time.perf_counter() - clock

    metrics = {
        "synthgen_version": __version__,
        "created": creation_time(),
        "data": data.summary(),
        "seeds": seed_list,
        "recipe": asdict(recipe),
        "options": {"bootstrap": bootstrap, "low_data": list(low_data), "realism_resamples": realism.resamples,
                    "realism_k": realism.k, "realism_max_reference": realism.max_reference,
                    "realism_max_query": realism.max_query, "diversity_pairs": diversity_pairs,
                    "min_per_class": min_per_class, "two_sample": asdict(two_sample)},
        "encoder": chosen.description,
        "utility": utility,
        "findings": findings,
        "realism": feature_metrics,
        "diversity": diversity,
        "intensity": intensity,
        "high_frequency": high_frequency,
        "two_sample": {**cnn.summary, "most_synthetic": _most_synthetic_rows(cnn, data)},
        "external_tests": external,
        "audit": audit_summary,
        "training_curves": read_training_curves(data.synthetic.image_set),
        "generator_weights": read_weight_choice(data.synthetic.image_set),
        "thresholds": THRESHOLDS,
        "warnings": _warnings(data),
    }
    metrics["verdicts"] = verdicts(utility, feature_metrics, audit_summary, metrics["two_sample"], external,
                                   high_frequency, diversity)
    clock = time.perf_counter()
    html = render_report(metrics, data, results, seed, data.synthetic_images[cnn.most_synthetic])
    timings["report_s"] = time.perf_counter() - clock
    metrics["timings"] = {k: round(v, 2) for k, v in {**timings, "total_s": time.perf_counter() - started}.items()}
    document = ValidationMetrics(**json_safe(metrics))
    with staged_folder(out, overwrite) as stage:
        document.write(stage / METRICS_FILE)
        (stage / REPORT_FILE).write_text(html, encoding="utf-8")
    log.info("validation report written to %s", out / REPORT_FILE)
    return ValidationResult(out, metrics)


def json_safe(value):
    """NaN and infinity become null (strict JSON); numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _external_summaries(externals: list[ExternalTest], results: dict, classes: list[str], bootstrap: int,
                        seed: int) -> dict:
    """{name: {"data": the set's summary, "utility": regimes scored on it}} (same structure as `utility`)."""
    return {t.name: {"data": t.selection.summary(classes),
                     "utility": summarize_regimes(results[t.name], classes, bootstrap, seed)} for t in externals}


def _most_synthetic_rows(cnn: TwoSampleResult, data) -> list[dict]:
    """The synthetic images the two-sample CNN was surest about, as manifest rows of the synthetic set."""
    rows = data.synthetic.image_set.rows
    out = []
    for position, probability in zip(cnn.most_synthetic, cnn.most_synthetic_probability):
        row = int(data.synthetic.indices[position])
        out.append({"manifest_row": row, "image_id": rows[row]["image_id"], "path": rows[row]["path"],
                    "probability_synthetic": round(float(probability), 6)})
    return out


def _embed_all(encoder: Encoder, data, batch_size: int, progress: bool):
    total = len(data.train_images) + len(data.test_images) + len(data.synthetic_images)
    with progress_bar(total, f"embedding ({encoder.name})", "images", progress) as advance:
        return tuple(encoder.embed(images, batch_size, advance)
                     for images in (data.train_images, data.test_images, data.synthetic_images))


def _warnings(data) -> list[str]:
    warnings = []
    if data.synthetic.image_set.kind != "synthetic":
        warnings.append(f"The --synthetic set {data.synthetic.image_set.root} is marked as a {data.synthetic.image_set.kind} "
                        "image set in its dataset.json; it was validated as if it were synthetic.")
    if data.synthetic_copies_of_train:
        warnings.append(f"{data.synthetic_copies_of_train} synthetic image(s) are byte-identical to real training "
                        "images: exact copies. Run `synthgen audit` before sharing this set.")
    return warnings
