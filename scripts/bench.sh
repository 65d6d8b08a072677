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
T=${TETHER_VECTORS:-../shared/vectors}/tdx/phala-dcap-qvl
echo "== TDX quote verification with warm collateral vs two OpenSSL P-256 verifies ($N-op runs, median of 5)"
if [ -f "$T/emr_v4_quote.bin" ] && [ -f "$T/emr_v4_quote_collateral.json" ]; then
    # The bundled collateral is stale today: verify at a time inside its window.
    "$B/bench_dcap" "$T/emr_v4_quote.bin" "$T/emr_v4_quote_collateral.json" 2025-06-20T00:00:00Z "$N" |
        tee "$D/tdx.json"
else
    echo "skip: no TDX vectors at $T (set TETHER_VECTORS)"
fi
