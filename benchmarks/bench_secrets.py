"""Benchmark: decrypting 200 SOPS-encrypted documents (target: well under the 2 s render budget).

Usage: .venv/bin/python benchmarks/bench_secrets.py [--files 200] [--no-render]

Builds 200 Config documents with secret fields, encrypts each with the real sops (setup, not
timed), then times ``decrypt_documents`` (in-process, MAC-checked) cold and warm, and for
reference the same files through one ``sops decrypt`` process each.

Then the end-to-end budget of SPEC §8: ``qv render --env dev --decrypt`` of a project (the
``qv init`` starter) whose dev environment holds the 200 encrypted Config documents, run as a
subprocess (interpreter start-up, load, decrypt, render, JSON out), cold (no parse cache) and
warm. Budget: 2 s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from qv_config.secrets import KeyRing, decrypt_documents, generate_identity, key_file_text
from qv_config.secrets.binary import run_sops

DOC = """\
apiVersion: qv/v1
kind: Config
metadata: {{name: svc-{i}, owner: team-{i}}}
spec:
  db: {{host: pg-{i}.internal, port: 5432, password: pw-{i}, pool: {{min: 2, max: 20}}}}
  brokers:
{brokers}
  timeouts: {{connect_ms: 500, read_ms: 2000, ratio: 0.75}}
  features: [a, b, c, d]
"""


def _write(folder: Path, count: int, recipient: str) -> list[Path]:
    paths = []
    for i in range(count):
        brokers = "\n".join(
            f"    - {{name: b{j}, api_key: key-{i}-{j}, weight: {j}}}" for j in range(8)
        )
        path = folder / f"svc-{i}.yaml"
        path.write_text(DOC.format(i=i, brokers=brokers))
        paths.append(path)
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda p: _encrypt(p, recipient), paths))
    return paths


def _encrypt(path: Path, recipient: str) -> None:
    args = ["encrypt", "-i", "--age", recipient, "--encrypted-regex", "^(password|api_key)$"]
    done = run_sops([*args, path.name], cwd=path.parent)
    assert done.returncode == 0, done.stderr


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--no-sops-reference", action="store_true")
    parser.add_argument("--no-render", action="store_true")
    count = parser.parse_args().files
    with tempfile.TemporaryDirectory(prefix="qv-bench-secrets-") as tmp:
        folder = Path(tmp)
        identity = generate_identity()
        key_file = folder / "k.agekey"
        key_file.write_text(key_file_text(identity))
        paths = _write(folder, count, identity.recipient)
        start = time.perf_counter()
        decrypt_documents(paths[:1], key_file)  # imports (yaml loader, cryptography): once per run
        imports = time.perf_counter() - start
        start = time.perf_counter()
        out = decrypt_documents(paths, key_file)
        cold = time.perf_counter() - start
        ring = KeyRing.from_file(key_file)
        decrypt_documents(paths, ring=ring)
        start = time.perf_counter()
        decrypt_documents(paths, ring=ring)
        warm = time.perf_counter() - start
        assert out[str(paths[-1])]["spec"]["db"]["password"] == f"pw-{count - 1}"
        print(f"first call (imports): {imports:.3f} s")
        print(
            f"decrypt_documents, {count} files, in-process: {cold:.3f} s cold, "
            f"{warm:.3f} s with data keys cached"
        )
        if not parser.parse_args().no_sops_reference:
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=2) as pool:
                list(
                    pool.map(
                        lambda p: run_sops(["decrypt", p.name], cwd=folder, key_file=key_file),
                        paths,
                    )
                )
            print(
                f"reference: one sops process per file, 2 threads: "
                f"{time.perf_counter() - start:.3f} s"
            )
        if not parser.parse_args().no_render:
            bench_render(folder, count, key_file, identity.recipient)


def _project(folder: Path, count: int, recipient: str) -> Path:
    from qv_config.scaffold import write_starter

    root = folder / "proj"
    write_starter(root)
    (root / ".sops.yaml").write_text(
        f"creation_rules:\n  - path_regex: ^environments/dev/.*\n    age: {recipient}\n"
    )
    configs = root / "environments" / "dev" / "configs"
    _write(configs, count, recipient)
    return root


def bench_render(folder: Path, count: int, key_file: Path, recipient: str) -> None:
    import os
    import subprocess
    import sys

    root = _project(folder, count, recipient)
    qv = str(Path(sys.executable).parent / "qv")
    env = dict(os.environ, SOPS_AGE_KEY_FILE=str(key_file), NO_COLOR="1")
    args = [qv, "render", "--env", "dev", "--decrypt", "--format", "json"]
    times = []
    for _ in range(3):  # cold (no .qv/cache), then warm
        start = time.perf_counter()
        done = subprocess.run(args, cwd=root, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        assert done.returncode == 0, done.stderr.decode()
        assert f"pw-{count - 1}".encode() in done.stdout
    print(
        f"qv render --env dev --decrypt ({count} encrypted files, end to end): "
        f"{times[0]:.3f} s cold, {min(times[1:]):.3f} s warm (budget 2 s)"
    )


if __name__ == "__main__":
    main()
