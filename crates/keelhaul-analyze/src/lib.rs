//! The single pass over an image's layers.
//!
//! Each layer is read exactly once, as a stream: its compression is detected by magic
//! number, it is decompressed on the fly, and its tar entries are matched against what the
//! [`Analyzer`]s of an [`AnalyzerSet`] declared they want ([`Interests`]: exact paths and
//! globs). Only wanted files are read into memory, and only up to the analyzer's size cap;
//! everything else is skipped (with seeks, in an uncompressed local tar). Each analyzer
//! turns a file into [`Fact`]s; a layer's facts, whiteouts and matched paths form its
//! [`LayerFacts`], which are cached on disk by layer digest ([`LayerCache`]).
//!
//! The [`LayerEngine`] runs layers in parallel, verifies every byte against the layer's
//! digest while it streams, and bounds what a hostile layer can cost ([`Limits`]). Layer
//! facts know nothing of each other; [`ImageView`] stacks them: whiteouts, opaque
//! directories, overrides and symlinks resolved inside the image root.
//!
//! This crate owns the mechanism and no concrete analyzer: those live in
//! `keelhaul-inventory` (packages, OS) and, later, the detection crates.
#![deny(missing_docs)]

mod analyzer;
mod cache;
mod decompress;
mod engine;
mod facts;
mod path;
mod region;
mod view;
mod walk;

pub use analyzer::{
    AnalyzeError, Analyzer, AnalyzerId, AnalyzerSet, FileInfo, HEAD_LEN, Interests, Output,
    SetError,
};
pub use cache::{FactsStore, LayerCache};
pub use decompress::{BombError, Compression};
pub use engine::{
    LayerEngine, LayerError, LayerErrorKind, LayerResult, Limits, NoProgress, Progress,
};
pub use facts::{Artifact, Fact, LayerFacts, LayerStats, PathKeys, path_key};
pub use view::{ImageView, LinkError};
pub use walk::{FILE_MODES, is_special_mode};
