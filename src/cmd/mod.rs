//! Subcommands: thin glue between the command line and the library. Errors
//! become `anyhow` here, with context, for people to read.

pub mod backup;
pub mod build;
pub mod cli;
pub(crate) mod common;
pub mod deliveries;
pub mod doctor;
pub mod followers;
pub mod import;
pub mod inbox;
pub mod init;
pub mod keygen;
pub mod moving;
pub mod new;
pub mod notifications;
pub mod out;
pub mod preview;
pub mod publish;
pub mod pull;
pub mod quotes;
pub mod replies;
pub mod serve;
