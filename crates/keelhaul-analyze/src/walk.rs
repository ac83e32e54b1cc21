//! Walking one layer's entries (tar or directory) and feeding analyzers.

use std::collections::HashSet;
use std::io::{self, Read};
use std::path::Path;

use crate::analyzer::{AnalyzerSet, FileInfo};
use crate::facts::LayerFacts;
use crate::path::{EntryPath, Whiteout, normalize, whiteout};

/// How many individual path warnings a layer records before summarising.
const MAX_PATH_WARNINGS: usize = 20;

/// Collects one layer's facts while its entries stream by.
pub(crate) struct Walker<'a> {
    set: &'a AnalyzerSet,
    facts: LayerFacts,
    wanted: Vec<usize>,
    scratch: Vec<usize>,
    content: Vec<u8>,
    analyzed: HashSet<String>,
    absolute_paths: u64,
    escaping_paths: u64,
    path_warnings: usize,
}

impl<'a> Walker<'a> {
    pub(crate) fn new(set: &'a AnalyzerSet) -> Walker<'a> {
        Walker {
            set,
            facts: LayerFacts::default(),
            wanted: Vec::new(),
            scratch: Vec::new(),
            content: Vec::new(),
            analyzed: HashSet::new(),
            absolute_paths: 0,
            escaping_paths: 0,
            path_warnings: 0,
        }
    }

    fn warn_path(&mut self, message: String) {
        if self.path_warnings < MAX_PATH_WARNINGS {
            self.facts.warnings.push(message);
        }
        self.path_warnings += 1;
    }

    /// Walk a tar. On a read error the facts gathered so far are kept and the error returned.
    pub(crate) fn tar<R: Read>(&mut self, entries: tar::Entries<'_, R>) -> io::Result<()> {
        for entry in entries {
            let mut entry = entry?;
            self.facts.stats.entries += 1;
            let size = entry.size();
            self.facts.stats.bytes += 512 + size.div_ceil(512) * 512;
            let path = match normalize(&entry.path_bytes()) {
                EntryPath::Normal { path, absolute } => {
                    if absolute {
                        self.absolute_paths += 1;
                    }
                    path
                }
                EntryPath::Root => continue,
                EntryPath::Escapes => {
                    self.escaping_paths += 1;
                    let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                    self.warn_path(format!(
                        "`{raw}`: path climbs out of the image root with `..`; skipped"
                    ));
                    continue;
                }
            };
            if self.record_whiteout(&path) {
                continue;
            }
            let kind = entry.header().entry_type();
            match kind {
                tar::EntryType::Symlink => {
                    let target = entry
                        .link_name_bytes()
                        .map(|t| String::from_utf8_lossy(&t).into_owned());
                    if let Some(target) = target {
                        self.symlink(path, target);
                    }
                }
                tar::EntryType::Link => {
                    let target = entry.link_name_bytes().map(|t| normalize(&t));
                    match target {
                        Some(EntryPath::Normal { path: target, .. }) => {
                            self.hardlink(&path, &target)
                        }
                        _ => self.warn_path(format!(
                            "`{path}`: hard link target is outside the image root; skipped"
                        )),
                    }
                }
                tar::EntryType::Regular
                | tar::EntryType::Continuous
                | tar::EntryType::GNUSparse => {
                    let mode = entry.header().mode().unwrap_or(0);
                    self.file(&path, size, mode, &mut entry)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn record_whiteout(&mut self, path: &str) -> bool {
        match whiteout(path) {
            Some(Whiteout::Delete(p)) => self.facts.whiteouts.push(p),
            Some(Whiteout::Opaque(d)) => self.facts.opaque_dirs.push(d),
            None => return false,
        }
        true
    }

    fn want(&mut self, path: &str) -> bool {
        self.set
            .wanted_into(path, &mut self.wanted, &mut self.scratch);
        !self.wanted.is_empty()
    }

    fn symlink(&mut self, path: String, target: String) {
        if self.want(&path) {
            self.facts.matched.push(path.clone());
            self.facts.symlinks.insert(path, target);
        }
    }

    /// A hard link shares its target's content, which (tar orders it so) came earlier in
    /// this layer: reuse the facts the analyzers produced for the target.
    fn hardlink(&mut self, path: &str, target: &str) {
        if !self.want(path) {
            return;
        }
        self.facts.matched.push(path.to_owned());
        let names: Vec<&str> = self.wanted.iter().map(|&i| self.set.name(i)).collect();
        let copies: Vec<_> = self
            .facts
            .artifacts
            .iter()
            .filter(|a| a.path == target && names.contains(&a.analyzer.as_str()))
            .map(|a| {
                let mut copy = a.clone();
                copy.path = path.to_owned();
                copy
            })
            .collect();
        if copies.is_empty() && !self.analyzed.contains(target) {
            self.warn_path(format!(
                "`{path}`: hard link to `{target}`, which was not read; skipped"
            ));
        }
        self.facts.artifacts.extend(copies);
    }

    fn file(&mut self, path: &str, size: u64, mode: u32, body: &mut impl Read) -> io::Result<()> {
        if !self.want(path) {
            return Ok(());
        }
        self.facts.matched.push(path.to_owned());
        let limit = self.set.max_size(&self.wanted);
        if size > limit {
            let names: Vec<&str> = self.wanted.iter().map(|&i| self.set.name(i)).collect();
            self.warn_path(format!(
                "`{path}`: {size} bytes, over the {limit}-byte limit of {}; skipped",
                names.join(", ")
            ));
            return Ok(());
        }
        self.content.clear();
        body.take(size).read_to_end(&mut self.content)?;
        if (self.content.len() as u64) < size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("`{path}` is truncated"),
            ));
        }
        self.dispatch(path, size, mode);
        Ok(())
    }

    fn dispatch(&mut self, path: &str, size: u64, mode: u32) {
        let info = FileInfo { path, size, mode };
        for i in 0..self.wanted.len() {
            let analyzer = self.wanted[i];
            self.set.run(
                analyzer,
                &info,
                &self.content,
                &mut self.facts.artifacts,
                &mut self.facts.warnings,
            );
        }
        self.facts.stats.analyzed_files += 1;
        self.analyzed.insert(path.to_owned());
    }

    /// Walk a directory tree without following symlinks. Virtual filesystems are skipped
    /// when the root is `/`.
    pub(crate) fn dir(&mut self, root: &Path) {
        let is_host_root = root.canonicalize().is_ok_and(|p| p == Path::new("/"));
        let walk = walkdir::WalkDir::new(root)
            .follow_links(false)
            .into_iter()
            .filter_entry(|e| {
                !(is_host_root
                    && e.depth() == 1
                    && matches!(e.file_name().to_str(), Some("proc" | "sys" | "dev")))
            });
        let mut unreadable = 0u64;
        for entry in walk {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    unreadable += 1;
                    if unreadable <= MAX_PATH_WARNINGS as u64 {
                        self.facts.warnings.push(format!("cannot read: {e}"));
                    }
                    continue;
                }
            };
            self.facts.stats.entries += 1;
            let Ok(rel) = entry.path().strip_prefix(root) else {
                continue;
            };
            let path = rel.to_string_lossy().into_owned();
            if path.is_empty() {
                continue;
            }
            let ft = entry.file_type();
            if ft.is_symlink() {
                if let Ok(target) = std::fs::read_link(entry.path()) {
                    self.symlink(path, target.to_string_lossy().into_owned());
                }
            } else if ft.is_file() {
                self.dir_file(entry.path(), &path);
            }
        }
        if unreadable > MAX_PATH_WARNINGS as u64 {
            self.facts
                .warnings
                .push(format!("{unreadable} entries could not be read in all"));
        }
    }

    fn dir_file(&mut self, full: &Path, path: &str) {
        if !self.want(path) {
            return;
        }
        let opened = std::fs::File::open(full).and_then(|f| Ok((f.metadata()?, f)));
        let (meta, file) = match opened {
            Ok(x) => x,
            Err(e) => {
                self.facts
                    .warnings
                    .push(format!("`{path}`: cannot read ({e})"));
                return;
            }
        };
        use std::os::unix::fs::PermissionsExt;
        let size = meta.len();
        self.facts.stats.bytes += size;
        if let Err(e) = self.file(
            path,
            size,
            meta.permissions().mode(),
            &mut io::BufReader::new(file),
        ) {
            self.facts
                .warnings
                .push(format!("`{path}`: cannot read ({e})"));
        }
    }

    /// The facts, with summaries of repeated path problems and sorted lookups.
    pub(crate) fn finish(mut self) -> LayerFacts {
        if self.absolute_paths > 0 {
            self.facts.warnings.push(format!(
                "{} entries have absolute paths; read as relative to the image root",
                self.absolute_paths
            ));
        }
        if self.path_warnings > MAX_PATH_WARNINGS {
            self.facts.warnings.push(format!(
                "{} path problems in all ({} climbing out of the root); only the first {MAX_PATH_WARNINGS} are listed",
                self.path_warnings, self.escaping_paths
            ));
        }
        self.facts.matched.sort();
        self.facts.matched.dedup();
        self.facts
    }
}
