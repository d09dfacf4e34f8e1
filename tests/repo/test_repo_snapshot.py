"""Snapshot loading: classification of files and SOPS metadata kept aside."""

from __future__ import annotations

from pathlib import Path

from qv_config.repo import WorkTreeSource, load_snapshot
from qv_config.scaffold import write_starter


def test_sops_block_is_kept_aside_and_ciphertext_stays(tmp_path: Path) -> None:
    write_starter(tmp_path)
    doc = tmp_path / "environments" / "dev" / "configs" / "extra.yaml"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(
        "apiVersion: qv/v1\nkind: Config\nmetadata: {name: extra}\n"
        "spec: {password: 'ENC[AES256_GCM,data:abc=,iv:x=,tag:y=,type:str]'}\n"
        "sops: {mac: 'ENC[AES256_GCM,data:m=,iv:i=,tag:t=,type:str]', version: 3.11.0}\n"
    )
    snapshot = load_snapshot(WorkTreeSource(tmp_path))
    loaded = snapshot.environments["dev"].documents["environments/dev/configs/extra.yaml"]
    assert "sops" not in loaded.data
    assert loaded.data["spec"]["password"].startswith("ENC[AES256_GCM")
    assert snapshot.encrypted["environments/dev/configs/extra.yaml"]["sops"]["version"] == "3.11.0"


def test_unknown_environment_folder_is_reported(tmp_path: Path) -> None:
    write_starter(tmp_path)
    (tmp_path / "environments" / "qa").mkdir()
    (tmp_path / "environments" / "qa" / "environment.yaml").write_text("kind: Environment\n")
    snapshot = load_snapshot(WorkTreeSource(tmp_path))
    assert [f.code for f in snapshot.findings if f.env == "qa"] == ["QV204"]
