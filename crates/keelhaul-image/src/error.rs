use std::path::PathBuf;

use keelhaul_core::{Digest, Hint};

use crate::manifest::ManifestError;
use crate::registry::RegistryError;

/// Why an image could not be opened or one of its blobs read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// A local file or directory could not be read.
    #[error("Cannot read `{}`", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The target string is malformed or names the wrong kind of thing.
    #[error("Invalid target `{target}`: {reason}")]
    Target {
        /// The target as given.
        target: String,
        /// What is wrong.
        reason: String,
    },
    /// A manifest or index is unusable.
    #[error("Invalid manifest {digest} in `{image}`")]
    Manifest {
        /// The image.
        image: String,
        /// The manifest's digest, or its file name.
        digest: String,
        /// The cause.
        #[source]
        source: ManifestError,
    },
    /// The image config is not valid JSON of the expected shape.
    #[error("Invalid image config in `{image}`")]
    Config {
        /// The image.
        image: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// An archive's own index file (`index.json`, `manifest.json`) is unusable.
    #[error("Invalid `{file}` in `{image}`: {reason}")]
    Layout {
        /// The image.
        image: String,
        /// The file inside the layout or archive.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// No manifest is tagged with the requested tag.
    #[error("No image tagged `{tag}` in `{image}` (available: {available})")]
    TagNotFound {
        /// The image.
        image: String,
        /// The tag asked for.
        tag: String,
        /// The tags that exist.
        available: String,
    },
    /// Several images and no selector.
    #[error("`{image}` holds {count} images; name one (available: {available})")]
    Ambiguous {
        /// The image.
        image: String,
        /// How many.
        count: usize,
        /// Their names.
        available: String,
    },
    /// No image for the requested platform.
    #[error("No `{platform}` image in `{image}` (available: {available})")]
    PlatformNotFound {
        /// The image.
        image: String,
        /// The platform asked for.
        platform: String,
        /// The platforms that exist.
        available: String,
    },
    /// A blob the manifest names is not there.
    #[error("Blob {digest} is missing from `{image}`")]
    MissingBlob {
        /// The image.
        image: String,
        /// The blob.
        digest: Digest,
    },
    /// A member the archive's manifest names is not in the archive.
    #[error("`{member}` is missing from archive `{archive}`")]
    MissingMember {
        /// The archive.
        archive: String,
        /// The member path.
        member: String,
    },
    /// Content does not hash to the digest that names it.
    #[error("Content of {expected} in `{image}` does not match its digest (it hashes to {actual})")]
    DigestMismatch {
        /// The image.
        image: String,
        /// The digest that names it.
        expected: Digest,
        /// What it hashes to.
        actual: Digest,
    },
    /// A document is larger than any real one.
    #[error("{what} in `{image}` is larger than {limit} bytes")]
    TooLarge {
        /// The image.
        image: String,
        /// Which document.
        what: String,
        /// The limit.
        limit: u64,
    },
    /// A registry request failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

impl Hint for ImageError {
    fn hint(&self) -> Option<String> {
        match self {
            ImageError::TagNotFound { .. } | ImageError::Ambiguous { .. } => Some(
                "Append the tag to the target, e.g. `oci:DIR:TAG` or `docker-archive:FILE:REPO:TAG` (or `:@N` for the N-th image)"
                    .into(),
            ),
            ImageError::Manifest {
                source: ManifestError::Schema1,
                ..
            } => Some(
                "Convert the image to schema 2: push it again with a current Docker, or copy it with `skopeo copy --format v2s2`"
                    .into(),
            ),
            ImageError::PlatformNotFound { .. } => {
                Some("Pass `--platform os/arch[/variant]` with one of the available platforms, or `--platform all`".into())
            }
            ImageError::Registry(e) => e.hint(),
            _ => None,
        }
    }
}
