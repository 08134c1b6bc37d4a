//! What several commands read the same way: the site's configuration, the
//! actor's private key, the admin token, a client for the companion, and
//! the signals that stop a server.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::companion::client::CompanionClient;
use crate::config::Config;
use crate::errln;
use crate::federation::Urls;
use crate::fetch::Signer;
use crate::signatures::keys::{self, SigningKey};

/// Reads `stoa.toml` under `root`, with `base_url` overridden if asked.
pub fn load_config(root: &Path, base_url: Option<&str>) -> Result<(PathBuf, Config)> {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut config = Config::load(&root)?;
    if let Some(url) = base_url {
        config = config.with_base_url(url)?;
    }
    Ok((root, config))
}

/// The companion's database file, which must exist: commands other than
/// `stoa inbox` never create it. A missing one that left traces is
/// explained as `stoa inbox` would.
pub fn existing_database(root: &Path, config: &Config) -> Result<PathBuf> {
    let path = root.join(&config.companion.database);
    if path.is_file() {
        return Ok(path);
    }
    let traces = crate::companion::store::integrity::leftovers(&path);
    if !traces.is_empty() {
        return Err(crate::companion::store::StoreError::Missing { path, traces }.into());
    }
    bail!(
        "no companion database at {}\n  help: run `stoa inbox` once (it creates it), or set `database` under [companion]",
        path.display()
    )
}

/// The actor's private key from `STOA_PRIVATE_KEY` or its file, checked
/// against the published public key. Never prints key material.
pub fn load_signer(root: &Path, config: &Config) -> Result<Signer> {
    let (pem, from) = match std::env::var("STOA_PRIVATE_KEY") {
        Ok(pem) if !pem.trim().is_empty() => (pem, "STOA_PRIVATE_KEY".to_string()),
        _ => {
            let path = root.join(&config.companion.private_key);
            warn_if_readable_by_others(&path);
            let pem = match std::fs::read_to_string(&path) {
                Ok(pem) => pem,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(missing_private_key(root, config, &path));
                }
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!("cannot read the private key {}", path.display())
                    });
                }
            };
            (pem, path.display().to_string())
        }
    };
    let key = SigningKey::from_pem(&pem)
        .with_context(|| format!("reading the private key from {from}"))?;
    let public_path = root.join(&config.fediverse.public_key);
    if let Ok(published) = std::fs::read_to_string(&public_path)
        && keys::check_public_pem(&published).ok().as_deref() != Some(key.public_pem())
    {
        bail!(
            "the private key from {from} does not match the public key {}\n  help: followers verify signatures with the published key; use the private key made with it",
            public_path.display()
        );
    }
    Ok(Signer {
        key,
        key_id: Urls::new(config).key_id,
    })
}

/// What to say when the private key is not on this machine: on a site with
/// a published public key (a clone, a new server) it must be copied over,
/// never made anew (a new key is a new identity).
pub fn missing_private_key(root: &Path, config: &Config, path: &Path) -> anyhow::Error {
    let public = root.join(&config.fediverse.public_key);
    if public.exists() {
        anyhow::anyhow!(
            "the private key {} is not on this machine, but the site already has an identity ({} is its public half)\n  help: copy the private key from the machine where the site was made (or where `stoa inbox` runs), keeping it private: `scp that-machine:{site}/{key} {key} && chmod 600 {key}` from the site folder; or set STOA_PRIVATE_KEY. Copy secrets/admin-token the same way for `stoa publish`",
            path.display(),
            public.display(),
            site = "<site folder>",
            key = config.companion.private_key.display(),
        )
    } else {
        anyhow::anyhow!(
            "the site has no key pair yet ({} and {} are missing)\n  help: run `stoa keygen` here",
            path.display(),
            public.display()
        )
    }
}

/// The admin token from `STOA_ADMIN_TOKEN` or its file; `None` if neither.
pub fn load_admin_token(root: &Path, config: &Config) -> Result<Option<String>> {
    if let Ok(t) = std::env::var("STOA_ADMIN_TOKEN")
        && !t.trim().is_empty()
    {
        return Ok(Some(t.trim().to_string()));
    }
    let path = root.join(&config.companion.admin_token_file);
    match std::fs::read_to_string(&path) {
        Ok(t) if t.trim().len() >= 16 => {
            warn_if_readable_by_others(&path);
            Ok(Some(t.trim().to_string()))
        }
        Ok(_) => bail!(
            "the admin token in {} is shorter than 16 characters\n  help: put a long random string there, e.g. `openssl rand -hex 32`",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            errln!(
                "warning: {} can be read by other users (mode {mode:o}); run `chmod 600 {}`",
                path.display(),
                path.display()
            );
        }
    }
}

/// A client for the companion's admin API: `companion` (a command-line
/// override) or `[publish] companion`, with the admin token.
pub fn admin_client(
    root: &Path,
    config: &Config,
    companion: Option<&str>,
) -> Result<CompanionClient> {
    let token = load_admin_token(root, config)?.with_context(|| {
        format!(
            "no admin token: put the companion's token in {} or set STOA_ADMIN_TOKEN",
            config.companion.admin_token_file.display()
        )
    })?;
    let base = companion.unwrap_or(&config.publish.companion);
    Ok(CompanionClient::new(base, &token))
}

/// Resolves on SIGTERM (systemd, `kill`, a container stopping) or Ctrl-C.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
