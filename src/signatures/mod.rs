//! Keys and HTTP Signatures (draft-cavage), for the companion's deliveries
//! and its inbox. No network and no clock here: callers pass `now`.

pub mod cavage;
pub mod keys;
pub mod presented;
pub mod rfc9421;
