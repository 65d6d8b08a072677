#!/bin/sh
# legacy.sh - the INSECURE legacy binding modes from the command line (docs/protocol.md
# section 15): serve + connect in each mode (ra-early-exporter included) with the warning
# printed, an unknown mode and refused combinations, and a default client meeting a legacy
# server.
# TAP output; loopback only; every wait is bounded.
. "$(dirname "$0")/lib.sh"

PORT_BASE=$((32000 + ($$ % 2900) * 2))
t_plan 12

need_tether

T=$T_TMP
D=$T/sim
"$TETHER" sim init "$D" >/dev/null 2>&1 || {
    echo "Bail out! tether sim init failed"
    exit 1
}

# ---- 1-9: each mode, serve and connect --------------------------------------------------
for m in ra-nonce ra-key ra-key-nonce ra-early-exporter; do
    if start_serve "$T/serve-$m.log" --tee "sim:$D" --insecure-legacy-mode "$m"; then
        to 20 "$TETHER" connect "127.0.0.1:$SERVE_PORT" --policy "$D/policy.json" \
            --insecure-legacy-mode "$m" --send "hello-$m" >"$T/out" 2>"$T/err"
        rc=$?
        t_diag "exit $rc"
        t_diag_file "$T/out"
        t_diag_file "$T/err"
        [ $rc -eq 0 ] && grep -q "verdict: pass" "$T/out" && grep -q "reply: hello-$m" "$T/out" &&
            grep -q "legacy.mode" "$T/out" &&
            { [ "$m" != ra-early-exporter ] || grep -q "legacy.early_exporter" "$T/out"; }
        t_ok $? "$m: serve and connect attest and echo; the report names the legacy mode"
        grep -q "WARNING: INSECURE legacy binding mode \"$m\"" "$T/err" &&
            grep -q "WARNING: INSECURE legacy binding mode \"$m\"" "$T/serve-$m.log"
        t_ok $? "$m: both commands print the INSECURE warning"
        if [ "$m" = ra-key ]; then
            # A default (relay-resistant) client refuses the RA-TLS server with a clear code.
            to 20 "$TETHER" connect "127.0.0.1:$SERVE_PORT" --policy "$D/policy.json" \
                >"$T/out" 2>&1
            rc=$?
            t_diag "exit $rc"
            t_diag_file "$T/out"
            [ $rc -eq 1 ] && grep -q "legacy_peer" "$T/out"
            t_ok $? "a default client refuses a legacy server: exit 1, legacy_peer"
        fi
        stop_serve "$SERVE_PID"
    else
        t_diag_file "$T/serve-$m.log"
        t_ok 1 "$m: tether serve starts"
        t_skip "no server" "$([ "$m" = ra-key ] && echo 2 || echo 1)"
    fi
done

# ---- 10-12: refused -----------------------------------------------------------------------
"$TETHER" connect 127.0.0.1:1 --policy "$D/policy.json" --insecure-legacy-mode ra-early-export \
    >"$T/out" 2>&1
rc=$?
t_diag "exit $rc"
t_diag_file "$T/out"
[ $rc -eq 2 ] && grep -q "unknown legacy mode" "$T/out" && grep -q "ra-early-exporter" "$T/out"
t_ok $? "an unknown mode name is a usage error that lists the modes"

"$TETHER" connect 127.0.0.1:1 --policy "$D/policy.json" --insecure-legacy-mode ra-key \
    --tee "sim:$D" >"$T/out" 2>&1
rc=$?
t_diag "exit $rc"
t_diag_file "$T/out"
[ $rc -eq 2 ]
t_ok $? "connect refuses a legacy mode with --tee (mutual attestation)"

"$TETHER" serve --listen 127.0.0.1:1 --tee "sim:$D" --insecure-legacy-mode ra-nonce --mutual \
    --policy "$D/policy.json" >"$T/out" 2>&1
rc=$?
t_diag "exit $rc"
t_diag_file "$T/out"
[ $rc -eq 2 ]
t_ok $? "serve refuses a legacy mode with --mutual"

t_done
[ "$T_FAILED" -eq 0 ]
