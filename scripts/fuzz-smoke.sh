#!/bin/sh
# Run each libFuzzer harness briefly on its seed corpus (plus a scratch corpus).
#
# Seeds come from two places:
#   - fuzz/seeds/<name>/: synthetic inputs the project made itself (hand-written, or built by
#     the tests and fixtures); nothing recorded from real hardware lives in the tree;
#   - the recorded vectors of ../shared/vectors (or $TETHER_VECTORS), when present: the files
#     vectors_for lists for a harness, and the inputs derive_for computes from them, are copied
#     into a temporary corpus directory per harness, outside the tree, for this run only.
#     Their provenance and licences are in that directory's MANIFEST.md; they must not be
#     copied into the project (MANIFEST.md: only the vendor roots of roots/ may be). Without
#     the vectors the harnesses run on the synthetic seeds alone, quietly.
set -eu
B=${1:-build}
S=${2:-10}
cd "$(dirname "$0")/.."
V=${TETHER_VECTORS:-../shared/vectors}
[ -d "$V" ] || V=""

# harness -> recorded vector files, relative to $V, used verbatim as seeds.
vectors_for() {
    case "$1" in
    snp_report)
        echo snp/go-sev-guest/milan_v2_report.bin snp/virtee-sev/milan_v2_report.bin \
            snp/trustee/milan_v2_report.bin snp/trustee/aws_milan_v3_vlek_report.bin ;;
    snp_vcek_ext)
        echo snp/go-sev-guest/milan_vcek.der snp/virtee-sev/milan_vcek.der \
            snp/virtee-sev/turin_vcek.der snp/trustee/milan_vcek.der snp/trustee/aws_vlek.der \
            snp/trustee/NEG_vcek-invalid-legacy.der snp/trustee/NEG_vcek-invalid-new.der ;;
    dcap_quote)
        echo tdx/go-tdx-guest/spr_v4_quote.dat tdx/go-tdx-guest/emr_v5_quote.dat \
            tdx/phala-dcap-qvl/emr_v4_quote.bin tdx/phala-dcap-qvl/emr_v5_quote_outdated.bin \
            sgx/phala-dcap-qvl/sgx_v3_quote.bin sgx/trustee/icx_v3_occlum_quote.dat ;;
    dcap_qeid)
        echo tdx/go-tdx-guest/collateral/qe_identity_TD_QE_2023-06-08.json \
            tdx/phala-dcap-qvl/decoded/tdx_quote_qe_identity.json \
            tdx/phala-dcap-qvl/decoded/tdx_quote_outdated_qe_identity.json \
            sgx/phala-dcap-qvl/decoded/sgx_quote_qe_identity.json ;;
    dcap_tcbinfo)
        echo tdx/go-tdx-guest/collateral/tcbinfo_50806f000000_2023-06-18.json \
            tdx/go-tdx-guest/collateral/tcbinfo_90c06f000000_2026-02-01.json \
            tdx/phala-dcap-qvl/decoded/tdx_quote_tcb_info.json \
            tdx/phala-dcap-qvl/decoded/tdx_quote_outdated_tcb_info.json \
            sgx/phala-dcap-qvl/decoded/sgx_quote_tcb_info.json ;;
    dcap_collateral_set)
        echo sgx/phala-dcap-qvl/sgx_v3_quote_collateral.json \
            tdx/phala-dcap-qvl/emr_v4_quote_collateral.json \
            tdx/phala-dcap-qvl/emr_v5_quote_outdated_collateral.json \
            tdx/go-tdx-guest/collateral/qe_identity_TD_QE_2023-06-08.json \
            tdx/go-tdx-guest/collateral/pckcrl_issuer_chain.pem \
            tdx/go-tdx-guest/collateral/tcbinfo_issuer_chain.pem \
            tdx/go-tdx-guest/collateral/pckcrl_platform_2023-06-08.der \
            tdx/go-tdx-guest/collateral/rootcrl_2023-04-03.der ;;
    ea_authenticator)
        echo ea-cocos/sha256/authenticator.frame ea-cocos/sha384/authenticator.frame ;;
    ea_frame)
        echo ea-cocos/sha256/request.frame ea-cocos/sha384/request.frame ;;
    gce_attestation)
        echo tpm/go-tpm-tools/gce-cos-85-no-nonce.pb tpm/go-tpm-tools/gce-cos-85-nonce9009.pb ;;
    kds_chain)
        echo roots/amd/milan_vcek_cert_chain.pem roots/amd/genoa_vlek_cert_chain.pem \
            snp/go-sev-guest/milan_vcek.der snp/trustee/aws_vlek.der \
            tdx/go-tdx-guest/collateral/rootcrl_2023-04-03.der ;;
    der | probe_cert)
        echo snp/go-sev-guest/milan_vcek.der snp/virtee-sev/turin_vcek.der \
            snp/trustee/aws_vlek.der tpm/go-tpm-tools/cos85_ak_cert.der ;;
    cbor)
        echo nitro/evervault/valid_doc_2022-10-13.cbor cca/trustee/cca-example-token.cbor ;;
    esac
}

# A big-endian u16 at offset $2 of file $1.
u16_at() {
    od -An -tu1 -j "$2" -N2 "$1" | awk '{ print $1 * 256 + $2 }'
}

# harness -> seeds computed from the vectors (the same derivations the removed in-tree seeds
# had), written into directory $2. Each step is skipped when its input or tool is missing.
# (sh has no local variables: every name used here starts with d_.)
derive_for() {
    d_out=$2
    case "$1" in
    ea_request) # the AuthenticatorRequest message: the request frame without its header
        for d_h in sha256 sha384; do
            d_f="$V/ea-cocos/$d_h/request.frame"
            [ -f "$d_f" ] && tail -c +6 "$d_f" >"$d_out/cocos_$d_h.msg"
        done ;;
    ea_frame) # a request frame followed by an authenticator frame
        for d_h in sha256 sha384; do
            d_d="$V/ea-cocos/$d_h"
            [ -f "$d_d/request.frame" ] && [ -f "$d_d/authenticator.frame" ] &&
                cat "$d_d/request.frame" "$d_d/authenticator.frame" >"$d_out/cocos_${d_h}_stream.bin"
        done ;;
    frame_assembler) # control byte, then the Cocos request and authenticator frames
        for d_h in sha256 sha384; do
            d_d="$V/ea-cocos/$d_h"
            [ -f "$d_d/request.frame" ] && [ -f "$d_d/authenticator.frame" ] && {
                printf '\007' | cat - "$d_d/request.frame" "$d_d/authenticator.frame" \
                    >"$d_out/cocos_${d_h}_stream.bin"
            }
        done ;;
    ea_payload) # the cmw_attestation JSON of the Cocos authenticators (u16 length before it)
        for d_h in sha256 sha384; do
            d_f="$V/ea-cocos/$d_h/authenticator.frame"
            [ -f "$d_f" ] || continue
            d_off=$(grep -abo '{"version"' "$d_f" 2>/dev/null | head -1 | cut -d: -f1)
            [ -n "$d_off" ] && [ "$d_off" -ge 2 ] || continue
            d_len=$(u16_at "$d_f" $((d_off - 2)))
            tail -c +$((d_off + 1)) "$d_f" | head -c "$d_len" >"$d_out/cocos_$d_h.json"
        done ;;
    dcap_pck_ext) # the SGX extension value (1.2.840.113741.1.13.1) of each quote's PCK leaf
        command -v openssl >/dev/null 2>&1 || return 0
        for d_q in $(vectors_for dcap_quote); do
            [ -f "$V/$d_q" ] || continue
            d_base=$(basename "$d_q" | sed 's/\.[a-z]*$//')
            d_leaf="$d_out/.$d_base.leaf.der"
            # the PEM chain inside the binary quote, leaf first, on lines of its own
            LC_ALL=C tr '\000-\011\013-\037\177-\377' '\n\n\n' <"$V/$d_q" |
                sed -n 's/.*-----BEGIN CERT/-----BEGIN CERT/; /-----BEGIN CERT/,/-----END CERT/p' |
                openssl x509 -outform DER -out "$d_leaf" 2>/dev/null || continue
            d_at=$(openssl asn1parse -inform DER -in "$d_leaf" 2>/dev/null |
                awk '/:1\.2\.840\.113741\.1\.13\.1 *$/ { getline; sub(/:.*/, "", $1); print $1; exit }')
            [ -n "$d_at" ] && openssl asn1parse -inform DER -in "$d_leaf" -strparse "$d_at" -noout \
                -out "$d_out/$d_base.der" >/dev/null 2>&1 || :
            rm -f "$d_leaf"
        done ;;
    pcs_header) # a PCS issuer-chain response header: the chain, percent-encoded
        d_f="$V/tdx/go-tdx-guest/collateral/tcbinfo_issuer_chain.pem"
        [ -f "$d_f" ] && od -An -v -tu1 "$d_f" | awk '{
            for (i = 1; i <= NF; i++) {
                c = $i
                if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) ||
                    c == 45 || c == 46 || c == 95 || c == 126) printf "%c", c
                else printf "%%%02X", c
            }
        }' >"$d_out/tcbinfo_chain.txt" ;;
    esac
    return 0
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tether-fuzz-vectors.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

for bin in "$B"/fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin" | sed 's/^fuzz_//')
    work="$B/fuzz/corpus-$name"
    mkdir -p "$work"
    seeds="fuzz/seeds/$name"
    [ -d "$seeds" ] || seeds=""
    vec=""
    if [ -n "$V" ]; then
        vec="$tmp/$name"
        mkdir -p "$vec"
        for v in $(vectors_for "$name"); do
            [ -f "$V/$v" ] && cp "$V/$v" "$vec/$(echo "$v" | tr / _)"
        done
        derive_for "$name" "$vec"
        [ -n "$(ls -A "$vec")" ] || vec=""
    fi
    out=$("$bin" -max_total_time="$S" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$work" $seeds $vec 2>&1) || {
        echo "$out" | tail -40
        echo "fuzz-smoke: $name FAILED"
        exit 1
    }
    runs=$(echo "$out" | sed -n 's/^stat::number_of_executed_units: *//p')
    nvec=0
    [ -n "$vec" ] && nvec=$(ls -A "$vec" | wc -l | tr -d ' ')
    echo "fuzz-smoke: $name ok (${runs:-?} runs in ${S}s; ${nvec} vector seeds)"
done
