//! Walking one layer's entries (tar or directory) and feeding analyzers.

use std::collections::HashSet;
use std::io::{self, Read};
use std::path::Path;

use crate::analyzer::{AnalyzerSet, FileInfo, HEAD_LEN};
use crate::facts::LayerFacts;
use crate::path::{EntryPath, Whiteout, normalize, whiteout};

/// How many individual path warnings a layer records before summarising.
const MAX_PATH_WARNINGS: usize = 20;

/// Collects one layer's facts while its entries stream by.
/// How many leading bytes decide whether an executable is one an analyzer wants.
const MAGIC_LEN: usize = 4;

/// The name special-mode facts are recorded under.
pub const FILE_MODES: &str = "file-modes";

/// setuid/setgid files, world-writable files, and world-writable directories without the
/// sticky bit: modes that are a risk whatever the file holds.
pub fn is_special_mode(mode: u32, dir: bool) -> bool {
    let world_writable = mode & 0o002 != 0;
    if dir {
        world_writable && mode & 0o1000 == 0
    } else {
        mode & 0o6000 != 0 || world_writable
    }
}

/// Fill `buf` as far as the reader allows.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Files larger than this are read one at a time across all layers (see `Walker::file`).
const BIG_FILE: u64 = 16 << 20;

pub(crate) struct Walker<'a> {
    set: &'a AnalyzerSet,
    big_files: &'a std::sync::Mutex<()>,
    facts: LayerFacts,
    wanted: Vec<usize>,
    by_magic: Vec<usize>,
    scratch: Vec<usize>,
    content: Vec<u8>,
    analyzed: HashSet<String>,
    absolute_paths: u64,
    /// The first absolute entry name, for the summary warning.
    first_absolute: Option<String>,
    escaping_paths: u64,
    path_warnings: usize,
    /// Read each body to its end before asking for the next header, so that a failure
    /// inside a body (a truncated or corrupt stream, a bomb) is pinned on its entry. Only
    /// for streams, whose bodies the tar reader reads anyway; a seekable walk skips them.
    drain_bodies: bool,
    /// The length of the tar, when known (a local region walked with seeks): an entry whose
    /// body runs past it means the layer is cut short, which a tar reader seeking past the
    /// body would take for a clean end of the archive.
    tar_len: Option<u64>,
    /// Where a failed tar walk stopped, for the layer error: `` `NAME` `` when the entry's
    /// body could not be read, `` after `NAME` `` when the header following it could not.
    pub(crate) failed_at: Option<String>,
}

impl<'a> Walker<'a> {
    pub(crate) fn new(set: &'a AnalyzerSet, big_files: &'a std::sync::Mutex<()>) -> Walker<'a> {
        Walker {
            set,
            big_files,
            facts: LayerFacts::default(),
            wanted: Vec::new(),
            by_magic: Vec::new(),
            scratch: Vec::new(),
            content: Vec::new(),
            analyzed: HashSet::new(),
            absolute_paths: 0,
            first_absolute: None,
            escaping_paths: 0,
            path_warnings: 0,
            drain_bodies: false,
            tar_len: None,
            failed_at: None,
        }
    }

    /// Read every body to its end (see `drain_bodies`): for tars read as a stream.
    pub(crate) fn draining(mut self) -> Walker<'a> {
        self.drain_bodies = true;
        self
    }

    fn warn_path(&mut self, message: String) {
        if self.path_warnings < MAX_PATH_WARNINGS {
            self.facts.warnings.push(message);
        }
        self.path_warnings += 1;
    }

    /// Check every entry against the tar's length (see `tar_len`): for local regions.
    pub(crate) fn with_len(mut self, len: u64) -> Walker<'a> {
        self.tar_len = Some(len);
        self
    }

    /// Walk a tar. On a read error the facts gathered so far are kept, `failed_at` says
    /// where, and the error is returned.
    pub(crate) fn tar<R: Read>(&mut self, mut entries: tar::Entries<'_, R>) -> io::Result<()> {
        // The previous entry's name (buffer reused: a layer may hold millions).
        let mut last = String::new();
        loop {
            let mut entry = match entries.next() {
                None => return Ok(()),
                Some(Ok(entry)) => entry,
                Some(Err(e)) => {
                    self.failed_at = (!last.is_empty()).then(|| format!("after `{last}`"));
                    return Err(e);
                }
            };
            let read = self
                .fits(&entry)
                .and_then(|()| self.entry(&mut entry))
                .and_then(|()| {
                    if self.drain_bodies {
                        io::copy(&mut entry, &mut io::sink()).map(drop)
                    } else {
                        Ok(())
                    }
                });
            last.clear();
            last.push_str(&String::from_utf8_lossy(&entry.path_bytes()));
            if let Err(e) = read {
                self.failed_at = Some(format!("`{last}`"));
                return Err(e);
            }
        }
    }

    /// Whether the entry's body is all there (see `tar_len`).
    fn fits<R: Read>(&self, entry: &tar::Entry<'_, R>) -> io::Result<()> {
        let Some(len) = self.tar_len else {
            return Ok(());
        };
        let start = entry.raw_file_position();
        let size = entry.size();
        if start.saturating_add(size) <= len {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "the layer is truncated: it ends {} bytes into this {size}-byte file",
                len.saturating_sub(start)
            ),
        ))
    }

    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> io::Result<()> {
        self.facts.stats.entries += 1;
        let size = entry.size();
        self.facts.stats.bytes += 512 + size.div_ceil(512) * 512;
        let path = match normalize(&entry.path_bytes()) {
            EntryPath::Normal { path, absolute } => {
                if absolute {
                    self.absolute_paths += 1;
                    if self.first_absolute.is_none() {
                        self.first_absolute =
                            Some(String::from_utf8_lossy(&entry.path_bytes()).into_owned());
                    }
                }
                path
            }
            EntryPath::Root => return Ok(()),
            EntryPath::Escapes => {
                self.escaping_paths += 1;
                let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                self.warn_path(format!(
                    "`{raw}`: path climbs out of the image root with `..`; skipped"
                ));
                return Ok(());
            }
        };
        if self.record_whiteout(&path) {
            return Ok(());
        }
        match entry.header().entry_type() {
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
                    Some(EntryPath::Normal { path: target, .. }) => self.hardlink(&path, &target),
                    _ => self.warn_path(format!(
                        "`{path}`: hard link target is outside the image root; skipped"
                    )),
                }
            }
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let mode = entry.header().mode().unwrap_or(0);
                self.record_entry(&path);
                self.special_mode(&path, mode, entry.header(), false);
                self.file(&path, size, mode, entry)?;
            }
            tar::EntryType::Directory => {
                let mode = entry.header().mode().unwrap_or(0);
                self.record_entry(&path);
                self.special_mode(&path, mode, entry.header(), true);
            }
            _ => {}
        }
        Ok(())
    }

    /// Records that a file exists for analyzers with presence globs (nothing is read).
    fn presence(&mut self, path: &str, size: u64, mode: u32) {
        let mut owners = Vec::new();
        self.set.presence_into(path, &mut owners, &mut self.scratch);
        for name in owners {
            self.facts.matched.push(path.to_owned());
            self.facts.artifacts.push(crate::facts::Artifact {
                analyzer: name.to_owned(),
                path: path.to_owned(),
                slot: None,
                fact: crate::Fact::Present {
                    size,
                    mode: mode & 0o7777,
                },
            });
        }
    }

    /// Remembers that this layer writes `path` (see `LayerFacts::entries`).
    fn record_entry(&mut self, path: &str) {
        if self.set.wants_special_modes() {
            self.facts.entries.push(crate::facts::path_key(path));
        }
    }

    /// Records a setuid/setgid or world-writable entry (see `Interests::special_modes`).
    fn special_mode(&mut self, path: &str, mode: u32, header: &tar::Header, dir: bool) {
        if !self.set.wants_special_modes() || !is_special_mode(mode, dir) {
            return;
        }
        self.push_mode(
            path,
            mode,
            header.uid().unwrap_or(0),
            header.gid().unwrap_or(0),
            dir,
        );
    }

    fn push_mode(&mut self, path: &str, mode: u32, uid: u64, gid: u64, dir: bool) {
        self.facts.matched.push(path.to_owned());
        self.facts.artifacts.push(crate::facts::Artifact {
            analyzer: FILE_MODES.to_owned(),
            path: path.to_owned(),
            slot: None,
            fact: crate::Fact::Mode {
                mode: mode & 0o7777,
                uid,
                gid,
                dir,
            },
        });
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
        // Executables are sniffed: their first bytes decide which analyzers that want
        // binaries by content get them, on top of those that asked for the path. Of an
        // executable nobody wants, only those bytes are read.
        self.presence(path, size, mode);
        // Content scanners see the first HEAD_LEN bytes of every file before they choose.
        let mut head = [0u8; HEAD_LEN];
        let mut head_len = 0;
        let by_path = self.want(path);
        let executable =
            mode & 0o111 != 0 && self.set.wants_executables() && size >= MAGIC_LEN as u64;
        let scanned = self.set.has_content_scanners() && size > 0;
        if !by_path && !executable && !scanned {
            return Ok(());
        }
        if executable || scanned {
            let want = if scanned { HEAD_LEN } else { MAGIC_LEN };
            head_len = read_up_to(body, &mut head[..want.min(size as usize)])?;
        }
        if executable {
            self.set
                .executable_wanted_into(&head[..head_len], &mut self.by_magic);
            for &i in &self.by_magic {
                if !self.wanted.contains(&i) {
                    self.wanted.push(i);
                }
            }
        }
        if scanned {
            let info = FileInfo { path, size, mode };
            self.set
                .content_wanted_into(&info, &head[..head_len], &mut self.wanted);
        }
        if self.wanted.is_empty() {
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
        // Files beyond BIG_FILE are buffered one at a time across all layer threads, and
        // their buffer is given back afterwards: that keeps peak memory near one big file
        // plus the small ones, however many layers run at once.
        let big = size > BIG_FILE;
        let _turn = big.then(|| self.big_files.lock().unwrap_or_else(|p| p.into_inner()));
        self.content.clear();
        self.content.extend_from_slice(&head[..head_len]);
        let read = body
            .take(size - head_len as u64)
            .read_to_end(&mut self.content);
        let short = (self.content.len() as u64) < size;
        if read.is_ok() && !short {
            self.dispatch(path, size, mode);
        }
        if big {
            self.content = Vec::new();
        }
        read?;
        if short {
            // The caller names the file.
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("ends before its stated size of {size} bytes"),
            ));
        }
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
            } else if ft.is_file() || ft.is_dir() {
                use std::os::unix::fs::{MetadataExt, PermissionsExt};
                self.record_entry(&path);
                if self.set.wants_special_modes()
                    && let Ok(meta) = entry.metadata()
                    && is_special_mode(meta.permissions().mode(), ft.is_dir())
                {
                    let mode = meta.permissions().mode();
                    self.push_mode(
                        &path,
                        mode,
                        u64::from(meta.uid()),
                        u64::from(meta.gid()),
                        ft.is_dir(),
                    );
                }
                if ft.is_dir() {
                    continue;
                }
                let executable = self.set.wants_executables()
                    && entry
                        .metadata()
                        .is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
                self.dir_file(entry.path(), &path, executable);
            }
        }
        if unreadable > MAX_PATH_WARNINGS as u64 {
            self.facts
                .warnings
                .push(format!("{unreadable} entries could not be read in all"));
        }
    }

    fn dir_file(&mut self, full: &Path, path: &str, executable: bool) {
        if !executable
            && !self.set.has_content_scanners()
            && !self.want(path)
            && !self.set.has_presence_globs()
        {
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
                "{} entries have absolute paths (the first: `{}`); read as relative to the image root",
                self.absolute_paths,
                self.first_absolute.as_deref().unwrap_or_default()
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
        self.facts.entries.seal();
        self.facts
    }
}
