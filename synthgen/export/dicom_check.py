"""The export's DICOM check: dciodvfy (dicom3tools) on a spread of exported files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

# dicom3tools' dictionary predates SyntheticData (0008,001C, added to DICOM in 2022) and reports it
# as unrecognised: the one complaint that is not a fault of the file.
_KNOWN_DCIODVFY_COMPLAINTS = ("(0x0008,0x001c)",)


def check_dicom(folder: Path, limit: int) -> dict:
    """dciodvfy on up to `limit` exported files spread over the set: how many have errors."""
    files = sorted((folder / "images").glob("*.dcm"))
    tool = shutil.which("dciodvfy")
    if limit == 0 or not files:
        return {"checked": 0, "failed": 0, "note": "not checked (export.check_dicom is 0)" if not limit else "no files"}
    if tool is None:
        return {"checked": 0, "failed": 0, "note": "not checked: dciodvfy is absent (Debian package dicom3tools)"}
    chosen = [files[round(i * (len(files) - 1) / max(1, limit - 1))] for i in range(min(limit, len(files)))]
    failures = []
    for path in dict.fromkeys(chosen):
        report = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=120, check=False)
        errors = [line for line in (report.stdout + report.stderr).splitlines() if line.startswith("Error")
                  and not any(known in line for known in _KNOWN_DCIODVFY_COMPLAINTS)]
        if errors:
            failures.append(f"{path.name}: {errors[0]}")
    return {"checked": len(dict.fromkeys(chosen)), "failed": len(failures), "first_failures": failures[:3],
            "note": "dciodvfy"}


def dicom_check_text(check: dict | None) -> str:
    if not check:
        return "no DICOM exported"
    if not check["checked"]:
        return check["note"]
    if check["failed"]:
        return f"{check['failed']} of {check['checked']} checked files FAIL dciodvfy (e.g. {check['first_failures'][0]})"
    return f"{check['checked']} of {check['checked']} checked files pass dciodvfy"
