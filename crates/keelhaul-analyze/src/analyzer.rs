//! The analyzer interface and the set that dispatches files to analyzers.

use std::collections::HashMap;
use std::fmt;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::facts::{Artifact, Fact};

/// An analyzer's name and version. The version is part of the layer-cache key: bump it
/// whenever the analyzer's output for the same input changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AnalyzerId {
    /// Stable name, e.g. `dpkg`.
    pub name: &'static str,
    /// Output version.
    pub version: u32,
}

impl fmt::Display for AnalyzerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.version)
    }
}

/// The files an analyzer wants to see.
///
/// Paths are normalised layer paths: relative to the image root, no leading `/`.
/// Everything not named here is skipped without being read.
#[derive(Debug, Clone, Default)]
pub struct Interests {
    /// Exact paths.
    pub paths: Vec<String>,
    /// Glob patterns (globset syntax, `/` is a separator: `**` crosses directories, `*` does not).
    pub globs: Vec<String>,
    /// Files larger than this are not read; a warning names them instead.
    pub max_size: u64,
    /// Executables (regular files with an execute bit) whose first four bytes are one of
    /// these, wherever they are: `b"\x7fELF"`, PE's `b"MZ\x90\0"`, Mach-O magics. Only
    /// the first bytes of other executables are read.
    pub executable_magic: Vec<[u8; 4]>,
    /// A content scanner: [`Analyzer::wants_file`] is asked about every regular file the
    /// path interests did not select, with the file's first bytes.
    pub content_scan: bool,
    /// Record [`crate::Fact::Mode`] for setuid/setgid files and world-writable files and
    /// directories (no content is read for them).
    pub special_modes: bool,
    /// Globs of files whose presence alone matters: the walker records
    /// [`crate::Fact::Present`] for them without reading a byte (package caches, host keys).
    pub presence_globs: Vec<String>,
}

impl Interests {
    /// Interests in exact paths, with a size cap.
    pub fn paths(paths: &[&str], max_size: u64) -> Interests {
        Interests {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
            globs: Vec::new(),
            max_size,
            executable_magic: Vec::new(),
            content_scan: false,
            special_modes: false,
            presence_globs: Vec::new(),
        }
    }

    /// A content scanner with a size cap (see [`Interests::content_scan`]).
    pub fn content(max_size: u64) -> Interests {
        Interests {
            content_scan: true,
            ..Interests::paths(&[], max_size)
        }
    }

    /// Add glob patterns.
    pub fn with_globs(mut self, globs: &[&str]) -> Interests {
        self.globs.extend(globs.iter().map(|g| (*g).to_owned()));
        self
    }

    /// Add executables starting with these magic numbers.
    pub fn with_executables(mut self, magics: &[[u8; 4]]) -> Interests {
        self.executable_magic.extend_from_slice(magics);
        self
    }
}

/// How many first bytes of a file content scanners see before deciding to read it.
pub const HEAD_LEN: usize = 64;

/// What an analyzer knows about the file it is given.
#[derive(Debug, Clone, Copy)]
pub struct FileInfo<'a> {
    /// Normalised path.
    pub path: &'a str,
    /// Size in bytes.
    pub size: u64,
    /// Unix mode bits.
    pub mode: u32,
}

/// Where an analyzer puts what it finds.
pub struct Output<'a> {
    pub(crate) analyzer: &'static str,
    pub(crate) path: &'a str,
    pub(crate) artifacts: &'a mut Vec<Artifact>,
    pub(crate) warnings: &'a mut Vec<String>,
}

impl Output<'_> {
    /// Record a fact about the current file.
    pub fn emit(&mut self, fact: Fact) {
        self.push(None, fact);
    }

    /// Record a fact under a slot shared by several paths (see [`Artifact::slot`]).
    pub fn emit_in_slot(&mut self, slot: &str, fact: Fact) {
        self.push(Some(slot.to_owned()), fact);
    }

    fn push(&mut self, slot: Option<String>, fact: Fact) {
        self.artifacts.push(Artifact {
            analyzer: self.analyzer.to_owned(),
            path: self.path.to_owned(),
            slot,
            fact,
        });
    }

    /// Record a problem with the current file that does not stop the analysis.
    pub fn warn(&mut self, message: impl fmt::Display) {
        self.warnings.push(format!("`{}`: {message}", self.path));
    }
}

/// Why an analyzer could not read a file. It becomes a warning naming the file; the layer
/// goes on.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AnalyzeError(pub String);

impl AnalyzeError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> AnalyzeError {
        AnalyzeError(message.into())
    }
}

/// Reads one kind of file and reports facts about it.
///
/// Analyzers see one layer's files in isolation: a layer holding a package database may
/// lack the release file that says which distro it is. Interpreting facts across layers is
/// the inventory's job.
pub trait Analyzer: Send + Sync {
    /// Name and output version.
    fn id(&self) -> AnalyzerId;
    /// The files this analyzer wants.
    fn interests(&self) -> Interests;
    /// For content scanners ([`Interests::content_scan`]): whether to read this file,
    /// from its path, size, mode and first bytes (up to [`HEAD_LEN`]). It is asked for
    /// every regular file, so it must be cheap.
    fn wants_file(&self, file: &FileInfo<'_>, head: &[u8]) -> bool {
        let _ = (file, head);
        false
    }

    /// Analyze one file's whole content.
    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError>;
}

/// Why an [`AnalyzerSet`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetError {
    /// Two analyzers share a name.
    #[error("Two analyzers are named `{0}`")]
    Duplicate(&'static str),
    /// A glob does not parse.
    #[error("Analyzer `{analyzer}` has an invalid glob `{glob}`")]
    Glob {
        /// The analyzer.
        analyzer: &'static str,
        /// The glob.
        glob: String,
        /// The cause.
        #[source]
        source: globset::Error,
    },
}

/// A fixed set of analyzers, with their interests compiled into one matcher.
pub struct AnalyzerSet {
    analyzers: Vec<Box<dyn Analyzer>>,
    max_sizes: Vec<u64>,
    exact: HashMap<String, Vec<usize>>,
    globs: GlobSet,
    glob_owner: Vec<usize>,
    /// (analyzer, magic) for analyzers that want executables by content.
    executables: Vec<(usize, [u8; 4])>,
    /// Content scanners.
    content_scanners: Vec<usize>,
    /// Whether any analyzer wants special file modes.
    special_modes: bool,
    /// Presence globs, and the analyzer owning each.
    presence: GlobSet,
    presence_owner: Vec<usize>,
    fingerprint: String,
}

impl fmt::Debug for AnalyzerSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnalyzerSet")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl AnalyzerSet {
    /// Build a set; analyzer names must be unique.
    pub fn new(analyzers: Vec<Box<dyn Analyzer>>) -> Result<AnalyzerSet, SetError> {
        let mut exact: HashMap<String, Vec<usize>> = HashMap::new();
        let mut builder = GlobSetBuilder::new();
        let mut glob_owner = Vec::new();
        let mut max_sizes = Vec::new();
        let mut ids: Vec<AnalyzerId> = Vec::new();
        let mut executables = Vec::new();
        let mut content_scanners = Vec::new();
        let mut special_modes = false;
        let mut presence_builder = GlobSetBuilder::new();
        let mut presence_owner = Vec::new();
        for (i, a) in analyzers.iter().enumerate() {
            let id = a.id();
            if ids.iter().any(|other| other.name == id.name) {
                return Err(SetError::Duplicate(id.name));
            }
            ids.push(id);
            let interests = a.interests();
            max_sizes.push(interests.max_size);
            if interests.content_scan {
                content_scanners.push(i);
            }
            special_modes |= interests.special_modes;
            for g in &interests.presence_globs {
                let glob = GlobBuilder::new(g)
                    .literal_separator(true)
                    .build()
                    .map_err(|source| SetError::Glob {
                        analyzer: id.name,
                        glob: g.clone(),
                        source,
                    })?;
                presence_builder.add(glob);
                presence_owner.push(i);
            }
            executables.extend(interests.executable_magic.iter().map(|m| (i, *m)));
            for p in interests.paths {
                exact.entry(p).or_default().push(i);
            }
            for g in interests.globs {
                // `*` stays inside one directory; `**` crosses them.
                let glob = GlobBuilder::new(&g)
                    .literal_separator(true)
                    .build()
                    .map_err(|source| SetError::Glob {
                        analyzer: id.name,
                        glob: g.clone(),
                        source,
                    })?;
                builder.add(glob);
                glob_owner.push(i);
            }
        }
        let globs = builder.build().map_err(|source| SetError::Glob {
            analyzer: "(set)",
            glob: String::new(),
            source,
        })?;
        let presence = presence_builder.build().map_err(|source| SetError::Glob {
            analyzer: "(set)",
            glob: String::new(),
            source,
        })?;
        ids.sort_by_key(|id| id.name);
        let fingerprint = ids
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        Ok(AnalyzerSet {
            analyzers,
            max_sizes,
            exact,
            globs,
            glob_owner,
            executables,
            content_scanners,
            special_modes,
            presence,
            presence_owner,
            fingerprint,
        })
    }

    /// Names and versions of all analyzers, sorted: the layer-cache key prefix.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Indices of the analyzers that want `path`, into `out` (cleared first).
    pub(crate) fn wanted_into(&self, path: &str, out: &mut Vec<usize>, scratch: &mut Vec<usize>) {
        out.clear();
        if let Some(v) = self.exact.get(path) {
            out.extend_from_slice(v);
        }
        if !self.glob_owner.is_empty() {
            self.globs.matches_into(path, scratch);
            for &g in scratch.iter() {
                let owner = self.glob_owner[g];
                if !out.contains(&owner) {
                    out.push(owner);
                }
            }
        }
    }

    /// Whether any analyzer scans content of arbitrary files.
    pub(crate) fn has_content_scanners(&self) -> bool {
        !self.content_scanners.is_empty()
    }

    /// Whether any analyzer wants special file modes recorded.
    pub(crate) fn wants_special_modes(&self) -> bool {
        self.special_modes
    }

    /// Whether any analyzer has presence globs.
    pub(crate) fn has_presence_globs(&self) -> bool {
        !self.presence_owner.is_empty()
    }

    /// Names of the analyzers that want to know `path` exists, into `out` (cleared first).
    pub(crate) fn presence_into(
        &self,
        path: &str,
        out: &mut Vec<&'static str>,
        scratch: &mut Vec<usize>,
    ) {
        out.clear();
        if self.presence_owner.is_empty() {
            return;
        }
        self.presence.matches_into(path, scratch);
        for &g in scratch.iter() {
            let name = self.analyzers[self.presence_owner[g]].id().name;
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }

    /// Adds to `out` the content scanners that want this file (and are not in it yet).
    pub(crate) fn content_wanted_into(
        &self,
        file: &FileInfo<'_>,
        head: &[u8],
        out: &mut Vec<usize>,
    ) {
        for &i in &self.content_scanners {
            if !out.contains(&i)
                && file.size <= self.max_sizes[i]
                && self.analyzers[i].wants_file(file, head)
            {
                out.push(i);
            }
        }
    }

    /// Whether any analyzer wants executables by content.
    pub(crate) fn wants_executables(&self) -> bool {
        !self.executables.is_empty()
    }

    /// Indices of the analyzers that want an executable starting with `head`, into `out`.
    pub(crate) fn executable_wanted_into(&self, head: &[u8], out: &mut Vec<usize>) {
        out.clear();
        for (i, magic) in &self.executables {
            if head.starts_with(magic) && !out.contains(i) {
                out.push(*i);
            }
        }
    }

    /// The largest size any of `wanted` accepts.
    pub(crate) fn max_size(&self, wanted: &[usize]) -> u64 {
        wanted.iter().map(|&i| self.max_sizes[i]).max().unwrap_or(0)
    }

    /// Run analyzer `index` on a file.
    pub(crate) fn run(
        &self,
        index: usize,
        file: &FileInfo<'_>,
        content: &[u8],
        artifacts: &mut Vec<Artifact>,
        warnings: &mut Vec<String>,
    ) {
        let analyzer = &self.analyzers[index];
        if file.size > self.max_sizes[index] {
            return;
        }
        let name = analyzer.id().name;
        let mut out = Output {
            analyzer: name,
            path: file.path,
            artifacts,
            warnings,
        };
        if let Err(e) = analyzer.analyze(file, content, &mut out) {
            out.warnings.push(format!("`{}`: {name}: {e}", file.path));
        }
    }

    /// The name of analyzer `index`.
    pub(crate) fn name(&self, index: usize) -> &'static str {
        self.analyzers[index].id().name
    }
}
