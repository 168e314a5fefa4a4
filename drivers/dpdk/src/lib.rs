//! Kernel-bypass packet I/O over the system DPDK (22.11 LTS).
//!
//! The DPDK layers are built only with the `dpdk` feature (the default
//! build needs no DPDK; without it only [`stack`] is here). The layers:
//!
//! - **`shim/shim.c`**: every DPDK call Tandem makes, as plain C functions.
//!   DPDK's fast-path functions (`rte_eth_rx_burst`, `rte_eth_tx_burst`,
//!   `rte_pktmbuf_alloc`, …) are `static inline` in its headers and its
//!   configuration structs change between releases, so the shim is compiled
//!   by `build.rs` against the installed headers (`pkg-config libdpdk`) and
//!   Rust sees only its signatures.
//! - **`sys`**: the shim's signatures, generated once with bindgen from
//!   `shim/shim.h` and committed (the command is in the crate README).
//! - **[`stack`]**: the minimal host stack of a media port (ARP, ICMP
//!   echo, IPv4, UDP, 802.1Q), sans-IO and safe; built with or without
//!   the feature.
//! - **`DpdkIo`**: the media engine's `PacketIo` over one queue pair:
//!   zero-copy receive (the mbuf trimmed to the UDP payload) and send
//!   (headers written into the headroom), the host stack on every frame.
//! - **`MediaPort`**: one device as the media port of all workers: EAL,
//!   pool, a queue pair per worker, and what the workers share (UDP port
//!   owners, hand-off inboxes, learned neighbours).
//! - **This module**: the safe layer. [`Eal`] initialises DPDK once per
//!   process from a list of EAL arguments; [`Mempool`]s are created once
//!   and live as long as the process, so an [`Mbuf`] can never outlive its
//!   pool; [`Port::start`] configures a device's queues and hands out one
//!   [`RxQueue`] and one [`TxQueue`] per worker (DPDK queues are
//!   single-threaded, so each handle is owned, not shared); an [`Mbuf`]
//!   owns one packet buffer and frees it when dropped.
//!
//! DPDK's shared libraries are linked dynamically (Debian ships no static
//! archives of its PMDs); poll-mode drivers are loaded by the EAL from
//! DPDK's plugin directory at [`Eal::init`].
//!
//! All `unsafe` code of the crate is in this module and `sys`, each block
//! with its `SAFETY:` argument.
#![allow(unsafe_code)]

pub mod stack;

#[cfg(feature = "dpdk")]
mod dpdk;
#[cfg(feature = "dpdk")]
mod io;
#[cfg(feature = "dpdk")]
pub mod loopnet;
#[cfg(feature = "dpdk")]
mod media;

#[cfg(feature = "dpdk")]
pub use dpdk::*;
#[cfg(feature = "dpdk")]
pub use io::{DpdkBuf, DpdkConfig, DpdkIo, IoReport};
#[cfg(feature = "dpdk")]
pub use media::{MediaPort, MediaPortConfig, split_eal_args};
