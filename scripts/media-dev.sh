#!/usr/bin/env bash
# Janus (VideoRoom SFU) and coturn from Debian's packages for local development, in the foreground:
# Ctrl-C stops both. Configs come from deploy/janus and deploy/coturn, filled in a temp dir.
#
# They listen on this machine's LAN address, not 127.0.0.1: Janus never offers loopback ICE
# candidates, so a browser on this machine reaches Janus's media only through a real interface.
# Prints the environment to start our server with.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
Usage: scripts/media-dev.sh [--ip ADDRESS] [--help]

Runs Janus and coturn (apt-get install janus coturn) in the foreground until Ctrl-C, and prints:
  JANUS_URL=ws://ADDRESS:8188 JANUS_API_SECRET=... TURN_URLS=turn:ADDRESS:3478 TURN_SECRET=...

  --ip ADDRESS   the address to listen and gather ICE candidates on
                 (default: this machine's first global IPv4 address)

Environment (all optional):
  JANUS_API_SECRET, TURN_SECRET   secrets to use (default: random each run)
  JANUS_WS_PORT=8188  JANUS_ADMIN_WS_PORT=7188  JANUS_RTP_PORTS=20000-20199
  TURN_PORT=3478      TURN_RELAY_PORTS=49160-49259
EOF
}

ADDRESS=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --ip)
      ADDRESS="${2:?--ip needs an address}"
      shift 2
      ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
done

for binary in janus turnserver envsubst ip; do
  if ! command -v "$binary" >/dev/null; then
    echo "media-dev: $binary not found (apt-get install janus coturn gettext-base iproute2)" >&2
    exit 1
  fi
done

if [ -z "$ADDRESS" ]; then
  ADDRESS="$(ip -o -4 addr show scope global | awk 'NR == 1 { split($4, a, "/"); print a[1] }')"
fi
# The interface that carries ADDRESS: Janus offers candidates on it only.
INTERFACE="$(ip -o -4 addr show | awk -v address="$ADDRESS" '{ split($4, a, "/") } a[1] == address { print $2; exit }')"
if [ -z "$ADDRESS" ] || [ -z "$INTERFACE" ]; then
  echo "media-dev: no global IPv4 address${ADDRESS:+ $ADDRESS} on this machine; pass --ip" >&2
  exit 1
fi

random_secret() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

JANUS_API_SECRET="${JANUS_API_SECRET:-$(random_secret)}"
TURN_SECRET="${TURN_SECRET:-$(random_secret)}"
JANUS_WS_PORT="${JANUS_WS_PORT:-8188}"
JANUS_ADMIN_WS_PORT="${JANUS_ADMIN_WS_PORT:-7188}"
JANUS_RTP_PORTS="${JANUS_RTP_PORTS:-20000-20199}"
TURN_PORT="${TURN_PORT:-3478}"
TURN_RELAY_PORTS="${TURN_RELAY_PORTS:-49160-49259}"

DIR="$(mktemp -d -t streammeon-media-dev.XXXXXX)"
PIDS=()
cleanup() {
  # Once: a second Ctrl-C (or timeout's signal to the whole group) must not cut the cleanup short.
  trap '' EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Only the named placeholders are replaced (envsubst would otherwise empty any other $WORD).
fill() { # template output variables...
  local template="$1" output="$2"
  shift 2
  local names=""
  for name in "$@"; do names+="\${$name} "; done
  envsubst "$names" <"$template" >"$output"
}

export API_SECRET="$JANUS_API_SECRET" ADMIN_SECRET
ADMIN_SECRET="$(random_secret)"
export RTP_PORT_RANGE="$JANUS_RTP_PORTS" ICE_ENFORCE_LIST="$INTERFACE" INTERFACE_IP="$ADDRESS"
export WS_IP="$ADDRESS" WS_PORT="$JANUS_WS_PORT" ADMIN_WS_PORT="$JANUS_ADMIN_WS_PORT"
for file in janus.jcfg janus.transport.websockets.jcfg janus.plugin.videoroom.jcfg; do
  fill "deploy/janus/$file" "$DIR/$file" API_SECRET ADMIN_SECRET RTP_PORT_RANGE ICE_ENFORCE_LIST \
    INTERFACE_IP WS_IP WS_PORT ADMIN_WS_PORT
done

export LISTEN_IP="$ADDRESS" PORT="$TURN_PORT" SECRET="$TURN_SECRET" REALM="streammeon.dev"
export JANUS_IP="$ADDRESS" MIN_PORT="${TURN_RELAY_PORTS%-*}" MAX_PORT="${TURN_RELAY_PORTS#*-}"
export LOG_FILE="stdout"
fill deploy/coturn/turnserver.conf "$DIR/turnserver.conf" LISTEN_IP PORT SECRET REALM JANUS_IP MIN_PORT \
  MAX_PORT LOG_FILE

# Process substitution, not a pipe: $! is then Janus's (coturn's) own pid, for cleanup and wait -n.
janus -F "$DIR" -C "$DIR/janus.jcfg" > >(sed -u 's/^/[janus] /') 2>&1 &
PIDS+=($!)
turnserver -c "$DIR/turnserver.conf" --pidfile "$DIR/turnserver.pid" --db "$DIR/turndb" \
  > >(sed -u 's/^/[coturn] /') 2>&1 &
PIDS+=($!)

cat <<EOF

Janus and coturn on $ADDRESS ($INTERFACE). Start the server with:

  JANUS_URL=ws://$ADDRESS:$JANUS_WS_PORT JANUS_API_SECRET=$JANUS_API_SECRET TURN_URLS=turn:$ADDRESS:$TURN_PORT TURN_SECRET=$TURN_SECRET

Admin API: ws://$ADDRESS:$JANUS_ADMIN_WS_PORT (admin_secret $ADMIN_SECRET). Ctrl-C stops both.

EOF

# Stop both as soon as either ends.
wait -n
echo "media-dev: janus or coturn exited" >&2
exit 1
