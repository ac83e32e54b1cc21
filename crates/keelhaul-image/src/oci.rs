//! OCI image layouts, as directories and as tar archives.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use keelhaul_core::Digest;

use crate::manifest::{AnyManifest, Descriptor, ManifestKind, REF_NAME};
use crate::resolve::{ResolvedManifest, images_from, resolve};
use crate::tar_index::{TarIndex, read_region_small};
use crate::{
    BlobSource, FileRegion, Image, ImageError, LayerData, MAX_DOCUMENT_BYTES, PlatformSelector,
    verify_bytes,
};

/// Where the layout's files are.
enum Store {
    Dir(PathBuf),
    Archive(TarIndex),
}

impl Store {
    fn read_small(&self, name: &str, image: &str) -> Result<Vec<u8>, ImageError> {
        match self {
            Store::Dir(dir) => {
                let region = file_region(&dir.join(name)).map_err(|e| match e {
                    ImageError::Io { source, .. }
                        if source.kind() == std::io::ErrorKind::NotFound =>
                    {
                        ImageError::MissingMember {
                            archive: image.to_owned(),
                            member: name.to_owned(),
                        }
                    }
                    other => other,
                })?;
                read_region_small(&region, name, image)
            }
            Store::Archive(index) => index.read_small(name, image),
        }
    }

    fn blob_region(&self, digest: &Digest, image: &str) -> Result<FileRegion, ImageError> {
        let name = format!("blobs/{}/{}", digest.algorithm(), digest.hex());
        let missing = || ImageError::MissingBlob {
            image: image.to_owned(),
            digest: digest.clone(),
        };
        match self {
            Store::Dir(dir) => file_region(&dir.join(&name)).map_err(|e| match e {
                ImageError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                    missing()
                }
                other => other,
            }),
            Store::Archive(index) => index.region(&name).ok_or_else(missing),
        }
    }

    fn read_blob(&self, d: &Descriptor, image: &str) -> Result<Vec<u8>, ImageError> {
        if d.size > MAX_DOCUMENT_BYTES {
            return Err(ImageError::TooLarge {
                image: image.to_owned(),
                what: format!("document {}", d.digest),
                limit: MAX_DOCUMENT_BYTES,
            });
        }
        let region = self.blob_region(&d.digest, image)?;
        let bytes = read_region_small(&region, d.digest.as_str(), image)?;
        verify_bytes(&bytes, &d.digest, image)?;
        Ok(bytes)
    }
}

fn file_region(path: &Path) -> Result<FileRegion, ImageError> {
    let meta = std::fs::metadata(path).map_err(|source| ImageError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(FileRegion {
        path: path.to_owned(),
        offset: 0,
        len: meta.len(),
    })
}

struct OciBlobs {
    store: Store,
    image: String,
}

impl BlobSource for OciBlobs {
    fn open_blob(&self, digest: &Digest, _size: Option<u64>) -> Result<LayerData, ImageError> {
        self.store
            .blob_region(digest, &self.image)
            .map(LayerData::File)
    }

    fn open_member(&self, path: &str) -> Result<LayerData, ImageError> {
        Err(ImageError::MissingMember {
            archive: self.image.clone(),
            member: path.to_owned(),
        })
    }
}

pub(crate) fn open_layout(
    dir: &Path,
    tag: Option<&str>,
    selector: &PlatformSelector,
) -> Result<Vec<Image>, ImageError> {
    if !dir.join("index.json").is_file() {
        return Err(ImageError::Target {
            target: format!("oci:{}", dir.display()),
            reason: "not an OCI image layout (no `index.json`)".into(),
        });
    }
    let name = match tag {
        Some(t) => format!("oci:{}:{t}", dir.display()),
        None => format!("oci:{}", dir.display()),
    };
    open_store(Store::Dir(dir.to_owned()), name, tag, selector)
}

pub(crate) fn open_archive(
    file: &Path,
    tag: Option<&str>,
    selector: &PlatformSelector,
) -> Result<Vec<Image>, ImageError> {
    let index = TarIndex::build(file)?;
    let name = match tag {
        Some(t) => format!("oci-archive:{}:{t}", file.display()),
        None => format!("oci-archive:{}", file.display()),
    };
    open_store(Store::Archive(index), name, tag, selector)
}

fn open_store(
    store: Store,
    name: String,
    tag: Option<&str>,
    selector: &PlatformSelector,
) -> Result<Vec<Image>, ImageError> {
    let index_bytes = store.read_small("index.json", &name)?;
    let layout_err = |reason: String| ImageError::Layout {
        image: name.clone(),
        file: "index.json".into(),
        reason,
    };
    let top = match AnyManifest::parse(&index_bytes) {
        Ok(ManifestKind::Index(children)) => children,
        Ok(ManifestKind::Image { .. }) => {
            return Err(layout_err("it is an image manifest, not an index".into()));
        }
        Err(e) => return Err(layout_err(e.to_string())),
    };
    let chosen = choose_by_tag(&top, tag, &name)?;
    let mut resolved: Vec<ResolvedManifest> = Vec::new();
    let mut fetch = |d: &Descriptor| store.read_blob(d, &name);
    match chosen {
        Chosen::One(d) => {
            let bytes = fetch(d)?;
            resolved.extend(resolve(&bytes, &d.digest, selector, &name, &mut fetch)?);
        }
        Chosen::IndexJsonAsIndex => {
            // index.json itself lists one image per platform: treat it as the index.
            let digest = Digest::sha256_of(&index_bytes);
            resolved.extend(resolve(&index_bytes, &digest, selector, &name, &mut fetch)?);
            for r in &mut resolved {
                r.index_digest = None;
            }
        }
    }
    let tags: Vec<String> = tag.map(str::to_owned).into_iter().collect();
    let blobs = Arc::new(OciBlobs {
        store,
        image: name.clone(),
    });
    let source: Arc<dyn BlobSource> = Arc::clone(&blobs) as Arc<dyn BlobSource>;
    images_from(resolved, &name, &tags, &source, |d| {
        blobs.store.read_blob(d, &name)
    })
}

enum Chosen<'a> {
    One(&'a Descriptor),
    IndexJsonAsIndex,
}

/// Pick the manifest of `index.json` named by `tag`, or the only one.
fn choose_by_tag<'a>(
    top: &'a [Descriptor],
    tag: Option<&str>,
    image: &str,
) -> Result<Chosen<'a>, ImageError> {
    let ref_name = |d: &Descriptor| d.annotations.get(REF_NAME).cloned();
    let available = || {
        let names: Vec<String> = top.iter().filter_map(ref_name).collect();
        if names.is_empty() {
            "no tagged images".to_owned()
        } else {
            names.join(", ")
        }
    };
    match tag {
        Some(tag) => {
            // A ref name is either a bare tag (skopeo, umoci) or a full reference ending
            // in `:tag` (some tools write those).
            let found = top.iter().find(|d| {
                ref_name(d).is_some_and(|n| {
                    n == tag
                        || n.rsplit_once(':')
                            .is_some_and(|(repo, t)| t == tag && !repo.is_empty())
                })
            });
            found
                .map(Chosen::One)
                .ok_or_else(|| ImageError::TagNotFound {
                    image: image.to_owned(),
                    tag: tag.to_owned(),
                    available: available(),
                })
        }
        None => match top {
            [] => Err(ImageError::Layout {
                image: image.to_owned(),
                file: "index.json".into(),
                reason: "it lists no manifests".into(),
            }),
            [only] => Ok(Chosen::One(only)),
            many if many
                .iter()
                .all(|d| d.platform.is_some() && ref_name(d).is_none()) =>
            {
                Ok(Chosen::IndexJsonAsIndex)
            }
            many => Err(ImageError::Ambiguous {
                image: image.to_owned(),
                count: many.len(),
                available: available(),
            }),
        },
    }
}
