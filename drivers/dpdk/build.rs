//! With the `dpdk` feature: finds the system DPDK (`pkg-config libdpdk`,
//! Debian's `libdpdk-dev`), compiles `shim/shim.c` against its headers and
//! links DPDK's shared libraries. Without it: nothing (the crate is then
//! empty, so the default build needs no DPDK).

fn main() {
    println!("cargo:rerun-if-changed=shim/shim.c");
    println!("cargo:rerun-if-changed=shim/shim.h");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    if std::env::var_os("CARGO_FEATURE_DPDK").is_none() {
        return;
    }
    let lib = match pkg_config::Config::new()
        .atleast_version("22.11")
        .probe("libdpdk")
    {
        Ok(lib) => lib,
        Err(e) => panic!(
            "the dpdk feature needs DPDK 22.11 or later found by pkg-config \
             (Debian: apt-get install libdpdk-dev): {e}"
        ),
    };
    let mut build = cc::Build::new();
    build
        .file("shim/shim.c")
        .warnings(true)
        .flag_if_supported("-Wextra");
    for dir in &lib.include_paths {
        build.include(dir);
    }
    for (k, v) in &lib.defines {
        build.define(k, v.as_deref());
    }
    // DPDK's headers assume at least SSE4.2 on x86-64 (its own -march).
    build.flag_if_supported("-msse4.2");
    build.compile("tandem_dpdk_shim");
    // rte_eth_from_rings (test networks) lives in the ring driver, which
    // the EAL otherwise only loads as a plugin; it is the same file, so
    // the plugin load finds it already there.
    println!("cargo:rustc-link-lib=dylib=rte_net_ring");
}
