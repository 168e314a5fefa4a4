//! Identifier newtypes (STYLE.md rule 12). Each is an index the owner of
//! the configuration hands out densely from 0, so tables are `Vec`s.

use std::fmt;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);

        impl $name {
            /// The index into the owner's table.
            pub const fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "-{}"), self.0)
            }
        }
    };
}

id!(
    /// An ACD queue.
    QueueId,
    "queue"
);
id!(
    /// An agent (a person at a SIP phone).
    AgentId,
    "agent"
);
id!(
    /// A 400 number's plan, as a label for per-number KPIs.
    NumberId,
    "number"
);
