//! A blocking Distribution API client for one repository.

use std::io::{self, Read};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use keelhaul_core::{Digest, Hint};
use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, RANGE, RETRY_AFTER, WWW_AUTHENTICATE,
};
use serde::Deserialize;

use super::credentials::{self, Credentials};
use super::{Challenge, RegistryOptions};
use crate::manifest::{
    AnyManifest, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_SCHEMA1, ManifestError, OCI_INDEX,
    OCI_MANIFEST,
};
use crate::{ImageError, MAX_DOCUMENT_BYTES, Reference};

/// Why a registry request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// No HTTP response at all (DNS, connection refused, TLS).
    #[error("Cannot connect to registry `{registry}`")]
    Connect {
        /// The registry host.
        registry: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The registry wants credentials we do not have, or rejected them.
    #[error(
        "Registry `{registry}` refused access to `{repository}`{} ({detail})",
        .user.as_ref().map(|u| format!(" for user `{u}`")).unwrap_or_default()
    )]
    Unauthorized {
        /// The registry host.
        registry: String,
        /// The repository.
        repository: String,
        /// The user name of the credentials we had, if any: with one, the credentials
        /// were rejected (or lack access); without, they are missing.
        user: Option<String>,
        /// What the registry or token server said.
        detail: String,
    },
    /// The manifest or blob does not exist.
    #[error("{what} not found in `{registry}`: {message}")]
    NotFound {
        /// The registry host.
        registry: String,
        /// What was asked for.
        what: String,
        /// The registry's message.
        message: String,
    },
    /// Any other unsuccessful status, after retries.
    #[error("Registry `{registry}` answered {status} for {what}: {message}")]
    Status {
        /// The registry host.
        registry: String,
        /// What was asked for.
        what: String,
        /// HTTP status.
        status: u16,
        /// The registry's message.
        message: String,
    },
    /// The token endpoint failed.
    #[error("Token server `{realm}` failed: {reason}")]
    Token {
        /// The realm URL.
        realm: String,
        /// What went wrong.
        reason: String,
    },
    /// A repository operation on a client made with [`RegistryClient::for_registry`],
    /// which names no repository.
    #[error("No repository named for registry `{registry}`")]
    NoRepository {
        /// The registry host.
        registry: String,
    },
    /// A listing (catalog, tags, index children) is longer than keelhaul accepts.
    #[error("{what} in `{registry}` lists more than {limit} entries")]
    TooMany {
        /// The registry host.
        registry: String,
        /// What was being listed.
        what: String,
        /// The limit.
        limit: usize,
    },
    /// The registry answered with something the Distribution API does not allow: a body
    /// of the wrong shape, or pagination that does not advance or leaves the registry.
    #[error("Registry `{registry}` sent an invalid answer for {what}: {reason}")]
    Invalid {
        /// The registry host.
        registry: String,
        /// What was asked for.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// Reading a response body failed.
    #[error("Reading {what} from `{registry}` failed")]
    Read {
        /// The registry host.
        registry: String,
        /// What was being read.
        what: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl Hint for RegistryError {
    fn hint(&self) -> Option<String> {
        match self {
            RegistryError::Connect { registry, .. } => Some(format!(
                "Check that `{registry}` is reachable; if it serves plain HTTP or a self-signed certificate, pass `--insecure`"
            )),
            RegistryError::Unauthorized {
                registry,
                repository,
                user: Some(_),
                ..
            } => Some(format!(
                "Check the user name and password (or token) for `{registry}` and that they may pull `{repository}`; `--username` and `--password` take precedence over Docker's and Podman's auth files"
            )),
            RegistryError::Unauthorized { registry, .. } => Some(format!(
                "Log in with `docker login {registry}` (keelhaul reads Docker's and Podman's auth files) or pass `--username` and `--password`"
            )),
            RegistryError::NotFound { .. } => {
                Some("Check the repository name, tag or digest".into())
            }
            RegistryError::NoRepository { .. } => Some(
                "Make a client for one repository with `RegistryClient::with_repository`".into(),
            ),
            _ => None,
        }
    }
}

#[derive(Default)]
struct State {
    /// `https://host` or `http://host`, once probed.
    base: Option<String>,
    /// The `Authorization` header to send, and when it stops being valid.
    auth: Option<(HeaderValue, Option<Instant>)>,
}

/// What a request needs access to, which decides the token scope asked for when the
/// registry's challenge names none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    /// Pull from the client's repository (`repository:NAME:pull`).
    Pull,
    /// List the registry's repositories (`registry:catalog:*`).
    Catalog,
}

/// A client for one repository of one registry, or (made with
/// [`RegistryClient::for_registry`]) for the registry as a whole.
pub struct RegistryClient {
    http: Client,
    registry: String,
    host: String,
    repository: String,
    allow_http: bool,
    credentials: Option<Credentials>,
    retries: u32,
    state: Mutex<State>,
}

const MANIFEST_ACCEPT: [&str; 4] = [
    OCI_INDEX,
    OCI_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST,
];

impl RegistryClient {
    /// A client for `reference`'s repository.
    pub fn new(
        reference: &Reference,
        options: &RegistryOptions,
    ) -> Result<RegistryClient, RegistryError> {
        let http = Client::builder()
            .user_agent(concat!("keelhaul/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(15))
            // In the blocking client this bounds each read, not the whole transfer, so a
            // long blob download is fine and a stalled one fails.
            .timeout(Duration::from_secs(60))
            .tls_danger_accept_invalid_certs(options.insecure)
            .build()
            .map_err(|source| RegistryError::Connect {
                registry: reference.registry.clone(),
                source,
            })?;
        let credentials = options
            .credentials
            .clone()
            .or_else(|| credentials::lookup(&reference.registry));
        Ok(RegistryClient {
            http,
            registry: reference.registry.clone(),
            host: reference.api_host().to_owned(),
            repository: reference.repository.clone(),
            allow_http: options.insecure || reference.is_loopback(),
            credentials,
            retries: options.retries,
            state: Mutex::new(State::default()),
        })
    }

    /// A client for registry-wide operations ([`RegistryClient::catalog`]) on `registry`
    /// (`host` or `host:port`, as in a [`Reference`]; `docker.io` means Docker Hub).
    ///
    /// It names no repository: repository operations on it fail with
    /// [`RegistryError::NoRepository`]; [`RegistryClient::with_repository`] makes a client
    /// for one of the registry's repositories.
    pub fn for_registry(
        registry: &str,
        options: &RegistryOptions,
    ) -> Result<RegistryClient, ImageError> {
        let valid = !registry.is_empty()
            && registry.len() <= 255
            && registry
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
            && !registry.starts_with(['.', '-', ':']);
        if !valid {
            return Err(ImageError::Target {
                target: registry.to_owned(),
                reason: "a registry is a host name or address, with an optional `:port`".into(),
            });
        }
        let reference = Reference {
            registry: registry.to_owned(),
            repository: String::new(),
            tag: None,
            digest: None,
        };
        Ok(RegistryClient::new(&reference, options)?)
    }

    /// A client for `repository` of the same registry, with the same options and
    /// credentials; it shares this client's connection pool but not its token (tokens
    /// are scoped to a repository).
    ///
    /// `repository` must be a Distribution repository name (lowercase letters, digits and
    /// `._-`, each `/`-separated component starting with a letter or digit), as the
    /// catalog lists them.
    pub fn with_repository(&self, repository: &str) -> Result<RegistryClient, ImageError> {
        let valid = !repository.is_empty()
            && repository.len() <= 255
            && repository.split('/').all(|part| {
                part.bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphanumeric())
                    && part.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                    })
            });
        if !valid {
            return Err(ImageError::Target {
                target: format!("{}/{repository}", self.registry),
                reason:
                    "repository names are lowercase letters, digits and `._-`, separated by `/`"
                        .into(),
            });
        }
        Ok(RegistryClient {
            http: self.http.clone(),
            registry: self.registry.clone(),
            host: self.host.clone(),
            repository: repository.to_owned(),
            allow_http: self.allow_http,
            credentials: self.credentials.clone(),
            retries: self.retries,
            state: Mutex::new(State {
                base: self.state().base.clone(),
                auth: None,
            }),
        })
    }

    /// The registry host, as given.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository; empty for a client made with [`RegistryClient::for_registry`].
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// `registry/repository`, for messages.
    pub fn reference_name(&self) -> String {
        if self.repository.is_empty() {
            self.registry.clone()
        } else {
            format!("{}/{}", self.registry, self.repository)
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave State inconsistent (it holds plain
        // values), so a poisoned lock is safe to reuse.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Find out whether the registry speaks HTTPS or (where allowed) plain HTTP: the
    /// `scheme://host` every API URL starts with.
    pub(super) fn base(&self) -> Result<String, RegistryError> {
        if let Some(b) = &self.state().base {
            return Ok(b.clone());
        }
        let https = format!("https://{}", self.host);
        let probe = |base: &str| {
            self.http
                .get(format!("{base}/v2/"))
                .timeout(Duration::from_secs(30))
                .send()
        };
        let base = match probe(&https) {
            Ok(_) => https,
            Err(e) if self.allow_http => {
                let http = format!("http://{}", self.host);
                match probe(&http) {
                    // A TLS-only server answers plain HTTP with 400 (Go: "Client sent an HTTP
                    // request to an HTTPS server"; nginx alike), which a registry's `/v2/`
                    // never does (200 or 401). The HTTPS failure is then the one to report,
                    // typically a certificate that does not verify, rather than falling back
                    // and failing every later request with a bare 400.
                    Ok(resp) if resp.status() == StatusCode::BAD_REQUEST => {
                        return Err(RegistryError::Connect {
                            registry: self.registry.clone(),
                            source: e,
                        });
                    }
                    Ok(_) => {
                        tracing::debug!(
                            "`{}` does not speak HTTPS ({e}); using plain HTTP",
                            self.registry
                        );
                        http
                    }
                    Err(source) => {
                        return Err(RegistryError::Connect {
                            registry: self.registry.clone(),
                            source,
                        });
                    }
                }
            }
            Err(source) => {
                return Err(RegistryError::Connect {
                    registry: self.registry.clone(),
                    source,
                });
            }
        };
        self.state().base = Some(base.clone());
        Ok(base)
    }

    fn current_auth(&self) -> Option<HeaderValue> {
        let state = self.state();
        let (value, expires) = state.auth.as_ref()?;
        match expires {
            Some(t) if Instant::now() >= *t => None,
            _ => Some(value.clone()),
        }
    }

    fn basic_header(c: &Credentials) -> Option<HeaderValue> {
        let raw = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", c.username, c.password));
        HeaderValue::from_str(&format!("Basic {raw}")).ok()
    }

    fn unauthorized(&self, access: Access, detail: impl Into<String>) -> RegistryError {
        RegistryError::Unauthorized {
            registry: self.registry.clone(),
            repository: match access {
                Access::Pull => self.repository.clone(),
                Access::Catalog => "_catalog".to_owned(),
            },
            // Naming the user tells a rejected login from a missing one, and the user
            // which credentials (flags or an auth file) were tried.
            user: self.credentials.as_ref().map(|c| c.username.clone()),
            detail: detail.into(),
        }
    }

    /// Answer a 401 challenge: Basic with our credentials, or a bearer token.
    fn authenticate(&self, header: Option<&str>, access: Access) -> Result<(), RegistryError> {
        let challenge = header.and_then(Challenge::parse).ok_or_else(|| {
            self.unauthorized(access, "401 without a usable WWW-Authenticate challenge")
        })?;
        let (value, expires) = match challenge {
            Challenge::Basic => {
                let c = self
                    .credentials
                    .as_ref()
                    .ok_or_else(|| self.unauthorized(access, "credentials required"))?;
                (
                    Self::basic_header(c).ok_or_else(|| {
                        self.unauthorized(access, "credentials are not valid header text")
                    })?,
                    None,
                )
            }
            Challenge::Bearer {
                realm,
                service,
                scope,
            } => self.fetch_token(&realm, service.as_deref(), scope.as_deref(), access)?,
        };
        self.state().auth = Some((value, expires));
        Ok(())
    }

    fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: Option<&str>,
        access: Access,
    ) -> Result<(HeaderValue, Option<Instant>), RegistryError> {
        #[derive(Deserialize)]
        struct TokenReply {
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
            #[serde(default)]
            expires_in: Option<u64>,
        }
        let token_err = |reason: String| RegistryError::Token {
            realm: realm.to_owned(),
            reason,
        };
        let url = reqwest::Url::parse(realm)
            .map_err(|e| token_err(format!("realm is not a URL ({e})")))?;
        let plain_http = url.scheme() == "http";
        if url.scheme() != "https" && !plain_http {
            return Err(token_err("realm is neither https nor http".into()));
        }
        // The scope the challenge names wins; without one, the scope this request needs.
        let default_scope = match access {
            Access::Pull => format!("repository:{}:pull", self.repository),
            Access::Catalog => "registry:catalog:*".to_owned(),
        };
        let mut query: Vec<(&str, &str)> = vec![("scope", scope.unwrap_or(&default_scope))];
        if let Some(s) = service {
            query.push(("service", s));
        }
        let mut req = self
            .http
            .get(url)
            .query(&query)
            .timeout(Duration::from_secs(30));
        // Credentials go to a plain-HTTP token server only where plain HTTP is allowed.
        if let Some(c) = &self.credentials
            && (!plain_http || self.allow_http)
        {
            req = req.basic_auth(&c.username, Some(&c.password));
        }
        let resp = self.send_with_retries(|| req.try_clone(), "a token")?;
        match resp.status() {
            s if s.is_success() => {}
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(
                    self.unauthorized(access, format!("token server said {}", resp.status()))
                );
            }
            s => return Err(token_err(format!("status {s}"))),
        }
        let reply: TokenReply = resp
            .json()
            .map_err(|e| token_err(format!("reply is not a token ({e})")))?;
        let token = reply
            .token
            .or(reply.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| token_err("reply has no token".into()))?;
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| token_err("token is not valid header text".into()))?;
        // Renew a little before the server's expiry; 60 s is the protocol's default lifetime.
        let lifetime = Duration::from_secs(reply.expires_in.unwrap_or(60).saturating_sub(5).max(1));
        Ok((value, Some(Instant::now() + lifetime)))
    }

    /// Send, retrying connection errors, 429 and 5xx with exponential backoff.
    fn send_with_retries(
        &self,
        build: impl Fn() -> Option<RequestBuilder>,
        what: &str,
    ) -> Result<Response, RegistryError> {
        let mut attempt = 0;
        loop {
            let req = build().ok_or_else(|| RegistryError::Status {
                registry: self.registry.clone(),
                what: what.to_owned(),
                status: 0,
                message: "request could not be rebuilt for a retry".into(),
            })?;
            let backoff = Duration::from_millis(250 << attempt.min(6));
            match req.send() {
                Err(source) => {
                    if attempt >= self.retries
                        || !(source.is_connect() || source.is_timeout() || source.is_request())
                    {
                        return Err(RegistryError::Connect {
                            registry: self.registry.clone(),
                            source,
                        });
                    }
                    tracing::debug!(
                        "retrying {what} from `{}` after error: {source}",
                        self.registry
                    );
                    std::thread::sleep(backoff);
                }
                Ok(resp) => {
                    let s = resp.status();
                    let retryable = s == StatusCode::TOO_MANY_REQUESTS
                        || matches!(s.as_u16(), 500 | 502 | 503 | 504);
                    if !retryable || attempt >= self.retries {
                        return Ok(resp);
                    }
                    let wait = resp
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map_or(backoff, |secs| Duration::from_secs(secs.min(30)));
                    tracing::debug!("retrying {what} from `{}` after status {s}", self.registry);
                    std::thread::sleep(wait);
                }
            }
            attempt += 1;
        }
    }

    /// GET `path` (below `/v2/NAME/`), authenticating on a 401 challenge.
    fn get(
        &self,
        path: &str,
        accept: &[&str],
        range_from: u64,
        what: &str,
    ) -> Result<Response, RegistryError> {
        if self.repository.is_empty() {
            return Err(RegistryError::NoRepository {
                registry: self.registry.clone(),
            });
        }
        let url = format!("{}/v2/{}/{path}", self.base()?, self.repository);
        self.get_url(&url, accept, range_from, what, Access::Pull)
    }

    /// GET `url` (on this registry), authenticating on a 401 challenge for `access`.
    pub(super) fn get_url(
        &self,
        url: &str,
        accept: &[&str],
        range_from: u64,
        what: &str,
        access: Access,
    ) -> Result<Response, RegistryError> {
        let build = || {
            let mut req = self.http.get(url);
            if let Some(a) = self.current_auth() {
                req = req.header(AUTHORIZATION, a);
            }
            if !accept.is_empty() {
                req = req.header(ACCEPT, accept.join(", "));
            }
            if range_from > 0 {
                req = req.header(RANGE, format!("bytes={range_from}-"));
            }
            Some(req)
        };
        let mut resp = self.send_with_retries(build, what)?;
        if resp.status() == StatusCode::UNAUTHORIZED {
            let challenge = resp
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            self.authenticate(challenge.as_deref(), access)?;
            resp = self.send_with_retries(build, what)?;
        }
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let message = error_message(resp);
        Err(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => self.unauthorized(access, message),
            StatusCode::NOT_FOUND => RegistryError::NotFound {
                registry: self.registry.clone(),
                what: what.to_owned(),
                message,
            },
            s => RegistryError::Status {
                registry: self.registry.clone(),
                what: what.to_owned(),
                status: s.as_u16(),
                message,
            },
        })
    }

    /// Read a whole response body of at most [`MAX_DOCUMENT_BYTES`].
    pub(super) fn read_small(&self, resp: Response, what: &str) -> Result<Vec<u8>, ImageError> {
        let mut buf = Vec::new();
        resp.take(MAX_DOCUMENT_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(|source| RegistryError::Read {
                registry: self.registry.clone(),
                what: what.to_owned(),
                source,
            })?;
        if buf.len() as u64 > MAX_DOCUMENT_BYTES {
            return Err(ImageError::TooLarge {
                image: self.reference_name(),
                what: what.to_owned(),
                limit: MAX_DOCUMENT_BYTES,
            });
        }
        Ok(buf)
    }

    /// Fetch a manifest or index by tag or digest; returns its bytes and digest.
    pub fn manifest(&self, reference: &str) -> Result<(Vec<u8>, Digest), ImageError> {
        let what = format!("manifest `{}:{reference}`", self.repository);
        let mut accept = MANIFEST_ACCEPT.to_vec();
        // Asked for last, so a registry answers with schema 1 only when that is all it has,
        // and the user gets our clear refusal instead of a 404.
        accept.extend(DOCKER_SCHEMA1);
        let resp = self.get(&format!("manifests/{reference}"), &accept, 0, &what)?;
        let header_digest = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<Digest>().ok());
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().trim().to_owned());
        let bytes = self.read_small(resp, &what)?;
        // Schema 1 is refused here, before the digest check: its digest covers the payload
        // without the JWS signatures a registry adds (signing anew) when serving it, so the
        // served bytes never hash to `Docker-Content-Digest`, and the check would report a
        // misleading digest mismatch instead of this refusal.
        if content_type
            .as_deref()
            .is_some_and(|t| DOCKER_SCHEMA1.contains(&t))
            || matches!(AnyManifest::parse(&bytes), Err(ManifestError::Schema1))
        {
            return Err(ImageError::Manifest {
                image: self.reference_name(),
                digest: header_digest.map_or_else(|| reference.to_owned(), |d| d.to_string()),
                source: ManifestError::Schema1,
            });
        }
        let digest = match header_digest {
            Some(d) => {
                crate::verify_bytes(&bytes, &d, &self.reference_name())?;
                d
            }
            None => Digest::sha256_of(&bytes),
        };
        Ok((bytes, digest))
    }

    /// Fetch a small blob (a config) whole. The caller verifies it.
    pub fn small_blob(&self, digest: &Digest) -> Result<Vec<u8>, ImageError> {
        let what = format!("blob {digest}");
        let resp = self.get(&format!("blobs/{digest}"), &[], 0, &what)?;
        self.read_small(resp, &what)
    }

    /// A stream over a blob that resumes with a `Range` request if the connection drops.
    pub fn blob_stream(
        self: &std::sync::Arc<Self>,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<BlobStream, ImageError> {
        let what = format!("blob {digest}");
        let resp = self.get(&format!("blobs/{digest}"), &[], 0, &what)?;
        Ok(BlobStream {
            client: std::sync::Arc::clone(self),
            digest: digest.clone(),
            size,
            offset: 0,
            response: Some(resp),
            resumes_left: self.retries,
        })
    }
}

/// The `errors[0].message` of a Distribution error body, or the status text.
fn error_message(resp: Response) -> String {
    #[derive(Deserialize)]
    struct Body {
        errors: Vec<Item>,
    }
    #[derive(Deserialize)]
    struct Item {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    let status = resp.status();
    let mut text = Vec::new();
    let _ = resp.take(64 << 10).read_to_end(&mut text);
    match serde_json::from_slice::<Body>(&text) {
        Ok(b) if !b.errors.is_empty() => b
            .errors
            .iter()
            .map(|e| format!("{} {}", e.code, e.message).trim().to_owned())
            .collect::<Vec<_>>()
            .join("; "),
        _ => status.canonical_reason().unwrap_or("error").to_lowercase(),
    }
}

/// A blob download as a `Read`, resuming where it stopped after a connection error.
pub struct BlobStream {
    client: std::sync::Arc<RegistryClient>,
    digest: Digest,
    size: Option<u64>,
    offset: u64,
    response: Option<Response>,
    resumes_left: u32,
}

impl BlobStream {
    fn reopen(&mut self) -> io::Result<()> {
        let what = format!("blob {}", self.digest);
        let resp = self
            .client
            .get(&format!("blobs/{}", self.digest), &[], self.offset, &what)
            .map_err(io::Error::other)?;
        let mut resp = resp;
        if resp.status() != StatusCode::PARTIAL_CONTENT && self.offset > 0 {
            // The server ignored the range: skip what we already delivered.
            io::copy(&mut (&mut resp).take(self.offset), &mut io::sink())?;
        }
        self.response = Some(resp);
        Ok(())
    }
}

impl Read for BlobStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.response.is_none() {
                self.reopen()?;
            }
            let Some(resp) = self.response.as_mut() else {
                return Err(io::Error::other("blob stream has no response"));
            };
            match resp.read(buf) {
                Ok(0) if self.size.is_some_and(|s| self.offset < s) && self.resumes_left > 0 => {
                    // Early end of body: the connection closed before the whole blob came.
                    self.resumes_left -= 1;
                    self.response = None;
                }
                Ok(n) => {
                    self.offset += n as u64;
                    return Ok(n);
                }
                Err(e) if self.resumes_left > 0 && e.kind() != io::ErrorKind::InvalidData => {
                    tracing::debug!(
                        "resuming {} at byte {} after: {e}",
                        self.digest,
                        self.offset
                    );
                    self.resumes_left -= 1;
                    self.response = None;
                    std::thread::sleep(Duration::from_millis(250));
                }
                Err(e) => return Err(e),
            }
        }
    }
}
