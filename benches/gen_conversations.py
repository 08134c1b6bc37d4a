#!/usr/bin/env python3
"""Writes a synthetic conversations.toml for the build benchmark.

Usage: gen_conversations.py POSTS_DIR OUT N
  POSTS_DIR  the posts of a corpus from gen_corpus.py (slugs = file names)
  OUT        the file to write (copy it to the site's conversations.toml)
  N          interactions in all: the first post (by slug) gets 2,000
             replies (3,999 interactions), the rest are spread unevenly
             (weight 1/rank); per post a third are favourites and a sixth
             boosts (each person at most once), the rest replies, 40% of
             which answer an earlier reply. 2,000 people on 50 servers.
             Prints the counts it wrote.
Python 3 standard library only; seeded, so the output is reproducible.
"""
import random, sys, os, re
random.seed(7)
posts_dir, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
slugs = sorted(f[:-3] for f in os.listdir(posts_dir)
               if f.endswith('.md') and not f.startswith('_'))  # _index.md is Hugo's section page, not a post
people = [f"https://m{i%50}.example/users/u{i}" for i in range(2000)]
lines = ["# bench\n"]
# uneven: one post gets 2000 replies, the rest spread with a skew
TOP = 3999  # 1,333 favourites, 666 boosts, 2,000 replies
per = {}
per[slugs[0]] = TOP
left = n - TOP
weights = [1/(i+1) for i in range(len(slugs))]
tot = sum(weights[1:])  # the other posts share what is left
shares = [(s, left * w / tot) for s, w in zip(slugs, weights) if s != slugs[0]]
for s, x in shares:
    per[s] = int(x)
# largest remainders first, so the counts add up to N exactly
short = left - sum(per[s] for s, _ in shares)
for s, x in sorted(shares, key=lambda sx: int(sx[1]) - sx[1])[:short]:
    per[s] += 1
k = 0
counts = {"likes": 0, "boosts": 0}
for s, cnt in per.items():
    if cnt == 0: continue
    lines.append(f'[posts.{s}]')
    likes = random.sample(people, min(cnt // 3, len(people)))
    boosts = random.sample(people, min(cnt // 6, len(people)))
    counts["likes"] += len(likes); counts["boosts"] += len(boosts)
    lines.append('likes = [' + ', '.join(f'"{a}"' for a in sorted(likes)) + ']')
    lines.append('boosts = [' + ', '.join(f'"{a}"' for a in sorted(boosts)) + ']')
    ids = []
    for j in range(cnt - cnt//3 - cnt//6):
        k += 1
        a = people[random.randrange(2000)]
        rid = f"{a}/statuses/{k}"
        lines.append(f'[[posts.{s}.replies]]')
        lines.append(f'id = "{rid}"')
        lines.append(f'author = "{a}"')
        if ids and random.random() < 0.4:
            lines.append(f'in_reply_to = "{random.choice(ids)}"')
        lines.append(f'published = "2026-11-{1 + k % 28:02d}T10:00:00Z"')
        lines.append(f'content = "<p>Reply number {k} with <a href=\\"https://x.example/{k}\\">a link</a> and some words.</p>"')
        ids.append(rid)
    lines.append('')
for i, a in enumerate(people):
    lines.append(f'[people."{a}"]')
    lines.append(f'name = "Person {i}"')
    lines.append(f'handle = "@u{i}@m{i%50}.example"')
    lines.append('')
open(out, 'w').write('\n'.join(lines))
print(f"{k} replies, {counts['likes']} favourites, {counts['boosts']} boosts "
      f"({k + counts['likes'] + counts['boosts']} interactions) under "
      f"{sum(1 for c in per.values() if c)} posts; {per[slugs[0]]} on {slugs[0]}")
