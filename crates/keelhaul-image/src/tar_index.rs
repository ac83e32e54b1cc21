//! Random access to the members of an (uncompressed) image archive.
//!
//! `docker save` output and oci-archives are plain tars of small JSON files and large layer
//! blobs. One pass over the headers, seeking past every body, gives each member's offset
//! and size; layers are then read as regions of the archive file, never copied out.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::{FileRegion, ImageError, MAX_DOCUMENT_BYTES};

/// More members than any image archive has; beyond it the file is refused rather than
/// indexed without bound.
const MAX_MEMBERS: usize = 200_000;

/// What kind of image archive a tar is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    /// An OCI image layout (`oci-layout`, `index.json`, `blobs/`).
    Oci,
    /// A docker-archive (`manifest.json`).
    Docker,
}

#[derive(Debug, Clone)]
enum Member {
    File { offset: u64, size: u64 },
    Symlink(String),
}

/// The member table of a tar file.
#[derive(Debug)]
pub struct TarIndex {
    path: PathBuf,
    members: HashMap<String, Member>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ImageError + '_ {
    move |source| ImageError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Lexically normalise an archive member name: no `.`/empty parts, no leading `/`.
/// `None` if it climbs out with `..`.
pub(crate) fn normalize_member(name: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

impl TarIndex {
    /// Read every header of the tar at `path`.
    pub fn build(path: &Path) -> Result<TarIndex, ImageError> {
        let file = File::open(path).map_err(io_err(path))?;
        let mut archive = tar::Archive::new(file);
        let mut members = HashMap::new();
        let not_tar = |e: std::io::Error| ImageError::Target {
            target: path.display().to_string(),
            reason: format!("not a readable tar archive ({e})"),
        };
        for entry in archive.entries_with_seek().map_err(not_tar)? {
            let entry = entry.map_err(not_tar)?;
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let Some(name) = normalize_member(&name) else {
                continue;
            };
            let member = match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => Member::File {
                    offset: entry.raw_file_position(),
                    size: entry.size(),
                },
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    let Some(target) = entry.link_name_bytes() else {
                        continue;
                    };
                    let target = String::from_utf8_lossy(&target).into_owned();
                    // Hard links name the target from the archive root, symlinks from
                    // their own directory.
                    let resolved = if entry.header().entry_type() == tar::EntryType::Link
                        || target.starts_with('/')
                    {
                        normalize_member(&target)
                    } else {
                        let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
                        normalize_member(&format!("{dir}/{target}"))
                    };
                    let Some(resolved) = resolved else { continue };
                    Member::Symlink(resolved)
                }
                _ => continue,
            };
            members.insert(name, member);
            if members.len() > MAX_MEMBERS {
                return Err(ImageError::Target {
                    target: path.display().to_string(),
                    reason: format!(
                        "more than {MAX_MEMBERS} archive members; not an image archive"
                    ),
                });
            }
        }
        Ok(TarIndex {
            path: path.to_owned(),
            members,
        })
    }

    /// Which kind of image archive this is, if any.
    pub fn kind(&self) -> Option<ArchiveKind> {
        if self.members.contains_key("manifest.json") {
            Some(ArchiveKind::Docker)
        } else if self.members.contains_key("index.json") {
            Some(ArchiveKind::Oci)
        } else {
            None
        }
    }

    /// The region of a member, following links (a bounded number of hops).
    pub fn region(&self, name: &str) -> Option<FileRegion> {
        let mut name = normalize_member(name)?;
        for _ in 0..16 {
            match self.members.get(&name)? {
                Member::File { offset, size } => {
                    return Some(FileRegion {
                        path: self.path.clone(),
                        offset: *offset,
                        len: *size,
                    });
                }
                Member::Symlink(target) => name = target.clone(),
            }
        }
        None
    }

    /// Read a small member (a JSON document) whole.
    pub fn read_small(&self, name: &str, image: &str) -> Result<Vec<u8>, ImageError> {
        let region = self.region(name).ok_or_else(|| ImageError::MissingMember {
            archive: image.to_owned(),
            member: name.to_owned(),
        })?;
        read_region_small(&region, name, image)
    }
}

/// Read a whole small region, refusing anything over [`MAX_DOCUMENT_BYTES`].
pub(crate) fn read_region_small(
    region: &FileRegion,
    what: &str,
    image: &str,
) -> Result<Vec<u8>, ImageError> {
    if region.len > MAX_DOCUMENT_BYTES {
        return Err(ImageError::TooLarge {
            image: image.to_owned(),
            what: format!("`{what}`"),
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    let mut reader = region.open().map_err(io_err(&region.path))?;
    let mut buf = Vec::with_capacity(region.len as usize);
    reader.read_to_end(&mut buf).map_err(io_err(&region.path))?;
    if (buf.len() as u64) < region.len {
        return Err(ImageError::Io {
            path: region.path.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("`{what}` is truncated"),
            ),
        });
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_member_names() {
        assert_eq!(
            normalize_member("./blobs//sha256/ab").as_deref(),
            Some("blobs/sha256/ab")
        );
        assert_eq!(normalize_member("/a/./b/../c").as_deref(), Some("a/c"));
        assert_eq!(normalize_member("../etc/passwd"), None);
    }

    #[test]
    fn indexes_members_and_follows_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.tar");
        let mut b = tar::Builder::new(File::create(&path).expect("create"));
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        h.set_mode(0o644);
        b.append_data(&mut h, "./one/layer.tar", &b"hello"[..])
            .expect("append");
        let mut l = tar::Header::new_gnu();
        l.set_entry_type(tar::EntryType::Symlink);
        l.set_size(0);
        b.append_link(&mut l, "two/layer.tar", "../one/layer.tar")
            .expect("link");
        let mut m = tar::Header::new_gnu();
        m.set_size(2);
        b.append_data(&mut m, "manifest.json", &b"[]"[..])
            .expect("append");
        b.into_inner().expect("finish");
        let index = TarIndex::build(&path).expect("index");
        assert_eq!(index.kind(), Some(ArchiveKind::Docker));
        let region = index.region("two/layer.tar").expect("followed");
        let mut s = String::new();
        region
            .open()
            .expect("open")
            .read_to_string(&mut s)
            .expect("read");
        assert_eq!(s, "hello");
        assert!(index.region("missing").is_none());
    }
}
