#!/bin/sh
# probe.sh - `tether probe` against each of tether's own modes and against servers without
# attestation: the binder class, the attacks it is open to, and the observations behind them.
#   default mode (post-handshake, exporter-bound)   relay no, replay no, diversion yes
#   --insecure-legacy-mode ra-nonce                  nonce-only: relay yes, replay no
#   --insecure-legacy-mode ra-key                    key-bound:  replay and relay yes
#   --insecure-legacy-mode ra-key-nonce              key+nonce:  relay yes (leaked key), replay no
#   --insecure-legacy-mode ra-early-exporter         early-exporter: relay yes (leaked key and
#                                                    evidence), replay no
#   openssl s_server (TLS 1.3, TLS 1.2 only)         no attestation observed
#   a closed port                                    exit 3
# TAP output; loopback only; every wait is bounded; servers are killed by pid.
. "$(dirname "$0")/lib.sh"

PORT_BASE=$((26000 + ($$ % 2900) * 2))
t_plan 37

need_tether
HAVE_PY=0
[ -n "$PY" ] && HAVE_PY=1
NOPY="python3 not found"
T=$T_TMP
D=$T/sim

# probe OUT ARGS...: run `tether probe ARGS --json` with a hard deadline; sets rc.
probe() {
    out=$1
    shift
    to 40 "$TETHER" probe "$@" --json >"$out" 2>"$T/probe.err"
    rc=$?
    t_diag "exit $rc"
    t_diag_file "$T/probe.err"
    t_diag_file "$out"
}

# check FILE EXPR NAME: a JSON assertion as one TAP test (skipped without python3).
check() {
    if [ $HAVE_PY -eq 1 ]; then
        json_check "$1" "$2"
        ok=$?
        # On failure, show the probe's report.
        [ $ok -ne 0 ] && t_diag_file "$1"
        t_ok $ok "$3"
    else
        t_skip "$NOPY"
    fi
}

# ---- 1-3: usage --------------------------------------------------------------------------
"$TETHER" probe --help >"$T/out" 2>&1
rc=$?
t_diag "exit $rc"
[ $rc -eq 0 ] && grep -q -- "--json" "$T/out" && grep -q -- "--timeout" "$T/out"
t_ok $? "probe --help exits 0 and documents --json and --timeout"

"$TETHER" probe >"$T/out" 2>&1
rc=$?
t_diag "exit $rc"
[ $rc -eq 2 ]
t_ok $? "probe without a target exits 2 (usage)"

"$TETHER" probe no-port-here --json >"$T/out" 2>&1
rc=$?
t_diag "exit $rc"
t_diag_file "$T/out"
[ $rc -eq 2 ] && grep -q "HOST:PORT" "$T/out"
t_ok $? "probe of a target without a port exits 2 and says HOST:PORT"

# ---- 4: closed port ------------------------------------------------------------------------
if [ $HAVE_PY -eq 1 ]; then
    CLOSED=$(py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
else
    CLOSED=$((PORT_BASE + 1999))
fi
start=$(date +%s)
to 20 "$TETHER" probe "127.0.0.1:$CLOSED" --timeout 2000 >"$T/out" 2>&1
rc=$?
el=$(($(date +%s) - start))
t_diag "exit $rc after ${el}s"
t_diag_file "$T/out"
[ $rc -eq 3 ] && grep -q "cannot connect" "$T/out" && ! grep -q "binder_class" "$T/out"
t_ok $? "probe of a closed port exits 3 (cannot connect) and prints no report"

# ---- 5-12: tether serve, default mode -------------------------------------------------------
"$TETHER" sim init "$D" >/dev/null 2>&1
SIM_OK=$?
if [ $SIM_OK -eq 0 ] && start_serve "$T/serve.log" --tee "sim:$D"; then
    P=$SERVE_PORT
    probe "$T/d.json" "127.0.0.1:$P" --timeout 3000
    [ $rc -eq 0 ]
    t_ok $? "probe of a default-mode server exits 0"
    check "$T/d.json" 'd["binder_class"] == "exporter-bound" and d["open_to"] == {"replay": False, "relay": False, "diversion": True}' \
        "default mode: binder exporter-bound; open to diversion only (relay false, replay false)"
    check "$T/d.json" '
(e := d["exported_authenticator"])["answered"] and e["valid"] and e["exporter_bound"] and e["report_data_checked"] and e["tether_framing"]
and e["tee"] == "sim" and e["simulated"] and e["media_type"] == "application/vnd.tether.sim-evidence+binary"
and e["key_fresh_per_connection"] is True and e["authenticity_checked"] is False' \
        "default mode: the authenticator answered, validated, its report_data equals this connection's exporter binder"
    check "$T/d.json" 'any("report_data equals SHA-512(Hash(SPKI || TLS-Exporter" in r for r in d["reasons"])' \
        "default mode: the reason names the exporter binder formula"
    check "$T/d.json" 'any(r.startswith("diversion: open unless the relying party") and "platform_id" in r and "no policy" in r for r in d["reasons"])
and d["open_to_conditions"]["diversion"].startswith("unless the relying party")' \
        "default mode: diversion explained: no platform pin known to the probe, the evidence names a platform_id"
    check "$T/d.json" 'd["tls"]["version"] == "TLSv1.3" and d["tls"]["tls13"] and d["certificate"]["self_signed"]
and d["certificate"]["key_type"] == "EC P-256" and d["certificate"]["lifetime_seconds"] == 7*24*3600 + 3600
and d["certificate_evidence"]["present"] is False and d["nonce_carriers"] == []' \
        "default mode: TLS 1.3, ephemeral self-signed P-256 TLS certificate (7 days + 1 h), no certificate evidence, no nonce carrier"
    check "$T/d.json" 'd["tee"] == "sim" and d["simulated"] and d["appraised"] is False and len(d["connections"]) == 3' \
        "default mode: TEE sim (simulated), not appraised, three connections (no nonce probing needed)"

    to 40 "$TETHER" probe "127.0.0.1:$P" >"$T/h.out" 2>&1
    rc=$?
    t_diag "exit $rc"
    t_diag_file "$T/h.out"
    [ $rc -eq 0 ] && grep -q "^binder class: *exporter-bound" "$T/h.out" &&
        grep -q "relay no" "$T/h.out" && grep -q "diversion YES" "$T/h.out"
    t_ok $? "human output: binder class line and 'relay no', 'diversion YES'"
else
    t_diag_file "$T/serve.log"
    t_ok 1 "tether serve (default mode) started"
    t_skip "no default-mode server" 7
fi

# ---- 13-15: a server that never answers the request: bounded ----------------------------
# The test server: openssl s_server, started on a free port near PORT_BASE. -rev reads lines
# and never answers a request frame on its own; it needs no stdin.
HAVE_SSL=0
have openssl && HAVE_SSL=1
SS_PID=
SS_PORT=
start_sserver() {
    log=$1
    shift
    tries=0
    while [ $tries -lt 8 ]; do
        SS_PORT=$((PORT_BASE + 100 + T_PORT_NEXT))
        T_PORT_NEXT=$((T_PORT_NEXT + 1))
        openssl s_server -accept "127.0.0.1:$SS_PORT" -cert "$T/c.pem" -key "$T/k.pem" "$@" \
            >"$log" 2>&1 </dev/null &
        SS_PID=$!
        T_PIDS="$T_PIDS $SS_PID"
        w=0
        while [ $w -lt 50 ]; do
            grep -q ACCEPT "$log" 2>/dev/null && return 0
            kill -0 "$SS_PID" 2>/dev/null || break
            sleep 0.1
            w=$((w + 1))
        done
        stop_serve "$SS_PID"
        tries=$((tries + 1))
    done
    return 1
}
if [ $HAVE_SSL -eq 1 ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/k.pem" \
        -out "$T/c.pem" -subj /CN=plain-tls -days 2 >/dev/null 2>&1 || HAVE_SSL=0
fi
if [ $HAVE_SSL -eq 1 ] && start_sserver "$T/ss.log" -rev -tls1_3; then
    start=$(date +%s)
    probe "$T/p.json" "127.0.0.1:$SS_PORT" --timeout 1000
    el=$(($(date +%s) - start))
    t_diag "probe took ${el}s"
    [ $rc -eq 0 ] && [ $el -le 10 ]
    t_ok $? "probe of plain TLS (openssl s_server) exits 0 within the bounds (${el}s, timeout 1 s)"
    check "$T/p.json" 'd["binder_class"] == "no-attestation" and d["open_to"] == {"replay": None, "relay": None, "diversion": None}
and d["binder_description"] == "no attestation observed"' \
        "plain TLS: binder class no-attestation, attacks not applicable (null)"
    check "$T/p.json" 'd["certificate_evidence"]["present"] is False and d["exported_authenticator"]["requested"]
and not d["exported_authenticator"]["answered"] and d["certificate"]["subject"] == "CN=plain-tls"
and d["certificate"]["lifetime_seconds"] == 2*86400 and d["key_reused_across_connections"] is True
and any("no attested Exported Authenticator" in r for r in d["reasons"])' \
        "plain TLS: no certificate evidence, the request unanswered, 2-day certificate, key reused, reasons say so"
    stop_serve "$SS_PID"
else
    t_skip "openssl command not found or s_server did not start" 3
fi

# ---- 16-17: TLS 1.2 only ----------------------------------------------------------------------
if [ $HAVE_SSL -eq 1 ] && start_sserver "$T/ss12.log" -rev -tls1_2; then
    probe "$T/p12.json" "127.0.0.1:$SS_PORT" --timeout 1000
    [ $rc -eq 0 ]
    t_ok $? "probe of a TLS 1.2-only server exits 0"
    check "$T/p12.json" 'd["tls"]["version"] == "TLSv1.2" and d["tls"]["tls13"] is False
and not d["exported_authenticator"]["requested"] and "TLS 1.3" in d["exported_authenticator"]["detail"]
and any("not TLS 1.3" in r for r in d["reasons"]) and d["binder_class"] == "no-attestation"' \
        "TLS 1.2 only: reported as a finding, no authenticator requested, no attestation"
    stop_serve "$SS_PID"
else
    t_skip "openssl command not found or s_server did not start" 2
fi

# ---- 18-37: the insecure legacy modes -------------------------------------------------------
if ! "$TETHER" serve --help 2>&1 | grep -q -- "--insecure-legacy-mode"; then
    t_skip "tether serve has no --insecure-legacy-mode" 20
else
    # legacy MODE: start a server in MODE and probe it into $T/MODE.json; sets LEG_OK.
    legacy() {
        LEG_OK=1
        if [ $SIM_OK -eq 0 ] && start_serve "$T/serve-$1.log" --tee "sim:$D" --insecure-legacy-mode "$1"; then
            probe "$T/$1.json" "127.0.0.1:$SERVE_PORT" --timeout 8000
            stop_serve "$SERVE_PID"
            [ $rc -eq 0 ] && LEG_OK=0
        else
            t_diag_file "$T/serve-$1.log"
        fi
        return $LEG_OK
    }

    legacy ra-nonce
    t_ok $? "probe of a ra-nonce server exits 0"
    check "$T/ra-nonce.json" 'd["binder_class"] == "nonce-only" and d["open_to"] == {"replay": False, "relay": True, "diversion": True}
and d["open_to_conditions"]["relay"] is None' \
        "ra-nonce: binder nonce-only; relay open without any leaked key, replay closed, diversion open"
    check "$T/ra-nonce.json" '(e := d["certificate_evidence"])["present"] and e["oid"] == "2.23.133.5.4.9" and e["evidence_type"] == "sim" and e["tee"] == "sim"
and e["report_data_formula"] == "report_data = SHA-512(\"tether-ra-nonce\" || nonce)"
and e["changes_with_sni_nonce"] is True and e["same_nonce_same_report_data"] is True
and e["key_hash_covers_certificate_key"] is False and e["requires_nonce"] is True' \
        "ra-nonce: DICE evidence found, report_data = SHA-512(label || nonce), follows the nonce, not the key"
    check "$T/ra-nonce.json" 'd["nonce_carriers"] == ["sni"] and d["key_reused_across_connections"] is False
and any("evidence changed when the SNI nonce changed" in r for r in d["reasons"])
and any("same nonce with a different certificate key gave the same report_data" in r for r in d["reasons"])
and any("refused the connection without a nonce" in r for r in d["reasons"])' \
        "ra-nonce: SNI is the nonce carrier; reasons: evidence follows the nonce, same nonce + other key = same evidence"
    check "$T/ra-nonce.json" 'any(c["name"] == "plain" and not c["tls"] and c["error"] for c in d["connections"])
and not d["exported_authenticator"]["answered"] and d["tls"]["observed_on"] == "sni-nonce-1"' \
        "ra-nonce: the connection without a nonce is refused, and the report says why"
    check "$T/ra-nonce.json" 'any(e["oid"] == "2.23.133.5.4.9" and e["attestation"] and e["length"] > 200 and e["evidence_type"] == "sim"
      and 0x5453494D in e["cbor_tags"] for e in d["certificate"]["extensions"])' \
        "ra-nonce: the certificate lists the DICE extension with its size, evidence type and CBOR tag"

    legacy ra-key
    t_ok $? "probe of a ra-key server exits 0"
    check "$T/ra-key.json" 'd["binder_class"] == "key-bound" and d["open_to"] == {"replay": True, "relay": True, "diversion": True}
and "leaked" in d["open_to_conditions"]["replay"]' \
        "ra-key: binder key-bound, no nonce; replay and relay open (with a leaked key), diversion open"
    check "$T/ra-key.json" '(e := d["certificate_evidence"])["report_data_formula"] == "report_data = SHA-512(SPKI)" and e["changes_with_sni_nonce"] is False
and e["key_hash_covers_certificate_key"] is True and e["requires_nonce"] is False and d["nonce_carriers"] == []' \
        "ra-key: report_data = SHA-512(SPKI), ignores the SNI nonce, signed key hash covers the key"
    check "$T/ra-key.json" 'd["key_reused_across_connections"] is True
and any("certificate key is the same across connections" in r for r in d["reasons"])
and any(r.startswith("replay: open with a leaked certificate key") for r in d["reasons"])' \
        "ra-key: one key for every connection, and the replay reason says so"
    check "$T/ra-key.json" '(e := d["exported_authenticator"])["requested"] and not e["answered"] and "echoed" in e["detail"]' \
        "ra-key: the authenticator request goes unanswered (the echo server sends it back)"

    legacy ra-key-nonce
    t_ok $? "probe of a ra-key-nonce server exits 0"
    check "$T/ra-key-nonce.json" 'd["binder_class"] == "key+nonce" and d["open_to"] == {"replay": False, "relay": True, "diversion": True}
and "leaked" in d["open_to_conditions"]["relay"]' \
        "ra-key-nonce: binder key+nonce; relay open with a leaked key, replay closed, diversion open"
    check "$T/ra-key-nonce.json" '(e := d["certificate_evidence"])["report_data_formula"] == "report_data = SHA-512(SPKI || nonce)" and e["changes_with_sni_nonce"] is True
and e["same_nonce_same_report_data"] is False and e["key_hash_covers_certificate_key"] is True
and d["nonce_carriers"] == ["sni"] and d["key_reused_across_connections"] is False' \
        "ra-key-nonce: report_data = SHA-512(SPKI || nonce), a fresh key per connection, SNI carrier"
    check "$T/ra-key-nonce.json" 'any("CVE-2026-33697" in r and "GHSA-hjgc-jc5v-fw7h" in r for r in d["reasons"])' \
        "ra-key-nonce: the relay reason cites CVE-2026-33697 / GHSA-hjgc-jc5v-fw7h"

    legacy ra-early-exporter
    t_ok $? "probe of a ra-early-exporter server exits 0"
    check "$T/ra-early-exporter.json" 'd["binder_class"] == "early-exporter" and d["open_to"] == {"replay": False, "relay": True, "diversion": True}
and "leaked certificate key" in d["open_to_conditions"]["relay"] and "handshake" in d["open_to_conditions"]["relay"]' \
        "ra-early-exporter: binder early-exporter; relay open with a leaked key and evidence, replay closed, diversion open"
    check "$T/ra-early-exporter.json" '(e := d["certificate_evidence"])["report_data_formula"] == "report_data = SHA-512(nonce || early-exporter || SPKI)"
and e["changes_with_sni_nonce"] is True and e["same_nonce_same_report_data"] is False
and e["key_hash_covers_certificate_key"] is True and d["nonce_carriers"] == ["sni"]' \
        "ra-early-exporter: report_data = SHA-512(nonce || early-exporter || SPKI), SNI carrier"
    check "$T/ra-early-exporter.json" 'any("no secret input" in r and "draft-fossati-tls-attestation-06" in r for r in d["reasons"])
and any(r.startswith("replay: closed") for r in d["reasons"])' \
        "ra-early-exporter: the reasons say the early exporter has no secret input; replay closed"

    if [ $HAVE_PY -eq 1 ] && [ -f "$T/ra-early-exporter.json" ] && [ -f "$T/d.json" ]; then
        # The classes are distinct, and every mode got a verdict with at least one reason.
        py -c '
import json, sys
cls = [json.load(open(f))["binder_class"] for f in sys.argv[1:]]
ok = len(set(cls)) == len(cls) and all(json.load(open(f))["reasons"] for f in sys.argv[1:])
sys.stderr.write("classes: %s\n" % cls)
sys.exit(0 if ok else 1)' "$T/d.json" "$T/ra-nonce.json" "$T/ra-key.json" "$T/ra-key-nonce.json" \
            "$T/ra-early-exporter.json" 2>>"$T/why"
        t_ok $? "the five tether modes get five different binder classes, each with reasons"
    else
        t_skip "$NOPY or a mode did not run"
    fi
fi

t_done
