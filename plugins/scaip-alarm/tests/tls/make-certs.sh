#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Makes the TLS material of the scaip-alarm tests (committed; for tests only, never for a
# deployment): a throwaway CA and, in Sofia-SIP's layout (a directory with agent.pem, the
# certificate and its key, and cafile.pem, the CAs it trusts):
#   arc/       the simulated ARC, named 127.0.0.1 (Sofia-SIP compares the host of the
#              URI with the DNS names and the CN, not IP addresses; its resolver does not
#              read /etc/hosts, so "localhost" would not resolve)
#   mismatch/  an ARC whose certificate, from the same CA, names arc.example.invalid
#   gateway/   the plugin: trusts the CA; its own certificate answers the ARC's connections
# Valid for 100 years, so the tests do not expire. Run from anywhere; needs openssl.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/ca.key" -out "$work/ca.pem" \
  -days 36500 -subj "/CN=hemgate test ARC CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"

# make DIR COMMON-NAME SUBJECT-ALT-NAMES
make() {
  mkdir -p "$1"
  openssl req -newkey rsa:2048 -nodes -keyout "$work/$1.key" -out "$work/$1.csr" -subj "/CN=$2"
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n' \
    "$3" > "$work/$1.ext"
  openssl x509 -req -in "$work/$1.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
    -CAcreateserial -out "$work/$1.pem" -days 36500 -extfile "$work/$1.ext"
  cat "$work/$1.pem" "$work/$1.key" > "$1/agent.pem"
  cp "$work/ca.pem" "$1/cafile.pem"
}

make arc 127.0.0.1 "IP:127.0.0.1"
make mismatch arc.example.invalid "DNS:arc.example.invalid"
make gateway hemgate-gateway "DNS:hemgate-gateway"
