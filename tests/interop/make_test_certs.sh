#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# make_test_certs.sh DIR: certificates for the gRPC TLS tests, made fresh in DIR:
#   ca.pem/ca.key          the test CA
#   server.pem/server.key  signed by it, for localhost and 127.0.0.1 (serverAuth)
#   client.pem/client.key  signed by it (clientAuth), for mutual TLS
#   other-ca.pem, other-server.pem/.key   a second CA and a server certificate of it
#   (what a client trusting only ca.pem must refuse)
set -euo pipefail
cd "$1"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
ca() {
	key "$1"
	openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 2 -subj "/CN=ttrpc test $1" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
leaf() { # name ca extensions
	key "$1"
	openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$1"
	printf '%b\n' "$3" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 \
		-extfile "$1.ext" -out "$1.pem" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}
server_ext='subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature'
ca ca
ca other-ca
leaf server ca "$server_ext"
leaf client ca 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature'
leaf other-server other-ca "$server_ext"
