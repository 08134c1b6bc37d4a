//! stoa's integration suite: one binary (links once), a module per feature.
//! Every test builds real sites into temporary folders and drives the real
//! `stoa` binary or library.
//!
//! Tests that talk to an independent peer (Fedify, snac, nginx) check for
//! it first with `common::peers_ready`: when it is missing they print one
//! note per peer and return, unless `STOA_REQUIRE_PEERS=1` (set by
//! `.ci/run`) makes a missing peer a failure.

mod build;
mod cli;
mod common;
mod companion;
mod deploy;
mod doctor;
mod federation;
mod first_hour;
mod import;
mod init;
mod interop_fedify;
pub(crate) mod interop_snac;
mod moving;
mod rfc9421_fedify;
mod serve;
