//! Opens whatever `keelhaul db import` is pointed at and yields its files one by one:
//! plain files, directories (recursively), zip archives (OSV's `all.zip`), tar archives,
//! and gzip/zstd compression of any of these (`.tar.zst`, `.json.gz`, `.jsonl.zst`).
//! Archives inside directories and inside other archives are opened too, one level deep.
//!
//! Every member is read whole (advisory files are small), but never more than
//! [`MAX_MEMBER_BYTES`]: a decompression bomb is an error for that member, not an
//! out-of-memory for the import.

use std::fs::File;
use std::io::{Cursor, Read};
use std::path::Path;

/// The largest member read into memory (after decompression). NVD's yearly 1.1 feeds are
/// the biggest files in the field, at about 250 MB uncompressed.
pub const MAX_MEMBER_BYTES: u64 = 512 * 1024 * 1024;

/// Archive nesting we follow (a zip in a tar in a directory is fine; deeper is refused).
const MAX_NESTING: usize = 2;

/// One file from what was imported.
#[derive(Debug)]
pub struct Member {
    /// Where it came from: the file path, with `!/inner/path` for archive members.
    pub path: String,
    /// Its (decompressed) content.
    pub data: Vec<u8>,
}

/// Something that could not be opened or read; the walk goes on with the rest.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct WalkError {
    /// The path that failed.
    pub path: String,
    /// Why.
    pub reason: String,
}

impl WalkError {
    fn new(path: &str, reason: impl ToString) -> WalkError {
        WalkError {
            path: path.to_owned(),
            reason: reason.to_string(),
        }
    }
}

/// Calls `each` for every file under `root`, in a stable order (sorted directory entries,
/// archive order). Returns the members that could not be read.
pub fn walk(root: &Path, each: &mut dyn FnMut(Member)) -> Vec<WalkError> {
    let mut errors = Vec::new();
    if root.is_dir() {
        let entries = walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter();
        for entry in entries {
            match entry {
                Ok(e) if e.file_type().is_file() => {
                    let name = e.path().to_string_lossy().into_owned();
                    if is_hidden(e.path(), root) {
                        continue;
                    }
                    read_file(e.path(), &name, each, &mut errors);
                }
                Ok(_) => {}
                Err(e) => errors.push(WalkError::new(&root.to_string_lossy(), e)),
            }
        }
    } else {
        let name = root.to_string_lossy().into_owned();
        read_file(root, &name, each, &mut errors);
    }
    errors
}

/// Dot-files and dot-directories (`.git`) below the root are not feed content.
fn is_hidden(path: &Path, root: &Path) -> bool {
    path.strip_prefix(root).is_ok_and(|rel| {
        rel.components()
            .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
    })
}

fn read_file(path: &Path, name: &str, each: &mut dyn FnMut(Member), errors: &mut Vec<WalkError>) {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            errors.push(WalkError::new(name, e));
            return;
        }
    };
    match read_capped(file, name) {
        Ok(data) => expand(name.to_owned(), data, 0, each, errors),
        Err(e) => errors.push(e),
    }
}

fn read_capped(reader: impl Read, name: &str) -> Result<Vec<u8>, WalkError> {
    let mut data = Vec::new();
    reader
        .take(MAX_MEMBER_BYTES + 1)
        .read_to_end(&mut data)
        .map_err(|e| WalkError::new(name, e))?;
    if data.len() as u64 > MAX_MEMBER_BYTES {
        return Err(WalkError::new(
            name,
            format!(
                "larger than {} MiB once decompressed; refusing it (a decompression bomb or the wrong file)",
                MAX_MEMBER_BYTES >> 20
            ),
        ));
    }
    Ok(data)
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const EMPTY_ZIP_MAGIC: &[u8] = b"PK\x05\x06";

fn is_tar(data: &[u8]) -> bool {
    data.len() >= 262 && &data[257..262] == b"ustar"
}

/// Decompresses and unpacks `data` as far as it goes, calling `each` on plain files.
fn expand(
    name: String,
    data: Vec<u8>,
    depth: usize,
    each: &mut dyn FnMut(Member),
    errors: &mut Vec<WalkError>,
) {
    if data.starts_with(GZIP_MAGIC) {
        let inner = strip_suffix(&name, &[".gz", ".tgz"]);
        match read_capped(flate2::read::MultiGzDecoder::new(Cursor::new(data)), &name) {
            Ok(plain) => expand(inner, plain, depth, each, errors),
            Err(e) => errors.push(e),
        }
    } else if data.starts_with(ZSTD_MAGIC) {
        let inner = strip_suffix(&name, &[".zst", ".zstd", ".tzst"]);
        let decoded = zstd::stream::read::Decoder::new(Cursor::new(data))
            .map_err(|e| WalkError::new(&name, e))
            .and_then(|d| read_capped(d, &name));
        match decoded {
            Ok(plain) => expand(inner, plain, depth, each, errors),
            Err(e) => errors.push(e),
        }
    } else if data.starts_with(ZIP_MAGIC) || data.starts_with(EMPTY_ZIP_MAGIC) {
        if depth >= MAX_NESTING {
            errors.push(WalkError::new(&name, "archive nested too deeply"));
            return;
        }
        if let Err(e) = each_zip_member(&name, data, depth, each, errors) {
            errors.push(e);
        }
    } else if is_tar(&data) {
        if depth >= MAX_NESTING {
            errors.push(WalkError::new(&name, "archive nested too deeply"));
            return;
        }
        if let Err(e) = each_tar_member(&name, data, depth, each, errors) {
            errors.push(e);
        }
    } else {
        each(Member { path: name, data });
    }
}

fn strip_suffix(name: &str, suffixes: &[&str]) -> String {
    for s in suffixes {
        if let Some(stem) = name.strip_suffix(s) {
            // `x.tgz` / `x.tzst` are tarballs: keep a `.tar` so the name still says so.
            return if s.starts_with(".t") {
                format!("{stem}.tar")
            } else {
                stem.to_owned()
            };
        }
    }
    name.to_owned()
}

fn each_zip_member(
    name: &str,
    data: Vec<u8>,
    depth: usize,
    each: &mut dyn FnMut(Member),
    errors: &mut Vec<WalkError>,
) -> Result<(), WalkError> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(data)).map_err(|e| WalkError::new(name, e))?;
    for i in 0..archive.len() {
        let mut entry = match archive.by_index(i) {
            Ok(e) => e,
            Err(e) => {
                errors.push(WalkError::new(name, format!("entry {i}: {e}")));
                continue;
            }
        };
        if !entry.is_file() {
            continue;
        }
        let inner = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("entry-{i}"));
        let member = format!("{name}!/{inner}");
        if entry.size() > MAX_MEMBER_BYTES {
            errors.push(WalkError::new(&member, "member too large"));
            continue;
        }
        match read_capped(&mut entry, &member) {
            Ok(content) => expand(member, content, depth + 1, each, errors),
            Err(e) => errors.push(e),
        }
    }
    Ok(())
}

fn each_tar_member(
    name: &str,
    data: Vec<u8>,
    depth: usize,
    each: &mut dyn FnMut(Member),
    errors: &mut Vec<WalkError>,
) -> Result<(), WalkError> {
    let mut archive = tar::Archive::new(Cursor::new(data));
    let entries = archive.entries().map_err(|e| WalkError::new(name, e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| WalkError::new(name, e))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let inner = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| String::from("?"));
        let member = format!("{name}!/{inner}");
        if inner.rsplit('/').next().is_some_and(|f| f.starts_with('.')) {
            continue;
        }
        match read_capped(&mut entry, &member) {
            Ok(content) => expand(member, content, depth + 1, each, errors),
            Err(e) => errors.push(e),
        }
    }
    Ok(())
}
