//! Library-level tests of the whole pipeline on directory fixtures.
#![allow(clippy::unwrap_used)]

mod os_detection;
