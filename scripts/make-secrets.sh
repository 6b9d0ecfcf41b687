#!/usr/bin/env bash
# Makes the credential files docker-compose mounts (docs/deploy.md, "Credentials"), and never replaces
# one that exists, so running it again is safe:
#   internal-token       one internal service token (openssl rand -hex 32)   all six services
#   ml-signing-key.pem   Ed25519 private key, PKCS#8 PEM                     ml-trainer only
#   ml-verify-keys.pem   its public key, SPKI PEM                            ml-predictor only
#
#   bash scripts/make-secrets.sh [directory]     (default: secrets/ at the repository root)
#
# The same files fill the Kubernetes Secrets (`kubectl create secret generic ... --from-file=...`,
# docs/deploy.md). Modes: the directory is 0700, so no other user of this machine reaches the files;
# the files are 0644 because docker-compose bind-mounts them as they are (it cannot change their owner
# or mode) into containers running as uid 1000, which need not be the uid that owns them here.
# Needs OpenSSL 1.1.1 or later (Ed25519).
set -euo pipefail
umask 077

dir="${1:-$(cd "$(dirname "$0")/.." && pwd)/secrets}"
token="$dir/internal-token"
signing="$dir/ml-signing-key.pem"
verify="$dir/ml-verify-keys.pem"

fail() { echo "make-secrets: $*" >&2; exit 1; }

command -v openssl > /dev/null || fail "openssl is not installed"
# A new signing key would not match the public key(s) already there: predictors would refuse its models.
if [ -e "$verify" ] && [ ! -e "$signing" ]; then
  fail "$verify exists but $signing does not, and a new signing key would not match it: restore the private key, or remove $verify to make a new pair"
fi
mkdir -p "$dir"
chmod 700 "$dir"

# create FILE WHAT COMMAND...: COMMAND's output becomes FILE (written beside it, then moved in place,
# so a failed command leaves nothing behind), unless FILE exists.
create() {
  local file="$1" what="$2"
  shift 2
  if [ -e "$file" ]; then
    echo "kept  $file ($what)"
    return
  fi
  local tmp="$file.tmp.$$"
  if ! "$@" > "$tmp"; then
    rm -f "$tmp"
    fail "could not make the $what with: $*"
  fi
  chmod 644 "$tmp"
  mv "$tmp" "$file"
  echo "wrote $file ($what)"
}

create "$token" "internal service token" openssl rand -hex 32
create "$signing" "ML signing key (Ed25519 private)" openssl genpkey -algorithm ed25519
create "$verify" "ML verify key (Ed25519 public)" openssl pkey -in "$signing" -pubout
