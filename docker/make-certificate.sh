#!/bin/bash
# Makes sure the TLS proxy has a certificate: when CERT_DIR holds no
# server.crt / server.key pair, a self-signed one is generated for
# PROXY_HOSTNAME (plus localhost and 127.0.0.1). An existing pair (your own
# certificate) is never touched.
set -euo pipefail

dir="${CERT_DIR:-/certs}"
name="${PROXY_HOSTNAME:-localhost}"
crt="$dir/server.crt"
key="$dir/server.key"

if [ -s "$crt" ] && [ -s "$key" ]; then
    echo "TLS certificate present in $dir: kept"
    exit 0
fi
if [ -e "$crt" ] || [ -e "$key" ]; then
    echo "error: $dir holds only one of server.crt and server.key (or an empty one):" \
         "provide both, or remove what is there to get a new self-signed pair." >&2
    exit 1
fi

san="DNS:localhost,IP:127.0.0.1"
if [ "$name" != localhost ]; then
    case "$name" in
        *[!0-9.]*) san="DNS:$name,$san" ;;
        *) san="IP:$name,$san" ;;
    esac
fi

tmp="$(mktemp -d "$dir/.new-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey rsa:3072 -sha256 -nodes -days 825 \
    -subj "/CN=$name" -addext "subjectAltName=$san" \
    -keyout "$tmp/server.key" -out "$tmp/server.crt" 2>/dev/null
chmod 0600 "$tmp/server.key"
chmod 0644 "$tmp/server.crt"
mv "$tmp/server.key" "$key"
mv "$tmp/server.crt" "$crt"
echo "self-signed TLS certificate for $name ($san) written to $dir"
