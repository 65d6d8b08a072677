#!/bin/sh
# cli.sh - the tether command as a user sees it: help and usage errors, sim provisioning,
# serve + connect (pass, wrong root, wrong platform, closed port, mutual, re-attestation),
# offline verify on bad inputs, and the concurrency guarantee of cocos-ea-wire.md 5.2 (an idle
# TCP peer must not block other clients). TAP output; loopback only; every wait is bounded.
. "$(dirname "$0")/lib.sh"

PORT_BASE=$((20000 + ($$ % 2900) * 2))
t_plan 41

need_tether
HAVE_PY=0
[ -n "$PY" ] && HAVE_PY=1
NOPY="python3 not found"

T=$T_TMP
D1=$T/sim1
D2=$T/sim2
D3=$T/sim-other-root

# ---- 1-3: help and usage ---------------------------------------------------------------
"$TETHER" --help >"$T/out" 2>&1
rc=$?
t_diag "exit $rc"
t_diag_file "$T/out"
[ $rc -eq 0 ] && grep -q "serve" "$T/out" && grep -q "connect" "$T/out" && grep -q "verify" "$T/out"
t_ok $? "tether --help exits 0 and lists serve, connect, verify"

"$TETHER" >"$T/out" 2>&1
rc=$?
t_diag "exit $rc"
[ $rc -eq 2 ]
t_ok $? "tether without a command exits 2 (usage)"

"$TETHER" frobnicate >"$T/out" 2>&1
rc=$?
t_diag "exit $rc"
t_diag_file "$T/out"
[ $rc -eq 2 ] && grep -q "unknown command" "$T/out"
t_ok $? "an unknown command exits 2 and says so"

# ---- 4-7: sim init -----------------------------------------------------------------------
"$TETHER" sim init "$D1" >"$T/out" 2>&1
rc=$?
t_diag "exit $rc"
t_diag_file "$T/out"
[ $rc -eq 0 ] && [ -f "$D1/ak.key" ] && [ -f "$D1/root.key" ] && [ -f "$D1/policy.json" ]
t_ok $? "sim init creates ak.key, root.key and policy.json"

mode_of() { ls -ld "$1" 2>/dev/null | cut -c1-10; }
m=$(mode_of "$D1/ak.key")
t_diag "ak.key mode $m"
[ "$m" = "-rw-------" ]
t_ok $? "sim init writes ak.key with mode 0600"

m=$(mode_of "$D1/root.key")
t_diag "root.key mode $m"
[ "$m" = "-rw-------" ]
t_ok $? "sim init writes root.key with mode 0600"

if [ $HAVE_PY -eq 1 ]; then
    json_check "$D1/policy.json" 'd["tether_policy"] == 1 and len(d["accept"]["sim"]["trust_anchors"]) == 1 and len(d["platform_ids"]) == 1'
    t_ok $? "policy.json is a tether policy naming the sim root and the platform id"
else
    t_skip "$NOPY"
fi

# Second machine (own root) for mutual tests, third with a different root.
"$TETHER" sim init "$D2" >/dev/null 2>&1 && "$TETHER" sim init "$D3" >/dev/null 2>&1
SIMS_OK=$?

# ---- 8-16: serve + connect, closed port, --mutual usage -------------------------
if start_serve "$T/serve.log" --tee "sim:$D1" && [ $SIMS_OK -eq 0 ]; then
    P=$SERVE_PORT
    SPID=$SERVE_PID

    to 20 "$TETHER" connect "127.0.0.1:$P" --policy "$D1/policy.json" --send hi >"$T/out" 2>&1
    rc=$?
    t_diag "exit $rc"
    t_diag_file "$T/out"
    [ $rc -eq 0 ] && grep -q "^verdict: pass" "$T/out" && grep -q "^reply: hi" "$T/out"
    t_ok $? "serve + connect: verdict pass, exit 0, echo received"

    to 20 "$TETHER" connect "127.0.0.1:$P" --policy "$D1/policy.json" --send hi --json >"$T/c.json" 2>"$T/err"
    rc=$?
    if [ $HAVE_PY -eq 1 ]; then
        t_diag "exit $rc"
        t_diag_file "$T/err"
        [ $rc -eq 0 ] && json_check "$T/c.json" '
d["attestation"]["verdict"] == "pass" and "binding.report_data" in names(d)
and "binding.key_hash" in names(d) and d["reply"] == "hi" and d["error"] is None
and d["connection"]["attestations"] == 1 and d["connection"]["tls_version"] == "TLSv1.3"'
        t_ok $? "connect --json parses: verdict pass, checks include binding.report_data, reply hi"
    else
        t_skip "$NOPY"
    fi

    to 20 "$TETHER" connect "127.0.0.1:$P" --policy "$D3/policy.json" --json >"$T/c.json" 2>"$T/err"
    rc=$?
    t_diag "exit $rc"
    [ $rc -eq 1 ]
    t_ok $? "connect with the policy of another sim (different root) exits 1"
    if [ $HAVE_PY -eq 1 ]; then
        json_check "$T/c.json" 'd["attestation"]["verdict"] == "fail" and failed(d)[0] == ("evidence.chain", "evidence_chain_untrusted")'
        t_ok $? "  ... and the evidence.chain check fails (evidence_chain_untrusted)"
    else
        t_skip "$NOPY"
    fi

    if [ $HAVE_PY -eq 1 ]; then
        # Same policy, other platform id; written next to the sim's root.crt (relative anchor).
        py -c '
import json, sys
p = json.load(open(sys.argv[1]))
p["platform_ids"] = ["00112233445566778899aabbccddeeff"]
json.dump(p, open(sys.argv[2], "w"))' "$D1/policy.json" "$D1/policy-other-platform.json"
        to 20 "$TETHER" connect "127.0.0.1:$P" --policy "$D1/policy-other-platform.json" --json >"$T/c.json" 2>"$T/err"
        rc=$?
        t_diag "exit $rc"
        [ $rc -eq 1 ]
        t_ok $? "connect with a policy allowing another platform id exits 1"
        json_check "$T/c.json" 'failed(d) == [("policy.platform_id", "platform_not_allowed")]'
        t_ok $? "  ... and policy.platform_id is the failing check"
    else
        t_skip "$NOPY" 2
    fi

    to 40 "$TETHER" connect "127.0.0.1:$P" --policy "$D1/policy.json" --reattest 1 --rounds 3 --json >"$T/c.json" 2>"$T/err"
    rc=$?
    if [ $HAVE_PY -eq 1 ]; then
        t_diag "exit $rc"
        t_diag_file "$T/err"
        [ $rc -eq 0 ] && json_check "$T/c.json" 'd["connection"]["attestations"] == 3 and d["attestation"]["verdict"] == "pass"'
        t_ok $? "connect --reattest 1 --rounds 3 passes with 3 appraisals"
    else
        t_diag "exit $rc"
        [ $rc -eq 0 ] && grep -q '"attestations": 3' "$T/c.json"
        t_ok $? "connect --reattest 1 --rounds 3 passes with 3 appraisals"
    fi
    stop_serve "$SPID"
else
    t_diag_file "$T/serve.log"
    t_ok 1 "tether serve starts on loopback"
    t_skip "no server" 6
fi

# A port with nothing listening: take a free one from the kernel and close it.
if [ $HAVE_PY -eq 1 ]; then
    CLOSED=$(py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
else
    CLOSED=$((PORT_BASE + 1999))
fi
to 20 "$TETHER" connect "127.0.0.1:$CLOSED" --policy "$D1/policy.json" --timeout 3000 >"$T/out" 2>&1
rc=$?
t_diag "exit $rc"
t_diag_file "$T/out"
[ $rc -eq 3 ]
t_ok $? "connect to a closed port exits 3 (network)"

to 10 "$TETHER" serve --listen "127.0.0.1:$CLOSED" --tee "sim:$D1" --mutual >"$T/out" 2>&1
rc=$?
t_diag "exit $rc"
t_diag_file "$T/out"
[ $rc -eq 2 ] && grep -q -- "--policy" "$T/out"
t_ok $? "serve --mutual without --policy exits 2 and names --policy"

# ---- 17-20: mutual attestation ---------------------------------------------------------
if start_serve "$T/serve-m.log" --tee "sim:$D1" --mutual --policy "$D2/policy.json"; then
    P=$SERVE_PORT
    SPID=$SERVE_PID
    to 20 "$TETHER" connect "127.0.0.1:$P" --policy "$D1/policy.json" --tee "sim:$D2" --send hi >"$T/out" 2>&1
    rc=$?
    sleep 0.2
    t_diag "exit $rc"
    t_diag_file "$T/out"
    t_diag_file "$T/serve-m.log"
    [ $rc -eq 0 ] && grep -q "^reply: hi" "$T/out" && grep -q "client attested" "$T/serve-m.log"
    t_ok $? "mutual: serve --mutual + connect --tee passes both ways, echo received"

    to 20 "$TETHER" connect "127.0.0.1:$P" --policy "$D1/policy.json" --tee "sim:$D3" --send hi --json >"$T/c.json" 2>"$T/err"
    sleep 0.2
    grep -q "evidence_chain_untrusted" "$T/serve-m.log"
    found=$?
    t_diag_file "$T/serve-m.log"
    t_ok $found "mutual: the server rejects a client whose sim root its policy does not name"

    # The client cannot learn the server's verdict on its evidence except by the server closing:
    # tether connect --send must report that, not exit 0 with an empty reply.
    rc=1
    if [ $HAVE_PY -eq 1 ]; then
        json_check "$T/c.json" 'd["reply"] == "hi" or d["error"] is not None'
        rc=$?
    fi
    t_ok $rc "mutual: connect --send reports the failure when the server rejects the client"

    to 20 "$TETHER" connect "127.0.0.1:$P" --policy "$D1/policy.json" --send hi >"$T/out" 2>&1
    rc=$?
    t_diag "exit $rc"
    [ $rc -ne 0 ]
    t_ok $? "mutual: connect without --tee to a --mutual server does not exit 0"
    stop_serve "$SPID"
else
    t_diag_file "$T/serve-m.log"
    t_ok 1 "tether serve --mutual starts on loopback"
    t_skip "no server" 3
fi

# ---- 21-30: offline verify on bad inputs -----------------------------------------------
: >"$T/empty"
to 10 "$TETHER" verify --evidence "$T/empty" >"$T/out" 2>&1
rc=$?
t_diag "exit $rc"
t_diag_file "$T/out"
{ [ $rc -eq 1 ] || [ $rc -eq 2 ]; } && grep -q -i "evidence" "$T/out"
t_ok $? "verify on an empty file fails (exit 1 or 2) with a message about the evidence"

head -c 300 /dev/urandom >"$T/r300"
to 10 "$TETHER" verify --evidence "$T/r300" --json >"$T/v.json" 2>"$T/err"
rc=$?
t_diag "exit $rc"
[ $rc -eq 1 ]
t_ok $? "verify on 300 random bytes exits 1"
if [ $HAVE_PY -eq 1 ]; then
    json_check "$T/v.json" '
d["verdict"] == "fail"
and [(c["name"], c["code"]) for c in d["checks"] if c["status"] == "fail"][0]
    == ("evidence.type", "evidence_unrecognised")'
    t_ok $? "  ... with evidence.type failing as evidence_unrecognised"
else
    grep -q '"evidence_unrecognised"' "$T/v.json"
    t_ok $? "  ... with evidence.type failing as evidence_unrecognised"
fi

to 10 "$TETHER" verify --evidence "$T/r300" --binder "zz$(printf '%062d' 0)" >"$T/out" 2>&1
rc=$?
t_diag "exit $rc"
[ $rc -eq 2 ]
t_ok $? "verify --binder with non-hex characters exits 2"

to 10 "$TETHER" verify --evidence "$T/r300" --binder "abc" >"$T/out" 2>&1
rc1=$?
to 10 "$TETHER" verify --evidence "$T/r300" --binder "00112233" >"$T/out" 2>&1
rc2=$?
t_diag "odd length: exit $rc1; 4 bytes: exit $rc2"
[ $rc1 -eq 2 ] && [ $rc2 -eq 2 ]
t_ok $? "verify --binder of odd length or of a length other than 32/48/64 bytes exits 2"

bad=0
for at in yesterday 2025-06-01 2025-06-01T00:00:00 2025-06-01T00:00:00Zjunk 2025-06-01T25:00:00Z ""; do
    to 10 "$TETHER" verify --evidence "$T/r300" --at "$at" >"$T/out" 2>&1
    rc=$?
    if [ $rc -ne 2 ]; then
        t_diag "--at '$at': exit $rc"
        bad=1
    fi
done
[ $bad -eq 0 ]
t_ok $? "verify --at malformed (words, date only, no zone, trailing junk, hour 25, empty) exits 2"

# glibc strptime accepts day 30 of February and timegm() would normalise it to 2 March:
# the CLI must refuse impossible dates.
to 10 "$TETHER" verify --evidence "$T/r300" --at 2025-02-30T00:00:00Z >"$T/out" 2>&1
rc=$?
[ $rc -eq 2 ]
t_ok $? "verify --at 2025-02-30T00:00:00Z (impossible date) exits 2"

to 10 "$TETHER" verify --evidence "$T/does-not-exist" >"$T/out" 2>&1
rc=$?
t_diag "exit $rc"
[ $rc -eq 2 ]
t_ok $? "verify on a missing file exits 2"

# The JSON payload of the recorded Cocos authenticator (bytes 496..906 of the frame) carries
# Cocos's dummy evidence: tether must fail closed on it.
COCOS_FRAME=$VECTORS/ea-cocos/sha256/authenticator.frame
if [ ! -f "$COCOS_FRAME" ]; then
    t_skip "recorded vectors not found at $VECTORS" 2
elif [ $HAVE_PY -eq 0 ]; then
    t_skip "$NOPY" 2
else
    py -c '
import sys
b = open(sys.argv[1], "rb").read()[496:906]
assert b.startswith(b"{\"version\":1") and b.endswith(b"}}"), "unexpected payload bytes"
open(sys.argv[2], "wb").write(b)' "$COCOS_FRAME" "$T/cocos.json" 2>>"$T/why"
    to 10 "$TETHER" verify --evidence "$T/cocos.json" --json >"$T/v.json" 2>"$T/err"
    rc=$?
    t_diag "exit $rc"
    t_diag_file "$T/err"
    [ $rc -eq 1 ]
    t_ok $? "verify on the Cocos vector's cmw payload (dummy evidence) exits 1"
    json_check "$T/v.json" 'd["verdict"] == "fail" and [(c["name"], c["code"]) for c in d["checks"] if c["status"] == "fail"] == [("evidence.type", "evidence_unrecognised")]'
    t_ok $? "  ... failing closed with evidence.type evidence_unrecognised"
fi

# ---- 31-33: an idle TCP peer must not block other clients (cocos-ea-wire.md 5.2) ------------
if [ $HAVE_PY -eq 0 ]; then
    t_skip "$NOPY" 3
elif start_serve "$T/serve-idle.log" --tee "sim:$D1" --timeout 1000; then
    P=$SERVE_PORT
    SPID=$SERVE_PID
    # Two idle TCP connections (no ClientHello), then a genuine client; afterwards, how long
    # the server keeps the idle ones.
    to 30 "$PY" -I -c '
import json, socket, subprocess, sys, time
port = int(sys.argv[1])
idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(2)]
t_open = time.monotonic()
time.sleep(0.2)  # the server has accepted them and waits for their ClientHello
t0 = time.monotonic()
try:
    rc = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        timeout=20).returncode
except subprocess.TimeoutExpired:
    rc = -1
elapsed = time.monotonic() - t0
def is_open(s):
    s.setblocking(False)
    try:
        return s.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
open_after = [is_open(s) for s in idle]
closed_at = []
for s in idle:
    s.setblocking(True)
    s.settimeout(max(0.1, 6 - (time.monotonic() - t_open)))
    try:
        while s.recv(4096):
            pass
        closed_at.append(round(time.monotonic() - t_open, 3))
    except socket.timeout:
        closed_at.append(None)
    except OSError:
        closed_at.append(round(time.monotonic() - t_open, 3))
    s.close()
print(json.dumps({"rc": rc, "connect_seconds": round(elapsed, 3), "idle_open_after_connect": open_after, "idle_closed_after_seconds": closed_at}))
' "$P" "$TETHER" connect "127.0.0.1:$P" --policy "$D1/policy.json" --send hi --timeout 5000 >"$T/idle.json" 2>"$T/err"
    sed -e 's/^/# /' "$T/idle.json"
    t_diag_file "$T/err"
    json_check "$T/idle.json" 'd["rc"] == 0'
    t_ok $? "a genuine client passes while two idle TCP peers are connected"
    t_diag_file "$T/idle.json"
    json_check "$T/idle.json" 'all(d["idle_open_after_connect"])'
    t_ok $? "  ... and it completed while the idle peers were still open (accepts are not serial)"
    t_diag_file "$T/idle.json"
    t_diag_file "$T/serve-idle.log"
    json_check "$T/idle.json" 'all(x is not None and 0.5 <= x <= 5 for x in d["idle_closed_after_seconds"])'
    t_ok $? "the server drops each idle peer after its --timeout 1000 deadline"
    stop_serve "$SPID"
else
    t_diag_file "$T/serve-idle.log"
    t_ok 1 "tether serve --timeout 1000 starts on loopback"
    t_skip "no server" 2
fi

# ---- 34-41: serve --forward, serve --reattest, connect --cocos-compat, verify --type -------
# 34: --forward to a loopback backend that answers in upper case (so the reply cannot be the
# tether echo). The backend serves one connection and gives up after 15 s in any case.
if [ $HAVE_PY -eq 0 ]; then
    t_skip "$NOPY"
else
    rm -f "$T/backend.port"
    to 20 "$PY" -I -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1); s.settimeout(15)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
c, _ = s.accept(); c.settimeout(15)
while True:
    b = c.recv(4096)
    if not b:
        break
    c.sendall(b.upper())
' "$T/backend.port" 2>"$T/backend.err" &
    BPID=$!
    T_PIDS="$T_PIDS $BPID"
    w=0
    while [ ! -s "$T/backend.port" ] && [ $w -lt 50 ]; do sleep 0.1; w=$((w + 1)); done
    BPORT=$(cat "$T/backend.port" 2>/dev/null)
    if [ -n "$BPORT" ] && start_serve "$T/serve-fw.log" --tee "sim:$D1" --forward "127.0.0.1:$BPORT"; then
        to 20 "$TETHER" connect "127.0.0.1:$SERVE_PORT" --policy "$D1/policy.json" --send hello >"$T/out" 2>&1
        rc=$?
        t_diag "exit $rc"
        t_diag_file "$T/out"
        t_diag_file "$T/serve-fw.log"
        [ $rc -eq 0 ] && grep -q "^verdict: pass" "$T/out" && grep -q "^reply: HELLO" "$T/out"
        t_ok $? "serve --forward: the attested client's data reaches the backend and its reply comes back"
        stop_serve "$SERVE_PID"
    else
        t_diag_file "$T/backend.err"
        t_ok 1 "serve --forward: backend and server start"
    fi
    kill "$BPID" 2>/dev/null
    wait "$BPID" 2>/dev/null
fi

# 35-36: --reattest is the server's request for fresh CLIENT evidence: it needs --mutual.
to 10 "$TETHER" serve --listen "127.0.0.1:$CLOSED" --tee "sim:$D1" --reattest 1 >"$T/out" 2>&1
rc=$?
t_diag "exit $rc"
t_diag_file "$T/out"
[ $rc -eq 2 ] && grep -q -- "--mutual" "$T/out"
t_ok $? "serve --reattest without --mutual exits 2 and names --mutual"

to 10 "$TETHER" serve --listen "127.0.0.1:$CLOSED" --tee "sim:$D1" --mutual --policy "$D2/policy.json" --reattest 0 >"$T/out" 2>&1
rc=$?
t_diag "exit $rc"
[ $rc -eq 2 ]
t_ok $? "serve --reattest 0 exits 2 (usage)"

# 37: with --mutual, the server re-attests a client that stays connected (the client
# re-attests the server at the same time); no round fails, the connection passes.
if start_serve "$T/serve-mr.log" --tee "sim:$D1" --mutual --policy "$D2/policy.json" --reattest 1; then
    to 30 "$TETHER" connect "127.0.0.1:$SERVE_PORT" --policy "$D1/policy.json" --tee "sim:$D2" --reattest 1 --rounds 3 --send hi >"$T/out" 2>&1
    rc=$?
    sleep 0.3
    t_diag "exit $rc"
    t_diag_file "$T/out"
    t_diag_file "$T/serve-mr.log"
    [ $rc -eq 0 ] && grep -q "^reply: hi" "$T/out" && grep -q "client attested" "$T/serve-mr.log" &&
        ! grep -q "re-attestation failed\|connection failed" "$T/serve-mr.log"
    t_ok $? "serve --mutual --reattest 1: a client held for 2 s passes every round both ways"
    stop_serve "$SERVE_PID"
else
    t_diag_file "$T/serve-mr.log"
    t_ok 1 "tether serve --mutual --reattest 1 starts on loopback"
fi

# 38: a --cocos-compat client (Cocos's request, then raw data) against a tether server.
if start_serve "$T/serve-cc.log" --tee "sim:$D1"; then
    to 20 "$TETHER" connect "127.0.0.1:$SERVE_PORT" --policy "$D1/policy.json" --cocos-compat --send hi >"$T/out" 2>&1
    rc=$?
    t_diag "exit $rc"
    t_diag_file "$T/out"
    t_diag_file "$T/serve-cc.log"
    [ $rc -eq 0 ] && grep -q "^verdict: pass" "$T/out" && grep -q "^reply: hi" "$T/out"
    t_ok $? "connect --cocos-compat attests a tether server and exchanges raw data"
    stop_serve "$SERVE_PID"
else
    t_diag_file "$T/serve-cc.log"
    t_ok 1 "tether serve starts on loopback (cocos-compat client)"
fi

# 39-41: verify --type forces the evidence type instead of recognising it from the content.
SNP_REPORT=$VECTORS/snp/virtee-sev/milan_v2_report.bin
if [ ! -f "$SNP_REPORT" ]; then
    t_skip "recorded vectors not found at $VECTORS" 3
elif [ $HAVE_PY -eq 0 ]; then
    t_skip "$NOPY" 3
else
    checks='[(c["name"], c["status"], c["code"], c["actual"]) for c in d["checks"]]'
    fails='[(c["name"], c["code"]) for c in d["checks"] if c["status"] == "fail"]'
    # verify_type TYPE EXPECT-PYTHON: verify --type TYPE --json on the SNP report exits 1 and
    # the expression holds for its JSON.
    verify_type() {
        to 10 "$TETHER" verify --evidence "$SNP_REPORT" --type "$1" --json >"$T/v.json" 2>"$T/err"
        rc=$?
        t_diag "exit $rc"
        t_diag_file "$T/v.json"
        [ $rc -eq 1 ] && json_check "$T/v.json" "$2"
    }
    verify_type snp "$checks[0] == ('evidence.type', 'pass', 'ok', 'snp') and $checks[1][:3] == ('evidence.format', 'pass', 'ok')"
    t_ok $? "verify --type snp on an SNP report: the forced type is used and the report parses"

    verify_type sim "d['verdict'] == 'fail' and $checks[0] == ('evidence.type', 'pass', 'ok', 'sim') and $fails[0] == ('evidence.format', 'evidence_malformed')"
    t_ok $? "verify --type sim on an SNP report exits 1 with evidence.format evidence_malformed"

    verify_type bogus "$fails == [('evidence.type', 'evidence_unrecognised')] and $checks[0][3] == 'bogus'"
    t_ok $? "verify --type with an unknown type exits 1 with evidence.type evidence_unrecognised"
fi

t_done
[ "$T_FAILED" -eq 0 ]
