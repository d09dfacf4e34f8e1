#!/usr/bin/env bash
# `make demo`: the main job of qv, end to end, on this repository's own configuration tree.
# Each step prints the command it runs, so the output reads like a terminal session.
set -euo pipefail
cd "$(dirname "$0")/.."
QV=${QV:-.venv/bin/qv}
PY=${PY:-.venv/bin/python}
export NO_COLOR=${NO_COLOR:-}

# The store is read and edited as any SQLite client would, through Python's own sqlite3 module:
# a fresh machine need not have the sqlite3 command-line tool.
store_sql() {
  "$PY" -c 'import sqlite3, sys
with sqlite3.connect(".qv/state.db") as db:
    for row in db.execute(sys.argv[1]):
        print(*row, sep="|")' "$1"
}

step() {
  printf '\n== %s\n$ qv %s\n' "$1" "$2"
}

step "Validate every environment (YAML, inheritance, schemas, business rules)" "validate"
$QV validate

step "Render prod's effective strategies (templates, base documents and prod overlays merged)" \
  "render --env prod 'strategy/*'"
$QV render --env prod 'strategy/*'

step "Explain where prod's order-notional limit of momentum-eu comes from (last layer wins)" \
  "render --env prod --explain strategy/momentum-eu:spec.limits.max_order_notional"
$QV render --env prod --explain strategy/momentum-eu:spec.limits.max_order_notional

step "The same document as JSON, as a service would read it" \
  "render --env dev strategy/momentum-eu --format json"
$QV render --env dev strategy/momentum-eu --format json

step "What would promoting staging to prod change? Risk limits loosened are listed first" \
  "diff staging prod"
$QV diff staging prod

# --- secrets (SPEC §8): the sync decrypts dev's SOPS secrets with its own key --------------------
step "Sync dev into the embedded store, decrypting its secrets with the DEMO dev key" \
  "sync --env dev   # with SOPS_AGE_KEY_FILE=keys/demo-dev.agekey"
SOPS_AGE_KEY_FILE=keys/demo-dev.agekey $QV sync --env dev

printf '\n== Read one decrypted secret back from the store, as a service would\n'
READ="SELECT json_extract(value, '\$.spec.database.password') FROM kv WHERE key = 'qv/dev/config/order-management'"
printf '$ sqlite3 .qv/state.db "%s"   # here through Python'"'"'s sqlite3 module\n' "$READ"
store_sql "$READ"
printf '\nsecrets: the repository holds only ciphertext; the store holds what services read.\n'

# --- drift and heal (SPEC §6): an edit behind qv's back, caught and mended -----------------------
# (`qv drift` exits 1 when it finds drift: that is its job, so the demo does not stop on it.)
export SOPS_AGE_KEY_FILE=${SOPS_AGE_KEY_FILE:-keys/demo-dev.agekey}
printf '\n== Someone edits a risk limit directly in the store, behind qv'"'"'s back\n'
EDIT="UPDATE kv SET value = json_set(value, '\$.spec.throttles.max_order_notional', 999999999) WHERE key = 'qv/dev/config/order-management'"
printf '$ sqlite3 .qv/state.db "%s"\n' "$EDIT"
store_sql "$EDIT"

step "Drift: the store no longer matches the deployed revision (exit 1 expected)" "drift --env dev"
set +e
$QV drift --env dev
drift_exit=$?
set -e
printf '(qv drift exited %s)\n' "$drift_exit"

step "Mend it: sync with --heal restores keys edited outside qv (plain sync writes nothing when the digest is unchanged)" \
  "sync --env dev --heal"
$QV sync --env dev --heal

step "Drift again: clean" "drift --env dev"
$QV drift --env dev

step "The audit log of dev: every apply, heal and refusal" "history --env dev"
$QV history --env dev

# --- approvals (SPEC §7, docs/approvals.md): in a scratch clone, never this checkout ------------
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
git clone -q . "$scratch/repo"
install -m 600 keys/demo-approvers/rita.risk keys/demo-approvers/colin.compliance "$scratch/"
sed -i.bak 's/max_order_notional: 1000000/max_order_notional: 1200000/' \
  "$scratch/repo/environments/prod/strategies/momentum-eu.yaml"
git -C "$scratch/repo" -c user.email=dev@quantivista.example -c user.name=dev commit -q -am \
  "loosen momentum-eu's order notional in prod"
step "A change loosens a prod risk limit: the policy at its base asks for approvals (exit 1)" \
  "approvals --env prod --base HEAD~1"
$QV -C "$scratch/repo" approvals --env prod --base HEAD~1 || true
step "Risk and compliance approve with their (DEMO) SSH keys: signed, stored under refs/qv/approvals/" \
  "approve --env prod --base HEAD~1 --key rita.risk   # and colin.compliance"
$QV -C "$scratch/repo" approve --env prod --base HEAD~1 --key "$scratch/rita.risk"
$QV -C "$scratch/repo" approve --env prod --base HEAD~1 --key "$scratch/colin.compliance"
step "Now met: every rule, who approved, with which key" "approvals --env prod --base HEAD~1"
$QV -C "$scratch/repo" approvals --env prod --base HEAD~1

printf '\ndemo finished: validate, render, explain, diff, sync, drift, heal, history and approvals ran on this repository.\n'

# --- qv serve (docs/serve.md): read a document and evaluate a flag over HTTP with curl ---------
port=$("$(dirname "$QV")/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
step "Serve dev read-only over HTTP (loopback only: no --tokens), from the store synced above" \
  "serve --env dev --port $port &"
$QV serve --env dev --port "$port" --no-access-log &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null || true; rm -rf "$scratch"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
printf '\n$ curl -s http://127.0.0.1:%s/v1/dev/config/order-management   # secret fields masked\n' "$port"
curl -sf "http://127.0.0.1:$port/v1/dev/config/order-management" | head -c 400; echo ' …'
printf '\n$ curl -s -X POST http://127.0.0.1:%s/ofrep/v1/evaluate/flags/market-data-v2 -d ...\n' "$port"
curl -sf -X POST -H 'content-type: application/json' \
  -d '{"context": {"targetingKey": "trader-7", "desk": "eu-eq", "instrumentId": "AAPL"}}' \
  "http://127.0.0.1:$port/ofrep/v1/evaluate/flags/market-data-v2"
echo
kill "$serve_pid"
wait "$serve_pid" 2>/dev/null || true
printf '\nqv serve answered: a document (ETag, secrets masked) and an OFREP flag evaluation.\n'
