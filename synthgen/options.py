"""Stage options declared once: each a field of the stage's option dataclass, its help text beside it.

    @dataclass(frozen=True)
    class PrepareOptions:
        size: int = option(64, "Side of the square output images, in pixels.")
        format: str = option("auto", "Source kind (auto-detected).", choices=source_formats)

    @click.command()
    @click_options(PrepareOptions)          # --size, --format, ... with these types, defaults and choices
    def prepare(**values): ... PrepareOptions(**option_values(PrepareOptions, values))

The library function takes the dataclass, the click command gets its options from it, and a run
config's section is the same dataclass (or is checked against it by tests/synthgen/test_options.py), so a
default, a help text or a choice list is written once. `choices` is a registry's names (a sequence,
or a function returning them, called only when the CLI needs them so that heavy registries load late).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any

import click

from synthgen.errors import SynthgenError

Choices = Sequence[str] | Callable[[], Sequence[str]]


def option(default: Any = None, help: str = "", *, choices: Choices | None = None, path: bool = False,
           metavar: str | None = None, click_type: click.ParamType | None = None) -> Any:
    """A dataclass field that is also a CLI option, `--name-with-dashes`; `path`: a file or folder;
    `click_type` replaces the type derived from the field's (e.g. a click.IntRange)."""
    metadata = {"help": help, "choices": choices, "path": path, "metavar": metavar, "click_type": click_type}
    if isinstance(default, (list, dict, set)):
        raise TypeError("option defaults must be immutable: use a tuple")
    return dataclasses.field(default=default, metadata=metadata)


def choice_names(choices: Choices) -> tuple[str, ...]:
    return tuple(choices() if callable(choices) else choices)


def cli_fields(cls: type) -> list[dataclasses.Field]:
    """The fields of `cls` declared with `option` (its CLI options), in order."""
    return [f for f in dataclasses.fields(cls) if "help" in f.metadata]


def flag_of(item: dataclasses.Field) -> str:
    return "--" + item.name.replace("_", "-")


def option_values(cls: type, values: dict) -> dict:
    """Take the entries of click's `values` that are fields of `cls` out of it (the rest are the
    command's own); an option left out (None) keeps the field's default."""
    taken = {f.name: (values.pop(f.name), f.default) for f in cli_fields(cls) if f.name in values}
    return {name: default if value is None else value for name, (value, default) in taken.items()}


def click_options(cls: type) -> Callable:
    """Decorator adding one click option per `option` field of `cls` (types, defaults, choices from it)."""
    hints = typing.get_type_hints(cls)

    def decorate(command: Callable) -> Callable:
        for item in reversed(cli_fields(cls)):
            command = click.option(flag_of(item), item.name, **_click_settings(item, hints[item.name]))(command)
        return command

    return decorate


class RegistryChoice(click.Choice):
    """click.Choice whose names come from a registry, looked up when first needed."""

    def __init__(self, choices: Choices) -> None:  # click.Choice's settings, without its eager tuple
        self._choices = choices
        self.case_sensitive = True

    @property
    def choices(self) -> tuple[str, ...]:
        return choice_names(self._choices)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if value in self.choices:
            return value
        flag = param.opts[0] if param is not None else "value"  # one line, like every other bad input
        raise SynthgenError(f"{flag} {value!r} is not one of {', '.join(self.choices)}")


class ListOf(click.ParamType):
    """A comma-separated list on the command line (a YAML list in an option file) -> a tuple."""

    name = "list"

    def __init__(self, item: type = str) -> None:
        self.item = item

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple:
        parts = value if isinstance(value, (list, tuple)) else [p.strip() for p in str(value).split(",") if p.strip()]
        try:
            return tuple(self.item(part) for part in parts)
        except ValueError:  # one line naming the option, like every other bad input
            flag = param.opts[0] if param is not None else "value"
            example = "0.1,0.25" if self.item is float else "a,b"
            raise SynthgenError(f"{flag} {value!r} must be comma-separated {self.item.__name__} values, "
                                f"e.g. {example}") from None


def _click_settings(item: dataclasses.Field, hint: object) -> dict:
    meta = item.metadata
    base = _without_none(hint)
    settings: dict[str, Any] = {"help": meta["help"], "default": item.default}
    if meta["metavar"]:
        settings["metavar"] = meta["metavar"]
    if base is bool:
        settings["is_flag"] = True
        return settings
    if typing.get_origin(base) is tuple:
        item_type = typing.get_args(base)[0]
        settings["type"] = ListOf(item_type)
        settings["default"] = ",".join(map(str, item.default)) if item.default else None
    elif meta["click_type"] is not None:
        settings["type"] = meta["click_type"]
    elif meta["choices"] is not None:
        settings["type"] = RegistryChoice(meta["choices"])
    elif meta["path"]:
        settings["type"] = click.Path()
    else:
        settings["type"] = base
    settings["show_default"] = settings["default"] is not None
    return settings


def _without_none(hint: object) -> object:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0] if len(args) == 1 else hint
    return hint
