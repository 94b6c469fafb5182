//! The cases of `store_behaviour`, one module per concern; each runs on both backends.

mod alerts;
mod consume;
mod random;
mod resets;
mod subscriptions;
mod topups;
