"""Send exported DICOM files to a PACS: STOW-RS (dicomweb-client) or C-STORE (pynetdicom).

Destinations:
    dicomweb+http://host:port/dicom-web   (or dicomweb+https://...)  STOW-RS in batches
    dimse://AET@host:port                                            C-STORE, calling AE SYNTHGEN

Transient failures (connection refused or reset, timeouts, HTTP 408/429/5xx, DIMSE "out of
resources" 0xA7xx, a refused or aborted association) are retried with exponential backoff
(`backoff` seconds, doubled per attempt, `retries` times); other failures are final. Only
instances the PACS confirmed count as sent. Re-sending is idempotent: UIDs are deterministic
(`uids.py`), so a PACS stores each instance once however often it is sent.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pydicom

from synthgen.errors import SynthgenError

log = logging.getLogger(__name__)

CALLING_AE = "SYNTHGEN"
STOW_BATCH = 16
_DIMSE = re.compile(r"^dimse://([^@/]{1,16})@([^:/]+):(\d{1,5})/?$")
_DICOMWEB = re.compile(r"^dicomweb\+(https?://[^/\s]+(?:/\S*)?)$")
_TRANSIENT_HTTP = {408, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Destination:
    kind: str  # "dicomweb" or "dimse"
    url: str = ""
    ae_title: str = ""
    host: str = ""
    port: int = 0

    def __str__(self) -> str:
        return f"dicomweb+{self.url}" if self.kind == "dicomweb" else f"dimse://{self.ae_title}@{self.host}:{self.port}"


def parse_destination(text: str) -> Destination:
    if match := _DICOMWEB.match(text.strip()):
        return Destination("dicomweb", url=match.group(1).rstrip("/"))
    if match := _DIMSE.match(text.strip()):
        port = int(match.group(3))
        if not 0 < port < 65536:
            raise SynthgenError(f"--to {text}: port {port} is not between 1 and 65535")
        return Destination("dimse", ae_title=match.group(1), host=match.group(2), port=port)
    raise SynthgenError(
        f"--to {text!r} is not a PACS address: use dicomweb+http://HOST:PORT/dicom-web (STOW-RS) "
        "or dimse://AET@HOST:PORT (C-STORE)"
    )


@dataclass
class PushSummary:
    destination: str
    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    attempts: int = 0

    def as_json(self) -> dict:
        return {"destination": self.destination, "sent": sorted(self.sent), "failed": dict(sorted(self.failed.items())),
                "attempts": self.attempts}


class _Transient(Exception):
    """A failure worth retrying (the PACS may be back in a moment)."""


def push(
    files: Sequence[tuple[Path, str]],
    destination: Destination,
    *,
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = 20.0,
    on_sent: Callable[[int], None] | None = None,
) -> PushSummary:
    """Send (file, SOPInstanceUID) pairs; returns who was confirmed sent and why others failed."""
    if retries < 0 or backoff < 0:
        raise SynthgenError(f"--retries ({retries}) and the backoff ({backoff} s) must not be negative")
    send = _stow if destination.kind == "dicomweb" else _c_store
    summary = PushSummary(str(destination))
    pending = list(files)
    for attempt in range(retries + 1):
        summary.attempts = attempt + 1
        try:
            pending = send(pending, destination, summary, timeout, on_sent)
        except _Transient as err:
            last_error = str(err)
            pending = [item for item in pending if item[1] not in summary.sent and item[1] not in summary.failed]
            if attempt < retries:
                wait = backoff * 2**attempt
                log.warning("%s: %s; retrying %d instance(s) in %.1f s", destination, err, len(pending), wait)
                time.sleep(wait)
                continue
            for _, uid in pending:
                summary.failed[uid] = f"{last_error} (after {retries + 1} attempts)"
            pending = []
        if not pending:
            break
    return summary


def _stow(pending, destination, summary, timeout, on_sent):
    import requests
    from dicomweb_client.api import DICOMwebClient

    client = DICOMwebClient(url=destination.url, timeout=timeout)
    client.set_http_retry_params(retry=False)  # our own loop retries, with the whole batch state known
    for start in range(0, len(pending), STOW_BATCH):
        batch = pending[start : start + STOW_BATCH]
        datasets = [pydicom.dcmread(path) for path, _ in batch]
        try:
            response = client.store_instances(datasets)
        except requests.exceptions.HTTPError as err:
            status = err.response.status_code if err.response is not None else 0
            if status in _TRANSIENT_HTTP:
                raise _Transient(f"HTTP {status} from {destination.url}") from None
            for _, uid in batch:
                summary.failed[uid] = f"HTTP {status} from {destination.url}"
            continue
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as err:
            raise _Transient(f"cannot reach {destination.url} ({type(err).__name__})") from None
        stored = {str(item.ReferencedSOPInstanceUID) for item in response.get("ReferencedSOPSequence", [])}
        failures = {str(item.ReferencedSOPInstanceUID): f"STOW-RS failure reason {item.get('FailureReason')}"
                    for item in response.get("FailedSOPSequence", [])}
        for _, uid in batch:
            if uid in stored:
                summary.sent.append(uid)
            else:
                summary.failed[uid] = failures.get(uid, "not confirmed in the STOW-RS response")
        if on_sent is not None:
            on_sent(len(batch))
    return []


def _c_store(pending, destination, summary, timeout, on_sent):
    from pynetdicom import AE

    ae = AE(ae_title=CALLING_AE)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    ae.connection_timeout = min(timeout, 10)
    datasets = [(pydicom.dcmread(path), uid) for path, uid in pending]
    for sop_class, syntax in sorted({(str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID)) for ds, _ in datasets}):
        ae.add_requested_context(sop_class, syntax)
    assoc = ae.associate(destination.host, destination.port, ae_title=destination.ae_title)
    if not assoc.is_established:
        raise _Transient(f"association with {destination} was rejected or the host is unreachable")
    remaining = []
    try:
        for ds, uid in datasets:
            if not assoc.is_established:
                remaining.append((None, uid))
                continue
            status = assoc.send_c_store(ds)
            code = int(status.Status) if "Status" in status else None
            if code is not None and (code == 0 or code & 0xF000 == 0xB000):
                summary.sent.append(uid)
            elif code is None or code & 0xFF00 == 0xA700:
                remaining.append((None, uid))
            else:
                summary.failed[uid] = f"C-STORE status 0x{code:04X}"
            if on_sent is not None:
                on_sent(1)
    finally:
        if assoc.is_established:
            assoc.release()
    if remaining:
        raise _Transient(f"{len(remaining)} instance(s) not stored by {destination} "
                         "(connection lost or out of resources)")
    return []
