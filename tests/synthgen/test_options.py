"""Each stage's options are declared once: its option dataclass, the CLI and the run config agree."""

import dataclasses

import click
import pytest


from privacy.settings import AuditSettings
from synthgen.cli import cli
from synthgen.options import cli_fields, flag_of
from synthgen.export.options import ExportOptions
from synthgen.model.sample_options import SampleOptions
from synthgen.workflow.config import (
    AuditConfig, ExportConfig, PrepareConfig, SampleConfig, ValidateConfig, load_run_config,
)
from synthgen.prepare_options import PrepareOptions
from synthgen.sources.base import SourceOptions
from validation.options import ValidateOptions
from tests.fixtures.cli import assert_clean_error, run_cli


def cli_parameters(command_name: str) -> dict[str, click.Parameter]:
    return {p.name: p for p in cli.commands[command_name].params}


def cli_default(parameter: click.Parameter, field: dataclasses.Field) -> object:
    """The field value a command line without this option gives."""
    default = parameter.default
    if default is None:
        return field.default
    return parameter.type.convert(default, parameter, None) if isinstance(default, str) else default


def assert_cli_matches(command_name: str, options: type, own: set[str]) -> None:
    """Every option field is a CLI option with its flag and default; every other CLI option is in `own`."""
    parameters = cli_parameters(command_name)
    for field in cli_fields(options):
        assert field.name in parameters, f"{options.__name__}.{field.name} has no option in synthgen {command_name}"
        parameter = parameters[field.name]
        assert flag_of(field) in parameter.opts, f"{field.name}: flag {parameter.opts}"
        assert cli_default(parameter, field) == field.default, f"{command_name} {flag_of(field)}: default differs"
    extra = set(parameters) - {f.name for f in cli_fields(options)} - own - {"help"}
    assert not extra, f"synthgen {command_name} options {sorted(extra)} are not fields of {options.__name__}"


def assert_section_matches(section: type, options: type, own: set[str]) -> None:
    """Every option field is a key of the run-config section with the same default; other keys are in `own`."""
    keys = {f.name: f for f in dataclasses.fields(section)}
    for field in dataclasses.fields(options):
        assert field.name in keys, f"{options.__name__}.{field.name} is not a key of the run config's {section.__name__}"
        assert keys[field.name].default == field.default, f"{section.__name__}.{field.name}: default differs"
    extra = set(keys) - {f.name for f in dataclasses.fields(options)} - own
    assert not extra, f"run-config keys {sorted(extra)} of {section.__name__} are not fields of {options.__name__}"


def test_prepare_cli_options_are_the_prepare_options():
    assert_cli_matches("prepare", PrepareOptions, own={"source", "config", "out", "salt", "overwrite"})


def test_run_config_prepare_section_is_the_prepare_options_plus_the_source():
    assert_section_matches(PrepareConfig, PrepareOptions, own={"source", "n", "bit_depth"})


def test_source_adapters_default_to_the_prepare_defaults():
    adapters, prepare = SourceOptions(), PrepareOptions()
    shared = [f.name for f in dataclasses.fields(SourceOptions) if hasattr(prepare, f.name)]
    assert len(shared) >= 10
    assert [getattr(adapters, name) for name in shared] == [getattr(prepare, name) for name in shared]


def test_cli_choices_come_from_the_source_registry():
    from synthgen.sources import ADAPTERS

    assert cli_parameters("prepare")["format"].type.choices == ("auto", *ADAPTERS)


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(PrepareOptions)])
def test_every_prepare_option_has_help(field):
    assert next(f for f in cli_fields(PrepareOptions) if f.name == field).metadata["help"]


def test_audit_cli_options_are_the_audit_settings():
    assert_cli_matches("audit", AuditSettings,
                       own={"train", "synthetic", "holdout", "out", "filter_", "encoder", "selftest", "overwrite"})


def test_run_config_audit_section_is_the_audit_settings_plus_filter_and_holdout():
    assert_section_matches(AuditConfig, AuditSettings, own={"filter", "holdout"})


def test_audit_settings_build_the_engine_options_with_the_same_defaults():
    from privacy.audit import AuditOptions

    built, engine = AuditSettings().options(), AuditOptions()
    assert built == engine


def test_audit_settings_from_a_run_config_reach_the_engine(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("audit: {fpr: 0.05, encoder_steps: 7, exact_limit: 1000, selftest_copies: 0, seed: 4}\n")
    options = load_run_config(config).audit.options()
    assert (options.fpr, options.encoder.steps, options.encoder.seed, options.search.exact_limit,
            options.search.seed, options.selftest_copies) == (0.05, 7, 4, 1000, 4, 0)


def test_audit_keys_added_later_leave_the_config_hash_of_older_runs_alone(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("audit: {fpr: 0.01, filter: true}\n")
    assert set(load_run_config(config).section("audit")) == {
        "fpr", "filter", "holdout", "encoder_steps", "encoder_width", "seed"}
    config.write_text("audit: {selftest_copies: 10}\n")
    assert load_run_config(config).section("audit")["selftest_copies"] == 10


def test_validate_cli_options_are_the_validate_options():
    assert_cli_matches("validate", ValidateOptions, own={
        "real_train", "real_test", "synthetic", "out", "external_tests", "audit", "encoder", "threads", "overwrite"})


def test_run_config_validate_section_is_the_validate_options_plus_external_tests():
    assert_section_matches(ValidateConfig, ValidateOptions, own={"external_test"})


def test_validate_defaults_are_those_of_the_library():
    import inspect

    from validation.api import validate
    from validation.classifier import NETWORKS, Recipe

    options, recipe = ValidateOptions(), Recipe()
    arguments = options.arguments()
    parameters = inspect.signature(validate).parameters
    for name in ("seeds", "seed", "low_data", "bootstrap", "min_per_class"):
        assert parameters[name].default == arguments[name], name
    assert arguments["recipe"] == recipe
    assert cli_parameters("validate")["network"].type.choices == NETWORKS


def test_a_bad_list_option_is_one_line_naming_it(tmp_path, capsys):
    code, _, err = run_cli(["validate", "--real-train", "a", "--real-test", "a", "--synthetic", "b",
                            "--out", tmp_path / "v", "--low-data", "0.1,x"], capsys)
    assert_clean_error(code, err, "--low-data '0.1,x' must be comma-separated float values")


def test_export_cli_options_are_the_export_options():
    assert_cli_matches("export", ExportOptions, own={"image_set", "out", "codes", "overwrite"})


def test_run_config_export_section_shares_the_export_defaults():
    """formats (several) stands for format; filtered_only follows audit.filter; workers and backoff are
    the library's (the run uses their defaults); check_dicom is the run's own."""
    keys = {f.name: f.default for f in dataclasses.fields(ExportConfig)}
    defaults = {f.name: f.default for f in dataclasses.fields(ExportOptions)}
    assert set(keys) == {"formats", "check_dicom"} | (set(defaults) - {"format", "filtered_only", "workers", "backoff"})
    assert keys["formats"] == (defaults["format"],)
    for name in set(keys) & set(defaults):
        assert keys[name] == defaults[name], name


def test_export_choices_come_from_the_encoder_and_compression_registries():
    from synthgen.export.api import ENCODERS
    from synthgen.export.dicom_writer import COMPRESSIONS

    parameters = cli_parameters("export")
    assert parameters["format"].type.choices == tuple(ENCODERS)
    assert parameters["compression"].type.choices == tuple(COMPRESSIONS)
    assert ExportConfig(formats=tuple(ENCODERS)).formats == tuple(ENCODERS)


def test_run_config_export_options_give_dicom_only_settings_to_dicom():
    config = ExportConfig(formats=("dicom", "png"), compression="rle", to="dimse://A@h:104", retries=5)
    dicom, png = config.options("dicom", filtered_only=True), config.options("png", filtered_only=True)
    assert (dicom.format, dicom.compression, dicom.to, dicom.retries, dicom.filtered_only) == (
        "dicom", "rle", "dimse://A@h:104", 5, True)
    assert (png.format, png.compression, png.to, png.retries) == ("png", "none", None, 5)


def test_sample_cli_options_are_the_sample_options():
    assert_cli_matches("sample", SampleOptions, own={"run", "out", "start", "count", "name", "overwrite"})


def test_run_config_sample_section_is_the_sample_options():
    assert_section_matches(SampleConfig, SampleOptions, own=set())


def test_sample_defaults_are_those_of_the_library():
    import inspect

    from synthgen.model.sample import sample

    parameters = inspect.signature(sample).parameters
    assert parameters["options"].default is None and "seed" not in parameters  # SampleOptions holds them


def test_per_class_option_parses_counts_and_names_itself_when_bad(tmp_path, capsys):
    from synthgen.model.sample_options import ClassCounts

    assert ClassCounts().convert("normal=5, effusion=2", None, None) == {"normal": 5, "effusion": 2}
    code, _, err = run_cli(["sample", "--run", tmp_path, "--out", tmp_path / "s", "--per-class", "normal:5"], capsys)
    assert_clean_error(code, err, "--per-class 'normal:5': write class=count pairs")


def test_samplers_come_from_one_registry():
    from synthgen.model.config import DEFAULT_SAMPLER, DEFAULT_STEPS, SAMPLERS_OF, Parametrization, Sampler

    names = tuple(s.value for s in Sampler)
    assert cli_parameters("sample")["sampler"].type.choices == names
    assert all(name in cli_parameters("sample")["sampler"].help for name in names)
    assert {p: s[0] for p, s in SAMPLERS_OF.items()} == DEFAULT_SAMPLER
    assert SAMPLERS_OF[Parametrization.EDM] == (Sampler.DPM_SOLVER, Sampler.HEUN)
    assert SAMPLERS_OF[Parametrization.VP] == (Sampler.DDIM, Sampler.DPM_SOLVER, Sampler.DDPM)
    assert DEFAULT_STEPS == {Sampler.HEUN: 12, Sampler.DDIM: 20, Sampler.DPM_SOLVER: 20, Sampler.DDPM: 1000}


@pytest.mark.parametrize("parametrization", ["edm", "vp"])
def test_every_registered_sampler_builds_its_loop(parametrization):
    from synthgen.model.config import SAMPLERS_OF, DiffusionConfig, Parametrization
    from synthgen.model.samplers import sampler_loop

    config = DiffusionConfig(parametrization=Parametrization(parametrization), timesteps=20)
    for sampler in SAMPLERS_OF[config.parametrization]:
        loop = sampler_loop(config, sampler, 4)
        assert type(loop).__name__ == sampler.loops[parametrization].split(":")[1]


def test_phantom_defaults_agree_between_cli_library_and_run_config():
    import inspect

    from synthgen.chest_phantom import DEFAULT_IMAGES, phantom

    library = {name: p.default for name, p in inspect.signature(phantom).parameters.items()}
    command = {p.name: p.default for p in cli.commands["phantom"].params}
    run_config = PrepareConfig()
    assert library["n"] == command["n"] == DEFAULT_IMAGES and run_config.n is None  # None: DEFAULT_IMAGES
    assert int(command["bit_depth"]) == library["bit_depth"] == run_config.bit_depth
    for name in ("size", "seed", "val_fraction", "test_fraction"):
        assert library[name] == command[name] == getattr(run_config, name), name


def test_noise_schedules_are_monais_registry():
    from monai.networks.schedulers import NoiseSchedules

    from synthgen.model.config import NoiseSchedule

    assert [s.value for s in NoiseSchedule] == list(NoiseSchedules.names)


def test_a_new_export_format_is_one_registry_line(tmp_path, capsys, monkeypatch):
    """An Encoder subclass listed in ENCODERS is a choice of synthgen export and of the run config."""
    from synthgen.export.api import ENCODERS
    from synthgen.export.formats import Encoder
    from tests.fixtures.export import phantom_set

    class RawEncoder(Encoder):
        def files(self, pixels, png, row, identity):
            return [(f"images/{row['image_id']}.raw", pixels.tobytes())]

    monkeypatch.setitem(ENCODERS, "raw", RawEncoder)
    original = phantom_set(tmp_path / "set")
    code, out, err = run_cli(["export", original.root, "--format", "raw", "--out", tmp_path / "raw"], capsys)
    assert code == 0, err
    assert len(list((tmp_path / "raw/images").glob("*.raw"))) == len(original.rows)
    assert ExportConfig(formats=("raw",)).options("raw", filtered_only=False).format == "raw"


@pytest.mark.parametrize("section, fragment", [
    ({"sample": {"n": 4, "sampler": "euler"}}, "sample: sampler 'euler' is not one of heun, ddim, dpm++, ddpm"),
    ({"export": {"compression": "zip"}}, "export: compression 'zip' is not one of none, rle, jpeg2000"),
    ({"export": {"formats": ["tiff"]}}, "must be distinct values of dicom, nifti, png, datalist"),
])
def test_a_bad_choice_in_a_run_config_names_the_key_and_the_valid_values(tmp_path, capsys, section, fragment):
    import yaml

    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(section))
    code, _, err = run_cli(["run", str(config), "--out", str(tmp_path / "out"), "--dry-run"], capsys)
    assert_clean_error(code, err, fragment)


@pytest.mark.parametrize("args, fragment", [
    (["prepare", "src", "--out", "x", "--format", "tiff"], "--format 'tiff' is not one of auto, npz, dicom, csv, folders"),
    (["export", "set", "--out", "x", "--compression", "zip"], "--compression 'zip' is not one of none, rle, jpeg2000"),
    (["sample", "--run", "r", "--out", "x", "--n", "3", "--sampler", "euler"],
     "--sampler 'euler' is not one of heun, ddim, dpm++, ddpm"),
    (["validate", "--real-train", "a", "--real-test", "a", "--synthetic", "b", "--out", "x", "--network", "vgg"],
     "--network 'vgg' is not one of resnet-tiny, resnet10, resnet18, densenet121"),
])
def test_a_bad_choice_on_the_command_line_is_one_line_naming_the_option_and_the_valid_values(args, fragment, capsys):
    code, _, err = run_cli(args, capsys)
    assert_clean_error(code, err, fragment)


def test_option_fields_refuse_mutable_defaults_and_keep_defaults_for_options_left_out():
    from synthgen.options import ListOf, option, option_values

    with pytest.raises(TypeError, match="immutable"):
        option([0.1], "a list default would be shared")
    values = {"size": None, "classes": None, "drop": None, "out": "x"}
    assert option_values(PrepareOptions, values) == {"size": 64, "classes": None, "drop": ()}
    assert values == {"out": "x"}, "the command's own options are left for it"
    assert ListOf(float).convert([0.1, 0.25], None, None) == (0.1, 0.25)
    assert ListOf(str).convert("a, b,,c", None, None) == ("a", "b", "c")
