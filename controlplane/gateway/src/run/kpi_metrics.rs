//! Prometheus export of the call-center KPIs (`tandem_callcenter_*`).
//!
//! Filled in by the next commit.
