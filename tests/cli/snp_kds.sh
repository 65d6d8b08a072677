#!/bin/sh
# tether verify fetching a missing SNP VCEK from a KDS mirror on 127.0.0.1 (TETHER_KDS_URL),
# caching it, and then working from the cache with the mirror gone. The mirror also serves a
# CRL (generated here, from an unrelated test issuer: AMD's ARK-signed CRL cannot be made), so
# the CRL fetch and its cache are exercised; with --kds-cache a CRL that cannot be obtained
# fails closed (evidence_crl_unavailable, docs/snp.md). Loopback only.
cd "$(dirname "$0")/../.." || exit 1
. tests/cli/lib.sh
V=${TETHER_VECTORS:-../shared/vectors}/snp/go-sev-guest
echo "1..7"
if [ ! -f "$V/milan_v2_report.bin" ] || ! command -v python3 >/dev/null 2>&1; then
    t_skip "vectors or python3 not available" 7
    exit 0
fi
T=$(mktemp -d /tmp/tether-kds-XXXXXX)
trap 'kill $SRV 2>/dev/null; rm -rf "$T"' EXIT INT TERM
HWID=$(python3 -c "import sys;print(open(sys.argv[1],'rb').read()[0x1A0:0x1E0].hex())" "$V/milan_v2_report.bin")
mkdir -p "$T/www/vcek/v1/Milan" "$T/cache"
cp "$V/milan_vcek.der" "$T/www/vcek/v1/Milan/$HWID"
# A well-formed DER CRL from an unrelated issuer (openssl ca -gencrl).
(
    cd "$T" || exit 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout crl_key.pem \
        -out crl_ca.pem -subj /CN=tether-mirror-test -days 2 >/dev/null 2>&1 &&
    : >index.txt && echo 01 >crlnumber &&
    printf '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\ncrlnumber=crlnumber\ndefault_md=sha384\ndefault_crl_days=7\n' >ca.cnf &&
    openssl ca -config ca.cnf -gencrl -keyfile crl_key.pem -cert crl_ca.pem -out crl.pem >/dev/null 2>&1 &&
    openssl crl -in crl.pem -outform der -out www/vcek/v1/Milan/crl
) || echo "# could not generate the test CRL"
PORT=$((30000 + $$ % 20000))
(cd "$T/www" && exec python3 -m http.server "$PORT" --bind 127.0.0.1 >"$T/http.log" 2>&1) &
SRV=$!
i=0
while ! grep -q "Serving" "$T/http.log" 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 50 ] && break; sleep 0.1
done
POL="$T/policy.json"
M=$(python3 -c "import sys;print(open(sys.argv[1],'rb').read()[0x90:0xC0].hex())" "$V/milan_v2_report.bin")
printf '{"tether_policy":1,"accept":{"snp":{"measurements":["%s"]}},"allow_debug":true,"max_evidence_age_seconds":0}' "$M" >"$POL"

# Without a VCEK and without KDS: the failure names the way out.
"$TETHER" verify --evidence "$V/milan_v2_report.bin" --json >"$T/none.json" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "snp_signing_cert_missing" "$T/none.json" && grep -q "kds-cache" "$T/none.json"
t_ok $? "no VCEK: exit 1, snp_signing_cert_missing, and the hint names --kds-cache"

TETHER_KDS_URL="http://127.0.0.1:$PORT" "$TETHER" verify --evidence "$V/milan_v2_report.bin" \
    --policy "$POL" --kds-cache "$T/cache" --json >"$T/kds.json" 2>&1
rc=$?
t_diag_file "$T/kds.json"
[ $rc -eq 0 ] && grep -q '"verdict":"pass"' "$T/kds.json"
t_ok $? "VCEK fetched from the KDS mirror on loopback: verdict pass"

grep -q "GET /vcek/v1/Milan/$HWID?" "$T/http.log"
t_ok $? "the mirror saw one KDS-shaped request (product, hwid, SPL query)"

ls "$T"/cache/snp/Milan/vcek/*.der >/dev/null 2>&1
t_ok $? "the VCEK is in the cache in the bundle layout"

grep -q "GET /vcek/v1/Milan/crl " "$T/http.log" && [ -f "$T/cache/snp/Milan/crl.der" ] &&
    grep -q '"name":"evidence.revocation","status":"skip"' "$T/kds.json"
t_ok $? "the CRL was fetched from the mirror and cached (unrelated issuer: revocation skip)"

kill $SRV 2>/dev/null; wait $SRV 2>/dev/null
TETHER_KDS_URL="http://127.0.0.1:$PORT" "$TETHER" verify --evidence "$V/milan_v2_report.bin" \
    --policy "$POL" --kds-cache "$T/cache" --json >"$T/cached.json" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q '"verdict":"pass"' "$T/cached.json"
t_ok $? "with the mirror gone, the cached VCEK still verifies"

# The mirror gone and no CRL cached: fail closed, not a silent skip.
rm -f "$T/cache/snp/Milan/crl.der"
TETHER_KDS_URL="http://127.0.0.1:$PORT" "$TETHER" verify --evidence "$V/milan_v2_report.bin" \
    --policy "$POL" --kds-cache "$T/cache" --json >"$T/nocrl.json" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "evidence_crl_unavailable" "$T/nocrl.json"
t_ok $? "no CRL obtainable with --kds-cache: exit 1, evidence_crl_unavailable"
