#!/bin/sh
# Makes the example overlay's TLS material with openssl: a CA, TokenService's
# server certificate and the sidecars' client certificate, written where
# the secretGenerators read them (both directories are git-ignored):
#
#   secrets/ca.key, secrets/ca.pem    the CA; keep ca.key offline in a
#                                      real deployment (it is in no Secret)
#   secrets/sidecar.pem, .key         client certificate (clientAuth)
#   tokenservice/secrets/tokenservice.pem, .key
#                                      server certificate for the Service's
#                                      DNS names in NAMESPACE
#   tokenservice/secrets/ca.pem       a copy of the CA certificate
#
# Usage: ./make-certs.sh [NAMESPACE [DAYS]]   (defaults: warden, 365)
#
# An existing CA is reused, so running the script again renews the server
# and client certificates under the same CA: sidecars and TokenService keep
# trusting each other while the new Secrets roll out. Delete secrets/ca.*
# to start a new CA. Use your own PKI (cert-manager, Vault) for production;
# the file names above are all the overlay needs.
set -eu

namespace=${1:-warden}
days=${2:-365}
here=$(cd "$(dirname "$0")" && pwd)
secrets=$here/secrets
server_dir=$here/tokenservice/secrets
umask 077
mkdir -p "$secrets" "$server_dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ ! -f "$secrets/ca.key" ] || [ ! -f "$secrets/ca.pem" ]; then
  openssl req -x509 -newkey rsa:3072 -nodes -sha256 -days 3650 \
    -subj "/CN=warden example CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$secrets/ca.key" -out "$secrets/ca.pem" 2>/dev/null
  echo "made a new CA: $secrets/ca.pem"
fi

# sign NAME CN EXTENSIONS OUT_PEM OUT_KEY
sign() {
  openssl req -newkey rsa:3072 -nodes -sha256 -subj "/CN=$2" \
    -keyout "$work/$1.key" -out "$work/$1.csr" 2>/dev/null
  printf '%s\n' "$3" > "$work/$1.ext"
  openssl x509 -req -sha256 -days "$days" -in "$work/$1.csr" \
    -CA "$secrets/ca.pem" -CAkey "$secrets/ca.key" -CAcreateserial \
    -CAserial "$work/ca.srl" -extfile "$work/$1.ext" \
    -out "$work/$1.pem" 2>/dev/null
  # Replace both files only once both exist, key first: a reader never
  # sees a certificate without its key.
  mv "$work/$1.key" "$5"
  mv "$work/$1.pem" "$4"
}

# Every name a client may dial: the Service (sidecars use "tokenservice"),
# the StatefulSet pod behind the headless Service, and loopback for
# port-forwarding.
service=tokenservice
headless=tokenservice-headless
sign tokenservice "$service.$namespace.svc" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:$service,DNS:$service.$namespace,DNS:$service.$namespace.svc,DNS:$service.$namespace.svc.cluster.local,DNS:tokenservice-0.$headless,DNS:tokenservice-0.$headless.$namespace.svc,DNS:tokenservice-0.$headless.$namespace.svc.cluster.local,DNS:localhost,IP:127.0.0.1" \
  "$server_dir/tokenservice.pem" "$server_dir/tokenservice.key"
sign sidecar "authz-sidecar.$namespace" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth" \
  "$secrets/sidecar.pem" "$secrets/sidecar.key"
cp "$secrets/ca.pem" "$server_dir/ca.pem"
echo "wrote $server_dir/tokenservice.pem, $secrets/sidecar.pem (valid $days days)"
