#!/usr/bin/env python3
"""Benchmark `stoa build` against Hugo on the same synthetic corpus.

Usage: python3 benches/build.py [--posts N] [--runs R] [--dir WORKDIR]

Makes (once) a Hugo site with benches/hugo_site.sh (its posts written by
benches/gen_corpus.py) and a stoa site whose content/posts is the same folder
of Markdown files, builds stoa in release mode, then measures, alternating
the two tools in each round (A B A B ...):

  cold     full build into an empty output folder: each run writes into a new
           folder that no build used before (`stoa build -o`, `hugo -d`), after
           `sync` and a settle time; the folders are removed only when all cold
           runs are done, because on this disk a large delete slows whatever
           runs next (see docs/benchmarks.md)
  forced   full render with the previous output in place (stoa --force; Hugo
           always re-renders and rewrites in place)
  noop     rebuild with nothing changed
  serve    stoa only: time `stoa serve` takes to rebuild after one post's text
           is edited (as reported by serve, and end to end from the write to
           the log line)
  reply    stoa only, with --interactions: one new reply appended to one
           post's conversation, then `stoa build`; counts the files written
           (from the manifest) and times it

--interactions N gives the stoa site a conversations.toml of N interactions
(benches/gen_conversations.py: replies spread unevenly, one post with 2,000
replies) while Hugo builds the same posts without any: issue 9's benchmark.

Each figure is whole-process wall time and peak RSS from /usr/bin/time.
Prints medians, min-max and per-pair ratios (stoa / Hugo), and a Markdown
table to paste into docs/benchmarks.md. Everything stays on this machine.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def timed(cmd, cwd=None):
    """Runs cmd under /usr/bin/time; returns (wall seconds, peak RSS MiB)."""
    p = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M"] + cmd, cwd=cwd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit("command failed: %s\n%s" % (" ".join(cmd), p.stderr[-2000:]))
    m = re.search(r"TIME ([\d.]+) (\d+)", p.stderr)
    return float(m.group(1)), int(m.group(2)) / 1024.0


def med(xs):
    return statistics.median(xs)


def fmt(xs, unit):
    return "%.2f %s (%.2f–%.2f)" % (med(xs), unit, min(xs), max(xs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", default="/work/stoa-bench")
    ap.add_argument("--serve-edits", type=int, default=7)
    ap.add_argument("--settle", type=float, default=5.0, help="seconds to wait after `sync` before each cold run")
    ap.add_argument("--highlight", choices=["off", "on"], default="off",
                    help="stoa's code highlighting: off like the reference Hugo site "
                         "(hugo_site.sh sets codeFences = false), or on, stoa's default")
    ap.add_argument("--interactions", type=int, default=0,
                    help="give the stoa site a conversations.toml with this many interactions")
    ap.add_argument("--only", choices=["cold", "forced", "noop", "serve", "reply"], action="append",
                    help="run only these measurements (repeatable)")
    a = ap.parse_args()

    if not shutil.which("hugo"):
        sys.exit("hugo is not installed: apt-get install -y hugo")
    work = os.path.abspath(a.dir)
    hugo_site = os.path.join(work, "hugo-%d" % a.posts)
    stoa_site = os.path.join(work, "stoa-%d" % a.posts + ("-i%d" % a.interactions if a.interactions else ""))
    if not os.path.isdir(os.path.join(hugo_site, "content", "posts")):
        sh(["sh", os.path.join(HERE, "hugo_site.sh"), hugo_site, str(a.posts)],
           stdout=subprocess.DEVNULL)
    os.makedirs(os.path.join(stoa_site, "content"), exist_ok=True)
    posts_link = os.path.join(stoa_site, "content", "posts")
    if not os.path.exists(posts_link):
        os.symlink(os.path.join(hugo_site, "content", "posts"), posts_link)
    with open(os.path.join(stoa_site, "stoa.toml"), "w") as f:
        f.write('base_url = "https://blog.example.org"\ntitle = "Synthetic Blog"\n'
                'language = "en"\nposts_per_page = 10\nfeed_items = 20\n'
                '\n[markdown]\nhighlight = %s\n' % ("true" if a.highlight == "on" else "false"))
    conv = os.path.join(stoa_site, "conversations.toml")
    if a.interactions:
        sh([sys.executable, os.path.join(HERE, "gen_conversations.py"), posts_link, conv,
            str(a.interactions)])
    elif os.path.exists(conv):
        os.remove(conv)
    sh(["cargo", "build", "--release", "--quiet"], cwd=REPO)
    stoa = os.path.join(REPO, "target", "release", "stoa")
    if not os.path.exists(os.path.join(stoa_site, "actor-key.pub.pem")):
        sh([stoa, "keygen", "--root", stoa_site], stdout=subprocess.DEVNULL)
    hugo_ver = subprocess.run(["hugo", "version"], capture_output=True, text=True).stdout.strip()
    stoa_ver = subprocess.run([stoa, "--version"], capture_output=True, text=True).stdout.strip()

    stoa_out = os.path.join(stoa_site, "public")
    hugo_out = os.path.join(hugo_site, "public")
    stoa_cmd = [stoa, "build", "--root", stoa_site]
    hugo_cmd = ["hugo", "-s", hugo_site, "--quiet"]
    results = {}

    def pair(name, stoa_args, before=None, fresh=None):
        """Runs both tools a.runs times, alternating which goes first.
        `before(tool)` runs untimed before each run; `fresh(tool, k)` gives
        the k-th run its own new output folder."""
        s_w, s_m, h_w, h_m = [], [], [], []
        counter = {"stoa": 0, "hugo": 0}

        def command(tool):
            base = stoa_cmd + stoa_args if tool == "stoa" else hugo_cmd
            if not fresh:
                return base
            counter[tool] += 1
            out = fresh(tool, counter[tool])
            return base + (["-o", out] if tool == "stoa" else ["-d", out])

        def run(tool, walls, rss):
            if before:
                before(tool)
            w, m = timed(command(tool))
            walls.append(w); rss.append(m)

        # warm-up (page cache), not counted
        run("stoa", [], [])
        run("hugo", [], [])
        # A B, then B A, ... so neither tool always runs second.
        for k in range(a.runs):
            order = (("stoa", s_w, s_m), ("hugo", h_w, h_m))
            for tool, walls, rss in (order if k % 2 == 0 else order[::-1]):
                run(tool, walls, rss)
        ratios = [s / h for s, h in zip(s_w, h_w)]
        results[name] = (s_w, s_m, h_w, h_m, ratios)
        print("%-7s pairs (stoa s / hugo s): %s" % (name, ", ".join(
            "%.2f/%.2f" % (s, h) for s, h in zip(s_w, h_w))), flush=True)
        print("%-7s stoa %s, %s | hugo %s, %s | wall ratio %.3f (%.3f–%.3f), RSS ratio %.3f" % (
            name, fmt(s_w, "s"), fmt(s_m, "MiB"), fmt(h_w, "s"), fmt(h_m, "MiB"),
            med(ratios), min(ratios), max(ratios), med(s_m) / med(h_m)), flush=True)

    cold_root = os.path.join(work, "cold-%d" % a.posts)

    def fresh(tool, k):
        return os.path.join(cold_root, "%s-%d" % (tool, k))

    def settle(_tool):
        # Let the previous run's writes reach the disk first.
        sh(["sync"])
        time.sleep(a.settle)

    print("machine: %d cores; %s; %s; posts=%d runs=%d dir=%s; stoa highlighting %s; stoa interactions %d" % (
        os.cpu_count(), stoa_ver, hugo_ver, a.posts, a.runs, work, a.highlight, a.interactions), flush=True)
    want = set(a.only or ["cold", "forced", "noop", "serve"])
    if "cold" in want:
        if os.path.exists(cold_root):
            # Left over from an interrupted run. On this ext4 (no journal),
            # new inodes are slow to allocate for a few minutes after many
            # were deleted (the kernel's recently_deleted() check), so wait.
            shutil.rmtree(cold_root, ignore_errors=True)
            print("removed %s; waiting 5 minutes for the disk to settle" % cold_root, flush=True)
            sh(["sync"])
            time.sleep(300)
        settle(None)
        try:
            pair("cold", [], before=settle, fresh=fresh)
        finally:
            shutil.rmtree(cold_root, ignore_errors=True)
    if "forced" in want or "noop" in want:
        # Both tools need their output in place.
        for cmd, out in ((stoa_cmd, stoa_out), (hugo_cmd, hugo_out)):
            if not os.path.isdir(out):
                timed(cmd)
    if "forced" in want:
        pair("forced", ["--force"])
    if "noop" in want:
        pair("noop", [])
    if "reply" in want:
        reply_runs(a, stoa, stoa_cmd, stoa_out, conv)
    if "serve" not in want:
        report(results)
        return

    # serve: edit one post's text, time the rebuild.
    serve_ms, e2e_ms = [], []
    p = subprocess.Popen([stoa, "serve", "--root", stoa_site, "--port", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    try:
        deadline = time.time() + 300
        for line in p.stdout:
            if line.startswith("Serving "):
                break
            if time.time() > deadline:
                sys.exit("serve did not start")
        names = sorted(os.listdir(posts_link))
        target = os.path.join(posts_link, names[len(names) // 2])
        original = open(target).read()
        try:
            for k in range(a.serve_edits):
                time.sleep(0.5)
                t0 = time.time()
                with open(target, "w") as f:
                    f.write(original + "\nEdited paragraph %d.\n" % k)
                for line in p.stdout:
                    m = re.search(r"Rebuilt .*?(\d+) ms", line) or re.search(r"Built .*?(\d+) ms", line)
                    if m:
                        serve_ms.append(int(m.group(1)))
                        e2e_ms.append((time.time() - t0) * 1000)
                        break
        finally:
            with open(target, "w") as f:
                f.write(original)
    finally:
        p.terminate()
        p.wait()
    print("serve   one-post edit: rebuild %s ms median (%s–%s), write→rebuilt end to end %.0f ms median (incl. 50 ms debounce)" % (
        med(serve_ms), min(serve_ms), max(serve_ms), med(e2e_ms)), flush=True)

    report(results, serve_ms)


def reply_runs(a, stoa, stoa_cmd, stoa_out, conv):
    """One new reply at a time under a post that is neither featured nor on
    the first pages: `stoa build`, the files it wrote, its time."""
    if not os.path.exists(conv):
        sys.exit("reply needs --interactions")
    timed(stoa_cmd)  # the output in place, up to date
    original = open(conv).read()
    slugs = re.findall(r"^\[posts\.([^\]]+)\]$", original, re.M)
    slug = slugs[len(slugs) // 2]
    walls, written = [], []
    try:
        for k in range(a.runs):
            before = open(os.path.join(stoa_out, ".stoa-manifest")).read().splitlines()[2:]
            with open(conv, "a") as f:
                f.write('\n[[posts.%s.replies]]\nid = "https://m1.example/users/u1/statuses/new-%d"\n'
                        'author = "https://m1.example/users/u1"\npublished = "2026-12-01T10:00:00Z"\n'
                        'content = "<p>One more reply, %d.</p>"\n' % (slug, k, k))
            w, _ = timed(stoa_cmd)
            after = open(os.path.join(stoa_out, ".stoa-manifest")).read().splitlines()[2:]
            changed = sorted(set(after) - set(before))
            walls.append(w)
            written.append(len(changed))
            print("reply   %d: %.2f s, %d files written: %s" % (
                k + 1, w, len(changed), ", ".join(l.split(" ", 1)[1] for l in changed)), flush=True)
    finally:
        with open(conv, "w") as f:
            f.write(original)
    print("reply   one new reply under %s: build %s, files written %s" % (
        slug, fmt(walls, "s"), sorted(set(written))), flush=True)


def report(results, serve_ms=None):
    print("\n| measurement | stoa median (min–max) | Hugo median (min–max) | ratio stoa/Hugo (per pair, median) |")
    print("| --- | --- | --- | --- |")
    labels = {"cold": "full build, empty output", "forced": "full render, output in place",
              "noop": "rebuild, nothing changed"}
    for k in ("cold", "forced", "noop"):
        if k not in results:
            continue
        s_w, s_m, h_w, h_m, r = results[k]
        print("| %s: wall | %s | %s | %.3f |" % (labels[k], fmt(s_w, "s"), fmt(h_w, "s"), med(r)))
        print("| %s: peak RSS | %s | %s | %.3f |" % (labels[k], fmt(s_m, "MiB"), fmt(h_m, "MiB"), med(s_m) / med(h_m)))
    if serve_ms:
        print("| serve, one post edited: rebuild | %d ms (%d–%d) | — | — |" % (med(serve_ms), min(serve_ms), max(serve_ms)))


if __name__ == "__main__":
    main()
