#!/bin/sh
# interop.sh - tether against implementations it shares no code with:
#  - tests/interop/ea_client.mjs, an RFC 9261 client written from the specs on Node's tls and
#    crypto modules, validates tether's authenticator, binder and sim evidence on live
#    connections (three suites, SHA-384 included), fails when the binder is recomputed over
#    another context, and agrees with the recorded Cocos captures;
#  - openssl s_client talks to `tether serve` and prints its own TLS exporter value: that value
#    verifies the CertificateVerify tether signed over Hash(HC || request || Certificate), so
#    tether's HC is OpenSSL's (the Finished key is covered by the Node client in turn, whose
#    exporter is checked against openssl s_server);
#  - evidence carried to the Node client verifies offline with `tether verify` and the
#    report_data the Node client computed.
# TAP output; loopback only; every wait is bounded.
. "$(dirname "$0")/lib.sh"

PORT_BASE=$((26000 + ($$ % 2500) * 2))
t_plan 21

need_tether
CLIENT=$T_ROOT/tests/interop/ea_client.mjs
T=$T_TMP
HAVE_NODE=0
have node && HAVE_NODE=1
HAVE_OPENSSL=0
have openssl && HAVE_OPENSSL=1
NONODE="node not found"
NOSSL="openssl not found"
NOPY="python3 not found"

# client OUT ARGS...: run the Node client with a deadline; its JSON line goes to OUT.
client() {
    out=$1
    shift
    to 30 node "$CLIENT" "$@" >"$out" 2>>"$T/why"
}

# ---- 1-2: the Node client against the recorded Cocos captures (offline) -----------------
for h in sha256 sha384; do
    if [ $HAVE_NODE -eq 0 ]; then
        t_skip "$NONODE"
    elif [ ! -f "$VECTORS/ea-cocos/$h/client.json" ]; then
        t_skip "recorded vectors not found at $VECTORS"
    else
        client "$T/vec.json" --vector "$VECTORS/ea-cocos/$h"
        rc=$?
        t_diag "exit $rc"
        t_diag_file "$T/vec.json"
        [ $rc -eq 0 ] && grep -q '"certificate_verify":true' "$T/vec.json" && grep -q '"finished":true' "$T/vec.json" && grep -q '"binding":true' "$T/vec.json"
        t_ok $? "node client validates the recorded Cocos $h capture (request bytes, CV, Finished, binder)"
    fi
done

D=$T/sim
"$TETHER" sim init "$D" >"$T/out" 2>&1 || t_diag_file "$T/out"
SERVE_OK=0
if start_serve "$T/serve.log" --tee "sim:$D"; then
    SERVE_OK=1
    P=$SERVE_PORT
fi

# ---- 3-8: the Node client against tether serve -------------------------------------------
# Every check must pass (evidence chain to the sim root included) and the raw echo of "ping"
# must come back (tether detected a Cocos-style request and switched to raw data).
live_ok() { # FILE SUITE HASH
    grep -q '"ok":true' "$1" && grep -q "\"cipher\":\"$2\"" "$1" && grep -q "\"hash\":\"$3\"" "$1" &&
        grep -q '"evidence_chain":true' "$1" && grep -q '"evidence_report_data":true' "$1" &&
        grep -q '"evidence_key_hash":true' "$1" && grep -q '"app_data_echo":true' "$1" &&
        grep -q '"finished":true' "$1" && grep -q '"certificate_verify":true' "$1"
}
if [ $HAVE_NODE -eq 0 ]; then
    t_skip "$NONODE" 6
elif [ $SERVE_OK -eq 0 ]; then
    t_diag_file "$T/serve.log"
    t_ok 1 "tether serve starts on loopback"
    t_skip "no server" 5
else
    for s in TLS_AES_128_GCM_SHA256:sha256 TLS_AES_256_GCM_SHA384:sha384 TLS_CHACHA20_POLY1305_SHA256:sha256; do
        suite=${s%:*}
        hash=${s#*:}
        client "$T/live.json" "127.0.0.1:$P" --cipher "$suite" --sim-root "$D/root.crt"
        rc=$?
        t_diag "exit $rc"
        t_diag_file "$T/live.json"
        [ $rc -eq 0 ] && live_ok "$T/live.json" "$suite" "$hash"
        t_ok $? "node client: tether's authenticator, binder and sim evidence verify with $suite ($hash transcript)"
        [ "$suite" = TLS_AES_256_GCM_SHA384 ] && cp "$T/live.json" "$T/live384.json"
        [ "$suite" = TLS_AES_128_GCM_SHA256 ] && cp "$T/live.json" "$T/live256.json"
    done

    client "$T/live.json" "127.0.0.1:$P" --split --cipher TLS_AES_128_GCM_SHA256 --sim-root "$D/root.crt"
    rc=$?
    t_diag "exit $rc"
    t_diag_file "$T/live.json"
    [ $rc -eq 0 ] && live_ok "$T/live.json" TLS_AES_128_GCM_SHA256 sha256
    t_ok $? "node client: request frame split over three TLS records is read by byte count"

    client "$T/tamper.json" "127.0.0.1:$P" --tamper-context
    rc=$?
    t_diag "exit $rc"
    t_diag_file "$T/tamper.json"
    [ $rc -eq 1 ] && grep -q '"failed":\["binding","evidence_report_data"\]' "$T/tamper.json" &&
        grep -q '"certificate_verify":true' "$T/tamper.json" && grep -q '"finished":true' "$T/tamper.json"
    t_ok $? "node client --tamper-context: binder over another context mismatches (exit 1), CV and Finished still valid"

    client "$T/ev.json" "127.0.0.1:$P" --save-evidence "$T/evidence.bin" --cipher TLS_AES_256_GCM_SHA384
    rc=$?
    t_diag "exit $rc"
    t_diag_file "$T/ev.json"
    [ $rc -eq 0 ] && [ -s "$T/evidence.bin" ]
    t_ok $? "node client captures the sim evidence of a SHA-384 connection"
fi

# ---- 9-11: tether verify on the evidence the Node client received ------------------------
json_field() { # FILE KEY: a top-level string field of the client's JSON line
    sed -n "s/.*\"$2\":\"\\([0-9a-f]*\\)\".*/\\1/p" "$1"
}
if [ $HAVE_NODE -eq 0 ]; then
    t_skip "$NONODE" 3
elif [ ! -s "$T/evidence.bin" ]; then
    t_ok 1 "tether verify accepts the captured evidence (no evidence captured)"
    t_skip "no evidence captured" 2
else
    RD=$(json_field "$T/ev.json" report_data)
    BD=$(json_field "$T/ev.json" binding)
    to 10 "$TETHER" verify --evidence "$T/evidence.bin" --policy "$D/policy.json" --binder "$RD" --json >"$T/v1.json" 2>"$T/err"
    rc1=$?
    to 10 "$TETHER" verify --evidence "$T/evidence.bin" --policy "$D/policy.json" --binder "$BD" --json >"$T/v2.json" 2>>"$T/err"
    rc2=$?
    t_diag "report_data form: exit $rc1; binding form (48 bytes): exit $rc2"
    t_diag_file "$T/v1.json"
    t_diag_file "$T/err"
    [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && grep -q '"name":"binding.report_data","status":"pass"' "$T/v1.json"
    t_ok $? "tether verify passes the evidence with the report_data / binding the node client computed"

    # Flip the last hex digit of the report_data.
    case $RD in *0) WRONG=${RD%0}1 ;; *) WRONG=${RD%?}0 ;; esac
    to 10 "$TETHER" verify --evidence "$T/evidence.bin" --policy "$D/policy.json" --binder "$WRONG" --json >"$T/v3.json" 2>"$T/err"
    rc=$?
    t_diag "exit $rc"
    t_diag_file "$T/v3.json"
    [ $rc -eq 1 ] && grep -q '"name":"binding.report_data","status":"fail"' "$T/v3.json"
    t_ok $? "tether verify rejects the same evidence with another report_data (binding.report_data fails)"

    to 10 "$TETHER" verify --evidence "$T/evidence.bin" --json >"$T/v4.json" 2>"$T/err"
    rc=$?
    t_diag "exit $rc"
    t_diag_file "$T/v4.json"
    # Without a policy there is no trust anchor: sim evidence must not pass.
    [ $rc -eq 1 ]
    t_ok $? "tether verify without a policy does not pass sim evidence (no trust anchor)"
fi

# ---- 12-16: OpenSSL's exporter is tether's (s_client to tether serve) and Node's (s_server) ---
# s_client prints TLS-Exporter(label, no context) after the handshake; then we send Cocos's
# request through it and collect tether's authenticator from its output.
s_client_capture() { # SUITE LEN OUTDIR
    to 30 "$PY" -I -c '
import os, re, select, subprocess, sys, time
port, suite, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
label = "EXPORTER-server authenticator handshake context"
ctx = os.urandom(32)
exts = bytes.fromhex("000d000400020403") + bytes.fromhex("ff000000")
body = bytes([32]) + ctx + len(exts).to_bytes(2, "big") + exts
req = bytes([17]) + len(body).to_bytes(3, "big") + body
p = subprocess.Popen(["openssl", "s_client", "-connect", "127.0.0.1:" + port, "-tls1_3",
                      "-ciphersuites", suite, "-keymatexport", label, "-keymatexportlen", str(n)],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=open(os.path.join(out, "s_client.err"), "wb"))
p.stdin.write(b"\x01" + len(req).to_bytes(4, "big") + req)
p.stdin.flush()
buf, auth, deadline = b"", None, time.monotonic() + 10
while time.monotonic() < deadline and auth is None:
    r, _, _ = select.select([p.stdout], [], [], 0.2)
    if r:
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            break
        buf += chunk
    # frame header (5) || Certificate type 0x0b || u24 length || context length 32 || context
    i = buf.find(bytes([32]) + ctx)
    if i >= 9 and buf[i - 4] == 0x0b:
        start = i - 9
        if buf[start] == 2:
            flen = int.from_bytes(buf[start + 1:start + 5], "big")
            if len(buf) >= start + 5 + flen:
                auth = buf[start:start + 5 + flen]
p.stdin.close()  # s_client quits at EOF on stdin (close_notify); collect the rest of its output
end = time.monotonic() + 5
while time.monotonic() < end:
    r, _, _ = select.select([p.stdout], [], [], 0.2)
    if r:
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            break
        buf += chunk
try:
    p.wait(timeout=2)
except subprocess.TimeoutExpired:
    p.kill()
    p.wait()
m = re.search(rb"Label: .(EXPORTER-server authenticator handshake context).\s+Length: (\d+) bytes\s+Keying material: ([0-9A-Fa-f]+)", buf)
if not m or auth is None:
    sys.stderr.write("s_client capture failed: exporter %s, authenticator %s\n" % (bool(m), auth is not None))
    sys.stderr.write(open(os.path.join(out, "s_client.err"), "rb").read().decode("latin1")[-2000:])
    sys.exit(1)
open(os.path.join(out, "request.bin"), "wb").write(req)
open(os.path.join(out, "auth.frame"), "wb").write(auth)
open(os.path.join(out, "hc.hex"), "w").write(m.group(3).decode().lower())
' "$P" "$1" "$2" "$3" 2>>"$T/why"
}
if [ $HAVE_OPENSSL -eq 0 ]; then
    t_skip "$NOSSL" 3
elif [ -z "$PY" ]; then
    t_skip "$NOPY (drives s_client)" 3
elif [ $HAVE_NODE -eq 0 ]; then
    t_skip "$NONODE (checks the signatures)" 3
elif [ $SERVE_OK -eq 0 ]; then
    t_ok 1 "openssl s_client to tether serve (no server)"
    t_skip "no server" 2
else
    for s in TLS_AES_128_GCM_SHA256:sha256:32 TLS_AES_256_GCM_SHA384:sha384:48; do
        suite=${s%%:*}
        rest=${s#*:}
        hash=${rest%:*}
        len=${rest#*:}
        mkdir -p "$T/sc-$hash"
        s_client_capture "$suite" "$len" "$T/sc-$hash"
        rc=$?
        if [ $rc -eq 0 ]; then
            client "$T/sc.json" --offline --request "$T/sc-$hash/request.bin" \
                --authenticator "$T/sc-$hash/auth.frame" --hash "$hash" --hc "$(cat "$T/sc-$hash/hc.hex")"
            rc=$?
            t_diag "node offline: exit $rc"
            t_diag_file "$T/sc.json"
            [ $rc -eq 0 ] && grep -q '"certificate_verify":true' "$T/sc.json" && grep -q '"context_echo":true' "$T/sc.json"
            rc=$?
        else
            t_diag "s_client capture: exit $rc"
        fi
        t_ok $rc "openssl s_client's HC ($suite, $len bytes) verifies the CertificateVerify tether sent on that connection"
    done
    # The same capture with one bit of HC flipped must fail: the check above is not vacuous.
    if [ -s "$T/sc-sha256/hc.hex" ]; then
        HC=$(cat "$T/sc-sha256/hc.hex")
        case $HC in 0*) BAD=1${HC#?} ;; *) BAD=0${HC#?} ;; esac
        client "$T/sc.json" --offline --request "$T/sc-sha256/request.bin" \
            --authenticator "$T/sc-sha256/auth.frame" --hash sha256 --hc "$BAD"
        rc=$?
        t_diag "exit $rc"
        t_diag_file "$T/sc.json"
        [ $rc -eq 1 ] && grep -q '"certificate_verify":false' "$T/sc.json"
        t_ok $? "  ... and a different HC does not verify it"
    else
        t_ok 1 "  ... and a different HC does not verify it (no capture)"
    fi
fi

# Node's exporter equals OpenSSL's (s_server): so the FK the Node client used to verify
# tether's Finished is OpenSSL's too.
if [ $HAVE_OPENSSL -eq 1 ]; then
    rm -f "$T/ff"
    mkfifo "$T/ff"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=x -days 1 \
        -keyout "$T/k.pem" -out "$T/c.pem" >"$T/out" 2>&1
fi
if [ $HAVE_OPENSSL -eq 0 ]; then
    t_skip "$NOSSL" 2
elif [ $HAVE_NODE -eq 0 ]; then
    t_skip "$NONODE" 2
else
    for s in "EXPORTER-server authenticator handshake context:32:TLS_AES_128_GCM_SHA256" \
        "EXPORTER-server authenticator finished key:48:TLS_AES_256_GCM_SHA384"; do
        lab=${s%%:*}
        rest=${s#*:}
        len=${rest%%:*}
        suite=${rest#*:}
        # s_server quits at EOF on stdin: give it a FIFO it holds open itself.
        SP=$((PORT_BASE + 1500 + ${len}))
        to 15 openssl s_server -accept "127.0.0.1:$SP" -cert "$T/c.pem" -key "$T/k.pem" -tls1_3 \
            -keymatexport "$lab" -keymatexportlen "$len" -naccept 1 >"$T/ss.out" 2>&1 0<>"$T/ff" &
        SSPID=$!
        T_PIDS="$T_PIDS $SSPID"
        w=0
        while [ $w -lt 50 ] && ! grep -q ACCEPT "$T/ss.out" 2>/dev/null; do
            sleep 0.1
            w=$((w + 1))
        done
        client "$T/x.json" "127.0.0.1:$SP" --print-exporter "$lab" --length "$len" --cipher "$suite"
        rc=$?
        wait "$SSPID" 2>/dev/null
        NODE_X=$(json_field "$T/x.json" exporter)
        SSL_X=$(sed -n 's/^ *Keying material: *\([0-9A-Fa-f]*\).*/\1/p' "$T/ss.out" | tr 'A-F' 'a-f')
        t_diag "node exit $rc: node '$NODE_X' openssl '$SSL_X'"
        t_diag_file "$T/ss.out"
        [ $rc -eq 0 ] && [ -n "$NODE_X" ] && [ ${#NODE_X} -eq $((len * 2)) ] && [ "$NODE_X" = "$SSL_X" ]
        t_ok $? "node's exporter \"$lab\" ($suite, $len bytes) equals openssl s_server's"
    done
fi

# ---- 17-20: negative paths and exit codes of the Node client ------------------------------
if [ $HAVE_NODE -eq 0 ]; then
    t_skip "$NONODE" 4
else
    # The live client must fail against a TLS server that is not an attester (s_server echo):
    # it times out or sees no authenticator: never exit 0.
    if [ $HAVE_OPENSSL -eq 1 ] && [ -f "$T/c.pem" ] && [ -p "$T/ff" ]; then
        SP=$((PORT_BASE + 1600))
        to 15 openssl s_server -accept "127.0.0.1:$SP" -cert "$T/c.pem" -key "$T/k.pem" -tls1_3 \
            -rev -naccept 1 >"$T/ss.out" 2>&1 0<>"$T/ff" &
        SSPID=$!
        T_PIDS="$T_PIDS $SSPID"
        w=0
        while [ $w -lt 50 ] && ! grep -q ACCEPT "$T/ss.out" 2>/dev/null; do
            sleep 0.1
            w=$((w + 1))
        done
        client "$T/x.json" "127.0.0.1:$SP" --timeout 2000
        rc=$?
        kill "$SSPID" 2>/dev/null
        wait "$SSPID" 2>/dev/null
        t_diag "exit $rc"
        t_diag_file "$T/x.json"
        [ $rc -ne 0 ] && grep -q '"ok":false' "$T/x.json"
        t_ok $? "node client fails against a plain TLS server that sends no authenticator"
    else
        t_skip "$NOSSL"
    fi

    # A recorded capture with one byte of the JSON payload changed: Finished and CV fail.
    if [ -f "$VECTORS/ea-cocos/sha256/authenticator.frame" ] && [ -n "$PY" ]; then
        mkdir -p "$T/vec-bad"
        cp "$VECTORS/ea-cocos/sha256/request.frame" "$VECTORS/ea-cocos/sha256/client.json" "$T/vec-bad/"
        py -c '
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[600] ^= 0x01
open(sys.argv[2], "wb").write(b)' "$VECTORS/ea-cocos/sha256/authenticator.frame" "$T/vec-bad/authenticator.frame"
        client "$T/vec.json" --vector "$T/vec-bad"
        rc=$?
        t_diag "exit $rc"
        t_diag_file "$T/vec.json"
        [ $rc -eq 1 ] && grep -q '"certificate_verify":false' "$T/vec.json" && grep -q '"finished":false' "$T/vec.json"
        t_ok $? "node client rejects a recorded capture with one payload bit flipped (CV and Finished fail)"
    else
        t_skip "recorded vectors or python3 not found"
    fi

    NOPORT=$((PORT_BASE + 1700))
    if [ -n "$PY" ]; then
        NOPORT=$(py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
    fi
    client "$T/x.json" "127.0.0.1:$NOPORT" --timeout 3000
    rc=$?
    t_diag "exit $rc"
    [ $rc -eq 3 ]
    t_ok $? "node client exits 3 when nothing listens"

    to 10 node "$CLIENT" --no-such-option >/dev/null 2>&1
    rc=$?
    t_diag "exit $rc"
    [ $rc -eq 2 ]
    t_ok $? "node client exits 2 on a usage error"
fi

# ---- 21: the server side of all of the above --------------------------------------------
if [ $SERVE_OK -eq 1 ] && [ $HAVE_NODE -eq 0 ]; then
    stop_serve "$SERVE_PID"
    t_skip "$NONODE: no client talked to tether serve"
elif [ $SERVE_OK -eq 1 ]; then
    sleep 0.3
    stop_serve "$SERVE_PID"
    n_ready=$(grep -c "attested connection ready" "$T/serve.log")
    t_diag_file "$T/serve.log"
    echo "# tether serve: $n_ready attested connections"
    ! grep -q "connection failed" "$T/serve.log" && [ "$n_ready" -ge 1 ]
    t_ok $? "tether serve logged no failed connection (every client above was a Cocos-style peer)"
else
    t_skip "no server"
fi
t_done
[ "$T_FAILED" -eq 0 ]
