#!/usr/bin/env bash
# `make demo`: the main job of qv, end to end, on this repository's own configuration tree.
# Each step prints the command it runs, so the output reads like a terminal session.
set -euo pipefail
cd "$(dirname "$0")/.."
QV=${QV:-.venv/bin/qv}
export NO_COLOR=${NO_COLOR:-}

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

printf '\ndemo finished: validate, render and explain ran on this repository.\n'
