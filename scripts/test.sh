#!/usr/bin/env bash
# The whole test suite: what `.ci/run` runs and what the README promises.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

if command -v cargo-nextest >/dev/null 2>&1; then
    cargo nextest run --workspace --no-fail-fast
else
    cargo test --workspace --no-fail-fast --lib --bins --tests
fi
# The Opus codec sits behind a feature; its tests run here so it cannot rot.
cargo test -p tandem-dataplane --features opus --test codec-opus-round-trip
# So does DPDK (drivers/dpdk): the EAL on anonymous memory, virtual devices.
cargo test -p tandem-dpdk --features dpdk
# ... the media engine's tests that drive a worker over a network, on DPDK
# (a loop net of two ring ports) and on io_uring (a private loopback in a
# network namespace per test; needs root) as well as in memory ...
cargo test -p tandem-dataplane --features dpdk-tests
cargo test -p tandem-dataplane --features uring-tests
# ... and `tandem run --packet-io dpdk` on a veth pair (needs root).
cargo test -p tandem-gateway --features dpdk \
    --test dpdk-port-answers-ping-and-relays-rtp-over-veth --test run-refuses-dpdk-it-cannot-start
# nextest does not run doc tests.
cargo test --workspace --doc
