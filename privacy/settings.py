"""`AuditSettings`: what a user sets about an audit, declared once (`synthgen audit` and a run config's
`audit:` section derive from it); `options()` turns them into the engine's `privacy.audit.AuditOptions`.

Light on purpose (no torch, no faiss): the CLI builds its options from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from privacy.defaults import (
    ENCODER_STEPS, ENCODER_WIDTH, EXACT_LIMIT, FPR, MEMBERSHIP_AUC_LIMIT, SELFTEST_COPIES, SELFTEST_FLOOR,
)
from synthgen.options import option


@dataclass(frozen=True)
class AuditSettings:
    fpr: float = option(FPR, "Share of held-out real images that the thresholds would flag, in (0, 0.5).")
    encoder_steps: int = option(ENCODER_STEPS, "Training steps of the audit encoder.")
    encoder_width: int = option(ENCODER_WIDTH, "Channels of the audit encoder's first stage.")
    exact_limit: int = option(
        EXACT_LIMIT, "Above this many training images, search an approximate (IVF) index and report its recall.")
    selftest_copies: int = option(
        SELFTEST_COPIES, "Altered copies of training images planted (in memory) in every audit to check it finds "
        "them; 0: none.")
    selftest_floor: float = option(
        SELFTEST_FLOOR, "The verdict fails when the audit flags a smaller share of its own planted copies.")
    membership_auc_limit: float = option(
        MEMBERSHIP_AUC_LIMIT, "The verdict fails when a membership-inference attack's AUC is above this with 95 % "
        "confidence.")
    seed: int = option(0, "Seed of the encoder training (and the self-test).")

    def options(self, torchscript: Path | None = None):
        """The engine's AuditOptions (privacy.audit), with an optional user TorchScript encoder.
        Bad values raise ValueError naming the option."""
        from privacy.audit import AuditOptions
        from privacy.encoder import EncoderConfig
        from privacy.search import SearchOptions

        return AuditOptions(fpr=self.fpr, encoder=EncoderConfig(width=self.encoder_width, steps=self.encoder_steps,
                                                                seed=self.seed),
                            torchscript=torchscript, search=SearchOptions(exact_limit=self.exact_limit, seed=self.seed),
                            selftest_copies=self.selftest_copies, selftest_floor=self.selftest_floor,
                            membership_auc_limit=self.membership_auc_limit)
