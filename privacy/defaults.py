"""The audit's default settings, declared once and importable without heavy libraries (the CLI reads them)."""

FPR = 0.01  # share of held-out real images the thresholds would flag
ENCODER_STEPS = 400  # training steps of the audit's contrastive encoder
ENCODER_WIDTH = 16  # channels of its first stage (stages have 1x, 2x, 4x, 8x)
EXACT_LIMIT = 250_000  # exact search up to this many training vectors: 100k x 100k (dim 128) takes ~40 s on 2 cores
SELFTEST_COPIES = 300  # planted in every audit: a recall near 0.99 is known to about ±0.6 %
SELFTEST_FLOOR = 0.99  # the verdict fails when the audit flags a smaller share of its own planted copies
MEMBERSHIP_AUC_LIMIT = 0.6  # ... or when an attacker tells members apart this well, with 95 % confidence
