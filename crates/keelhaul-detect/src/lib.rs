//! Content detectors, each a library with no knowledge of images or layers:
//!
//! * [`secrets`]: credentials in file contents and in the image config;
//! * [`malware`]: YARA rules (keelhaul's own pack plus user rules) and hash signatures;
//! * [`baseline`]: unsafe settings of an image (config, accounts, SSH, file modes).
//!
//! The layer engine feeds them files that pass their prefilters, in the same single pass
//! as the inventory.
#![deny(missing_docs)]

pub mod baseline;
pub mod malware;
pub mod secrets;

/// A path as the detectors compare it: no leading `/` or `./` (any mix of them), the
/// layer walker's spelling.
pub(crate) fn normalize_path(path: &str) -> &str {
    let mut p = path;
    loop {
        if let Some(rest) = p.strip_prefix("./") {
            p = rest;
        } else if let Some(rest) = p.strip_prefix('/') {
            p = rest;
        } else {
            return p;
        }
    }
}
