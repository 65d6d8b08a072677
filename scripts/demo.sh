#!/bin/sh
# make demo: provision a simulated TEE, start an attesting server on loopback, connect a
# client that appraises the server's evidence over this very connection, print the report.
set -eu
B=${1:-build}
T="$B/tether"
D="$B/demo"
rm -rf "$D"
mkdir -p "$D"
PORT=$((20000 + $$ % 20000))
echo "== 1. provision a simulated TEE (sim root CA, attestation key, policy)"
"$T" sim init "$D/sim"
echo
echo "== 2. start 'tether serve' on 127.0.0.1:$PORT (attests with sim:$D/sim, echoes data)"
"$T" serve --listen "127.0.0.1:$PORT" --tee "sim:$D/sim" --count 2 2>"$D/server.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT INT TERM
i=0
while ! grep -q listening "$D/server.log" 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 50 ] && { cat "$D/server.log"; exit 1; }; sleep 0.1
done
echo
echo "== 3. 'tether connect': TLS 1.3, Exported Authenticator request, evidence bound to this"
echo "      connection's exporter, appraisal, and only then application data"
"$T" connect "127.0.0.1:$PORT" --policy "$D/sim/policy.json" --send "hello from an attested client"
echo
echo "== 4. the same as a machine-readable report (--json)"
"$T" connect "127.0.0.1:$PORT" --policy "$D/sim/policy.json" --json > "$D/report.json"
head -c 1200 "$D/report.json"; echo "..."
echo "(full report: $D/report.json)"
wait $SERVER 2>/dev/null || true
trap - EXIT INT TERM
echo
echo "== server log"
cat "$D/server.log"
echo
echo "== 5. the relay lab ('tether lab'): real clients, scripted attackers and two genuine sim"
echo "      TEEs (platforms P1, P2) on loopback; attacks T-1..T-20 against tether and the"
echo "      INSECURE legacy modes (docs/attacks.md)"
LAB_STATUS=0
"$T" lab > "$D/lab.txt" 2>&1 || LAB_STATUS=$?
sed -n '/^attack \\ mode/,/^$/p' "$D/lab.txt"
sed -n '/^in short:/,/^$/p' "$D/lab.txt"
tail -n 1 "$D/lab.txt"
echo "(full lab output: $D/lab.txt; 'tether lab --json' for the machine-readable matrix)"
if [ "$LAB_STATUS" -ne 0 ]; then
    echo "the lab found cells that differ from the expected matrix (exit $LAB_STATUS):"
    sed -n '/^deviations from/,$p' "$D/lab.txt"
    exit "$LAB_STATUS"
fi
