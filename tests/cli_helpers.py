"""Run the synthgen CLI in-process and capture its exit code and output."""

from __future__ import annotations

import sys

import pytest

from synthgen.cli import main


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    old_argv = sys.argv
    sys.argv = ["synthgen", "-q", *map(str, args)]
    try:
        with pytest.raises(SystemExit) as exit_info:
            main()
    finally:
        sys.argv = old_argv
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def assert_clean_error(code: int, err: str, *fragments: str) -> None:
    """Exit 2, one line on stderr starting with 'Error:', naming each fragment, no traceback."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
