#!/bin/sh
# Screenshots of the default theme on content-example, desktop and phone,
# light and dark, with Debian's headless Chromium. Writes docs/screenshots/.
#   sh docs/screenshots.sh            (needs: cargo, chromium)
set -eu
cd "$(dirname "$0")/.."
cargo build --quiet
PORT=${PORT:-18765}
./target/debug/stoa serve --root content-example --port "$PORT" >/tmp/stoa-shots.log 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
i=0
until curl -fs "http://127.0.0.1:$PORT/" >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -lt 100 ] || { cat /tmp/stoa-shots.log; exit 1; }; sleep 0.2
done
mkdir -p docs/screenshots
shot() { # name width height scheme path
  timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d)" --hide-scrollbars --force-device-scale-factor=1 \
    --blink-settings="preferredColorScheme=$4" \
    --window-size="$2,$3" --screenshot="docs/screenshots/$1.png" "http://127.0.0.1:$PORT$5" >/dev/null 2>&1
}
# preferredColorScheme: 0 = dark, 1 = light
shot desktop-light 1280 1000 1 /
shot desktop-dark 1280 1000 0 /posts/stale-backup-check-in-rust/
shot phone-light 390 844 1 /posts/ridgeway-at-dawn/
shot phone-dark 390 844 0 /
ls -la docs/screenshots
