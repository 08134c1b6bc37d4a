#!/bin/sh
# The Hugo site that benches/build.py measures stoa against.
#
#   benches/hugo_site.sh SITE_DIR N [SEED]       make the site with N posts
#   benches/hugo_site.sh --bench SITE_DIR [RUNS] time RUNS Hugo builds (5)
#
# Needs Hugo (Debian 12: `apt-get install -y hugo`, version 0.111.3) and
# python3. The posts come from gen_corpus.py, next to this script, in Hugo's
# front matter; benches/build.py links the same folder into a stoa site, so
# both tools read identical files.
#
# The site has what a small personal blog needs and nothing more: a home
# page with the 10 latest posts, an archive paginated by 10, a page per
# post, a tag index, a page per tag paginated by 10, RSS feeds of 20 items
# for the home page, the archive and every tag, and a sitemap. Highlighting
# of fenced code is off (`codeFences = false`), so what is compared is
# Markdown and templates; build.py configures stoa the same way unless
# asked for `--highlight on`.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)

if [ "${1:-}" = "--bench" ]; then
    SITE=$2
    RUNS=${3:-5}
    command -v hugo >/dev/null || { echo "hugo not installed" >&2; exit 1; }
    hugo version
    hugo -s "$SITE" --quiet >/dev/null            # once untimed, to fill the page cache
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        # wall, user and system seconds; peak RSS of hugo in KiB
        /usr/bin/time -f "wall_s=%e user_s=%U sys_s=%S maxrss_kib=%M" \
            hugo -s "$SITE" --quiet
        i=$((i + 1))
    done
    exit 0
fi

SITE=${1:?usage: hugo_site.sh SITE_DIR N [SEED]}
N=${2:?usage: hugo_site.sh SITE_DIR N [SEED]}
SEED=${3:-42}

mkdir -p "$SITE/content/posts" "$SITE/layouts/_default" "$SITE/layouts/partials" "$SITE/static"
rm -rf "$SITE/public" "$SITE/resources"

cat > "$SITE/config.toml" <<'EOF'
baseURL = "https://blog.example.org/"
languageCode = "en"
title = "Synthetic Blog"
paginate = 10
disableKinds = ["robotsTXT"]
enableRobotsTXT = false

[taxonomies]
tag = "tags"

[services.rss]
limit = 20

[markup.highlight]
codeFences = false

[markup.goldmark.renderer]
unsafe = false
EOF

cat > "$SITE/content/posts/_index.md" <<'EOF'
+++
title = "Archive"
+++
EOF

cat > "$SITE/layouts/_default/baseof.html" <<'EOF'
<!DOCTYPE html>
<html lang="{{ .Site.LanguageCode }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ if .IsHome }}{{ .Site.Title }}{{ else }}{{ .Title }} | {{ .Site.Title }}{{ end }}</title>
{{ with .Description }}<meta name="description" content="{{ . }}">{{ end }}
{{ with .OutputFormats.Get "rss" }}<link rel="alternate" type="application/rss+xml" href="{{ .RelPermalink }}" title="{{ $.Site.Title }}">{{ end }}
<link rel="stylesheet" href="{{ "style.css" | relURL }}">
</head>
<body>
<header><a href="{{ "" | relURL }}">{{ .Site.Title }}</a> · <a href="{{ "posts/" | relURL }}">Archive</a> · <a href="{{ "tags/" | relURL }}">Tags</a></header>
<main>
{{ block "main" . }}{{ end }}
</main>
<footer>© {{ now.Year }} {{ .Site.Title }}</footer>
</body>
</html>
EOF

cat > "$SITE/layouts/partials/postlist.html" <<'EOF'
<ul class="posts">
{{ range . }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> <time datetime="{{ .Date.Format "2006-01-02" }}">{{ .Date.Format "2 Jan 2006" }}</time>{{ with .Description }}<p>{{ . }}</p>{{ end }}</li>
{{ end }}</ul>
EOF

cat > "$SITE/layouts/partials/pager.html" <<'EOF'
{{ $p := .Paginator }}{{ if gt $p.TotalPages 1 }}<nav class="pager">
{{ if $p.HasPrev }}<a href="{{ $p.Prev.URL }}">← Newer</a>{{ end }}
<span>Page {{ $p.PageNumber }} of {{ $p.TotalPages }}</span>
{{ if $p.HasNext }}<a href="{{ $p.Next.URL }}">Older →</a>{{ end }}
</nav>{{ end }}
EOF

cat > "$SITE/layouts/index.html" <<'EOF'
{{ define "main" }}
<h1>Latest posts</h1>
{{ partial "postlist.html" (first 10 (where .Site.RegularPages "Section" "posts")) }}
<p><a href="{{ "posts/" | relURL }}">All posts →</a></p>
{{ end }}
EOF

cat > "$SITE/layouts/_default/single.html" <<'EOF'
{{ define "main" }}
<article>
<h1>{{ .Title }}</h1>
<p class="meta"><time datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">{{ .Date.Format "2 January 2006" }}</time>
{{ with .GetTerms "tags" }} · {{ range . }}<a class="tag" href="{{ .RelPermalink }}">#{{ .LinkTitle }}</a> {{ end }}{{ end }}</p>
{{ .Content }}
</article>
<nav class="prevnext">
{{ with .NextInSection }}<a href="{{ .RelPermalink }}">← {{ .Title }}</a>{{ end }}
{{ with .PrevInSection }}<a href="{{ .RelPermalink }}">{{ .Title }} →</a>{{ end }}
</nav>
{{ end }}
EOF

# The archive (a section) and the page of one tag (a term).
cat > "$SITE/layouts/_default/list.html" <<'EOF'
{{ define "main" }}
<h1>{{ if eq .Kind "term" }}Posts tagged “{{ .Title }}”{{ else }}{{ .Title }}{{ end }}</h1>
{{ partial "postlist.html" (.Paginate .Pages).Pages }}
{{ partial "pager.html" . }}
{{ end }}
EOF

# The list of all tags.
cat > "$SITE/layouts/_default/terms.html" <<'EOF'
{{ define "main" }}
<h1>Tags</h1>
<ul class="tags">
{{ range .Data.Terms.Alphabetical }}<li><a href="{{ .Page.RelPermalink }}">{{ .Page.Title }}</a> ({{ .Count }})</li>
{{ end }}</ul>
{{ end }}
EOF

cat > "$SITE/static/style.css" <<'EOF'
body{max-width:42rem;margin:2rem auto;padding:0 1rem;font:1.05rem/1.6 system-ui,sans-serif}
header,footer{color:#555}pre{overflow-x:auto;background:#f6f6f6;padding:.5rem}img{max-width:100%}
EOF

python3 "$HERE/gen_corpus.py" --clean --seed "$SEED" --format hugo "$N" "$SITE/content/posts"
echo "site ready: hugo -s $SITE --quiet   (or: $0 --bench $SITE)"
