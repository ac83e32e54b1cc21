//! The OCI Distribution API v2, for reading images from registries.
//!
//! Written on blocking `reqwest` rather than `oci-client`: the layer engine consumes each
//! blob as a synchronous `Read` stream in a worker thread, and it needs behaviour that
//! client does not have: retries with backoff on 429/5xx for every request, resuming a blob
//! download mid-stream with a `Range` request, credentials from Docker's and Podman's
//! auth files and credential helpers, and errors that name the registry and say what to do.
//!
//! Authentication follows the Docker token protocol: an anonymous request, a `401` with a
//! `WWW-Authenticate` challenge, then either Basic credentials or a bearer token fetched
//! from the challenge's realm for the challenge's scope (`repository:NAME:pull` when it names
//! none, `registry:catalog:*` for the catalog). Tokens are cached until they expire.
//!
//! Besides reading images, [`RegistryClient`] lists a registry for services that mirror or
//! index one: [`RegistryClient::catalog`] (every repository), [`RegistryClient::tags`] and
//! [`RegistryClient::describe`] (what a tag or digest resolves to: manifests, platforms,
//! layers, sizes), following `Link` pagination with hard caps.

mod auth;
mod client;
mod credentials;
mod list;

use std::sync::Arc;

pub use auth::Challenge;
pub use client::{RegistryClient, RegistryError};
pub use credentials::Credentials;
use keelhaul_core::Digest;
pub use list::{
    DEFAULT_PAGE_SIZE, ImageDescription, MAX_DESCRIBED_MANIFESTS, MAX_LISTED, ManifestDescription,
};

use crate::manifest::Descriptor;
use crate::resolve::{images_from, resolve};
use crate::{BlobSource, Image, ImageError, LayerData, OpenOptions, Reference, verify_bytes};

/// How to connect to registries.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Allow plain HTTP and TLS certificates that do not verify, for any host.
    /// Loopback registries may always fall back to plain HTTP.
    pub insecure: bool,
    /// Credentials that take precedence over auth files.
    pub credentials: Option<Credentials>,
    /// How many times a failed request (connection error, 429, 5xx) is retried.
    pub retries: u32,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            insecure: false,
            credentials: None,
            retries: 4,
        }
    }
}

struct RegistryBlobs {
    client: Arc<RegistryClient>,
}

impl BlobSource for RegistryBlobs {
    fn open_blob(&self, digest: &Digest, size: Option<u64>) -> Result<LayerData, ImageError> {
        Ok(LayerData::Stream(Box::new(
            self.client.blob_stream(digest, size)?,
        )))
    }

    fn open_member(&self, path: &str) -> Result<LayerData, ImageError> {
        Err(ImageError::MissingMember {
            archive: self.client.reference_name(),
            member: path.to_owned(),
        })
    }
}

pub(crate) fn open(reference: &Reference, options: &OpenOptions) -> Result<Vec<Image>, ImageError> {
    let name = format!("registry:{reference}");
    let client = Arc::new(RegistryClient::new(reference, &options.registry)?);
    let (bytes, digest) = client.manifest(&reference.reference())?;
    if let Some(want) = &reference.digest {
        verify_bytes(&bytes, want, &name)?;
    }
    let mut fetch = |d: &Descriptor| -> Result<Vec<u8>, ImageError> {
        let (bytes, _) = client.manifest(d.digest.as_str())?;
        verify_bytes(&bytes, &d.digest, &name)?;
        Ok(bytes)
    };
    let resolved = resolve(&bytes, &digest, &options.platform, &name, &mut fetch)?;
    let tags: Vec<String> = reference
        .tag
        .iter()
        .map(|t| format!("{}/{}:{t}", reference.registry, reference.repository))
        .collect();
    let source: Arc<dyn BlobSource> = Arc::new(RegistryBlobs {
        client: Arc::clone(&client),
    });
    images_from(resolved, &name, &tags, &source, |d| {
        let bytes = client.small_blob(&d.digest)?;
        verify_bytes(&bytes, &d.digest, &name)?;
        Ok(bytes)
    })
}
