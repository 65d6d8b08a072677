#!/bin/sh
# swtpm.sh - a software TPM 2.0 (swtpm) on 127.0.0.1 for the tests (docs/tpm.md).
#
#   scripts/swtpm.sh start DIR   start swtpm with its state in DIR (created if needed) on a free
#                                port pair P (TPM commands) and P+1 (control channel), as a
#                                daemon; prints P. DIR/pid and DIR/port are written.
#                                The attester's TCTI is then "swtpm:host=127.0.0.1,port=P".
#   scripts/swtpm.sh stop DIR    stop the swtpm started on DIR (by its pid, SIGTERM, SIGKILL
#                                after 5 s) and remove DIR/pid and DIR/port.
#   scripts/swtpm.sh port DIR    print the port of the swtpm running on DIR.
#
# The TPM is manufactured on the first start in an empty DIR (fresh endorsement seed, so a new
# attestation key); started with startup-clear, so no TPM2_Startup is needed. Loopback only:
# never binds another address. TETHER_SWTPM_PORT chooses the first port tried (default: one
# derived from the pid in 20000-59998). Exit status: 0, 1 on failure (with a message), 2 usage.
set -u

usage() {
    echo "usage: scripts/swtpm.sh start|stop|port DIR" >&2
    exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
dir=$2
[ -n "$dir" ] || usage

# The swtpm whose pid DIR/pid names, if it is alive and really that swtpm (a pid file left by a
# crash may name an unrelated process by now).
running_pid() {
    [ -f "$dir/pid" ] || return 1
    p=$(tr -cd '0-9' <"$dir/pid")
    [ -n "$p" ] || return 1
    kill -0 "$p" 2>/dev/null || return 1
    if [ -r "/proc/$p/cmdline" ]; then
        tr '\0' ' ' <"/proc/$p/cmdline" | grep -q "swtpm" || return 1
    fi
    echo "$p"
}

case $cmd in
start)
    if ! command -v swtpm >/dev/null 2>&1; then
        echo "swtpm.sh: swtpm not installed (apt-get install swtpm swtpm-tools)" >&2
        exit 1
    fi
    mkdir -p "$dir" || exit 1
    dir=$(cd "$dir" && pwd) || exit 1
    if p=$(running_pid); then
        echo "swtpm.sh: a swtpm (pid $p) already runs on $dir" >&2
        exit 1
    fi
    rm -f "$dir/pid" "$dir/port"
    port=${TETHER_SWTPM_PORT:-$((20000 + ($$ * 7919) % 19999 * 2))}
    tries=0
    while [ "$tries" -lt 20 ]; do
        if [ "$port" -gt 65533 ] || [ "$port" -lt 1024 ]; then
            port=20000
        fi
        # swtpm binds both sockets before it daemonises: a taken port fails right here (its
        # message goes to the log file).
        : >"$dir/swtpm.log"
        if swtpm socket --tpm2 --tpmstate "dir=$dir" \
            --server "type=tcp,port=$port,bindaddr=127.0.0.1" \
            --ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
            --flags not-need-init,startup-clear --daemon --pid "file=$dir/pid" \
            --log "file=$dir/swtpm.log" 2>"$dir/start.err"; then
            # The pid file appears as it daemonises: wait for it (2 s at most).
            w=0
            while [ "$w" -lt 20 ] && ! running_pid >/dev/null; do
                sleep 0.1
                w=$((w + 1))
            done
            if ! running_pid >/dev/null; then
                echo "swtpm.sh: swtpm started but wrote no pid file in $dir" >&2
                exit 1
            fi
            echo "$port" >"$dir/port"
            rm -f "$dir/start.err"
            echo "$port"
            exit 0
        fi
        if ! cat "$dir/start.err" "$dir/swtpm.log" 2>/dev/null | grep -qi "in use"; then
            echo "swtpm.sh: swtpm failed to start:" >&2
            cat "$dir/start.err" "$dir/swtpm.log" >&2 2>/dev/null
            exit 1
        fi
        port=$((port + 2 + ($$ + tries) % 97 * 2))
        tries=$((tries + 1))
    done
    echo "swtpm.sh: no free port pair found after 20 tries" >&2
    exit 1
    ;;
stop)
    if p=$(running_pid); then
        kill -TERM "$p" 2>/dev/null
        w=0
        while [ "$w" -lt 50 ] && kill -0 "$p" 2>/dev/null; do
            sleep 0.1
            w=$((w + 1))
        done
        if kill -0 "$p" 2>/dev/null; then
            kill -KILL "$p" 2>/dev/null
            sleep 0.1
        fi
    fi
    rm -f "$dir/pid" "$dir/port"
    exit 0
    ;;
port)
    if running_pid >/dev/null && [ -f "$dir/port" ]; then
        cat "$dir/port"
        exit 0
    fi
    echo "swtpm.sh: no swtpm runs on $dir" >&2
    exit 1
    ;;
*)
    usage
    ;;
esac
