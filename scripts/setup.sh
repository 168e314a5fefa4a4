#!/usr/bin/env bash
# Installs the Debian packages that Tandem's demo and tests need.
# Idempotent: when everything is present it only asks dpkg, in well under a
# second. Run as root, or as a user who may sudo.
set -euo pipefail

packages=(
    gcc               # builds the test-only spandsp shim (the cc crate)
    pkg-config
    libspandsp-dev    # reference oracle for G.711, G.722 and DTMF tests and benches
    espeak-ng         # speech for the DTMF talk-off test
    sox               # resamples that speech to 8 kHz
    kamailio          # SIP proxy that drives tandem over the ng protocol
    sip-tester        # SIPp: callers and callees for interworking tests
    openssl           # makes the certificates of the SIP-over-TLS tests (SIPp has no TLS in Debian)
    ca-certificates   # the CAs `tandem run` trusts for TLS trunks by default
    rtpengine-daemon  # the peer of the relay benchmark
    cmake             # builds libopus for the engine's `opus` feature
    python3-jsonschema  # validates the REST API's answers against docs/openapi.json
    chromium          # headless browser of the wallboard test
    chromium-driver   # drives it over WebDriver
    libdpdk-dev       # DPDK 22.11 for drivers/dpdk (the `dpdk` feature)
    iproute2          # namespaces and veth pairs of the DPDK end-to-end test
    iputils-ping      # pings the DPDK port from its namespace
    ethtool           # turns off checksum offload on that veth
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if ((${#missing[@]})); then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "setup: installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
