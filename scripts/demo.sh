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

# --- promotion and approvals (SPEC §7, docs/approvals.md): in a throwaway clone, never this checkout
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
repo="$scratch/repo"
git clone -q . "$repo"
# A checkout on a detached HEAD (a CI job's) clones detached: the demo's merge needs a branch.
git -C "$repo" symbolic-ref -q HEAD >/dev/null || git -C "$repo" switch -q -c main
git -C "$repo" config user.email dev@quantivista.example
git -C "$repo" config user.name "a strategy developer"
install -m 600 keys/demo-approvers/rita.risk keys/demo-approvers/colin.compliance "$scratch/"
# Staging's real key is not in this repository: the clone re-encrypts staging's secrets to a
# throwaway DEMO key so that its sync can decrypt them (scripts/demo-staging-key.sh).
bash scripts/demo-staging-key.sh "$QV" "$repo" "$scratch/staging.agekey"
export QV_STORE=sqlite:.qv/staging.db   # staging's own spec.store is a Redis of the platform
stg() { SOPS_AGE_KEY_FILE="$scratch/staging.agekey" $QV -C "$repo" "$@"; }

step "Staging's first deploy: its policy asks approvals of strategy changes, and no approval can name a base yet, so it goes in by break-glass, recorded as such" \
  "sync --env staging --break-glass --reason 'first deploy of staging (demo)'"
stg sync --env staging --break-glass --reason 'first deploy of staging (demo)'

printf '\n== A strategy developer lengthens momentum-eu'"'"'s lookback on dev, and commits\n'
printf '$ git commit -am "momentum-eu: lookback 252 -> 273 days, tried in dev"\n'
printf '    lookback_days: {value: 273}\n' >>"$repo/environments/dev/strategies/momentum-eu.yaml"
git -C "$repo" commit -qam "momentum-eu: lookback 252 -> 273 days, tried in dev"

step "Promote it to staging: the plan, and the overlay edit (dev's sizing stays in dev)" \
  "promote dev staging strategy/momentum-eu --dry-run"
$QV -C "$repo" promote dev staging strategy/momentum-eu --dry-run
step "The same, for real: a branch with one commit, its pull request's body is the diff" \
  "promote dev staging strategy/momentum-eu"
$QV -C "$repo" promote dev staging strategy/momentum-eu
main=$(git -C "$repo" symbolic-ref --short HEAD)   # the clone's default branch
branch=$(git -C "$repo" for-each-ref --format='%(refname:short)' 'refs/heads/qv/promote/')
printf '$ git switch %s\n' "$branch"
git -C "$repo" switch -q "$branch"

step "CI's required check on the pull request: the approvals staging still needs (exit 1)" \
  "approvals --env staging   # base: the revision deployed in staging"
stg approvals --env staging || true
step "Risk and compliance approve with their (DEMO) SSH keys: signed, stored under refs/qv/approvals/" \
  "approve --env staging --key rita.risk   # and colin.compliance"
stg approve --env staging --key "$scratch/rita.risk"
stg approve --env staging --key "$scratch/colin.compliance"
step "Now met: every rule, who approved, with which key" "approvals --env staging"
stg approvals --env staging

printf '\n== Merge the up-to-date pull request (a fast-forward: what was approved is what lands)\n'
printf '$ git switch %s && git merge --ff-only %s\n' "$main" "$branch"
git -C "$repo" switch -q "$main"
git -C "$repo" merge -q --ff-only "$branch"
step "Deploy staging through the gate: the approvals are verified again, the approvers recorded" \
  "sync --env staging"
stg sync --env staging
step "Staging's audit log: the break-glass first deploy, then the approved promotion" \
  "history --env staging"
stg history --env staging


unset QV_STORE   # the serve below reads dev's own store, synced at the start

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

printf '\ndemo finished: validate, render, explain, diff, sync, drift, heal, history, promote, approvals,\nthe gated sync and qv serve ran on this repository.\n'
