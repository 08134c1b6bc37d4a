//! The Content-Type of every file stoa writes. One table for `stoa serve`,
//! the companion's `--site` mode and the host configuration files, because
//! fediverse servers discard ActivityPub documents served with the wrong type.

/// ActivityPub documents.
pub const ACTIVITY_JSON: &str = "application/activity+json";
/// WebFinger.
pub const JRD_JSON: &str = "application/jrd+json";

/// Content-Type for a site path such as `/ap/actor.json` or `/posts/x/index.html`.
pub fn for_path(path: &str) -> &'static str {
    match path {
        "/.well-known/webfinger" => return JRD_JSON,
        "/.well-known/host-meta" => return "application/xrd+xml; charset=utf-8",
        "/.well-known/nodeinfo" => return "application/json",
        "/_headers" | "/_redirects" => return "text/plain; charset=utf-8",
        _ => {}
    }
    if path.starts_with("/ap/") && path.ends_with(".json") {
        return ACTIVITY_JSON;
    }
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" if path.ends_with("/feed.json") => "application/feed+json; charset=utf-8",
        "json" => "application/json",
        "xml" if path.ends_with("/atom.xml") => "application/atom+xml; charset=utf-8",
        "xml" if path.ends_with("/rss.xml") => "application/rss+xml; charset=utf-8",
        "xml" => "application/xml; charset=utf-8",
        "txt" | "md" => "text/plain; charset=utf-8",
        "pem" => "application/x-pem-file",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "pdf" => "application/pdf",
        "mp4" => "video/mp4",
        "mp3" => "audio/mpeg",
        _ => "application/octet-stream",
    }
}

/// Header rules for hosts that read a `_headers` file (Netlify, Cloudflare
/// Pages): the fediverse documents need their exact types and CORS.
pub fn netlify_headers() -> String {
    let mut s = String::from("# Written by stoa: Content-Types that fediverse servers require.\n");
    for (pattern, example) in [
        ("/ap/*", "/ap/actor.json"),
        ("/.well-known/webfinger", "/.well-known/webfinger"),
        ("/.well-known/host-meta", "/.well-known/host-meta"),
        ("/.well-known/nodeinfo", "/.well-known/nodeinfo"),
        ("/nodeinfo/*", "/nodeinfo/2.1.json"),
        ("/feed.json", "/feed.json"),
    ] {
        s.push_str(&format!(
            "{pattern}\n  Content-Type: {}\n  Access-Control-Allow-Origin: *\n",
            for_path(example)
        ));
    }
    s
}

/// Proxy rules for `/inbox` and the quote stamps (`/quote-authorizations/*`,
/// which must be on the blog's host too) (Netlify `_redirects`; status 200
/// is a rewrite, not a redirect). Without a configured companion the rules
/// are commented out.
pub fn netlify_redirects(config: &crate::config::Config) -> String {
    let stamps = crate::federation::quotes::STAMP_PATH;
    match &config.fediverse.companion {
        Some(c) => format!(
            "# Written by stoa: the inbox and the quote stamps live on the companion.\n/inbox  {c}/inbox  200!\n{stamps}*  {c}{stamps}:splat  200!\n"
        ),
        None => format!(
            "# Written by stoa. Set `companion = \"https://your-vps\"` under [fediverse]\n# in stoa.toml to proxy /inbox and the quote stamps to the companion:\n# /inbox  https://your-vps/inbox  200!\n# {stamps}*  https://your-vps{stamps}:splat  200!\n"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fediverse_paths_get_their_types() {
        assert_eq!(for_path("/.well-known/webfinger"), JRD_JSON);
        assert_eq!(for_path("/ap/actor.json"), ACTIVITY_JSON);
        assert_eq!(for_path("/ap/posts/x.json"), ACTIVITY_JSON);
        assert_eq!(
            for_path("/feed.json"),
            "application/feed+json; charset=utf-8"
        );
        assert_eq!(for_path("/posts/x/index.html"), "text/html; charset=utf-8");
        assert_eq!(for_path("/images/A.JPG"), "image/jpeg");
    }
}
