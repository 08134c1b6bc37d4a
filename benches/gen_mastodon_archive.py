#!/usr/bin/env python3
"""Writes a synthetic Mastodon archive for the `stoa import mastodon` benchmark.

Python 3 standard library only. The archive has the shape Mastodon's
"Request your archive" gives (app/services/backup_service.rb): outbox.json,
an OrderedCollection of Create (with the Note) and Announce activities;
actor.json; the media at media_attachments/files/…/original/<name>, the path
of each attachment's `url`; avatar.png and header.png.

What it holds, for N statuses and M media files: statuses numbered 1..N,
one in ten a boost, one in twenty followers-only, one in twenty direct, one
in ten unlisted, the rest public; one in eight a reply to the status before
it (a self-thread); up to three hashtags out of thirty; the first M of the
non-boost statuses carry one image each (M files of --media-kib KiB of random
bytes behind a PNG signature, alt text on most). Reproducible: seeded.

Usage:
  gen_mastodon_archive.py N M OUT [--media-kib 64] [--zip] [--seed 42]

OUT is a folder, or with --zip the .zip file (JSON deflated, media stored,
as media barely compresses). Prints one summary line.
"""

import argparse
import datetime
import json
import os
import random
import zipfile

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ACTOR = "https://old.example/users/ada"
WORDS = ("the of and to in is was for on with as at by from this that it "
         "bike road hill rain tea bread code rust server blog night morning "
         "river garden book music friend coffee train city light").split()
TAGS = [f"tag{i}" for i in range(30)]
PNG = b"\x89PNG\r\n\x1a\n"


def status(i, rnd, media_left):
    kind = rnd.random()
    if kind < 0.10:
        return {
            "id": f"{ACTOR}/statuses/{i}/activity", "type": "Announce",
            "actor": ACTOR, "published": date(i), "to": [PUBLIC],
            "cc": [f"{ACTOR}/followers"],
            "object": f"https://other.example/users/bob/statuses/{i}",
        }, None
    if kind < 0.15:
        to, cc = [f"{ACTOR}/followers"], []
    elif kind < 0.20:
        to, cc = ["https://other.example/users/bob"], []
    elif kind < 0.30:
        to, cc = [f"{ACTOR}/followers"], [PUBLIC]
    else:
        to, cc = [PUBLIC], [f"{ACTOR}/followers"]
    tags = rnd.sample(TAGS, rnd.randint(0, 3))
    words = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(5, 60)))
    tag_html = " ".join(
        f'<a href="https://old.example/tags/{t}" class="mention hashtag" rel="tag">#<span>{t}</span></a>'
        for t in tags)
    content = f"<p>{words}</p><p>{tag_html}</p>"
    media = None
    attachment = []
    if media_left > 0:
        name = f"{i:012x}.png"
        path = f"media_attachments/files/{i // 1000000:03d}/{i // 1000 % 1000:03d}/{i % 1000:03d}/original/{name}"
        attachment.append({
            "type": "Document", "mediaType": "image/png", "url": f"/{path}",
            "name": None if rnd.random() < 0.1 else f"picture {i}",
            "blurhash": "U00000fQfQfQfQfQfQfQfQfQfQfQ", "width": 1, "height": 1,
        })
        media = path
    note = {
        "id": f"{ACTOR}/statuses/{i}", "type": "Note",
        "summary": "cw" if rnd.random() < 0.05 else None,
        "inReplyTo": f"{ACTOR}/statuses/{i - 1}" if i > 1 and rnd.random() < 0.125 else None,
        "published": date(i), "url": f"https://old.example/@ada/{i}",
        "attributedTo": ACTOR, "to": to, "cc": cc, "sensitive": False,
        "atomUri": f"{ACTOR}/statuses/{i}",
        "conversation": f"tag:old.example,2020:objectId={i}:objectType=Conversation",
        "content": content, "contentMap": {"en": content},
        "attachment": attachment,
        "tag": [{"type": "Hashtag", "href": f"https://old.example/tags/{t}", "name": f"#{t}"} for t in tags],
        "replies": {"id": f"{ACTOR}/statuses/{i}/replies", "type": "Collection"},
    }
    return {
        "id": f"{ACTOR}/statuses/{i}/activity", "type": "Create", "actor": ACTOR,
        "published": date(i), "to": to, "cc": cc, "object": note,
    }, media


def date(i):
    # One status every ~2 hours from 2020 on, in UTC.
    seconds = 1577836800 + i * 7211
    d = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("m", type=int)
    ap.add_argument("out")
    ap.add_argument("--media-kib", type=int, default=64)
    ap.add_argument("--zip", action="store_true")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    items, media = [], []
    for i in range(1, a.n + 1):
        item, path = status(i, rnd, a.m - len(media))
        items.append(item)
        if path:
            media.append(path)
    outbox = json.dumps({
        "@context": "https://www.w3.org/ns/activitystreams", "id": "outbox.json",
        "type": "OrderedCollection", "totalItems": len(items), "orderedItems": items,
    }).encode()
    actor = json.dumps({
        "id": ACTOR, "type": "Person", "name": "Ada", "summary": "<p>Bio</p>",
        "attachment": [], "icon": {"type": "Image", "url": "avatar.png"},
        "image": {"type": "Image", "url": "header.png"}, "outbox": "outbox.json",
    }).encode()
    media_rnd = random.Random(f"{a.seed}:media")

    def blob():
        return PNG + media_rnd.randbytes(a.media_kib * 1024 - len(PNG))

    files = [("outbox.json", outbox), ("actor.json", actor)]
    total = len(outbox) + len(actor)
    if a.zip:
        with zipfile.ZipFile(a.out, "w") as z:
            for name, data in files:
                z.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
            for path in media + ["avatar.png", "header.png"]:
                data = blob()
                total += len(data)
                z.writestr(path, data, compress_type=zipfile.ZIP_STORED)
    else:
        for path in media + ["avatar.png", "header.png"]:
            files.append((path, None))
        for name, data in files:
            full = os.path.join(a.out, name)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            if data is None:
                data = blob()
                total += len(data)
            with open(full, "wb") as f:
                f.write(data)
    print(f"{a.n} statuses, {len(media)} media files, {total} bytes -> {a.out}")


if __name__ == "__main__":
    main()
