#!/usr/bin/env bash
# `make demo` helper, for a THROWAWAY CLONE only: staging's secrets are encrypted to a key that
# is not in this repository, so the demo re-encrypts them to a new DEMO key (DEMO values, not
# staging's) and commits that as the set-up of the clone. Usage: QV REPO KEYFILE
set -euo pipefail
QV=$1 repo=$2 keyfile=$3
case $QV in */*) QV="$(cd "$(dirname "$QV")" && pwd)/$(basename "$QV")" ;; esac
recipient=$($QV secrets keygen --out "$keyfile" --comment "DEMO KEY: throwaway staging key of make demo")
cd "$repo"
mapfile -t files < <(grep -rl '^sops:' environments/staging)
# The sops block goes and each ciphertext becomes a DEMO value; `qv secrets encrypt` then
# encrypts those fields for the demo key that .sops.yaml names for staging in this clone.
python3 - "${files[@]}" <<'PY'
import re, sys
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = text[: re.search(r"^sops:", text, re.M).start()]
    with open(path, "w", encoding="utf-8") as f:
        f.write(re.sub(r"ENC\[[^\]]*\]", "demo-staging-secret", text))
PY
old=$(awk '/path_regex: \^environments\/staging/{f=1} f && /age:/{print $2; exit}' .sops.yaml)
sed -i.bak "s/$old/$recipient/" .sops.yaml && rm -f .sops.yaml.bak
$QV secrets encrypt "${files[@]}" >/dev/null
git -c user.email=platform@quantivista.example -c user.name="demo set-up" commit -qam \
  "demo set-up: staging's secrets re-encrypted to a throwaway DEMO key"
