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

log = logging.getLogger(__name__)

SALT_ENV = "SYNTHGEN_SALT"


def resolve_salt(salt: str | None) -> bytes:
    """The salt given, else $SYNTHGEN_SALT, else a fresh random one (pseudonyms then differ per run)."""
    chosen = salt if salt is not None else os.environ.get(SALT_ENV)
    if chosen:
        return chosen.encode("utf-8")
    log.info("no --salt or $%s: using a random salt, so patient pseudonyms differ between runs", SALT_ENV)
    return secrets.token_bytes(32)


def pseudonym(raw_id: str, salt: bytes, prefix: str = "P") -> str:
    """A stable 12-hex-digit pseudonym for `raw_id` under `salt`, e.g. 'P3f9c0a1b2d4e'."""
    digest = hmac.new(salt, raw_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{prefix}{digest[:12]}"
