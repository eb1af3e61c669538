"""Export: image sets as DICOM (marked synthetic, labelled, with provenance), NIfTI, PNG or a MONAI
datalist, and PACS push (STOW-RS / C-STORE). `export()` in `api.py` is the entry point;
`dicom_check.py` runs dciodvfy (dicom3tools) on exported files for `synthgen run`'s summary."""

from synthgen.export.api import FORMATS, ExportResult, export

__all__ = ["FORMATS", "ExportResult", "export"]
