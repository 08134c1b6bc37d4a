//! What breaks for followers, and the fix for each kind of host: one place
//! for the advice `stoa doctor` prints (pure).

use serde::Serialize;

/// The kind of host serving the blog, as far as its answers tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostKind {
    /// Netlify (reads `_headers` and `_redirects`).
    Netlify,
    /// Cloudflare Pages (reads `_headers`; cannot proxy `/inbox` from `_redirects`).
    CloudflarePages,
    /// nginx with `docs/deploy/nginx.conf`.
    Nginx,
    /// Caddy with `docs/deploy/Caddyfile`.
    Caddy,
    /// `stoa inbox --site` behind a TLS proxy (`docs/deploy/Caddyfile.single-process`).
    SingleProcess,
    /// Not recognised: every host's fix is given.
    Unknown,
}

impl HostKind {
    /// Guesses the host from a `Server` header and whether the companion
    /// answers `/healthz` at the blog's own address (single process).
    pub fn detect(server: Option<&str>, companion_serves_site: bool) -> HostKind {
        if companion_serves_site {
            return HostKind::SingleProcess;
        }
        let server = server.unwrap_or("").to_ascii_lowercase();
        if server.contains("netlify") {
            HostKind::Netlify
        } else if server.contains("cloudflare") {
            HostKind::CloudflarePages
        } else if server.contains("nginx") {
            HostKind::Nginx
        } else if server.contains("caddy") {
            HostKind::Caddy
        } else {
            HostKind::Unknown
        }
    }

    /// The name people know it by.
    pub fn name(self) -> &'static str {
        match self {
            HostKind::Netlify => "Netlify",
            HostKind::CloudflarePages => "Cloudflare Pages",
            HostKind::Nginx => "nginx",
            HostKind::Caddy => "Caddy",
            HostKind::SingleProcess => "single process",
            HostKind::Unknown => "unknown host",
        }
    }

    /// The deployment file in stoa's `docs/deploy/` for this host, if any.
    pub fn docs(self) -> Option<&'static str> {
        match self {
            HostKind::Nginx => Some("docs/deploy/nginx.conf"),
            HostKind::Caddy => Some("docs/deploy/Caddyfile"),
            HostKind::SingleProcess => Some("docs/deploy/Caddyfile.single-process"),
            HostKind::Netlify | HostKind::CloudflarePages => {
                Some("public/_headers and public/_redirects (written by `stoa build`)")
            }
            HostKind::Unknown => None,
        }
    }
}

/// A deployment problem `stoa doctor` can name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// ActivityPub documents are not served as `application/activity+json`.
    ApType,
    /// An ActivityPub document answers with a redirect.
    ApRedirect,
    /// HTML comes back whatever the `Accept` header asks for.
    HtmlForEveryAccept,
    /// An ActivityPub document is missing (404) or its `id` is not its URL:
    /// the deployed files are not the build's.
    NotDeployed,
    /// WebFinger is not served as `application/jrd+json` with CORS.
    WebfingerType,
    /// host-meta is not served as `application/xrd+xml`.
    HostMetaType,
    /// NodeInfo is not served as `application/json`.
    NodeinfoType,
    /// `/inbox` is answered by the static host, not the companion.
    InboxNotProxied,
    /// The proxy sends the companion another `Host` than the blog's.
    HostRewritten,
    /// The proxy drops or changes a header the signature covers.
    HeaderDropped(String),
    /// The proxy cannot reach the companion.
    CompanionDown,
    /// The companion signs with another key than the site publishes.
    KeyMismatch,
    /// The published actor's key is not the local `actor-key.pub.pem`.
    PublishedKeyMismatch,
    /// A clock is off.
    ClockSkew,
    /// The admin token is refused, or the admin API is not reachable.
    AdminToken,
    /// The blog is served over plain http.
    NotHttps,
    /// The companion is older than this stoa (no self-test).
    CompanionOutdated,
    /// The blog's address does not answer at all.
    Unreachable,
    /// The certificate does not cover the host, is not trusted, or expires soon.
    Certificate,
}

impl Problem {
    /// What a follower's server does about it.
    pub fn breaks(&self) -> &'static str {
        match self {
            Problem::ApType => {
                "Mastodon, GoToSocial and Misskey discard documents with another type: nobody can find or follow the blog, and posts do not load"
            }
            Problem::ApRedirect => {
                "Mastodon and Misskey compare a document's id with the URL they asked for and refuse it after a redirect: the blog cannot be found or followed"
            }
            Problem::HtmlForEveryAccept => {
                "servers get a web page instead of the ActivityPub document: nobody can find or follow the blog"
            }
            Problem::NotDeployed => {
                "servers cannot load what the blog announces: posts show as missing, and Mastodon deletes a post whose URL answers 404"
            }
            Problem::WebfingerType => {
                "searching for the handle finds nothing: Mastodon reads WebFinger only as JSON (jrd+json), and browsers' clients need CORS"
            }
            Problem::HostMetaType => {
                "older servers that look WebFinger up through host-meta cannot find the blog"
            }
            Problem::NodeinfoType => {
                "servers and directories cannot tell which software the blog runs (minor)"
            }
            Problem::InboxNotProxied => {
                "follows, replies, likes and boosts are lost: the static host answers instead of the companion"
            }
            Problem::HostRewritten => {
                "every signed activity is refused (the signature covers Host): nobody can follow, and replies are lost"
            }
            Problem::HeaderDropped(_) => {
                "every signed activity is refused: the signature covers that header, so nobody can follow, and replies are lost"
            }
            Problem::CompanionDown => {
                "nothing reaches the blog: follows and replies are refused, and nothing is delivered"
            }
            Problem::KeyMismatch => {
                "followers' servers verify the blog's deliveries with the published key: every Accept and every post the companion sends is refused"
            }
            Problem::PublishedKeyMismatch => {
                "the published actor carries another key than this site's: deliveries signed with this site's key are refused"
            }
            Problem::ClockSkew => {
                "Mastodon refuses signatures dated more than an hour off: deliveries and follows fail"
            }
            Problem::AdminToken => {
                "`stoa publish` and `stoa deliveries` cannot talk to the companion: new posts are not sent"
            }
            Problem::NotHttps => {
                "Mastodon and most servers fetch only https: the blog cannot be found or followed"
            }
            Problem::CompanionOutdated => {
                "the deployment self-test cannot run: the proxy's handling of signatures is unproven"
            }
            Problem::Unreachable => {
                "no server can reach the blog: nobody can find it, follow it or read its posts"
            }
            Problem::Certificate => {
                "servers refuse a certificate that does not cover the host, is not trusted or has expired: the blog cannot be found or followed, and deliveries to it fail"
            }
        }
    }

    /// The fix for `host` (for an unknown host, the fix for each kind).
    pub fn fix(&self, host: HostKind) -> String {
        if host == HostKind::Unknown {
            let each: Vec<String> = [
                HostKind::Nginx,
                HostKind::Caddy,
                HostKind::Netlify,
                HostKind::CloudflarePages,
                HostKind::SingleProcess,
            ]
            .iter()
            .map(|h| (h.name(), self.fix_for(*h)))
            .collect::<Vec<_>>()
            .into_iter()
            .fold(
                Vec::<(Vec<&str>, String)>::new(),
                |mut groups, (name, fix)| {
                    match groups.iter_mut().find(|(_, f)| *f == fix) {
                        Some((names, _)) => names.push(name),
                        None => groups.push((vec![name], fix)),
                    }
                    groups
                },
            )
            .into_iter()
            .map(|(names, fix)| format!("{}: {fix}", names.join(", ")))
            .collect();
            if each.len() == 1 {
                return self.fix_for(HostKind::Nginx);
            }
            return each.join("\n");
        }
        self.fix_for(host)
    }

    fn fix_for(&self, host: HostKind) -> String {
        use HostKind::*;
        let h = host;
        match self {
            Problem::ApType => match h {
                Nginx => "in the server block: `location ^~ /ap/ { default_type application/activity+json; types { } add_header Access-Control-Allow-Origin \"*\" always; try_files $uri =404; }`".into(),
                Caddy => "`@ap path /ap/*` and `header @ap { Content-Type application/activity+json; Access-Control-Allow-Origin *; defer }`".into(),
                Netlify | CloudflarePages => "deploy the `_headers` file `stoa build` writes (it holds `/ap/*` with `Content-Type: application/activity+json`) at the site's root".into(),
                SingleProcess | Unknown => "`stoa inbox --site public` serves the right type itself: make the proxy in front pass its answers unchanged (`reverse_proxy 127.0.0.1:8787` only)".into(),
            },
            Problem::ApRedirect => match h {
                Nginx => "no `return 301`/`rewrite … permanent` for /ap/: `location ^~ /ap/ { … try_files $uri =404; }` serves the file where it is".into(),
                Caddy => "remove any `redir` matching /ap/*; `file_server` serves /ap/*.json where it is".into(),
                Netlify => "remove rules for /ap/ from `_redirects` and turn off Pretty URLs (Asset optimization) so .json files are not redirected".into(),
                CloudflarePages => "remove redirect rules (Bulk Redirects, Page Rules, `_redirects`) that match /ap/ and serve the files at their own URL".into(),
                SingleProcess | Unknown => "remove the redirect in the proxy in front of `stoa inbox --site`; the companion never redirects".into(),
            },
            Problem::HtmlForEveryAccept => match h {
                Nginx => "serve files as they are: `location / { try_files $uri $uri/index.html =404; }` and the /ap/ location from the docs; no catch-all `try_files … /index.html` or `rewrite`".into(),
                Caddy => "no single-page-app fallback (`try_files {path} /index.html`): `try_files {path} {path}/index.html` then `file_server`".into(),
                Netlify => "remove a catch-all `/* /index.html 200` from `_redirects`, and any Edge Function that answers every path".into(),
                CloudflarePages => "turn off challenges (Bot Fight Mode, Under Attack, WAF challenges) for /ap/*, /.well-known/* and /inbox, and remove a catch-all `/* /index.html 200`".into(),
                SingleProcess | Unknown => "the proxy in front of `stoa inbox --site` must pass every path through (`reverse_proxy 127.0.0.1:8787`), not answer with a page".into(),
            },
            Problem::NotDeployed => match h {
                Nginx | Caddy => "deploy the whole output folder (public/) to the `root` the server uses; run `stoa build` for this base_url first".into(),
                Netlify | CloudflarePages => "deploy the whole output folder (public/), built for this base_url; wait for the deploy to finish and for the CDN to pick it up".into(),
                SingleProcess | Unknown => "run `stoa build` for this base_url and point `stoa inbox --site` at the output folder".into(),
            },
            Problem::WebfingerType => match h {
                Nginx => "`location = /.well-known/webfinger { default_type application/jrd+json; types { } add_header Access-Control-Allow-Origin \"*\" always; try_files $uri =404; }`".into(),
                Caddy => "`@webfinger path /.well-known/webfinger` and `header @webfinger { Content-Type application/jrd+json; Access-Control-Allow-Origin *; defer }`".into(),
                Netlify | CloudflarePages => "deploy the `_headers` file `stoa build` writes (`/.well-known/webfinger` with `Content-Type: application/jrd+json` and `Access-Control-Allow-Origin: *`); the folder .well-known/ must be deployed too".into(),
                SingleProcess | Unknown => "the proxy in front of `stoa inbox --site` must pass /.well-known/webfinger through unchanged".into(),
            },
            Problem::HostMetaType => match h {
                Nginx => "`location = /.well-known/host-meta { default_type application/xrd+xml; types { } try_files $uri =404; }`".into(),
                Caddy => "`@hostmeta path /.well-known/host-meta` and `header @hostmeta { Content-Type application/xrd+xml; defer }`".into(),
                Netlify | CloudflarePages => "deploy the `_headers` file `stoa build` writes (`/.well-known/host-meta`)".into(),
                SingleProcess | Unknown => "the proxy must pass /.well-known/host-meta through unchanged".into(),
            },
            Problem::NodeinfoType => match h {
                Nginx => "`location = /.well-known/nodeinfo` and `location ^~ /nodeinfo/` with `default_type application/json; types { }`".into(),
                Caddy => "`@nodeinfo path /.well-known/nodeinfo /nodeinfo/*` and `header @nodeinfo { Content-Type application/json; defer }`".into(),
                Netlify | CloudflarePages => "deploy the `_headers` file `stoa build` writes (`/.well-known/nodeinfo`, `/nodeinfo/*`)".into(),
                SingleProcess | Unknown => "the proxy must pass /.well-known/nodeinfo and /nodeinfo/ through unchanged".into(),
            },
            Problem::InboxNotProxied => match h {
                Nginx => "`location = /inbox { proxy_pass http://127.0.0.1:8787; proxy_set_header Host $http_host; client_max_body_size 256k; }` (the companion's `listen` address)".into(),
                Caddy => "`handle /inbox { reverse_proxy 127.0.0.1:8787 }` (the companion's `listen` address)".into(),
                Netlify => "set `companion = \"https://your-vps\"` under [fediverse] in stoa.toml, rebuild and deploy: `_redirects` then holds `/inbox  https://your-vps/inbox  200!`".into(),
                CloudflarePages => "Cloudflare Pages cannot proxy /inbox from `_redirects`: add a Pages Function for /inbox that forwards the request unchanged, or serve the whole site from the companion (docs/deploy/Caddyfile.single-process)".into(),
                SingleProcess | Unknown => "proxy every path to the companion: `reverse_proxy 127.0.0.1:8787`".into(),
            },
            Problem::HostRewritten => match h {
                Nginx => "in `location = /inbox`: `proxy_set_header Host $http_host;` (not `$proxy_host`, not the companion's address)".into(),
                Caddy => "remove `header_up Host …` from the /inbox `reverse_proxy`: Caddy passes the Host unchanged".into(),
                Netlify | CloudflarePages => "set `companion = \"https://your-vps\"` under [fediverse] so the companion accepts the Host the proxy sends, or keep the blog's Host when forwarding".into(),
                SingleProcess | Unknown => "the proxy must pass the Host header unchanged (Caddy does by default; nginx: `proxy_set_header Host $http_host;`)".into(),
            },
            Problem::HeaderDropped(name) => match h {
                Nginx => format!("remove `proxy_set_header {name} …` from `location = /inbox`: nginx passes request headers unchanged by default (and keep `proxy_pass_request_headers on`)"),
                Caddy => format!("remove `header_up -{name}` (or any rewrite of {name}) from the /inbox `reverse_proxy`"),
                Netlify | CloudflarePages => format!("remove the rule or function that strips or rewrites {name} on /inbox"),
                SingleProcess | Unknown => format!("the proxy in front of the companion must pass {name} unchanged"),
            },
            Problem::CompanionDown => match h {
                Nginx => "start the companion (`systemctl start stoa-inbox`, docs/deploy/stoa-inbox.service) and make `proxy_pass` name its `listen` address (127.0.0.1:8787 by default)".into(),
                Caddy => "start the companion (`systemctl start stoa-inbox`, docs/deploy/stoa-inbox.service) and make `reverse_proxy` name its `listen` address".into(),
                Netlify | CloudflarePages => "start the companion on the VPS (`systemctl start stoa-inbox`) and check that `companion` under [fediverse] is its public address".into(),
                SingleProcess | Unknown => "start the companion (`systemctl start stoa-inbox`) with `--site`, listening where the proxy points".into(),
            },
            Problem::KeyMismatch => "the server's companion must use this site's private key: copy secrets/actor-key.pem there (mode 0600) or set STOA_PRIVATE_KEY, together with actor-key.pub.pem, and restart it; never run `stoa keygen` on one side only".into(),
            Problem::PublishedKeyMismatch => "build and deploy again from the folder that holds the blog's key pair (actor-key.pub.pem and secrets/actor-key.pem)".into(),
            Problem::ClockSkew => "turn on time synchronisation on the machine that is off: `timedatectl set-ntp true` (systemd-timesyncd or chrony)".into(),
            Problem::AdminToken => match h {
                Nginx => "use the same token in secrets/admin-token (or STOA_ADMIN_TOKEN) on both machines, and proxy the admin API: `location ^~ /admin/ { proxy_pass http://127.0.0.1:8787; proxy_set_header Host $http_host; }`; or set `companion` under [publish]".into(),
                Caddy => "use the same token in secrets/admin-token (or STOA_ADMIN_TOKEN) on both machines, and proxy the admin API: `handle /admin/* { reverse_proxy 127.0.0.1:8787 }`; or set `companion` under [publish]".into(),
                _ => "use the same token in secrets/admin-token (or STOA_ADMIN_TOKEN) on both machines, and set `companion` under [publish] to where the admin API answers".into(),
            },
            Problem::NotHttps => match h {
                Nginx => "`listen 443 ssl;` with a certificate (certbot), and base_url = \"https://…\" in stoa.toml".into(),
                Caddy => "Caddy gets a certificate itself for a site address without `http://`; set base_url = \"https://…\" in stoa.toml".into(),
                _ => "serve the blog over https and set base_url = \"https://…\" in stoa.toml".into(),
            },
            Problem::CompanionOutdated => "install the same stoa version on the server as here and restart the companion".into(),
            Problem::Certificate => match h {
                Nginx => "renew or reissue the certificate for this host (`certbot renew`, or `certbot --nginx -d your-host`) and make sure its renewal timer runs; `ssl_certificate` must name the full chain".into(),
                Caddy | SingleProcess => "Caddy renews its certificates itself: check that ports 80 and 443 reach it and that the site address in the Caddyfile is the blog's host; `journalctl -u caddy` says why renewal fails".into(),
                Netlify | CloudflarePages => "the host manages the certificate: check the custom domain's HTTPS settings (and its DNS) in the host's dashboard".into(),
                Unknown => "renew the certificate for this host (certbot, or the host's dashboard) and make sure it renews itself".into(),
            },
            Problem::Unreachable => "check that base_url in stoa.toml is the blog's address, that its DNS name points at the server, and that the web server runs and its firewall lets ports 80 and 443 in".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_is_told_by_its_server_header() {
        assert_eq!(
            HostKind::detect(Some("nginx/1.22.1"), false),
            HostKind::Nginx
        );
        assert_eq!(HostKind::detect(Some("Caddy"), false), HostKind::Caddy);
        assert_eq!(HostKind::detect(Some("Netlify"), false), HostKind::Netlify);
        assert_eq!(
            HostKind::detect(Some("cloudflare"), false),
            HostKind::CloudflarePages
        );
        assert_eq!(
            HostKind::detect(Some("Caddy"), true),
            HostKind::SingleProcess
        );
        assert_eq!(HostKind::detect(None, false), HostKind::Unknown);
    }

    #[test]
    fn an_unknown_host_gets_every_fix() {
        let fix = Problem::InboxNotProxied.fix(HostKind::Unknown);
        for host in ["nginx:", "Caddy:", "Netlify:", "Cloudflare Pages:"] {
            assert!(fix.contains(host), "{fix}");
        }
        let same = Problem::NotDeployed.fix(HostKind::Unknown);
        assert!(same.starts_with("nginx, Caddy: deploy"), "{same}");
        assert_eq!(
            Problem::KeyMismatch.fix(HostKind::Unknown).lines().count(),
            1
        );
        assert!(
            Problem::HeaderDropped("Date".into())
                .fix(HostKind::Nginx)
                .contains("proxy_set_header Date")
        );
    }
}
