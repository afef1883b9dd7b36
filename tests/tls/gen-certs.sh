#!/usr/bin/env bash
# Makes throwaway certificates for the TLS tests in directory $1:
#   ca.pem/ca.key            a test CA
#   server.pem/.key          localhost, 127.0.0.1 and ::1, signed by the CA
#   expired.pem/.key         the same names, validity ended in 2020
#   future.pem/.key          the same names, valid only from 2040
#   otherhost.pem/.key       other.invalid only, signed by the CA
#   clientauth.pem/.key      the same names, but only for TLS clients (EKU)
#   self.pem/.key            self-signed, localhost and 127.0.0.1
#   client.pem/.key          a client certificate signed by the CA
#   rogue-ca.pem, rogue-client.pem/.key   a client from another CA
set -euo pipefail
out=${1:?usage: gen-certs.sh DIR}
mkdir -p "$out"
cd "$out"

cat >ca.cnf <<'CNF'
[ca]
default_ca = ca_default
[ca_default]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[any]
commonName = supplied
CNF
: >index.txt
echo 1000 >serial

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() { # ca NAME KEY
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 3 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}
sign() { # sign NAME CA SAN START END [EKU]
  local name=$1 ca=$2 san=$3 start=$4 end=$5 eku=${6:-serverAuth}
  key "$name.key"
  openssl req -new -key "$name.key" -out "$name.csr" -subj "/CN=$name" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=%s\n%s' "$eku" \
    "${san:+subjectAltName=$san}" >"$name.ext"
  openssl ca -batch -config ca.cnf -cert "$ca.pem" -keyfile "$ca.key" \
    -in "$name.csr" -out "$name.pem" -startdate "$start" -enddate "$end" \
    -extfile "$name.ext" -notext 2>/dev/null
}

now=$(date -u -d '-1 hour' +%Y%m%d%H%M%SZ)
later=$(date -u -d '+2 days' +%Y%m%d%H%M%SZ)
names="DNS:localhost,IP:127.0.0.1,IP:::1"

ca ca "wsprobe test CA"
sign server ca "$names" "$now" "$later"
sign expired ca "$names" 20200101000000Z 20200102000000Z
sign future ca "$names" 20400101000000Z 20400102000000Z
sign otherhost ca "DNS:other.invalid" "$now" "$later"
sign clientauth ca "$names" "$now" "$later" clientAuth
sign client ca "" "$now" "$later" clientAuth
ca rogue-ca "another CA"
sign rogue-client rogue-ca "" "$now" "$later" clientAuth
key self.key
openssl req -x509 -new -key self.key -out self.pem -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
rm -f ./*.csr ./*.ext
