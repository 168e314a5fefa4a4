//! Compiles the C shim that exposes spandsp's `static inline` G.711
//! functions and links the system libspandsp (Debian `libspandsp-dev`).

fn main() {
    println!("cargo:rerun-if-changed=csrc/shim.c");
    cc::Build::new()
        .file("csrc/shim.c")
        .opt_level(2)
        .warnings(false)
        .compile("tandem_spandsp_shim");
    println!("cargo:rustc-link-lib=spandsp");
}
