#!/bin/sh
# lab.sh - `tether lab`, the relay-attack lab (docs/attacks.md): one full run with --json, every
# cell asserted against the expected-results matrix written out below (independently of the
# lab's own table), the specific outcomes the relay-resistance claim rests on (T-1, T-2, T-3
# against the legacy modes; T-5/T-6 binder_mismatch; T-10 with and without the platform-id
# policy; T-8/T-9 residual; ra-early-exporter's row with both T-4 variants), then
# --scenario/--mode filtering, the human matrix, and the exit
# status (0 all as expected, 1 a deviation, 2 usage). TAP; loopback only; bounded by timeouts.
. "$(dirname "$0")/lib.sh"

t_plan 21

need_tether
LAB_BIN=$(dirname "$TETHER")/tether-lab
if [ ! -x "$LAB_BIN" ]; then
    echo "Bail out! tether-lab not found at $LAB_BIN (run make)"
    exit 1
fi
NOPY="python3 not found"
T=$T_TMP

# ---- 1: the full run -------------------------------------------------------------------
start=$(date +%s)
to 120 "$TETHER" lab --json >"$T/lab.json" 2>"$T/lab.err"
rc=$?
secs=$(($(date +%s) - start))
t_diag "exit $rc after ${secs}s"
t_diag_file "$T/lab.err"
[ $rc -eq 0 ] && [ "$secs" -lt 30 ]
t_ok $? "tether lab --json exits 0 in under 30 s"

# lab_check NAME PYTHON: run PYTHON with d = the JSON, cell(s, m, p, v) = that cell (v: the
# variant, None but for T-4's two); the expression sets ok (bool) and may append to why.
lab_check() {
    if [ -z "$PY" ]; then
        t_skip "$NOPY"
        return
    fi
    py -c '
import json, sys
d = json.load(open(sys.argv[1]))
cells = {(c["scenario"], c["mode"], c["policy"], c.get("variant")): c for c in d["cells"]}
def cell(s, m, p="default", v=None):
    c = cells.get((s, m, p, v))
    if c is None:
        raise SystemExit("missing cell %s %s/%s %s" % (s, m, p, v or ""))
    return c
def show(c):
    return "%s %s/%s%s: accepted=%s read=%s code=%s as_expected=%s status=%s detail=%s" % (
        c["scenario"], c["mode"], c["policy"], " " + c["variant"] if c.get("variant") else "",
        c["client_accepted"], c["attacker_read_secret"],
        c["client_error_code"], c["as_expected"], c["status"], c.get("detail", ""))
why = []
ok = True
exec(sys.argv[2])
for w in why:
    sys.stderr.write(w + "\n")
sys.exit(0 if ok else 1)
' "$T/lab.json" "$2" 2>>"$T_TMP/why"
    t_ok $? "$1"
}

# The expected-results matrix (research protocol.md 9.3 and 9.2) as (scenario, mode, policy,
# variant); the variant is None except for T-4's "byte-relay" and "clear-evidence-hook":
# "attack" = client accepts AND attacker reads the secret; "diverted" = client accepts,
# attacker reads nothing (the secret went to platform P2); "accepted" = control / design check;
# ("blocked", code) = client refuses with that code (None: any) and nothing is read;
# "refused" = not runnable, the library refuses the mode (no cell any more: ra-early-exporter
# runs, docs/protocol.md 15.5).
MATRIX='
A, D, X = "attack", "diverted", "accepted"
def B(code=None): return ("blocked", code)
R = "refused"
T, RN, RK, RKN, REE = "tether", "ra-nonce", "ra-key", "ra-key-nonce", "ra-early-exporter"
P = "platform-id"
spec0 = {
 ("T-1", RN, "default"): A, ("T-1", RKN, "default"): B("binder_mismatch"),
 ("T-1", REE, "default"): B("binder_mismatch"),
 ("T-2", RN, "default"): A, ("T-2", RK, "default"): A, ("T-2", RKN, "default"): A,
 ("T-2", REE, "default"): B("binder_mismatch"),
 ("T-3", RK, "default"): A, ("T-3", RKN, "default"): B("binder_mismatch"),
 ("T-3", REE, "default"): B("binder_mismatch"),
 ("T-3", T, "default"): B("binder_mismatch"), ("T-3", T, P): B("binder_mismatch"),
 ("T-5", T, "default"): B("binder_mismatch"), ("T-5", T, P): B("binder_mismatch"),
 ("T-6", T, "default"): B("binder_mismatch"), ("T-6", T, P): B("binder_mismatch"),
 ("T-7", T, "default"): X,
 ("T-8", RN, "default"): A, ("T-8", RK, "default"): A, ("T-8", RKN, "default"): A,
 ("T-8", REE, "default"): A, ("T-8", T, "default"): A, ("T-8", T, P): A,
 ("T-9", T, "default"): A,
 ("T-10", RN, "default"): D, ("T-10", RN, P): B("platform_not_allowed"),
 ("T-10", RK, "default"): D, ("T-10", RK, P): B("platform_not_allowed"),
 ("T-10", RKN, "default"): D, ("T-10", RKN, P): B("platform_not_allowed"),
 ("T-10", REE, "default"): D, ("T-10", REE, P): B("platform_not_allowed"),
 ("T-10", T, "default"): D, ("T-10", T, P): B("platform_not_allowed"),
 ("T-11", T, "default"): B("binder_mismatch"),
 ("T-12", T, "default"): B("binder_expected_empty"),
 ("T-13", T, "default"): B("exporter_label_mismatch"),
 ("T-14", T, "default"): B("ea_cmw_not_on_leaf"),
 ("T-15", T, "default"): B("ea_context_mismatch"),
 ("T-16", T, "default"): B("data_before_attestation"),
 ("T-17", T, "default"): B(),
 ("T-18", T, "default"): B("ea_bad_signature"),
 ("T-19", T, "default"): B("tls"),
 ("T-20", T, "default"): X,
}
spec = {k + (None,): e for k, e in spec0.items()}
# T-4 (research protocol.md 9.2-9.3): byte relay fails (the attacker can only forward: the
# client reaches S2, the attacker reads nothing); with the clear-evidence hook it succeeds.
spec[("T-4", REE, "default", "byte-relay")] = X
spec[("T-4", REE, "default", "clear-evidence-hook")] = A
def matches(c, e):
    if e == R:
        return c["status"] == "not_runnable" and not c["client_accepted"]
    if c["status"] != "ran":
        return False
    if e == A:
        return c["client_accepted"] and c["attacker_read_secret"]
    if e in (D, X):
        return c["client_accepted"] and not c["attacker_read_secret"]
    return (not c["client_accepted"] and not c["attacker_read_secret"]
            and (e[1] is None or c["client_error_code"] == e[1]))
'

# ---- 2-4: the whole matrix ----------------------------------------------------------------
lab_check "every cell of the matrix is present, no other cell, every one as expected" "$MATRIX"'
got = set(cells)
for k in sorted(set(spec) - got): why.append("missing cell %s" % (k,))
for k in sorted(got - set(spec)): why.append("unexpected cell %s" % (k,))
for c in d["cells"]:
    if not c["as_expected"]: why.append("not as expected: " + show(c))
ok = not why and len(d["cells"]) == len(spec) and d["all_as_expected"] is True \
     and d["summary"]["deviations"] == 0 and d["summary"]["cells"] == len(spec)
'
lab_check "every cell shows the outcome of the expected-results matrix (accepted, read, code)" "$MATRIX"'
for k, e in spec.items():
    c = cells.get(k)
    if c is not None and not matches(c, e):
        why.append("expected %s, got %s" % (e, show(c)))
ok = not why
'
lab_check "every cell has the documented fields and types" '
for c in d["cells"]:
    for f, ty in (("scenario", str), ("mode", str), ("policy", str), ("client_accepted", bool),
                  ("attacker_read_secret", bool), ("expected", str), ("as_expected", bool),
                  ("residual", bool)):
        if not isinstance(c.get(f), ty): why.append("%s: field %s" % (show(c), f))
    if "variant" not in c or not (c["variant"] is None or isinstance(c["variant"], str)):
        why.append("%s: field variant" % show(c))
    if c["mode"] not in ("tether", "ra-nonce", "ra-key", "ra-key-nonce", "ra-early-exporter"):
        why.append("bad mode " + c["mode"])
    if c["policy"] not in ("default", "platform-id"): why.append("bad policy " + c["policy"])
ids = {c["scenario"] for c in d["cells"]}
for i in range(1, 21):
    if "T-%d" % i not in ids: why.append("scenario T-%d absent" % i)
ok = not why
'

# ---- 5-11: the claims, one by one -----------------------------------------------------------
lab_check "T-1 (nonce relay): succeeds against ra-nonce, fails against ra-key-nonce (binder_mismatch)" '
a, b = cell("T-1", "ra-nonce"), cell("T-1", "ra-key-nonce")
ok = a["client_accepted"] and a["attacker_read_secret"] and not b["client_accepted"] \
     and not b["attacker_read_secret"] and b["client_error_code"] == "binder_mismatch"
if not ok: why += [show(a), show(b)]
'
lab_check "T-2 (relay with the extracted TLS key): the attacker reads the secret in ra-nonce, ra-key, ra-key-nonce" '
for m in ("ra-nonce", "ra-key", "ra-key-nonce"):
    c = cell("T-2", m)
    if not (c["client_accepted"] and c["attacker_read_secret"]): why.append(show(c))
ok = not why
'
lab_check "T-3 (replay): succeeds against ra-key in every session, fails against ra-key-nonce and tether" '
a = cell("T-3", "ra-key")
ok = a["client_accepted"] and a["attacker_read_secret"] and "2/2 sessions accepted, 2/2 secrets read" in a["detail"]
for m, p in (("ra-key-nonce", "default"), ("tether", "default"), ("tether", "platform-id")):
    c = cell("T-3", m, p)
    if c["client_accepted"] or c["client_error_code"] != "binder_mismatch": why.append(show(c))
ok = ok and not why
if not ok: why.append(show(a))
'
lab_check "T-5 and T-6 fail against tether with binder_mismatch (both policies)" '
for s in ("T-5", "T-6"):
    for p in ("default", "platform-id"):
        c = cell(s, "tether", p)
        if c["client_accepted"] or c["attacker_read_secret"] or c["client_error_code"] != "binder_mismatch" or not c["as_expected"]:
            why.append(show(c))
ok = not why
'
lab_check "T-10 (diversion) succeeds without the platform-id policy and fails with it, in every mode" '
for m in ("tether", "ra-nonce", "ra-key", "ra-key-nonce", "ra-early-exporter"):
    a, b = cell("T-10", m), cell("T-10", m, "platform-id")
    if not a["client_accepted"] or a["attacker_read_secret"] or "secret delivered to S2" not in a["detail"]:
        why.append(show(a))
    if b["client_accepted"] or b["client_error_code"] != "platform_not_allowed": why.append(show(b))
ok = not why
'
lab_check "T-8 (oracle) and T-9 (leaked traffic secrets) are reported as residuals: the attack succeeds" '
res = [c for c in d["cells"] if c["residual"]]
for c in res:
    if c["scenario"] not in ("T-8", "T-9") or not (c["client_accepted"] and c["attacker_read_secret"]):
        why.append(show(c))
for k in (("T-8", "tether", "default"), ("T-8", "tether", "platform-id"), ("T-9", "tether", "default"),
          ("T-8", "ra-early-exporter", "default")):
    if not cell(*k)["residual"]: why.append("not marked residual: " + show(cell(*k)))
t9 = cell("T-9", "tether")
if "decrypted" not in t9["detail"]: why.append("T-9 did not decrypt records: " + show(t9))
ok = not why and len(res) == 7
'
lab_check "ra-early-exporter: T-1, T-2 and T-3 fail with binder_mismatch (S2 saw another ClientHello)" '
for s in ("T-1", "T-2", "T-3"):
    c = cell(s, "ra-early-exporter")
    if c["status"] != "ran" or c["client_accepted"] or c["attacker_read_secret"] \
       or c["client_error_code"] != "binder_mismatch" or not c["as_expected"]:
        why.append(show(c))
ok = not why
'
lab_check "T-4 against ra-early-exporter: byte relay fails (Certificate encrypted), clear-evidence hook succeeds" '
b = cell("T-4", "ra-early-exporter", v="byte-relay")
h = cell("T-4", "ra-early-exporter", v="clear-evidence-hook")
if not (b["status"] == "ran" and b["client_accepted"] and not b["attacker_read_secret"]
        and b["check_ok"] and "all encrypted" in b["detail"] and "never appears" in b["detail"]):
    why.append(show(b))
if not (h["status"] == "ran" and h["client_accepted"] and h["attacker_read_secret"]
        and "leaked handshake secret" in h["detail"] and not h["residual"]):
    why.append(show(h))
ok = not why and b["as_expected"] and h["as_expected"]
'

# ---- 12-14: filtering ---------------------------------------------------------------------
to 60 "$TETHER" lab --json --scenario T-5 >"$T/t5.json" 2>"$T/t5.err"
rc=$?
t_diag "exit $rc"
t_diag_file "$T/t5.err"
if [ -n "$PY" ]; then
    [ $rc -eq 0 ] && json_check "$T/t5.json" '
sorted((c["scenario"], c["mode"], c["policy"]) for c in d["cells"]) == [("T-5", "tether", "default"), ("T-5", "tether", "platform-id")]
and all(c["client_error_code"] == "binder_mismatch" and c["as_expected"] for c in d["cells"])'
    t_ok $? "--scenario T-5 runs only T-5's two cells, both binder_mismatch"
else
    t_skip "$NOPY"
fi

to 60 "$TETHER" lab --json --scenario t10,T-1 --mode ra-nonce >"$T/f.json" 2>"$T/f.err"
rc=$?
t_diag "exit $rc"
t_diag_file "$T/f.err"
if [ -n "$PY" ]; then
    [ $rc -eq 0 ] && json_check "$T/f.json" '
sorted((c["scenario"], c["policy"]) for c in d["cells"]) == [("T-1", "default"), ("T-10", "default"), ("T-10", "platform-id")]
and all(c["mode"] == "ra-nonce" for c in d["cells"])'
    t_ok $? "--scenario accepts lists and short forms; --mode filters by mode"
else
    t_skip "$NOPY"
fi

to 60 "$TETHER" lab --scenario T-10 >"$T/h.txt" 2>&1
rc=$?
t_diag "exit $rc"
t_diag_file "$T/h.txt"
[ $rc -eq 0 ] && grep -q "T-10 diversion" "$T/h.txt" && grep -q "DIVERTED" "$T/h.txt" &&
    grep -q "+ platform-id policy" "$T/h.txt" && grep -q "platform_not_allowed" "$T/h.txt" &&
    grep -q "cells: .* as expected, 0 deviate" "$T/h.txt" && ! grep -q "deviations from" "$T/h.txt"
t_ok $? "human output: the matrix row, the platform-id row, the codes, no deviation"

# ---- 15-19: exit status -------------------------------------------------------------------
to 60 "$TETHER" lab --scenario T-6 --inject-deviation T-6 >"$T/dev.txt" 2>&1
rc=$?
t_diag "exit $rc"
t_diag_file "$T/dev.txt"
[ $rc -eq 1 ] && grep -q "deviations from the expected matrix" "$T/dev.txt" &&
    grep -q "T-6 tether/default: expected the opposite of" "$T/dev.txt" && grep -q "2 deviate" "$T/dev.txt"
t_ok $? "a cell that differs from its expectation makes the exit status 1 and is listed"

"$TETHER" lab --scenario T-21 >"$T/u.txt" 2>&1
rc=$?
t_diag "exit $rc"
t_diag_file "$T/u.txt"
[ $rc -eq 2 ] && grep -q "unknown scenario" "$T/u.txt"
t_ok $? "an unknown scenario exits 2 (usage)"

"$TETHER" lab --scenario T-1 --mode tether >"$T/u.txt" 2>&1
rc=$?
t_diag "exit $rc"
[ $rc -eq 2 ] && grep -q "no cell" "$T/u.txt"
t_ok $? "a selection that matches no cell exits 2"

"$TETHER" lab --help >"$T/u.txt" 2>&1
rc=$?
t_diag "exit $rc"
[ $rc -eq 0 ] && grep -q -- "--scenario" "$T/u.txt" && grep -q -- "--json" "$T/u.txt"
t_ok $? "tether lab --help exits 0 and describes the options"

TETHER_LAB=$T/no-such-lab "$TETHER" lab >"$T/u.txt" 2>&1
rc=$?
t_diag "exit $rc"
t_diag_file "$T/u.txt"
[ $rc -eq 2 ] && grep -q "no-such-lab" "$T/u.txt"
t_ok $? "without the lab program, tether lab says where it looked and exits 2"

# ---- 20: the lab under ASan+UBSan, when that build exists ---------------------------------
ASAN_LAB=$T_ROOT/build-asan/tether-lab
if [ -x "$ASAN_LAB" ]; then
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} to 120 "$ASAN_LAB" >"$T/asan.txt" 2>&1
    rc=$?
    t_diag "exit $rc"
    t_diag_file "$T/asan.txt"
    [ $rc -eq 0 ] && ! grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error" "$T/asan.txt" &&
        grep -q "0 deviate" "$T/asan.txt"
    t_ok $? "the ASan+UBSan build of the lab runs every cell as expected, sanitizer-clean"
else
    t_skip "no build-asan/tether-lab (make test builds it)"
fi

t_done
[ "$T_FAILED" -eq 0 ]
