//! Loading the hex test vectors under `tests/vectors/`.
//!
//! Format: `#` comment lines, one of which is `# expect: <outcome>` where
//! the outcome is `Ok` or the `Debug` form of the expected error (for
//! example `Err(CsrcPastEnd)`), then hex octets separated by whitespace.

#![allow(dead_code)] // each test file uses part of this

use std::path::{Path, PathBuf};

pub(crate) struct Vector {
    pub(crate) path: PathBuf,
    pub(crate) expect: String,
    pub(crate) bytes: Vec<u8>,
}

pub(crate) fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn load(path: &Path) -> Vector {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let mut expect = None;
    let mut hex = String::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix('#') {
            if let Some(e) = comment.trim().strip_prefix("expect:") {
                expect = Some(e.trim().to_owned());
            }
        } else {
            hex.extend(line.chars().filter(|c| !c.is_whitespace()));
        }
    }
    assert!(hex.len() % 2 == 0, "{path:?}: odd number of hex digits");
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or_else(|e| panic!("{path:?}: {e}")))
        .collect();
    Vector {
        path: path.to_owned(),
        expect: expect.unwrap_or_else(|| panic!("{path:?}: no `# expect:` line")),
        bytes,
    }
}

/// Every `.hex` vector in `tests/vectors/<kind>/`, sorted by name.
pub(crate) fn vectors(kind: &str) -> Vec<Vector> {
    files(&crate_dir().join("tests/vectors").join(kind))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "hex"))
        .map(|p| load(&p))
        .collect()
}

/// Regular files in `dir` (not dotfiles), sorted by name.
pub(crate) fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir:?}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    out.sort();
    out
}

/// `Ok` or `Err(<Debug of the error>)`, the form vectors use.
pub(crate) fn outcome<T, E: std::fmt::Debug>(r: &Result<T, E>) -> String {
    match r {
        Ok(_) => "Ok".to_owned(),
        Err(e) => format!("Err({e:?})"),
    }
}
