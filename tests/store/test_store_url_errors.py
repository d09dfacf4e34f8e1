"""A malformed store URL is a usage error whose message never holds the URL's password (it is
echoed to terminals and, from QV_STORE, to CI logs), whatever part of it is malformed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tests.qvbin import QV

from qv_config.errors import UsageError
from qv_config.store.url import parse_store_url, shown

SECRET = "s3cr3t-Pa55"
BAD = [
    f"redis://:{SECRET}@127.0.0.1:99999/0",  # port out of range
    f"redis://:{SECRET}@127.0.0.1:1/x",  # database not a number
    f"rediss://:{SECRET}@127.0.0.1:1/0?bogus=1",  # unknown parameter
    f"redis://:{SECRET}@127.0.0.1:1/0?prefix=",  # empty prefix
    f"etcd://root:{SECRET}@127.0.0.1:abc",  # port not a number
    f"redis://:pa[ss{SECRET}@127.0.0.1:1/0",  # '[' made urlsplit raise ValueError
    f"redis://:{SECRET}@[::1:1/0",  # an IPv6 bracket never closed
]


@pytest.mark.parametrize("url", BAD)
def test_parsing_says_what_is_wrong_without_the_password(url: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_store_url(url, Path("/"))
    assert "is malformed" in str(caught.value)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("url", BAD[:1] + BAD[-2:])
def test_the_cli_says_it_without_the_password(url: str, tmp_path: Path) -> None:
    (tmp_path / "qv.yaml").write_text(
        "apiVersion: qv/v1\nkind: Project\nspec:\n  environments: [dev]\n"
    )
    done = subprocess.run(
        [QV, "-C", str(tmp_path), "history", "--env", "dev", "--store", url],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "is malformed" in done.stderr
    assert SECRET not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_shown_hides_credentials_only() -> None:
    assert shown("redis://:pw@h:1/0?prefix=a@b") == "redis://***@h:1/0?prefix=a@b"
    assert shown("etcd://u:p@w@h:2") == "etcd://***@h:2"
    assert shown("redis://h:1/0") == "redis://h:1/0"
    assert shown("sqlite:.qv/state.db") == "sqlite:.qv/state.db"
