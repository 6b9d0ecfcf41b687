#!/usr/bin/env bash
# Generates TypeScript from proto/**/*.proto with ts-proto into libs/proto/src/gen (run by
# `npm run proto:gen`). Offline: buf and the ts-proto plugin come from node_modules. The output is
# committed and never edited by hand; libs/proto/src/gen.int.spec.ts fails when it drifts from the protos.
#
#   scripts/proto-gen.sh            regenerate into libs/proto/src/gen
#   scripts/proto-gen.sh <dir>      generate into <dir>/libs/proto/src/gen instead (drift check)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out_base="${1:-.}"
export PATH="$root/node_modules/.bin:$PATH"
buf lint proto
buf generate proto --template proto/buf.gen.yaml -o "$out_base"
