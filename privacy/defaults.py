"""The audit's verdict settings, declared once and importable without heavy libraries (the CLI reads them)."""

SELFTEST_COPIES = 300  # planted in every audit: a recall near 0.99 is known to about ±0.6 %
SELFTEST_FLOOR = 0.99  # the verdict fails when the audit flags a smaller share of its own planted copies
MEMBERSHIP_AUC_LIMIT = 0.6  # ... or when an attacker tells members apart this well, with 95 % confidence
