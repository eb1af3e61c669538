"""PACS push against a real Orthanc on loopback (STOW-RS and C-STORE), verified through QIDO-RS/WADO-RS."""

from __future__ import annotations

import csv
import json
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
from dicomweb_client.api import DICOMwebClient

from synthgen.export.pacs import parse_destination, push
from tests.fixtures.cli import run_cli
from tests.fixtures.export import MODEL_SHA, phantom_set, synthetic_set


ORTHANC = "/usr/sbin/Orthanc"
PLUGIN_CANDIDATES = ("/usr/share/orthanc/plugins/libOrthancDicomWeb.so", "/usr/lib/orthanc/libOrthancDicomWeb.so")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _plugin() -> str | None:
    found = [p for p in PLUGIN_CANDIDATES if Path(p).exists()]
    found += sorted(str(p) for p in Path("/usr/lib/orthanc").glob("libOrthancDicomWeb.so*"))
    return found[0] if found else None


@pytest.fixture
def orthanc(tmp_path):
    binary = shutil.which("Orthanc") or (ORTHANC if Path(ORTHANC).exists() else None)
    if binary is None:
        pytest.skip("Orthanc is absent: install the Debian package orthanc")
    plugin = _plugin()
    if plugin is None:
        pytest.skip("the Orthanc DICOMweb plugin is absent: install the Debian package orthanc-dicomweb")
    http_port, dicom_port = _free_port(), _free_port()
    storage = tmp_path / "orthanc-db"
    storage.mkdir()
    config = {
        "Name": "synthgen-test", "StorageDirectory": str(storage), "IndexDirectory": str(storage),
        "HttpPort": http_port, "DicomPort": dicom_port, "DicomAet": "ORTHANC", "DicomCheckCalledAet": False,
        "RemoteAccessAllowed": False, "AuthenticationEnabled": False,
        "Plugins": [plugin], "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
    }
    config_path = tmp_path / "orthanc.json"
    config_path.write_text(json.dumps(config))
    log = (tmp_path / "orthanc.log").open("w")
    process = subprocess.Popen([binary, str(config_path)], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{http_port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/system", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Orthanc did not start: {(tmp_path / 'orthanc.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield {"web": f"{base}/dicom-web", "dimse": f"dimse://ORTHANC@127.0.0.1:{dicom_port}", "base": base}
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_export_pushes_both_ways_and_pacs_holds_labels_and_provenance(tmp_path, capsys, orthanc):
    synthetic = synthetic_set(tmp_path / "synth", phantom_set(tmp_path / "train", n=8))
    out = tmp_path / "out"
    code, stdout, err = run_cli(["export", synthetic.root, "--out", out, "--to", f"dicomweb+{orthanc['web']}"], capsys)
    assert code == 0, err
    with (out / "manifest.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    uids = {row["SOPInstanceUID"] for row in rows}
    log = json.loads((out / "pacs-push.json").read_text())
    assert set(log["sent"]) == uids and log["failed"] == {}
    files = [(out / row["path"], row["SOPInstanceUID"]) for row in rows]
    by_dimse = push(files, parse_destination(orthanc["dimse"]), retries=0)  # the same instances again
    assert sorted(by_dimse.sent) == sorted(uids) and not by_dimse.failed
    again = push(files[:3], parse_destination(f"dicomweb+{orthanc['web']}"), retries=0)
    assert len(again.sent) == 3 and not again.failed

    client = DICOMwebClient(orthanc["web"])
    found = client.search_for_instances(fields=["00204000", "00082111", "00080008", "00100020"])
    by_uid = {item["00080018"]["Value"][0]: item for item in found}
    assert set(by_uid) == uids  # every instance arrived once, re-sending stored no copies
    for row in rows:
        item = by_uid[row["SOPInstanceUID"]]
        assert item["00204000"]["Value"][0].startswith(f"label={row['label']};")
        assert MODEL_SHA in item["00082111"]["Value"][0]
        assert item["00100020"]["Value"][0] == row["patient_id"]
        assert item["00080008"]["Value"] == ["DERIVED", "PRIMARY"]
    row = rows[0]
    metadata = client.retrieve_instance_metadata(row["StudyInstanceUID"], row["SeriesInstanceUID"],
                                                 row["SOPInstanceUID"])
    assert metadata["0008001C"]["Value"] == ["YES"]
    context = metadata["00400555"]["Value"]
    assert context[0]["0040A043"]["Value"][0]["00080104"]["Value"] == ["Impression"]
    assert context[0]["0040A168"]["Value"][0]["00080104"]["Value"][0]  # the class code's meaning
    assert MODEL_SHA in json.dumps(metadata)  # the private provenance element survived
