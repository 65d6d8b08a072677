#!/bin/sh
# make bench: attested connection vs plain TLS 1.3 on loopback, same run (docs/performance.md).
set -eu
B=${1:-build}
N=${BENCH_ITERATIONS:-300}
D="$B/bench"
rm -rf "$D"
mkdir -p "$D"
"$B/tether" sim init "$D/sim" >/dev/null
echo "== time to a verified attested connection vs a plain TLS 1.3 handshake ($N each, interleaved)"
"$B/bench_connect" "$D/sim" "$D/sim/policy.json" "$N" | tee "$D/connect.json"
echo "== OpenSSL primitive rates on this machine, same run (for reading the above)"
openssl speed -seconds 1 ecdsap256 ecdhx25519 2>/dev/null | grep -E "^ *(256 bits ecdsa|253 bits ecdh)" || true
V=${TETHER_VECTORS:-../shared/vectors}/snp/go-sev-guest
echo "== SNP verification with a warm chain cache vs OpenSSL P-384 verify ($N-op runs, median of 5)"
if [ -f "$V/milan_v2_report.bin" ] && [ -f "$V/milan_vcek.der" ]; then
    "$B/bench_snp" "$V/milan_v2_report.bin" "$V/milan_vcek.der" "$N" | tee "$D/snp.json"
else
    echo "skip: no SNP vectors at $V (set TETHER_VECTORS)"
fi
