#!/usr/bin/env python3
"""Writes a synthetic blog: N Markdown posts for the build benchmark.

Python 3 standard library only. Each post is one file, OUTDIR/<slug>.md,
with TOML front matter between `+++` lines. The output is reproducible: post
number i is drawn from a random generator seeded with "<seed>:<i>", so it
does not depend on N (a 1,000-post corpus is the first 1,000 files of a
10,000-post one; only the dates differ, because they are spread over the
same ten years, 2015 to 2024, whatever N is).

What a post holds: a title, a date, up to three tags out of forty, a
description on about half of them, and 150 to 1,500 words of prose (a
triangular spread around 450) in paragraphs, `##` and `###` headings,
bulleted and numbered lists, block quotes, links to other sites and to
older posts, emphasis, strong text and inline code. About one post in five
has a fenced code block and one in five links an image (under /images/,
which the site does not have).

Front matter, chosen with --format:
  hugo  (default)  title, date, description, tags = [...]
  zola             title, date, description, then [taxonomies] tags = [...]
stoa reads the Hugo form as it is.

Usage:
  gen_corpus.py N OUTDIR [--seed 42] [--format hugo|zola] [--clean]

Prints one summary line: posts, prose words, bytes, format and seed.
"""

import argparse
import datetime as dt
import json
import os
import random
import re
import sys

TAG_POOL = [
    "rust", "python", "linux", "homelab", "self-hosting", "fediverse",
    "activitypub", "web", "css", "javascript", "databases", "postgres",
    "networking", "security", "privacy", "books", "reading", "travel",
    "photography", "cooking", "coffee", "cycling", "running", "hiking",
    "music", "gardening", "productivity", "writing", "notes", "career",
    "open-source", "tooling", "vim", "emacs", "keyboards", "hardware",
    "weekly-links", "year-in-review", "til", "meta",
]

# Prose vocabulary. Short words are listed several times, so they come up
# about as often as in ordinary English.
FUNCTION_WORDS = (
    "the the the the a a a an and and and of of of to to to in in is is it it "
    "that that for for on with as was was this this but but be at by I I I my "
    "my we you not are or from have had so they what all about one there when "
    "which some more just also than then into because while after before only "
    "very really still even much most"
).split()

CONTENT_WORDS = (
    "time year week day morning evening weekend project idea post blog note "
    "draft change problem solution setup server laptop phone network router "
    "config file folder script build release version update bug fix test "
    "feature tool library framework language compiler editor terminal shell "
    "command output error warning log cache disk memory process thread queue "
    "request response page site feed reader follower friend family city trip "
    "train station mountain river coast garden kitchen recipe bread coffee tea "
    "book chapter author story idea habit routine list plan goal month season "
    "winter spring summer autumn rain sun light camera lens photo picture "
    "bike ride run walk trail map route weather question answer reason detail "
    "part piece step way thing people community conversation thread reply "
    "small large simple quick slow careful rough clean messy older newer "
    "useful boring strange pleasant surprising obvious tiny huge quiet loud "
    "write read learn try find keep move start finish break ship deploy "
    "migrate rewrite measure compare notice remember forget enjoy miss need "
    "want like prefer decide wonder realise expect plan use run make take "
    "give look feel think know see say tell show leave switch replace"
).split()

TITLE_PATTERNS = [
    "Notes on {a} {b}",
    "Why I Switched to {A}",
    "A Week With {A} {B}",
    "{A} {B}, Revisited",
    "Weeknotes {n}",
    "Things I Learned About {A}",
    "Fixing the {a} {b}",
    "On {A} and {B}",
    "How I {v} My {A}",
    "The {a} {b} Problem",
    "Small {A} Wins",
    "Reading List: {A} {B}",
    "Trip Report: {A} {B}",
    "{A} in {n} Minutes",
    "Some Thoughts on {A}",
    "Moving My {A} to {B}",
    "What {A} Taught Me",
    "A Quiet {A}",
]

CODE_SNIPPETS = {
    "rust": [
        "fn main() {\n    let args: Vec<String> = std::env::args().collect();\n"
        "    for (i, a) in args.iter().enumerate() {\n        println!(\"{i}: {a}\");\n"
        "    }\n}\n",
        "#[derive(Debug, Clone)]\nstruct Post {\n    title: String,\n    tags: Vec<String>,\n}\n\n"
        "impl Post {\n    fn slug(&self) -> String {\n        self.title.to_lowercase().replace(' ', \"-\")\n"
        "    }\n}\n",
    ],
    "python": [
        "import json\nfrom pathlib import Path\n\nfor p in sorted(Path('posts').glob('*.md')):\n"
        "    text = p.read_text()\n    print(p.name, len(text.split()))\n",
        "def chunks(xs, n):\n    for i in range(0, len(xs), n):\n        yield xs[i:i + n]\n\n"
        "print(list(chunks(list(range(10)), 3)))\n",
    ],
    "sh": [
        "#!/bin/sh\nset -eu\nrsync -av --delete public/ web:/srv/www/blog/\n"
        "ssh web 'systemctl reload nginx'\n",
        "find . -name '*.jpg' -size +2M -print0 \\\n  | xargs -0 -n1 mogrify -resize 1600x1600\n",
    ],
    "toml": [
        "[server]\nlisten = \"127.0.0.1:8080\"\nworkers = 2\n\n[feeds]\nrss = true\natom = false\n",
    ],
    "sql": [
        "SELECT date_trunc('month', created_at) AS month, count(*)\nFROM posts\n"
        "WHERE published\nGROUP BY 1\nORDER BY 1 DESC;\n",
    ],
    "nginx": [
        "server {\n    listen 443 ssl;\n    server_name blog.example.org;\n"
        "    root /srv/www/blog;\n    location / { try_files $uri $uri/ =404; }\n}\n",
    ],
    "javascript": [
        "const res = await fetch('/feed.json');\nconst feed = await res.json();\n"
        "console.log(feed.items.map(i => i.title));\n",
    ],
}

LINK_DOMAINS = [
    "example.org", "example.com", "docs.example.net", "wiki.example.org",
    "news.example.com", "blog.example.net",
]


def cap(w):
    return w[:1].upper() + w[1:]


def slugify(s):
    s = re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")
    return s or "post"


def toml_str(s):
    # A JSON string literal is also a valid TOML basic string for this text.
    return json.dumps(s, ensure_ascii=False)


class PostGen:
    def __init__(self, seed, i, n_total, slugs):
        self.r = random.Random(f"{seed}:{i}")
        self.i = i
        self.slugs = slugs  # every post's slug; a post links only to older ones

    # Words, sentences, blocks.
    def word(self):
        r = self.r
        return r.choice(FUNCTION_WORDS) if r.random() < 0.45 else r.choice(CONTENT_WORDS)

    def phrase(self, lo, hi):
        return [self.word() for _ in range(self.r.randint(lo, hi))]

    def sentence(self):
        """Returns (markdown text, prose word count)."""
        r = self.r
        words = self.phrase(6, 22)
        n = len(words)
        # Now and then: emphasis, strong text, inline code or a link.
        k = r.random()
        if k < 0.10 and n > 4:
            j = r.randrange(n - 2)
            words[j] = "*" + words[j]
            words[j + 1] = words[j + 1] + "*"
        elif k < 0.16 and n > 3:
            j = r.randrange(n - 1)
            words[j] = "**" + words[j] + "**"
        elif k < 0.22:
            j = r.randrange(n)
            words[j] = "`" + r.choice(CONTENT_WORDS) + "." + r.choice(["toml", "rs", "py", "sh", "md", "conf"]) + "`"
        elif k < 0.32 and n > 4:
            j = r.randrange(n - 2)
            if r.random() < 0.3 and self.slugs and self.i > 0:
                url = "/posts/" + self.slugs[r.randrange(self.i)] + "/"
            else:
                url = "https://%s/%s/%s" % (
                    r.choice(LINK_DOMAINS), r.choice(CONTENT_WORDS), r.choice(CONTENT_WORDS))
            words[j] = "[" + words[j]
            words[j + 1] = words[j + 1] + "](" + url + ")"
        s = " ".join(words)
        s = s[0].upper() + s[1:] if s[0].isalpha() else s
        if r.random() < 0.15:
            j = s.find(" ", len(s) // 2)
            if j > 0:
                s = s[:j] + "," + s[j:]
        s += r.choice([".", ".", ".", ".", ".", "?", "!"])
        return s, n

    def paragraph(self):
        parts, n = [], 0
        for _ in range(self.r.randint(2, 6)):
            s, k = self.sentence()
            parts.append(s)
            n += k
        return " ".join(parts), n

    def md_list(self):
        r = self.r
        ordered = r.random() < 0.35
        lines, n = [], 0
        for j in range(r.randint(3, 7)):
            words = self.phrase(3, 12)
            n += len(words)
            item = " ".join(words)
            item = item[0].upper() + item[1:]
            lines.append(("%d. " % (j + 1) if ordered else "- ") + item)
        return "\n".join(lines), n

    def heading(self, level):
        w = self.phrase(2, 5)
        return "#" * level + " " + cap(" ".join(w)), len(w)

    # A whole post.
    def title(self):
        r = self.r
        pat = r.choice(TITLE_PATTERNS)
        cw = lambda: r.choice(CONTENT_WORDS)
        return pat.format(
            a=cw(), b=cw(), A=cap(cw()), B=cap(cw()), n=r.randint(2, 60),
            v=cap(r.choice(["rebuilt", "moved", "simplified", "automated", "fixed", "replaced"])),
        )

    def body(self):
        r = self.r
        target = int(r.triangular(150, 1500, 450))
        blocks, words = [], 0
        since_heading = 0
        long_post = target > 600
        has_code = r.random() < 0.20
        has_image = r.random() < 0.20
        code_at = r.uniform(0.3, 0.8)
        image_at = r.uniform(0.0, 0.6)
        while words < target:
            frac = words / target
            if has_image and frac >= image_at:
                has_image = False
                name = "%s-%d.jpg" % (r.choice(CONTENT_WORDS), r.randint(1, 999))
                alt = " ".join(self.phrase(2, 6))
                blocks.append("![%s](/images/%s)" % (alt, name))
                continue
            if has_code and frac >= code_at:
                has_code = False
                lang = r.choice(list(CODE_SNIPPETS))
                blocks.append("```%s\n%s```" % (lang, r.choice(CODE_SNIPPETS[lang])))
                continue
            if words > 0 and since_heading >= (3 if long_post else 5) and r.random() < 0.5:
                h, k = self.heading(2 if r.random() < 0.75 else 3)
                blocks.append(h)
                words += k
                since_heading = 0
                continue
            x = r.random()
            if x < 0.12 and words > 0:
                b, k = self.md_list()
            elif x < 0.16 and words > 0:
                p, k = self.paragraph()
                b = "> " + p
            else:
                b, k = self.paragraph()
            blocks.append(b)
            words += k
            since_heading += 1
        return "\n\n".join(blocks) + "\n", words


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", type=int, help="number of posts")
    ap.add_argument("outdir", help="directory to write <slug>.md files into")
    ap.add_argument("--seed", default="42")
    ap.add_argument("--format", choices=["hugo", "zola"], default="hugo")
    ap.add_argument("--clean", action="store_true", help="delete *.md in OUTDIR first")
    a = ap.parse_args(argv)

    os.makedirs(a.outdir, exist_ok=True)
    if a.clean:
        for f in os.listdir(a.outdir):
            if f.endswith(".md") and not f.startswith("_index"):
                os.remove(os.path.join(a.outdir, f))

    # First pass: every title and slug, so that bodies can link to other posts.
    metas = []
    seen = set()
    for i in range(a.n):
        g = PostGen(a.seed, i, a.n, None)
        t = g.title()
        s = slugify(t)
        if s in seen:
            s = "%s-%d" % (s, i)
        seen.add(s)
        metas.append((t, s))
    slugs = [s for _, s in metas]

    start = dt.datetime(2015, 1, 1, tzinfo=dt.timezone.utc)
    span = dt.timedelta(days=3650).total_seconds()
    total_words = total_bytes = 0
    for i, (title, slug) in enumerate(metas):
        g = PostGen(a.seed, i, a.n, slugs)
        g.title()  # draw the title again, so the generator is where pass one left it
        r = g.r
        # Dates grow with i, spread evenly over ten years, with some jitter.
        secs = span * (i + r.random() * 0.9) / max(a.n, 1)
        date = (start + dt.timedelta(seconds=int(secs))).strftime("%Y-%m-%dT%H:%M:%SZ")
        tags = r.sample(TAG_POOL, r.choice([0, 1, 1, 2, 2, 2, 3, 3]))
        desc = None
        if r.random() < 0.5:
            d = " ".join(g.phrase(8, 20))
            desc = d[0].upper() + d[1:] + "."
        body, words = g.body()

        fm = ["+++", "title = " + toml_str(title), "date = " + date]
        if desc:
            fm.append("description = " + toml_str(desc))
        tag_list = "[" + ", ".join(toml_str(t) for t in tags) + "]"
        if a.format == "hugo":
            fm.append("tags = " + tag_list)
        elif tags:
            fm += ["", "[taxonomies]", "tags = " + tag_list]
        fm.append("+++")
        text = "\n".join(fm) + "\n\n" + body
        data = text.encode("utf-8")
        with open(os.path.join(a.outdir, slug + ".md"), "wb") as f:
            f.write(data)
        total_words += words
        total_bytes += len(data)

    print("posts=%d words=%d bytes=%d format=%s seed=%s" % (
        a.n, total_words, total_bytes, a.format, a.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
