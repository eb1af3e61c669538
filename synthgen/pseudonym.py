"""Salted pseudonyms: raw patient IDs are used for splits, then replaced by keyed hashes.

HMAC-SHA256 with a secret salt means a pseudonym cannot be checked against a guessed patient ID
without the salt, while the same salt maps one patient to one pseudonym across runs.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from synthgen.atomic import write_text_atomic
from synthgen.errors import SynthgenError

log = logging.getLogger(__name__)

SALT_ENV = "SYNTHGEN_SALT"
KEPT_SALT_SUFFIX = ".PRIVATE-salt"


def resolve_salt(salt: str | None) -> bytes:
    """The salt given, else $SYNTHGEN_SALT, else a fresh random one (pseudonyms then differ per run)."""
    chosen = salt if salt is not None else os.environ.get(SALT_ENV)
    if chosen:
        return chosen.encode("utf-8")
    log.info("no --salt or $%s: using a random salt, so patient pseudonyms differ between runs", SALT_ENV)
    return secrets.token_bytes(32)


def kept_salt(run_folder: Path) -> str | None:
    """For `synthgen run` without $SYNTHGEN_SALT: one random salt per run folder, kept beside it
    (`RUN.PRIVATE-salt`, like the name map, never inside it), so preparing the same source again makes
    the same pseudonyms, the same bytes, and training resumes instead of starting over.
    None when $SYNTHGEN_SALT is set (it wins)."""
    if os.environ.get(SALT_ENV):
        return None
    run_folder = Path(run_folder)
    path = run_folder.with_name(run_folder.name + KEPT_SALT_SUFFIX)
    if not path.is_file():
        write_text_atomic(path, secrets.token_hex(32) + "\n")  # mkstemp makes it readable by its owner only
        log.info("no $%s: a random salt for this run folder is kept in %s (keep it private)", SALT_ENV, path)
    salt = path.read_text(encoding="utf-8").strip()
    if not salt:
        raise SynthgenError(f"{path} is empty: delete it (pseudonyms then change) or set ${SALT_ENV}")
    return salt


def pseudonym(raw_id: str, salt: bytes, prefix: str = "P") -> str:
    """A stable 12-hex-digit pseudonym for `raw_id` under `salt`, e.g. 'P3f9c0a1b2d4e'."""
    digest = hmac.new(salt, raw_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{prefix}{digest[:12]}"
