//! Image sources: everything that turns a user's target string into an [`Image`] whose
//! layers can be opened as byte streams.
//!
//! * [`Target`] parses `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`,
//!   `docker-archive:FILE[:REPO:TAG|:@N]`, `registry:HOST/REPO[:TAG|@DIGEST]` and `dir:PATH`,
//!   and detects the kind of a bare path.
//! * [`open`] resolves a target for a [`PlatformSelector`] into one [`Image`] per selected
//!   platform: manifest, parsed config, and the [`Layer`] list.
//! * [`Image::open_layer`] gives a layer's stored bytes as [`LayerData`]: a stream (registry),
//!   a region of a local file (OCI layouts, archives: seekable, so a reader can skip what it
//!   does not need), or a directory (`dir:` targets).
//! * [`RegistryClient`] also lists a registry, for services that mirror or index one:
//!   [`RegistryClient::catalog`], [`RegistryClient::tags`] and [`RegistryClient::describe`]
//!   (an [`ImageDescription`] of what a tag or digest resolves to).
//!
//! Manifests, indexes and configs are verified against their digests here. Layer bytes are
//! verified by the reader that consumes them ([`VerifyingReader`]), because only that reader
//! knows when it has read the whole blob; the layer engine does this for every layer.
//!
//! Nothing here decompresses or interprets layer contents: that is `keelhaul-analyze`.
#![deny(missing_docs)]

mod docker_archive;
mod error;
pub mod manifest;
mod oci;
pub mod registry;
mod resolve;
mod tar_index;
mod target;
mod verify;

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

pub use error::ImageError;
use keelhaul_core::{Digest, Platform};
pub use manifest::ImageConfig;
pub use registry::{
    Credentials, ImageDescription, ManifestDescription, RegistryClient, RegistryOptions,
};
pub use target::{ArchiveSelector, Reference, Target};
pub use verify::{DigestMismatch, VerifyingReader};

/// Which platform(s) of a multi-platform image to read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PlatformSelector {
    /// The host's platform (the default).
    #[default]
    Host,
    /// One named platform.
    One(Platform),
    /// Every platform of an index (attestations excluded).
    All,
}

impl PlatformSelector {
    /// Parse a `--platform` value: `all` or `os/arch[/variant]`.
    pub fn parse(s: &str) -> Result<PlatformSelector, keelhaul_core::PlatformError> {
        if s.eq_ignore_ascii_case("all") {
            Ok(PlatformSelector::All)
        } else {
            s.parse().map(PlatformSelector::One)
        }
    }

    fn wanted(&self) -> Option<Platform> {
        match self {
            PlatformSelector::Host => Some(Platform::host()),
            PlatformSelector::One(p) => Some(p.clone()),
            PlatformSelector::All => None,
        }
    }
}

/// Options that affect how targets are opened.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Platform selection for multi-platform images.
    pub platform: PlatformSelector,
    /// Registry connection settings.
    pub registry: RegistryOptions,
}

/// One image, resolved to a single platform.
#[derive(Clone)]
pub struct Image {
    /// The target as the user named it, for messages and reports.
    pub name: String,
    /// Platform, from the index entry or the config.
    pub platform: Option<Platform>,
    /// Digest of the image manifest, when the image has one.
    pub manifest_digest: Option<Digest>,
    /// Digest of the index the manifest was selected from, for multi-platform images.
    pub index_digest: Option<Digest>,
    /// Digest of the config blob (the image id).
    pub config_digest: Option<Digest>,
    /// The parsed config (empty for `dir:` targets).
    pub config: ImageConfig,
    /// The config exactly as stored.
    pub config_bytes: Vec<u8>,
    /// Tags the source knows this image by.
    pub repo_tags: Vec<String>,
    /// Layers, bottom first.
    pub layers: Vec<Layer>,
    source: Arc<dyn BlobSource>,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("name", &self.name)
            .field("platform", &self.platform)
            .field("manifest_digest", &self.manifest_digest)
            .field("layers", &self.layers)
            .finish_non_exhaustive()
    }
}

/// One layer of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// Position, 0 = bottom.
    pub index: usize,
    /// Digest of the stored blob (compressed, as a registry serves it), when known.
    pub digest: Option<Digest>,
    /// Digest of the uncompressed tar (`rootfs.diff_ids`), when the config states it.
    pub diff_id: Option<Digest>,
    /// Media type from the manifest (empty for archives that do not say).
    pub media_type: String,
    /// Stored size in bytes, when known.
    pub size: Option<u64>,
    /// The build step that made it (`history[].created_by`).
    pub created_by: Option<String>,
    locator: Locator,
}

impl Layer {
    /// The id reports use for a layer: the diff id, else the blob digest.
    pub fn id(&self) -> Option<&Digest> {
        self.diff_id.as_ref().or(self.digest.as_ref())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Locator {
    /// A content-addressed blob of the image's source.
    Blob(Digest),
    /// A member of an archive, by its path inside the archive.
    Member(String),
    /// A directory on the local filesystem.
    Directory(PathBuf),
}

/// A layer's stored bytes.
pub enum LayerData {
    /// A sequential stream (registry downloads).
    Stream(Box<dyn Read + Send>),
    /// A region of a local file: may be read with seeks, and hashed in parallel.
    File(FileRegion),
    /// A directory tree to walk (`dir:` targets).
    Directory(PathBuf),
}

/// `len` bytes of the file at `path` starting at `offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRegion {
    /// The file.
    pub path: PathBuf,
    /// Start offset.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

impl FileRegion {
    /// A buffered reader over exactly these bytes.
    pub fn open(&self) -> std::io::Result<std::io::Take<std::io::BufReader<std::fs::File>>> {
        use std::io::{Seek, SeekFrom};
        let mut file = std::fs::File::open(&self.path)?;
        file.seek(SeekFrom::Start(self.offset))?;
        Ok(std::io::BufReader::with_capacity(256 << 10, file).take(self.len))
    }
}

impl Image {
    /// Open a layer's stored bytes.
    pub fn open_layer(&self, layer: &Layer) -> Result<LayerData, ImageError> {
        match &layer.locator {
            Locator::Blob(digest) => self.source.open_blob(digest, layer.size),
            Locator::Member(path) => self.source.open_member(path),
            Locator::Directory(dir) => Ok(LayerData::Directory(dir.clone())),
        }
    }
}

/// Where an image's blobs come from.
trait BlobSource: Send + Sync {
    /// A blob by digest, for streaming.
    fn open_blob(&self, digest: &Digest, size: Option<u64>) -> Result<LayerData, ImageError>;
    /// An archive member by path (archives only).
    fn open_member(&self, path: &str) -> Result<LayerData, ImageError>;
}

/// Resolve a target into one image per selected platform.
pub fn open(target: &Target, options: &OpenOptions) -> Result<Vec<Image>, ImageError> {
    match target {
        Target::OciLayout { dir, tag } => oci::open_layout(dir, tag.as_deref(), &options.platform),
        Target::OciArchive { file, tag } => {
            oci::open_archive(file, tag.as_deref(), &options.platform)
        }
        Target::DockerArchive { file, selector } => {
            docker_archive::open(file, selector.as_ref(), &options.platform)
        }
        Target::Registry(reference) => registry::open(reference, options),
        Target::Dir(path) => Ok(vec![open_dir(path)?]),
    }
}

fn open_dir(path: &std::path::Path) -> Result<Image, ImageError> {
    let meta = std::fs::metadata(path).map_err(|source| ImageError::Io {
        path: path.to_owned(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(ImageError::Target {
            target: format!("dir:{}", path.display()),
            reason: "not a directory".into(),
        });
    }
    Ok(Image {
        name: format!("dir:{}", path.display()),
        platform: None,
        manifest_digest: None,
        index_digest: None,
        config_digest: None,
        config: ImageConfig::default(),
        config_bytes: Vec::new(),
        repo_tags: Vec::new(),
        layers: vec![Layer {
            index: 0,
            digest: None,
            diff_id: None,
            media_type: String::new(),
            size: None,
            created_by: None,
            locator: Locator::Directory(path.to_owned()),
        }],
        source: Arc::new(NoBlobs),
    })
}

struct NoBlobs;

impl BlobSource for NoBlobs {
    fn open_blob(&self, digest: &Digest, _: Option<u64>) -> Result<LayerData, ImageError> {
        Err(ImageError::MissingBlob {
            image: "directory".into(),
            digest: digest.clone(),
        })
    }

    fn open_member(&self, path: &str) -> Result<LayerData, ImageError> {
        Err(ImageError::MissingMember {
            archive: "directory".into(),
            member: path.to_owned(),
        })
    }
}

/// Largest manifest, index or config accepted. Real ones are a few KB; the cap keeps a
/// hostile source from making us buffer gigabytes before we can tell it is not JSON.
pub const MAX_DOCUMENT_BYTES: u64 = 16 << 20;

/// Build the layer list from a manifest's descriptors and the config's diff ids/history.
fn layers_from(descriptors: &[manifest::Descriptor], config: &ImageConfig) -> Vec<Layer> {
    let history = config.layer_history();
    let history_aligned = history.len() == descriptors.len();
    let diff_ids_aligned = config.rootfs.diff_ids.len() == descriptors.len();
    descriptors
        .iter()
        .enumerate()
        .map(|(index, d)| Layer {
            index,
            digest: Some(d.digest.clone()),
            diff_id: diff_ids_aligned.then(|| config.rootfs.diff_ids[index].clone()),
            media_type: d.media_type.clone(),
            size: Some(d.size),
            created_by: if history_aligned {
                history[index].clone()
            } else {
                None
            },
            locator: Locator::Blob(d.digest.clone()),
        })
        .collect()
}

/// Pick index children for a platform selector; shared by OCI layouts and registries.
fn select_children<'a>(
    children: &'a [manifest::Descriptor],
    selector: &PlatformSelector,
    image: &str,
) -> Result<Vec<&'a manifest::Descriptor>, ImageError> {
    let runnable: Vec<&manifest::Descriptor> = children
        .iter()
        .filter(|d| !manifest::is_attestation(d))
        .collect();
    let Some(wanted) = selector.wanted() else {
        return Ok(runnable);
    };
    // An entry without a platform is taken only when it is the only one: that is what a
    // single-image index written by tools that omit the field means.
    if let [only] = runnable.as_slice()
        && only.platform.is_none()
    {
        return Ok(vec![only]);
    }
    let found = runnable.iter().copied().find(|d| {
        d.platform
            .as_ref()
            .is_some_and(|p| wanted.matches(&p.to_platform()))
    });
    match found {
        Some(d) => Ok(vec![d]),
        None => Err(ImageError::PlatformNotFound {
            image: image.to_owned(),
            platform: wanted.to_string(),
            available: runnable
                .iter()
                .filter_map(|d| d.platform.as_ref().map(|p| p.to_platform().to_string()))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

fn parse_config(bytes: &[u8], image: &str) -> Result<ImageConfig, ImageError> {
    serde_json::from_slice(bytes).map_err(|source| ImageError::Config {
        image: image.to_owned(),
        source,
    })
}

/// Check that `bytes` hash to `digest`.
fn verify_bytes(bytes: &[u8], digest: &Digest, image: &str) -> Result<(), ImageError> {
    let mut h = digest.hasher();
    h.update(bytes);
    let actual = h.finish();
    if &actual == digest {
        Ok(())
    } else {
        Err(ImageError::DigestMismatch {
            image: image.to_owned(),
            expected: digest.clone(),
            actual,
        })
    }
}
