//! Keys and (later) HTTP Signatures. No network here.

pub mod keys;
