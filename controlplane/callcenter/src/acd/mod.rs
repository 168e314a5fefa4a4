//! Automatic call distribution: queues, agents and strategies.

mod event;

pub use event::{AgentState, Event, Overflow, SpillReason};
