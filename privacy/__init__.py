"""Memorization audit and filter for synthetic image sets (`synthgen audit`).

Compares every synthetic image with every training image of an image set in several embedding
spaces and flags near-copies; see docs/PRIVACY.md. Works on any two image sets.

    from privacy.audit import audit
    summary = audit("runs/nih64", "runs/samples", "runs/audit", fpr=0.01, filter=True)

Modules, in the order the audit uses them: `images` (what is compared), `embed_pixels`,
`augment` + `encoder`, `torchscript_encoder`, `registered` (the spaces), `search` (FAISS), `calibrate`
(thresholds and tests), `membership` (attacks), `linkage` (patient level), `compare` (the core),
`defaults` (every default setting), `settings` (what a user sets: AuditSettings), `report` (audit.json, pairs.csv, montage),
`filter` (the filtered image set and its `provenance.audit`), `audit` (the entry point),
`planted` + `selftest` (the proof), `cli` (the command). This file imports nothing heavy.
"""
