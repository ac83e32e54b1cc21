//! Registry listing against a real `docker-registry` (CNCF distribution) process: the
//! catalog with `Link` pagination, tags, and `describe` of single-platform images,
//! multi-platform indexes (with a BuildKit-style attestation to skip) and digests, with no
//! auth, Basic auth and token auth.
//!
//! Expected values are read from the OCI layouts the images were pushed from (index.json,
//! the blob files and their sizes on disk), never from the code under test. skopeo pushes
//! OCI images to the registry unchanged, so their digests are the layouts'.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use keelhaul_core::{Digest, Platform};
use keelhaul_image::registry::RegistryError;
use keelhaul_image::{
    Credentials, ImageDescription, ImageError, ManifestDescription, RegistryClient, RegistryOptions,
};
use keelhaul_test::builder::{self, Image, Layer};
use keelhaul_test::registry::{self, Auth, Registry};
use keelhaul_test::require;
use serde_json::{Value, json};

const USER: &str = "alice";
const PASSWORD: &str = "s3cret-pw";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn image(marker: &str, arch: &str, variant: Option<&str>, created: &str) -> Image {
    let mut img = Image::new()
        .platform("linux", arch, variant)
        .layer(
            Layer::new()
                .file("etc/marker", marker)
                .created_by("COPY marker"),
        )
        .layer(
            Layer::new()
                .file(
                    "usr/share/doc/marker",
                    format!("{marker} {arch}").repeat(50),
                )
                .created_by("RUN docs"),
        );
    img.created = created.into();
    img
}

/// Write `img` as an OCI layout under `work/name` tagged `t` and push it to `repo_tag`.
fn push(
    reg: &Registry,
    work: &Path,
    name: &str,
    img: &Image,
    repo_tag: &str,
) -> std::path::PathBuf {
    let layout = work.join(name);
    img.write_oci_layout(&layout, "t");
    reg.push(&format!("oci:{}:t", layout.display()), repo_tag, false);
    layout
}

/// Write a multi-platform layout by hand: an index of `images` plus an attestation
/// manifest for the first (platform `unknown/unknown`, as BuildKit writes it), tagged `tag`.
fn write_index_layout(dir: &Path, images: &[Image], tag: &str) {
    let mut children = Vec::new();
    for img in images {
        let built = img.build();
        builder::write_blob(dir, &built.config);
        builder::write_blob(dir, &built.manifest);
        for (blob, ..) in &built.layers {
            builder::write_blob(dir, blob);
        }
        let mut platform = json!({"os": img.os, "architecture": img.architecture});
        if let Some(v) = &img.variant {
            platform["variant"] = json!(v);
        }
        children.push(json!({
            "mediaType": OCI_MANIFEST,
            "digest": built.manifest_digest.to_string(),
            "size": built.manifest.len(),
            "platform": platform,
        }));
    }
    let attested = children[0]["digest"].clone();
    let statement = serde_json::to_vec(&json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://spdx.dev/Document",
        "subject": [{"name": "x", "digest": {"sha256": "0"}}],
        "predicate": {},
    }))
    .unwrap();
    let statement_digest = builder::write_blob(dir, &statement);
    let config = serde_json::to_vec(&json!({
        "architecture": "unknown",
        "os": "unknown",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [statement_digest.to_string()]},
    }))
    .unwrap();
    let config_digest = builder::write_blob(dir, &config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest.to_string(), "size": config.len()},
        "layers": [{
            "mediaType": "application/vnd.in-toto+json",
            "digest": statement_digest.to_string(),
            "size": statement.len(),
            "annotations": {"in-toto.io/predicate-type": "https://spdx.dev/Document"},
        }],
    }))
    .unwrap();
    let manifest_digest = builder::write_blob(dir, &manifest);
    children.push(json!({
        "mediaType": OCI_MANIFEST,
        "digest": manifest_digest.to_string(),
        "size": manifest.len(),
        "platform": {"os": "unknown", "architecture": "unknown"},
        "annotations": {
            "vnd.docker.reference.type": "attestation-manifest",
            "vnd.docker.reference.digest": attested,
        },
    }));
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": children,
    }))
    .unwrap();
    let index_digest = builder::write_blob(dir, &index);
    builder::write_index(
        dir,
        vec![json!({
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": index_digest.to_string(),
            "size": index.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        })],
    );
}

// ---------------------------------------------------------------------------------------
// Expected values, from the layout on disk.

fn blob_path(layout: &Path, digest: &str) -> std::path::PathBuf {
    let hex = digest.strip_prefix("sha256:").unwrap();
    layout.join("blobs/sha256").join(hex)
}

fn read_json_blob(layout: &Path, digest: &str) -> Value {
    serde_json::from_slice(&std::fs::read(blob_path(layout, digest)).unwrap()).unwrap()
}

fn file_size(layout: &Path, digest: &str) -> u64 {
    std::fs::metadata(blob_path(layout, digest)).unwrap().len()
}

fn platform_of(v: &Value) -> Platform {
    Platform {
        os: v["os"].as_str().unwrap().to_owned(),
        architecture: v["architecture"].as_str().unwrap().to_owned(),
        variant: v["variant"].as_str().map(str::to_owned),
    }
}

/// The description of one image manifest from its files: layer and config sizes are the
/// sizes of the blob files.
fn expected_manifest(
    layout: &Path,
    digest: &str,
    platform: Option<Platform>,
) -> ManifestDescription {
    let manifest = read_json_blob(layout, digest);
    let config_digest = manifest["config"]["digest"].as_str().unwrap();
    let config = read_json_blob(layout, config_digest);
    let layers: Vec<&str> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap())
        .collect();
    let size =
        file_size(layout, config_digest) + layers.iter().map(|d| file_size(layout, d)).sum::<u64>();
    ManifestDescription {
        digest: digest.parse().unwrap(),
        platform: platform.or_else(|| Some(platform_of(&config))),
        size,
        config_digest: config_digest.parse().unwrap(),
        layers: layers.iter().map(|d| d.parse().unwrap()).collect(),
        created: config["created"].as_str().map(str::to_owned),
    }
}

/// The description of the layout's document tagged `tag`.
fn expected(layout: &Path, tag: &str) -> ImageDescription {
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let top = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap();
    let digest = top["digest"].as_str().unwrap();
    let doc = read_json_blob(layout, digest);
    match doc["manifests"].as_array() {
        Some(children) => ImageDescription {
            digest: digest.parse().unwrap(),
            is_index: true,
            manifests: children
                .iter()
                .filter(|c| {
                    c["annotations"]["vnd.docker.reference.type"] != "attestation-manifest"
                        && c["platform"]["os"] != "unknown"
                })
                .map(|c| {
                    expected_manifest(
                        layout,
                        c["digest"].as_str().unwrap(),
                        Some(platform_of(&c["platform"])),
                    )
                })
                .collect(),
        },
        None => ImageDescription {
            digest: digest.parse().unwrap(),
            is_index: false,
            manifests: vec![expected_manifest(layout, digest, None)],
        },
    }
}

// ---------------------------------------------------------------------------------------

fn options(reg: &Registry) -> RegistryOptions {
    let credentials = match &reg.auth {
        Auth::None => None,
        Auth::Basic { user, password } | Auth::Token { user, password } => Some(Credentials {
            username: user.clone(),
            password: password.clone(),
        }),
    };
    RegistryOptions {
        credentials,
        retries: 1,
        ..RegistryOptions::default()
    }
}

/// A registry with three repositories: `alpha/one` (tags `v1`, `v2`), `beta` (a
/// two-platform index tagged `multi`, with an attestation) and `gamma` (`latest`).
struct Fixture {
    reg: Registry,
    work: tempfile::TempDir,
}

impl Fixture {
    fn start(auth: Auth) -> Fixture {
        let reg = Registry::start(auth);
        let work = tempfile::tempdir().unwrap();
        let w = work.path();
        push(
            &reg,
            w,
            "one-v1",
            &image("one-v1", "amd64", None, "2024-01-02T03:04:05Z"),
            "alpha/one:v1",
        );
        push(
            &reg,
            w,
            "one-v2",
            &image("one-v2", "amd64", None, "2024-06-07T08:09:10Z"),
            "alpha/one:v2",
        );
        write_index_layout(
            &w.join("beta"),
            &[
                image("beta", "amd64", None, "2023-03-03T03:03:03Z"),
                image("beta", "arm64", Some("v8"), "2023-04-04T04:04:04Z"),
            ],
            "multi",
        );
        reg.push(
            &format!("oci:{}:multi", w.join("beta").display()),
            "beta:multi",
            true,
        );
        push(
            &reg,
            w,
            "gamma",
            &image("gamma", "arm", Some("v7"), "2022-02-02T02:02:02Z"),
            "gamma:latest",
        );
        Fixture { reg, work }
    }

    fn layout(&self, name: &str) -> std::path::PathBuf {
        self.work.path().join(name)
    }

    fn registry_client(&self) -> RegistryClient {
        RegistryClient::for_registry(&self.reg.addr, &options(&self.reg)).unwrap()
    }

    fn client(&self, repository: &str) -> RegistryClient {
        self.registry_client().with_repository(repository).unwrap()
    }
}

const ALL_REPOSITORIES: [&str; 3] = ["alpha/one", "beta", "gamma"];

#[test]
fn catalog_follows_link_pagination() {
    require!(
        registry::available(&Auth::None),
        "docker-registry and skopeo"
    );
    let f = Fixture::start(Auth::None);
    let client = f.registry_client();
    // distribution answers `n=1` with exactly one repository and a `Link` to the next
    // page, so all three can only come back by following the links.
    for page_size in [1, 2, 3, 1000] {
        assert_eq!(
            client.catalog(page_size).unwrap(),
            ALL_REPOSITORIES,
            "page size {page_size}"
        );
    }
    // A repository client can list the catalog too.
    assert_eq!(f.client("gamma").catalog(1).unwrap(), ALL_REPOSITORIES);
}

#[test]
fn tags_lists_every_tag() {
    require!(
        registry::available(&Auth::None),
        "docker-registry and skopeo"
    );
    let f = Fixture::start(Auth::None);
    let mut tags = f.client("alpha/one").tags().unwrap();
    tags.sort();
    assert_eq!(tags, ["v1", "v2"]);
    let mut paged = f.client("alpha/one").tags_paged(1).unwrap();
    paged.sort();
    assert_eq!(paged, ["v1", "v2"]);
    assert_eq!(f.client("beta").tags().unwrap(), ["multi"]);
    // A repository that does not exist is NotFound, not an empty list.
    let err = f.client("no/such-repo").tags().unwrap_err();
    assert!(
        matches!(err, ImageError::Registry(RegistryError::NotFound { .. })),
        "{err:?}"
    );
}

#[test]
fn describe_single_platform_images() {
    require!(
        registry::available(&Auth::None),
        "docker-registry and skopeo"
    );
    let f = Fixture::start(Auth::None);
    let one = f.client("alpha/one");
    for (tag, layout) in [("v1", "one-v1"), ("v2", "one-v2")] {
        let want = expected(&f.layout(layout), "t");
        let got = one.describe(tag).unwrap();
        assert_eq!(got, want, "alpha/one:{tag}");
        // Sanity of the expectation itself: what the images were built with.
        assert!(!got.is_index);
        assert_eq!(got.manifests.len(), 1);
        assert_eq!(got.manifests[0].layers.len(), 2);
        assert_eq!(
            got.manifests[0].platform,
            Some("linux/amd64".parse().unwrap())
        );
    }
    assert_eq!(
        one.describe("v1").unwrap().manifests[0].created.as_deref(),
        Some("2024-01-02T03:04:05Z")
    );
    // Platform with a variant, from the config.
    let gamma = f.client("gamma").describe("latest").unwrap();
    assert_eq!(gamma, expected(&f.layout("gamma"), "t"));
    assert_eq!(
        gamma.manifests[0].platform,
        Some("linux/arm/v7".parse().unwrap())
    );
    // By digest: the same description.
    let by_digest = one
        .describe(expected(&f.layout("one-v2"), "t").digest.as_str())
        .unwrap();
    assert_eq!(by_digest, expected(&f.layout("one-v2"), "t"));
}

#[test]
fn describe_multi_platform_index() {
    require!(
        registry::available(&Auth::None),
        "docker-registry and skopeo"
    );
    let f = Fixture::start(Auth::None);
    let beta = f.client("beta");
    let want = expected(&f.layout("beta"), "multi");
    let got = beta.describe("multi").unwrap();
    assert_eq!(got, want);
    assert!(got.is_index);
    // Two platforms; the attestation is skipped.
    let platforms: Vec<String> = got
        .manifests
        .iter()
        .map(|m| m.platform.as_ref().unwrap().to_string())
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64/v8"]);
    let created: Vec<&str> = got
        .manifests
        .iter()
        .map(|m| m.created.as_deref().unwrap())
        .collect();
    assert_eq!(created, ["2023-03-03T03:03:03Z", "2023-04-04T04:04:04Z"]);
    // The index by digest, and one child by digest.
    assert_eq!(beta.describe(want.digest.as_str()).unwrap(), want);
    let child = beta.describe(want.manifests[1].digest.as_str()).unwrap();
    assert!(!child.is_index);
    assert_eq!(child.digest, want.manifests[1].digest);
    assert_eq!(child.manifests, vec![want.manifests[1].clone()]);
    // JSON round trip of the public type.
    let text = serde_json::to_string(&got).unwrap();
    assert_eq!(
        serde_json::from_str::<ImageDescription>(&text).unwrap(),
        got
    );
}

#[test]
fn describe_errors() {
    require!(
        registry::available(&Auth::None),
        "docker-registry and skopeo"
    );
    let f = Fixture::start(Auth::None);
    let one = f.client("alpha/one");
    let missing = one.describe("v3").unwrap_err();
    assert!(
        matches!(
            missing,
            ImageError::Registry(RegistryError::NotFound { .. })
        ),
        "{missing:?}"
    );
    let absent: Digest = Digest::sha256_of(b"no such manifest");
    assert!(matches!(
        one.describe(absent.as_str()).unwrap_err(),
        ImageError::Registry(RegistryError::NotFound { .. })
    ));
    for bad in ["a/b", "?x", "sha256:zz", ""] {
        assert!(
            matches!(one.describe(bad).unwrap_err(), ImageError::Target { .. }),
            "{bad}"
        );
    }
    // A registry-wide client names no repository.
    let registry = f.registry_client();
    for err in [
        registry.tags().unwrap_err(),
        registry.describe("v1").unwrap_err(),
    ] {
        assert!(
            matches!(
                err,
                ImageError::Registry(RegistryError::NoRepository { .. })
            ),
            "{err:?}"
        );
    }
    assert!(registry.with_repository("Bad Name").is_err());
    assert!(registry.with_repository("a/../b").is_err());
    assert!(RegistryClient::for_registry("http://x/", &RegistryOptions::default()).is_err());
}

#[test]
fn listing_with_basic_auth() {
    let auth = Auth::Basic {
        user: USER.into(),
        password: PASSWORD.into(),
    };
    require!(
        registry::available(&auth),
        "docker-registry, skopeo and htpasswd"
    );
    let f = Fixture::start(auth);
    assert_eq!(f.registry_client().catalog(1).unwrap(), ALL_REPOSITORIES);
    assert_eq!(
        f.client("beta").describe("multi").unwrap(),
        expected(&f.layout("beta"), "multi")
    );
}

#[test]
fn listing_with_token_auth() {
    let auth = Auth::Token {
        user: USER.into(),
        password: PASSWORD.into(),
    };
    require!(
        registry::available(&auth),
        "docker-registry, skopeo and python3 with cryptography"
    );
    let f = Fixture::start(auth);
    let client = f.registry_client();
    assert_eq!(client.catalog(1).unwrap(), ALL_REPOSITORIES);
    // The catalog token was asked for the catalog scope.
    let requests = f.reg.token_requests();
    assert!(
        requests
            .iter()
            .any(|r| r.contains("registry:catalog:*") && r.contains("\"authorized\": true")),
        "{requests:#?}"
    );
    // A client used for the catalog and then a repository re-authenticates as needed.
    let gamma = client.with_repository("gamma").unwrap();
    assert_eq!(gamma.tags().unwrap(), ["latest"]);
    assert_eq!(
        gamma.describe("latest").unwrap(),
        expected(&f.layout("gamma"), "t")
    );
    assert_eq!(gamma.catalog(2).unwrap(), ALL_REPOSITORIES);
    assert_eq!(gamma.tags().unwrap(), ["latest"]);
    // Without credentials the token server grants nothing: refused, naming the catalog.
    let anonymous = RegistryClient::for_registry(
        &f.reg.addr,
        &RegistryOptions {
            retries: 0,
            ..RegistryOptions::default()
        },
    )
    .unwrap();
    let err = anonymous.catalog(10).unwrap_err();
    assert!(
        matches!(
            &err,
            ImageError::Registry(RegistryError::Unauthorized { repository, user: None, .. })
                if repository == "_catalog"
        ),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------------------
// A fake registry for what distribution never does: a token challenge that names no
// scope, absolute `Link` URLs, and broken pagination.

/// A request the fake saw: path with query, and its `Authorization` header.
type Handler =
    dyn Fn(&str, Option<&str>, &str) -> (u16, Vec<(String, String)>, String) + Send + Sync;

/// A plain-HTTP server on a loopback port, one request per connection, answering with
/// `handler(path, authorization, own address)`; it stops on drop (or after a minute).
struct Fake {
    addr: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Fake {
    fn start(
        handler: impl Fn(&str, Option<&str>, &str) -> (u16, Vec<(String, String)>, String)
        + Send
        + Sync
        + 'static,
    ) -> Fake {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let handler: std::sync::Arc<Handler> = std::sync::Arc::new(handler);
        let (seen2, stop2, addr2) = (seen.clone(), stop.clone(), addr.clone());
        std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while !stop2.load(Ordering::Relaxed) && std::time::Instant::now() < deadline {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                };
                conn.set_nonblocking(false).unwrap();
                conn.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                    .unwrap();
                let mut buf = Vec::new();
                let mut byte = [0u8; 1];
                while !buf.ends_with(b"\r\n\r\n") {
                    match conn.read(&mut byte) {
                        Ok(1) => buf.push(byte[0]),
                        _ => break,
                    }
                    // A TLS ClientHello (the client probes HTTPS first): hang up.
                    if buf == [0x16] {
                        break;
                    }
                }
                if !buf.ends_with(b"\r\n\r\n") {
                    continue;
                }
                let text = String::from_utf8_lossy(&buf).into_owned();
                let path = text.split(' ').nth(1).unwrap_or_default().to_owned();
                let auth = text.lines().find_map(|l| {
                    l.split_once(':')
                        .filter(|(k, _)| k.eq_ignore_ascii_case("authorization"))
                        .map(|(_, v)| v.trim().to_owned())
                });
                seen2.lock().unwrap().push(path.clone());
                let (status, headers, body) = handler(&path, auth.as_deref(), &addr2);
                let mut reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: application/json\r\nConnection: close\r\n",
                    body.len()
                );
                for (k, v) in headers {
                    reply.push_str(&format!("{k}: {v}\r\n"));
                }
                reply.push_str("\r\n");
                reply.push_str(&body);
                let _ = conn.write_all(reply.as_bytes());
            }
        });
        Fake { addr, seen, stop }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Percent-decode a query string.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let escaped = (b[i] == b'%')
            .then(|| s.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match escaped {
            Some(v) => {
                out.push(v);
                i += 3;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

fn page(entries: &[&str], link: Option<String>) -> (u16, Vec<(String, String)>, String) {
    let headers = link
        .map(|l| vec![("Link".to_owned(), l)])
        .unwrap_or_default();
    (200, headers, json!({ "repositories": entries }).to_string())
}

#[test]
fn catalog_token_scope_without_challenge_scope_and_absolute_links() {
    let fake = Fake::start(|path, auth, addr| {
        let challenge = || {
            (
                401,
                vec![(
                    "WWW-Authenticate".to_owned(),
                    format!(r#"Bearer realm="http://{addr}/token",service="fake""#),
                )],
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#
                    .to_owned(),
            )
        };
        if let Some(query) = path.strip_prefix("/token?") {
            let scope = decode(query)
                .split('&')
                .find_map(|kv| kv.strip_prefix("scope=").map(str::to_owned))
                .unwrap_or_default();
            return (
                200,
                Vec::new(),
                json!({ "token": format!("tok {scope}") }).to_string(),
            );
        }
        if path == "/v2/" || auth != Some("Bearer tok registry:catalog:*") {
            return challenge();
        }
        match path {
            "/v2/_catalog?n=2" => page(
                &["a", "b"],
                Some(format!(
                    r#"<http://{addr}/v2/_catalog?last=b&n=2>; rel="next""#
                )),
            ),
            "/v2/_catalog?last=b&n=2" => page(&["c"], None),
            _ => (404, Vec::new(), "{}".to_owned()),
        }
    });
    let client = RegistryClient::for_registry(
        &fake.addr,
        &RegistryOptions {
            retries: 0,
            ..RegistryOptions::default()
        },
    )
    .unwrap();
    assert_eq!(client.catalog(2).unwrap(), ["a", "b", "c"]);
    let seen = fake.seen();
    assert!(
        seen.iter().any(|p| p.starts_with("/token?")),
        "no token request: {seen:?}"
    );
}

#[test]
fn catalog_refuses_broken_pagination() {
    let fake = Fake::start(|path, _, addr| match path {
        // A next link to another origin: our credentials would follow it.
        "/v2/_catalog?n=1" => page(
            &["a"],
            Some(r#"<http://127.0.0.2:1/v2/_catalog?last=a&n=1>; rel="next""#.to_owned()),
        ),
        // An empty page that claims a next one.
        "/v2/_catalog?n=2" => page(&[], Some(r#"</v2/_catalog?last=x&n=2>; rel="next""#.into())),
        // A link back to the same page.
        "/v2/_catalog?n=3" => page(
            &["a"],
            Some(format!(r#"<http://{addr}/v2/_catalog?n=3>; rel="next""#)),
        ),
        // Not a catalog.
        "/v2/_catalog?n=4" => (200, Vec::new(), "<html>".to_owned()),
        _ => (200, Vec::new(), "{}".to_owned()),
    });
    let client = RegistryClient::for_registry(
        &fake.addr,
        &RegistryOptions {
            retries: 0,
            ..RegistryOptions::default()
        },
    )
    .unwrap();
    for (n, needle) in [
        (1, "leads away"),
        (2, "lists nothing"),
        (3, "same page"),
        (4, "expected JSON"),
    ] {
        let err = client.catalog(n).unwrap_err();
        assert!(
            matches!(&err, ImageError::Registry(RegistryError::Invalid { reason, .. }) if reason.contains(needle)),
            "page size {n}: {err:?}"
        );
    }
    // The link to another host was never followed.
    assert!(fake.seen().iter().all(|p| !p.contains("last=a&n=1")));
}
