//! stoa's integration suite: one binary (links once), a module per feature.
//! Every test builds real sites into temporary folders and drives the real
//! `stoa` binary or library.

mod build;
mod cli;
mod common;
mod companion;
mod deploy;
mod federation;
mod init;
mod interop_fedify;
pub(crate) mod interop_snac;
mod rfc9421_fedify;
mod serve;
