"""Salted pseudonyms and the salt a run folder keeps beside itself."""

from __future__ import annotations

import pytest

from synthgen.errors import SynthgenError
from synthgen.pseudonym import SALT_ENV, kept_salt, pseudonym


def test_pseudonyms_are_stable_per_salt_and_differ_across_salts():
    assert pseudonym("patient-1", b"a") == pseudonym("patient-1", b"a")
    assert pseudonym("patient-1", b"a") != pseudonym("patient-1", b"b")
    assert pseudonym("patient-1", b"a").startswith("P") and len(pseudonym("patient-1", b"a")) == 13


def test_a_run_folder_keeps_one_random_salt_beside_it(tmp_path, monkeypatch):
    monkeypatch.delenv(SALT_ENV, raising=False)
    first = kept_salt(tmp_path / "run")
    assert (tmp_path / "run.PRIVATE-salt").is_file() and not (tmp_path / "run").exists()
    assert kept_salt(tmp_path / "run") == first and len(first) == 64
    assert kept_salt(tmp_path / "other") != first


def test_the_environment_salt_wins_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv(SALT_ENV, "secret")
    assert kept_salt(tmp_path / "run") is None
    assert list(tmp_path.iterdir()) == []


def test_an_emptied_salt_file_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv(SALT_ENV, raising=False)
    (tmp_path / "run.PRIVATE-salt").write_text("\n")
    with pytest.raises(SynthgenError, match=r"run.PRIVATE-salt is empty: delete it .* or set \$SYNTHGEN_SALT"):
        kept_salt(tmp_path / "run")
