//! Listing a registry: its repositories (`/v2/_catalog`), a repository's tags
//! (`/v2/NAME/tags/list`), and what a tag or digest resolves to (manifests, platforms,
//! layers, sizes, creation times), for services that mirror or index a registry.

use keelhaul_core::{Digest, Platform};
use reqwest::Url;
use reqwest::header::LINK;
use serde::{Deserialize, Serialize};

use super::client::{Access, RegistryClient, RegistryError};
use crate::manifest::{AnyManifest, Descriptor, ManifestKind, is_attestation};
use crate::resolve::resolve;
use crate::{ImageError, PlatformSelector, parse_config, verify_bytes};

/// Most repositories [`RegistryClient::catalog`], or tags [`RegistryClient::tags`], returns;
/// a longer listing is an error ([`RegistryError::TooMany`]) rather than a truncated one.
pub const MAX_LISTED: usize = 100_000;

/// Most image manifests [`RegistryClient::describe`] fetches for one index (attestations
/// not counted); a larger index is an error ([`RegistryError::TooMany`]).
pub const MAX_DESCRIBED_MANIFESTS: usize = 256;

/// The page size [`RegistryClient::tags`] asks for.
pub const DEFAULT_PAGE_SIZE: usize = 1000;

/// Largest page size sent to a registry; larger requests are clamped to it.
const MAX_PAGE_SIZE: usize = 10_000;

/// Config media types whose documents are image configs (with `created`, `os`, …).
const IMAGE_CONFIG_TYPES: [&str; 2] = [
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];

/// What a tag or digest of a repository resolves to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageDescription {
    /// Digest of the document the reference resolved to: the index (manifest list) for a
    /// multi-platform image, else the image manifest.
    pub digest: Digest,
    /// Whether that document is an index or manifest list.
    pub is_index: bool,
    /// One entry per image manifest: the single manifest, or each child of the index
    /// (children of nested indexes included) except attestations and other
    /// `unknown/unknown` entries, in index order.
    pub manifests: Vec<ManifestDescription>,
}

/// One image manifest of an [`ImageDescription`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestDescription {
    /// Digest of the image manifest.
    pub digest: Digest,
    /// Platform, from the index entry, else from the image config.
    pub platform: Option<Platform>,
    /// Config size plus the size of every layer, in bytes, as the manifest states them
    /// (the stored, usually compressed, sizes).
    pub size: u64,
    /// Digest of the config blob (the image id).
    pub config_digest: Digest,
    /// Layer blob digests, bottom first.
    pub layers: Vec<Digest>,
    /// The config's `created` time as it states it (RFC 3339), when it has one.
    pub created: Option<String>,
}

/// The body of a catalog or tags page.
#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    repositories: Option<Vec<String>>,
    #[serde(default)]
    tags: Option<Vec<String>>,
}

impl RegistryClient {
    /// Every repository of the registry, in the order the registry lists them (lexical
    /// for CNCF distribution), from `GET /v2/_catalog?n=PAGE_SIZE`, following the
    /// `Link: <…>; rel="next"` header from page to page.
    ///
    /// Works on any client of the registry; [`RegistryClient::for_registry`] makes one
    /// that names no repository. With token auth, the token is asked for scope
    /// `registry:catalog:*` unless the registry's challenge names another. `page_size` is
    /// clamped to 1..=10,000. More than [`MAX_LISTED`] repositories is an error, as is a
    /// next-page link to another host (the request would carry our credentials there).
    pub fn catalog(&self, page_size: usize) -> Result<Vec<String>, ImageError> {
        let n = page_size.clamp(1, MAX_PAGE_SIZE);
        self.list_pages(
            &format!("/v2/_catalog?n={n}"),
            Access::Catalog,
            "the catalog",
            |p| p.repositories,
        )
    }

    /// The repository's tags, from `GET /v2/NAME/tags/list`, following pagination; see
    /// [`RegistryClient::tags_paged`].
    pub fn tags(&self) -> Result<Vec<String>, ImageError> {
        self.tags_paged(DEFAULT_PAGE_SIZE)
    }

    /// The repository's tags in the order the registry lists them, from
    /// `GET /v2/NAME/tags/list?n=PAGE_SIZE`, following the `Link: <…>; rel="next"` header
    /// (registries that do not paginate tags answer with all of them at once).
    ///
    /// A repository that does not exist (404, `NAME_UNKNOWN`) is an error,
    /// [`RegistryError::NotFound`], not an empty list: an existing repository without
    /// tags gives an empty list. `page_size` is clamped to 1..=10,000; more than
    /// [`MAX_LISTED`] tags is an error.
    pub fn tags_paged(&self, page_size: usize) -> Result<Vec<String>, ImageError> {
        if self.repository().is_empty() {
            return Err(RegistryError::NoRepository {
                registry: self.registry().to_owned(),
            }
            .into());
        }
        let n = page_size.clamp(1, MAX_PAGE_SIZE);
        self.list_pages(
            &format!("/v2/{}/tags/list?n={n}", self.repository()),
            Access::Pull,
            &format!("tags of `{}`", self.repository()),
            |p| p.tags,
        )
    }

    /// GET `first` (a path below the registry's base URL) and each next page after it,
    /// collecting the entries `pick` takes from each page.
    fn list_pages(
        &self,
        first: &str,
        access: Access,
        what: &str,
        pick: fn(Page) -> Option<Vec<String>>,
    ) -> Result<Vec<String>, ImageError> {
        let invalid = |reason: String| RegistryError::Invalid {
            registry: self.registry().to_owned(),
            what: what.to_owned(),
            reason,
        };
        let base = self.base()?;
        let mut url = Url::parse(&format!("{base}{first}"))
            .map_err(|e| invalid(format!("`{base}{first}` is not a URL ({e})")))?;
        let mut out: Vec<String> = Vec::new();
        loop {
            let resp = self.get_url(url.as_str(), &["application/json"], 0, what, access)?;
            let next = next_link(
                resp.headers()
                    .get_all(LINK)
                    .iter()
                    .filter_map(|v| v.to_str().ok()),
            );
            let bytes = self.read_small(resp, what)?;
            let page: Page = serde_json::from_slice(&bytes)
                .map_err(|e| invalid(format!("the page is not the expected JSON ({e})")))?;
            let entries = pick(page).unwrap_or_default();
            if out.len().saturating_add(entries.len()) > MAX_LISTED {
                return Err(RegistryError::TooMany {
                    registry: self.registry().to_owned(),
                    what: what.to_owned(),
                    limit: MAX_LISTED,
                }
                .into());
            }
            let empty = entries.is_empty();
            out.extend(entries);
            let Some(next) = next else {
                return Ok(out);
            };
            // Every page but the last lists something, and each link leads elsewhere: so
            // the loop ends, within MAX_LISTED + 1 pages, whatever the registry sends.
            if empty {
                return Err(
                    invalid(format!("a page with a next link (`{next}`) lists nothing")).into(),
                );
            }
            let next_url = next_page_url(&url, &next).map_err(invalid)?;
            if next_url == url {
                return Err(invalid(format!(
                    "the next-page link `{next}` leads to the same page"
                ))
                .into());
            }
            url = next_url;
        }
    }

    /// What `reference` (a tag or a digest) of the repository resolves to.
    ///
    /// The manifest is fetched and verified as for a scan (schema 1 refused). For an index
    /// or manifest list, each child manifest is fetched and verified too, except
    /// attestations; more than [`MAX_DESCRIBED_MANIFESTS`] of them is an error. Each image
    /// config is fetched, verified against its digest and read for `created` (and the
    /// platform, where the index entry states none); a config of a non-image media type
    /// (an artifact's) is not fetched, and gives no `created`.
    pub fn describe(&self, reference: &str) -> Result<ImageDescription, ImageError> {
        let name = self.reference_name();
        let wanted = parse_reference(reference, &name)?;
        let (bytes, digest) = self.manifest(reference)?;
        if let Some(want) = &wanted {
            verify_bytes(&bytes, want, &name)?;
        }
        let kind = AnyManifest::parse(&bytes).map_err(|source| ImageError::Manifest {
            image: name.clone(),
            digest: digest.to_string(),
            source,
        })?;
        let too_many = || {
            ImageError::from(RegistryError::TooMany {
                registry: self.registry().to_owned(),
                what: format!("index `{}@{digest}`", self.repository()),
                limit: MAX_DESCRIBED_MANIFESTS,
            })
        };
        let is_index = match &kind {
            ManifestKind::Index(children) => {
                // Fail before fetching anything when the index itself is too long.
                if children.iter().filter(|d| !is_attestation(d)).count() > MAX_DESCRIBED_MANIFESTS
                {
                    return Err(too_many());
                }
                true
            }
            ManifestKind::Image { .. } => false,
        };
        // Counted across nested indexes too, so the bound holds for the whole tree.
        let mut fetched = 0usize;
        let mut fetch = |d: &Descriptor| -> Result<Vec<u8>, ImageError> {
            fetched += 1;
            if fetched > MAX_DESCRIBED_MANIFESTS {
                return Err(too_many());
            }
            let (bytes, _) = self.manifest(d.digest.as_str())?;
            verify_bytes(&bytes, &d.digest, &name)?;
            Ok(bytes)
        };
        let resolved = resolve(&bytes, &digest, &PlatformSelector::All, &name, &mut fetch)?;
        let manifests = resolved
            .into_iter()
            .map(|r| {
                let is_image_config = r.config.media_type.is_empty()
                    || IMAGE_CONFIG_TYPES.contains(&r.config.media_type.as_str());
                let config = if is_image_config {
                    let bytes = self.small_blob(&r.config.digest)?;
                    verify_bytes(&bytes, &r.config.digest, &name)?;
                    Some(parse_config(&bytes, &name)?)
                } else {
                    None
                };
                let size = r
                    .layers
                    .iter()
                    .fold(r.config.size, |sum, l| sum.saturating_add(l.size));
                Ok(ManifestDescription {
                    digest: r.manifest_digest,
                    platform: r
                        .platform
                        .or_else(|| config.as_ref().and_then(|c| c.platform())),
                    size,
                    config_digest: r.config.digest,
                    layers: r.layers.into_iter().map(|l| l.digest).collect(),
                    created: config.and_then(|c| c.created),
                })
            })
            .collect::<Result<Vec<_>, ImageError>>()?;
        Ok(ImageDescription {
            digest,
            is_index,
            manifests,
        })
    }
}

/// Check that `reference` is a digest or a tag (it goes into a URL path); the digest, if
/// it is one.
fn parse_reference(reference: &str, image: &str) -> Result<Option<Digest>, ImageError> {
    if reference.contains(':') {
        return reference
            .parse::<Digest>()
            .map(Some)
            .map_err(|e| ImageError::Target {
                target: format!("{image}@{reference}"),
                reason: e.to_string(),
            });
    }
    let valid_tag = reference.len() <= 128
        && reference
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && reference
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if valid_tag {
        Ok(None)
    } else {
        Err(ImageError::Target {
            target: format!("{image}:{reference}"),
            reason: format!("`{reference}` is neither a valid tag nor a digest"),
        })
    }
}

/// The target of the first `rel="next"` link in `Link` header values (RFC 8288, formerly
/// RFC 5988): `<URL>; rel="next"`, several links per value separated by commas, `rel`
/// quoted or not and possibly listing several relation types.
pub(crate) fn next_link<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<String> {
    values
        .into_iter()
        .flat_map(split_links)
        .find_map(|(target, params)| {
            let is_next = params.iter().any(|(k, v)| {
                k.eq_ignore_ascii_case("rel")
                    && v.split_ascii_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
            });
            is_next.then_some(target)
        })
}

/// The links of one `Link` header value: each target with its `key=value` parameters.
fn split_links(value: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut links = Vec::new();
    let mut rest = value.trim_start();
    while let Some(after) = rest.strip_prefix('<') {
        let Some(end) = after.find('>') else {
            break;
        };
        let target = after[..end].trim().to_owned();
        rest = &after[end + 1..];
        let mut params = Vec::new();
        // Parameters: `; key=value` or `; key="quoted, value"`, up to the next comma
        // outside quotes.
        loop {
            rest = rest.trim_start();
            let Some(after_semi) = rest.strip_prefix(';') else {
                break;
            };
            rest = after_semi.trim_start();
            let key_end = rest.find(['=', ';', ',']).unwrap_or(rest.len());
            let key = rest[..key_end].trim().to_owned();
            rest = &rest[key_end..];
            let mut val = String::new();
            if let Some(after_eq) = rest.strip_prefix('=') {
                rest = after_eq.trim_start();
                if let Some(quoted) = rest.strip_prefix('"') {
                    let mut chars = quoted.char_indices();
                    let mut consumed = quoted.len();
                    while let Some((i, c)) = chars.next() {
                        match c {
                            '\\' => {
                                if let Some((_, n)) = chars.next() {
                                    val.push(n);
                                }
                            }
                            '"' => {
                                consumed = i + 1;
                                break;
                            }
                            c => val.push(c),
                        }
                    }
                    rest = &quoted[consumed..];
                } else {
                    let end = rest.find([';', ',']).unwrap_or(rest.len());
                    val = rest[..end].trim().to_owned();
                    rest = &rest[end..];
                }
            }
            params.push((key, val));
        }
        links.push((target, params));
        // The next link, if any, follows a comma.
        match rest.trim_start().strip_prefix(',') {
            Some(after_comma) => rest = after_comma.trim_start(),
            None => break,
        }
    }
    links
}

/// Resolve a next-page link against the current page's URL (links may be absolute, or
/// relative as CNCF distribution sends them), refusing one that leads to another origin.
pub(crate) fn next_page_url(current: &Url, link: &str) -> Result<Url, String> {
    let next = current
        .join(link)
        .map_err(|e| format!("the next-page link `{link}` is not a URL ({e})"))?;
    if next.origin() != current.origin() {
        return Err(format!(
            "the next-page link `{link}` leads away from `{}`",
            current.origin().ascii_serialization()
        ));
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_next_link() {
        // CNCF distribution's form: relative, quoted rel.
        assert_eq!(
            next_link([r#"</v2/_catalog?last=b&n=1>; rel="next""#]),
            Some("/v2/_catalog?last=b&n=1".to_owned())
        );
        // Absolute, unquoted rel, among other links and in a later header value.
        assert_eq!(
            next_link([
                r#"<https://r.example/v2/_catalog?n=2>; rel="first""#,
                r#"<https://r.example/v2/x/tags/list?last=v1&n=2>; title="a, b"; rel=prev, <https://r.example/v2/x/tags/list?last=v2&n=2>; rel=next"#,
            ]),
            Some("https://r.example/v2/x/tags/list?last=v2&n=2".to_owned())
        );
        // Several relation types in one rel; case-insensitive.
        assert_eq!(
            next_link([r#"</page3>; rel="last NEXT""#]),
            Some("/page3".to_owned())
        );
        // No rel=next: none.
        assert_eq!(next_link([r#"</v2/_catalog?last=a>; rel="prev""#]), None);
        assert_eq!(next_link([r#"</v2/_catalog?last=a>"#]), None);
        assert_eq!(next_link([r#"</v2/_catalog?last=a>; title="next""#]), None);
        assert_eq!(next_link(["garbage", ""]), None);
        assert_eq!(next_link(Vec::<&str>::new()), None);
    }

    #[test]
    fn resolves_next_page_urls() {
        let current = Url::parse("http://127.0.0.1:5000/v2/_catalog?n=1").expect("url");
        // Relative to the registry root, as distribution sends it.
        assert_eq!(
            next_page_url(&current, "/v2/_catalog?last=a&n=1")
                .expect("relative")
                .as_str(),
            "http://127.0.0.1:5000/v2/_catalog?last=a&n=1"
        );
        // Relative to the current path.
        assert_eq!(
            next_page_url(&current, "_catalog?last=b&n=1")
                .expect("path-relative")
                .as_str(),
            "http://127.0.0.1:5000/v2/_catalog?last=b&n=1"
        );
        // Absolute on the same origin.
        assert_eq!(
            next_page_url(&current, "http://127.0.0.1:5000/v2/_catalog?last=c&n=1")
                .expect("absolute")
                .as_str(),
            "http://127.0.0.1:5000/v2/_catalog?last=c&n=1"
        );
        // Another host, port or scheme: refused (our credentials would go along).
        for elsewhere in [
            "http://evil.example/v2/_catalog?last=c",
            "http://127.0.0.1:5001/v2/_catalog?last=c",
            "https://127.0.0.1:5000/v2/_catalog?last=c",
            "//evil.example/v2/_catalog",
        ] {
            assert!(next_page_url(&current, elsewhere).is_err(), "{elsewhere}");
        }
    }

    #[test]
    fn checks_references() {
        let d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(
            parse_reference(d, "r/x").expect("digest"),
            Some(d.parse().expect("digest"))
        );
        assert_eq!(parse_reference("v1.2_3-rc", "r/x").expect("tag"), None);
        for bad in [
            "",
            "-x",
            ".x",
            "a/b",
            "a?b",
            "sha256:zz",
            "../x",
            &"a".repeat(129),
        ] {
            assert!(parse_reference(bad, "r/x").is_err(), "{bad}");
        }
    }
}
