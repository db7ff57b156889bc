//! Single-holder leases live in the store, below every part that holds a connection
//! (channels and event relays alike); re-exported here where the channels reach them.

pub use crate::store::holder::*;
