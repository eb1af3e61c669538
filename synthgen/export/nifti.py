"""NIfTI export: one `images/<image_id>.nii.gz` per image plus a JSON sidecar of labels and provenance.

Array layout: a 2-D image of shape (W, H) where axis 0 runs along the image columns (left to right
as displayed) and axis 1 along the rows from the bottom up, the orientation NIfTI viewers display
upright; the affine is the identity scaled by the nominal pixel spacing (`dicom_writer`). The
stored integers are the image set's (uint8 or uint16), without scaling.
"""

from __future__ import annotations

import gzip
import json

import nibabel as nib
import numpy as np

from synthgen.export.dicom_writer import DETECTOR_SIDE_MM
from synthgen.export.formats import Encoder


def to_nifti_array(pixels: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(pixels.T[:, ::-1])


def from_nifti_array(data: np.ndarray) -> np.ndarray:
    """Inverse of `to_nifti_array`: back to (rows, columns) as displayed."""
    return np.ascontiguousarray(np.asarray(data)[:, ::-1].T)


class NiftiEncoder(Encoder):
    def files(self, pixels, png, row, identity):
        spacing = DETECTOR_SIDE_MM / self.image_set.image_size
        image = nib.Nifti1Image(to_nifti_array(pixels), np.diag([spacing, spacing, 1.0, 1.0]))
        image.header.set_xyzt_units("mm")
        image.header["descrip"] = b"synthetic" if self.provenance.synthetic else b"pseudonymised"
        raw = image.to_bytes()
        # mtime=0 keeps the gzip header, and so the file, the same on every export.
        compressed = gzip.compress(raw, compresslevel=6, mtime=0)
        sidecar = {
            "label": row["label"], "findings": self.positive(row), "patient_id": identity.patient_id,
            "split": row["split"], "synthetic": self.provenance.synthetic,
            "array_layout": "axis 0 = image columns left to right, axis 1 = image rows bottom to top",
            "provenance": self.provenance.image_provenance(row),
        }
        stem = f"images/{row['image_id']}"
        return [(f"{stem}.nii.gz", compressed),
                (f"{stem}.json", (json.dumps(sidecar, indent=2, sort_keys=True) + "\n").encode("utf-8"))]


def read_nifti(data: bytes) -> np.ndarray:
    """Pixels of an exported .nii.gz as displayed (rows, columns), for tests and users."""
    image = nib.Nifti1Image.from_bytes(gzip.decompress(data))
    return from_nifti_array(np.asanyarray(image.dataobj))


