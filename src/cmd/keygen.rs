//! `stoa keygen`: make the actor's key pair for a site that has none (a
//! site made before stoa, or a checkout of a repository, which never holds
//! the private key). Never overwrites a key: a new key is a new identity.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::cmd::cli::KeygenArgs;
use crate::cmd::common::missing_private_key;
use crate::cmd::init::write_admin_token;
use crate::config::Config;
use crate::outln;
use crate::signatures::keys;

/// Where the private key goes, relative to the site root.
pub const PRIVATE_KEY_PATH: &str = "secrets/actor-key.pem";

/// Runs `stoa keygen`.
pub fn run(args: &KeygenArgs) -> Result<()> {
    let config = Config::load(&args.root)?;
    let private = args.root.join(PRIVATE_KEY_PATH);
    let public = args.root.join(&config.fediverse.public_key);
    if public.exists() && !private.exists() {
        if !args.new_identity {
            bail!(
                "{}\n  note: nothing was changed; `stoa keygen` never replaces a published key. If its private half is lost for good, `stoa keygen --new-identity` makes a new pair (every follower must follow again)",
                missing_private_key(&args.root, &config, &private)
            );
        }
        std::fs::remove_file(&public)
            .with_context(|| format!("removing the old public key {}", public.display()))?;
    }
    write_pair(&args.root, &config.fediverse.public_key)?;
    outln!(
        "Made the actor's key pair: {} (public: commit it) and {} (private, mode 0600: back it up, never share it)",
        public.display(),
        private.display()
    );
    let token = args.root.join(&config.companion.admin_token_file);
    if !token.exists() {
        write_admin_token(&token)?;
        outln!(
            "Made the companion's admin token: {} (mode 0600; the same file goes on the server)",
            token.display()
        );
    }
    Ok(())
}

/// Makes a key pair: the private half in `secrets/` (0600), the public half at `public_rel`.
pub fn write_pair(root: &Path, public_rel: &Path) -> Result<()> {
    let private = root.join(PRIVATE_KEY_PATH);
    let public = root.join(public_rel);
    for p in [&private, &public] {
        if p.exists() {
            bail!(
                "{} already exists; nothing was changed\n  help: a new key would be a new identity on the fediverse (followers would be lost); keep the one you have",
                p.display()
            );
        }
    }
    let pair = keys::generate()?;
    keys::write_private(&private, &pair.private_pem)?;
    if let Some(dir) = public.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&public, &pair.public_pem)
        .with_context(|| format!("writing {}", public.display()))
}
