//! The constant-time secret and signature checks live in `crate::signing`, below every
//! part that checks a caller (channels and event webhooks alike); re-exported here.

pub use crate::signing::*;
