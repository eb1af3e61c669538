"""MONAI datalist export: the PNGs plus `datalist.json` for `monai.data.load_decathlon_datalist`.

    {"name": ..., "labels": {"0": "normal", ...}, "findings": [...],
     "training": [{"image": "images/000000.png", "label": 0, "label_name": "normal",
                   "findings": [0, 1, ...], "patient_id": ...}, ...],
     "validation": [...], "test": [...]}

Image paths are relative to the datalist file; `load_decathlon_datalist(path, data_list_key=
"training")` makes them absolute, and the result feeds `monai.data.Dataset` with `LoadImaged`.
"""

from __future__ import annotations

import json

from synthgen.export.formats import Encoder

DATALIST_FILE = "datalist.json"
_KEYS = {"train": "training", "val": "validation", "test": "test"}


class DatalistEncoder(Encoder):
    needs_pixels = False

    def files(self, pixels, png, row, identity):
        return [(f"images/{row['image_id']}.png", png)]

    def finish(self, stage, manifest_rows):
        classes = self.image_set.classes
        index = {name: i for i, name in enumerate(classes)}
        document = {
            "name": self.provenance.name,
            "description": ("synthetic" if self.provenance.synthetic else "pseudonymised real")
            + f" chest X-ray set exported by synthgen (image set manifest sha256 {self.provenance.manifest_sha256})",
            "labels": {str(i): name for i, name in enumerate(classes)},
            "findings": self.findings,
            **{key: [] for key in _KEYS.values()},
        }
        for row in manifest_rows:
            positive = set(row["findings"].split("|")) if row["findings"] else set()
            document[_KEYS[row["split"]]].append({
                "image": row["path"], "label": index[row["label"]], "label_name": row["label"],
                "findings": [int(f in positive) for f in self.findings], "patient_id": row["patient_id"],
            })
        (stage / DATALIST_FILE).write_text(json.dumps(document, indent=2) + "\n")
        return [DATALIST_FILE]
