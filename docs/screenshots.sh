#!/bin/sh
# Screenshots of the default theme on content-example, desktop and phone,
# light and dark, with Debian's headless Chromium. Writes docs/screenshots/.
#   sh docs/screenshots.sh            (needs: cargo, chromium, python3)
# The thread screenshots show a sample conversation (replies, one nested,
# favourites, boosts and a quote, as `stoa pull` writes them) that this script adds
# to a copy of the example: people on example domains, avatars drawn here.
set -eu
cd "$(dirname "$0")/.."
cargo build --quiet
PORT=${PORT:-18765}
SITE=$(mktemp -d)
cp -a content-example/. "$SITE"
rm -rf "$SITE/public"
python3 - "$SITE" <<'PY'
import struct, sys, zlib
site = sys.argv[1]

def avatar(name, bg, fg):
    """A 96 px square PNG: a head and shoulders in fg on bg."""
    rows = []
    for y in range(96):
        row = bytearray([0])
        for x in range(96):
            head = (x - 48) ** 2 + (y - 38) ** 2 <= 18 ** 2
            body = (x - 48) ** 2 + (y - 100) ** 2 <= 38 ** 2
            row += bytes(fg if head or body else bg)
        rows.append(bytes(row))
    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 96, 96, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b"")
    import os
    os.makedirs(f"{site}/conversations/avatars", exist_ok=True)
    with open(f"{site}/conversations/avatars/{name}.png", "wb") as f:
        f.write(png)

avatar("a1", (219, 112, 78), (250, 226, 205))
avatar("b2", (64, 120, 170), (214, 232, 246))
avatar("c3", (92, 140, 96), (222, 240, 214))
avatar("d4", (140, 98, 160), (238, 222, 244))

with open(f"{site}/conversations.toml", "w") as f:
    f.write('''# A sample conversation for docs/screenshots.sh (as `stoa pull` writes it).

[posts.restic-saved-me]
likes = ["https://mastodon.example/users/nadia", "https://snac.example/tomas", "https://social.example/users/li", "https://gts.example/users/sam"]
boosts = ["https://mastodon.example/users/nadia", "https://social.example/users/li"]

[[posts.restic-saved-me.replies]]
id = "https://mastodon.example/users/nadia/statuses/1"
author = "https://mastodon.example/users/nadia"
url = "https://mastodon.example/@nadia/1"
published = "2026-03-02T09:14:00Z"
content = "<p>Forty seconds! Which restic backend do you use for the nightly snapshots?</p>"

[[posts.restic-saved-me.replies]]
id = "https://snac.example/tomas/p/2"
author = "https://snac.example/tomas"
in_reply_to = "https://mastodon.example/users/nadia/statuses/1"
url = "https://snac.example/tomas/p/2"
published = "2026-03-02T10:02:00Z"
content = "<p>Not Ada, but: restic to a little box at a friend&#39;s place works great for me.</p>"

[[posts.restic-saved-me.replies]]
id = "https://social.example/users/kenji/statuses/3"
author = "https://social.example/users/kenji"
url = "https://social.example/@kenji/3"
published = "2026-03-03T18:40:00Z"
updated = "2026-03-03T18:52:00Z"
content = "<p>Saved by the boring backup again. Time for my own <a href=\\"https://social.example/tags/backups\\" rel=\\"tag\\">#backups</a> check.</p>"

[[posts.restic-saved-me.quotes]]
id = "https://gts.example/users/sam/statuses/7"
author = "https://gts.example/users/sam"
url = "https://gts.example/@sam/statuses/7"

[people."https://mastodon.example/users/nadia"]
name = "Nadia"
handle = "@nadia@mastodon.example"
url = "https://mastodon.example/@nadia"
avatar = "a1.png"

[people."https://snac.example/tomas"]
name = "Tomás"
handle = "@tomas@snac.example"
url = "https://snac.example/tomas"
avatar = "b2.png"

[people."https://social.example/users/li"]
name = "Li"
handle = "@li@social.example"
url = "https://social.example/@li"
avatar = "c3.png"

[people."https://gts.example/users/sam"]
name = "Sam"
handle = "@sam@gts.example"
url = "https://gts.example/@sam"
avatar = "d4.png"

[people."https://social.example/users/kenji"]
name = "Kenji"
handle = "@kenji@social.example"
url = "https://social.example/@kenji"
''')
PY
./target/debug/stoa serve --root "$SITE" --port "$PORT" >/tmp/stoa-shots.log 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$SITE"' EXIT
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
    --window-size="$2,$3" --screenshot="docs/screenshots/$1.png" "http://127.0.0.1:$PORT$5" >/tmp/stoa-shots-chromium.log 2>&1 ||
    { echo "chromium failed on $1 (see /tmp/stoa-shots-chromium.log)" >&2; exit 1; }
}
# preferredColorScheme: 0 = dark, 1 = light
shot desktop-light 1280 1000 1 /
shot desktop-dark 1280 1000 0 /posts/stale-backup-check-in-rust/
shot phone-light 390 844 1 /posts/ridgeway-at-dawn/
shot phone-dark 390 844 0 /
# The conversation under a post: counts, faces and the thread.
shot thread-light 1280 1250 1 /posts/restic-saved-me/
shot thread-dark 390 1500 0 /posts/restic-saved-me/
ls -la docs/screenshots
