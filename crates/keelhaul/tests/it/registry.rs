//! Registry sources against a real `docker-registry` (CNCF distribution) process: anonymous,
//! Basic and bearer-token auth, credentials from `~/.docker/config.json`, plain HTTP for
//! loopback only, OCI and Docker schema-2 manifests and indexes, platform selection,
//! digest verification of every document and blob, retries on 429/5xx, and the refusal of
//! schema 1.
//!
//! Retries are exercised through a small TCP proxy in front of the registry that answers
//! some requests itself (503, 429) and forwards the rest unchanged; it is also how the tests
//! see which requests (and TLS handshakes) a scan makes.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keelhaul_core::Digest;
use keelhaul_test::builder::{self, Built, Compression, Image, Layer};
use keelhaul_test::registry::{self, Auth, Registry};
use keelhaul_test::{Run, have, keelhaul, require, tools, which};
use serde_json::{Value, json};

const OS_RELEASE: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nID=debian\n";
const USER: &str = "alice";
const PASSWORD: &str = "s3cret-pw";

fn dpkg_status(arch: &str, packages: &[&str]) -> String {
    packages
        .iter()
        .map(|p| {
            format!("Package: {p}\nStatus: install ok installed\nArchitecture: {arch}\nVersion: 1.0-1\n\n")
        })
        .collect()
}

/// A small Debian-like image: an os-release layer (with a marker file, so images built
/// with different markers share no blob) and a dpkg database layer.
fn debian_image(marker: &str, arch: &str, variant: Option<&str>, packages: &[&str]) -> Image {
    Image::new()
        .platform("linux", arch, variant)
        .layer(
            Layer::new()
                .file("etc/os-release", OS_RELEASE)
                .file("etc/keelhaul-marker", marker)
                .created_by("COPY os-release /etc/"),
        )
        .layer(
            Layer::new()
                .file("var/lib/dpkg/status", dpkg_status(arch, packages))
                .created_by("RUN apt-get install"),
        )
}

/// Write `image` as an OCI layout and push it to `repo_tag`.
fn push_image(reg: &Registry, work: &Path, image: &Image, repo_tag: &str) -> Built {
    let layout = work.join(repo_tag.replace(['/', ':'], "_"));
    let built = image.write_oci_layout(&layout, "t");
    reg.push(&format!("oci:{}:t", layout.display()), repo_tag, false);
    built
}

/// The credentials skopeo needs for `reg`.
fn creds_of(reg: &Registry) -> Vec<String> {
    match &reg.auth {
        Auth::None => Vec::new(),
        Auth::Basic { user, password } | Auth::Token { user, password } => {
            vec!["--dest-creds".into(), format!("{user}:{password}")]
        }
    }
}

/// Copy to the registry with skopeo, converting to Docker schema 2 (a manifest list for
/// an index with `all`).
fn push_docker_v2s2(reg: &Registry, src: &str, repo_tag: &str, all: bool) {
    let mut extra = creds_of(reg);
    extra.extend(["--format".to_owned(), "v2s2".to_owned()]);
    if all {
        extra.push("--all".into());
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    tools::skopeo_copy(src, &format!("docker://{}/{repo_tag}", reg.addr), &extra);
}

/// `keelhaul scan TARGET --format json --no-cache EXTRA…`.
fn scan(sandbox: &Path, target: &str, extra: &[&str]) -> Run {
    let mut args = vec!["scan", target, "--format", "json", "--no-cache"];
    args.extend_from_slice(extra);
    keelhaul(sandbox, &args)
}

fn names(report: &Value) -> BTreeSet<String> {
    report["packages"]
        .as_array()
        .unwrap_or_else(|| panic!("no packages in {report}"))
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// Assert a failed run: exit status 1 and every `needle` on stderr.
fn assert_fails_with(run: &Run, needles: &[&str]) {
    assert_eq!(
        run.status.code(),
        Some(1),
        "expected failure:\nstdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    assert!(run.stderr.contains("error:"), "{}", run.stderr);
    for n in needles {
        assert!(
            run.stderr.contains(n),
            "stderr lacks `{n}`:\n{}",
            run.stderr
        );
    }
}

/// Standard base64 (for a Docker `config.json` `auth` entry).
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn write_docker_config(sandbox: &Path, registry: &str, user: &str, password: &str) {
    let dir = sandbox.join("home/.docker");
    std::fs::create_dir_all(&dir).unwrap();
    let config =
        json!({"auths": {registry: {"auth": base64(format!("{user}:{password}").as_bytes())}}});
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
}

// ---------------------------------------------------------------------------------------
// A tiny HTTP/1.1 proxy: one request per connection, canned answers by plan.

/// One thing the proxy saw.
#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    /// `METHOD PATH`, or `TLS` for a TLS handshake (refused: the proxy speaks plain HTTP).
    request: String,
    /// The request's `Range` header.
    range: Option<String>,
    /// The status the proxy answered itself; `None` when it forwarded the request.
    canned: Option<u16>,
}

/// What the proxy does with a request other than forwarding it.
enum Canned {
    /// Answer it with this status and headers, and an empty body.
    Answer(u16, Vec<(&'static str, String)>),
    /// Forward it, but cut the connection after this many bytes of the response body.
    Truncate(usize),
}

impl Canned {
    fn status(status: u16) -> Option<Canned> {
        Some(Canned::Answer(status, Vec::new()))
    }
}

/// Decides, from `METHOD PATH` and how many times that request was seen before, whether
/// to answer it with a canned response.
type Plan = dyn Fn(&str, usize) -> Option<Canned> + Send + Sync;

struct Proxy {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    fn start(
        bind: IpAddr,
        upstream: &str,
        plan: impl Fn(&str, usize) -> Option<Canned> + Send + Sync + 'static,
    ) -> Proxy {
        let listener = TcpListener::bind((bind, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let plan: Arc<Plan> = Arc::new(plan);
        let upstream = upstream.to_owned();
        let (seen2, stop2) = (Arc::clone(&seen), Arc::clone(&stop));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (seen, plan, upstream) =
                    (Arc::clone(&seen2), Arc::clone(&plan), upstream.clone());
                std::thread::spawn(move || {
                    let _ = proxy_one(conn, &upstream, &*plan, &seen);
                });
            }
        });
        Proxy { addr, seen, stop }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// What was seen for requests whose `METHOD PATH` ends with `suffix`.
    fn requests_ending(&self, suffix: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.request.ends_with(suffix))
            .collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn read_head(conn: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if conn.read(&mut byte)? == 0 || head.len() > 64 << 10 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    Ok(head)
}

fn proxy_one(
    mut client: TcpStream,
    upstream: &str,
    plan: &Plan,
    seen: &Mutex<Vec<Seen>>,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut first = [0u8; 1];
    if client.peek(&mut first)? == 0 {
        return Ok(());
    }
    if first[0] == 0x16 {
        // A TLS ClientHello. Close the connection, as a plain-HTTP server effectively does.
        seen.lock().unwrap().push(Seen {
            at: Instant::now(),
            request: "TLS".into(),
            range: None,
            canned: None,
        });
        return Ok(());
    }
    let head = read_head(&mut client)?;
    let head = String::from_utf8_lossy(&head).into_owned();
    let request: String = head
        .lines()
        .next()
        .unwrap_or_default()
        .split(' ')
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    let range = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("range"))
        })
        .map(|(_, v)| v.trim().to_owned());
    let canned = {
        let mut seen = seen.lock().unwrap();
        let earlier = seen.iter().filter(|s| s.request == request).count();
        let canned = plan(&request, earlier);
        seen.push(Seen {
            at: Instant::now(),
            request: request.clone(),
            range,
            canned: match &canned {
                Some(Canned::Answer(status, _)) => Some(*status),
                _ => None,
            },
        });
        canned
    };
    let truncate = match canned {
        Some(Canned::Answer(status, headers)) => {
            let reason = match status {
                429 => "Too Many Requests",
                503 => "Service Unavailable",
                _ => "Error",
            };
            let mut resp =
                format!("HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n");
            for (k, v) in &headers {
                resp.push_str(&format!("{k}: {v}\r\n"));
            }
            resp.push_str("\r\n");
            return client.write_all(resp.as_bytes());
        }
        Some(Canned::Truncate(n)) => Some(n),
        None => None,
    };
    // Forward with `Connection: close`, so the client opens a new connection (and the
    // proxy sees a new request) for every request it makes.
    let mut up = TcpStream::connect(upstream)?;
    let mut forwarded = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            forwarded.push_str(line);
            forwarded.push_str("\r\n");
        }
    }
    forwarded.push_str("Connection: close\r\n\r\n");
    up.write_all(forwarded.as_bytes())?;
    match truncate {
        None => {
            std::io::copy(&mut up, &mut client)?;
        }
        Some(n) => {
            let mut resp = Vec::new();
            up.read_to_end(&mut resp)?;
            let body = resp
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map_or(resp.len(), |i| i + 4);
            client.write_all(&resp[..(body + n).min(resp.len())])?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------

#[test]
fn anonymous_registry_over_loopback_http_by_tag_and_digest_oci_and_docker_v2s2() {
    require!(
        registry::available(&Auth::None),
        "docker-registry and skopeo (apt: docker-registry skopeo)"
    );
    let reg = Registry::start(Auth::None);
    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();
    let image = debian_image("anon", "amd64", None, &["base-files", "zlib1g"]);
    let built = push_image(&reg, s, &image, "team/app:1.0");
    let layout = s.join("team_app_1.0");
    push_docker_v2s2(
        &reg,
        &format!("oci:{}:t", layout.display()),
        "team/app:v2s2",
        false,
    );

    // No `--insecure`: a loopback registry may fall back to plain HTTP.
    let target = format!("registry:{}/team/app:1.0", reg.addr);
    let report = scan(s, &target, &[]).success().json();
    assert_eq!(names(&report), set(&["base-files", "zlib1g"]));
    assert_eq!(report["target"], target.as_str());
    assert_eq!(report["os"]["family"], "debian");
    assert_eq!(report["complete"], true);
    assert_eq!(
        report["image"]["manifest_digest"],
        built.manifest_digest.to_string()
    );
    assert_eq!(
        report["image"]["config_digest"],
        built.config_digest.to_string()
    );
    assert_eq!(
        report["image"]["repo_tags"],
        json!([format!("{}/team/app:1.0", reg.addr)])
    );
    let layers = report["image"]["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    for (l, (_, diff_id, digest, _)) in layers.iter().zip(&built.layers) {
        assert_eq!(l["digest"], digest.to_string());
        assert_eq!(l["diff_id"], diff_id.to_string());
    }
    assert_eq!(layers[1]["created_by"], "RUN apt-get install");

    // By digest: the same image, no tag.
    let by_digest = format!("registry:{}/team/app@{}", reg.addr, built.manifest_digest);
    let pinned = scan(s, &by_digest, &[]).success().json();
    assert_eq!(names(&pinned), set(&["base-files", "zlib1g"]));
    assert_eq!(
        pinned["image"]["manifest_digest"],
        built.manifest_digest.to_string()
    );
    assert_eq!(pinned["image"]["repo_tags"], json!([]));

    // A digest that is not in the registry: a not-found error naming it.
    let absent = Digest::sha256_of(b"no such manifest");
    let missing = scan(s, &format!("registry:{}/team/app@{absent}", reg.addr), &[]);
    assert_fails_with(&missing, &["not found", &reg.addr, absent.as_str()]);

    // The same image converted to a Docker schema-2 manifest: a different manifest (and
    // config media type), the same content.
    let docker = scan(s, &format!("registry:{}/team/app:v2s2", reg.addr), &[])
        .success()
        .json();
    assert_eq!(names(&docker), set(&["base-files", "zlib1g"]));
    assert_ne!(
        docker["image"]["manifest_digest"],
        report["image"]["manifest_digest"]
    );
    assert_eq!(docker["image"]["layers"].as_array().unwrap().len(), 2);
    assert_eq!(docker["platform"]["architecture"], "amd64");
}

#[test]
fn basic_auth_with_flags_config_json_and_clear_refusals() {
    let auth = Auth::Basic {
        user: USER.into(),
        password: PASSWORD.into(),
    };
    require!(
        registry::available(&auth),
        "docker-registry, skopeo and htpasswd (apt: docker-registry skopeo apache2-utils)"
    );
    let reg = Registry::start(auth);
    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();
    push_image(
        &reg,
        s,
        &debian_image("basic", "amd64", None, &["libc6", "bash"]),
        "team/app:1.0",
    );
    let target = format!("registry:{}/team/app:1.0", reg.addr);
    let want = set(&["libc6", "bash"]);

    // No credentials anywhere: refused, naming the registry, with a hint on how to log in.
    let anonymous = scan(s, &target, &[]);
    assert_fails_with(
        &anonymous,
        &[
            &format!("Registry `{}` refused access to `team/app`", reg.addr),
            "hint:",
            &format!("docker login {}", reg.addr),
            "--username",
        ],
    );

    let with_flags = scan(s, &target, &["--username", USER, "--password", PASSWORD])
        .success()
        .json();
    assert_eq!(names(&with_flags), want);

    // A wrong password: refused, saying as whom, without echoing the password.
    let wrong = scan(s, &target, &["--username", USER, "--password", "wrong-pw"]);
    assert_fails_with(
        &wrong,
        &[
            &format!("Registry `{}` refused access to `team/app`", reg.addr),
            &format!("`{USER}`"),
            "hint:",
        ],
    );
    assert!(!wrong.stderr.contains("wrong-pw"), "{}", wrong.stderr);

    // Credentials from $HOME/.docker/config.json (`auths`, base64 `user:password`).
    write_docker_config(s, &reg.addr, USER, PASSWORD);
    let from_config = scan(s, &target, &[]).success().json();
    assert_eq!(names(&from_config), want);

    // Flags take precedence over the auth file: a wrong file entry is overridden ...
    write_docker_config(s, &reg.addr, USER, "stale-pw");
    assert_fails_with(&scan(s, &target, &[]), &["refused access"]);
    let overridden = scan(s, &target, &["--username", USER, "--password", PASSWORD])
        .success()
        .json();
    assert_eq!(names(&overridden), want);
    // ... and an entry for another registry is not used.
    write_docker_config(s, "127.0.0.1:1", USER, PASSWORD);
    assert_fails_with(&scan(s, &target, &[]), &["refused access"]);
}

/// Token lines logged since `before`, parsed.
fn token_requests_since(reg: &Registry, before: usize) -> Vec<Value> {
    reg.token_requests()
        .iter()
        .skip(before)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn bearer_token_auth_requests_the_pull_scope_once_per_scan() {
    let auth = Auth::Token {
        user: USER.into(),
        password: PASSWORD.into(),
    };
    require!(
        registry::available(&auth),
        "docker-registry, skopeo and python3 with `cryptography` (apt: docker-registry skopeo python3-cryptography)"
    );
    let reg = Registry::start(auth);
    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();
    // Four layers, so the scan makes six authenticated requests (manifest, config, 4 blobs).
    let image = debian_image("token", "amd64", None, &["openssl", "ca-certificates"])
        .layer(Layer::new().file("etc/motd", "hello\n"))
        .layer(
            Layer::new()
                .compression(Compression::Zstd)
                .file("etc/issue", "Debian\n"),
        );
    push_image(&reg, s, &image, "team/app:1.0");
    let multi = s.join("multi");
    builder::write_multi_platform_layout(
        &multi,
        &[
            debian_image("token-amd64", "amd64", None, &["only-amd64"]),
            debian_image("token-arm64", "arm64", Some("v8"), &["only-arm64"]),
        ],
        "t",
    );
    reg.push(&format!("oci:{}:t", multi.display()), "team/multi:1", true);
    let creds = ["--username", USER, "--password", PASSWORD];

    let before = reg.token_requests().len();
    let target = format!("registry:{}/team/app:1.0", reg.addr);
    let report = scan(s, &target, &creds).success().json();
    assert_eq!(names(&report), set(&["openssl", "ca-certificates"]));
    assert_eq!(report["image"]["layers"].as_array().unwrap().len(), 4);
    let tokens = token_requests_since(&reg, before);
    assert_eq!(
        tokens.len(),
        1,
        "one token serves the whole scan (it is cached): {tokens:?}"
    );
    assert_eq!(tokens[0]["scope"], json!(["repository:team/app:pull"]));
    assert_eq!(tokens[0]["authorized"], true);

    // Both platforms of an index (two manifests, two configs, four blobs): still one token,
    // for that repository's scope.
    let before = reg.token_requests().len();
    let all = scan(
        s,
        &format!("registry:{}/team/multi:1", reg.addr),
        &[
            "--platform",
            "all",
            "--username",
            USER,
            "--password",
            PASSWORD,
        ],
    )
    .success()
    .json();
    assert_eq!(all["platforms"].as_array().unwrap().len(), 2);
    let tokens = token_requests_since(&reg, before);
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert_eq!(tokens[0]["scope"], json!(["repository:team/multi:pull"]));

    // Anonymous: the token server hands out a token without access; the registry refuses.
    let before = reg.token_requests().len();
    let anonymous = scan(s, &target, &[]);
    assert_fails_with(
        &anonymous,
        &[
            &format!("Registry `{}` refused access to `team/app`", reg.addr),
            "hint:",
            "docker login",
        ],
    );
    let tokens = token_requests_since(&reg, before);
    assert!(
        !tokens.is_empty() && tokens.iter().all(|t| t["authorized"] == false),
        "{tokens:?}"
    );

    // A wrong password: the token server refuses it; the error says so.
    let wrong = scan(s, &target, &["--username", USER, "--password", "wrong-pw"]);
    assert_fails_with(
        &wrong,
        &[
            &format!("Registry `{}` refused access to `team/app`", reg.addr),
            "token server",
            &format!("`{USER}`"),
        ],
    );
}

#[test]
fn multi_platform_indexes_and_manifest_lists_select_platforms() {
    require!(
        registry::available(&Auth::None),
        "docker-registry and skopeo (apt: docker-registry skopeo)"
    );
    let reg = Registry::start(Auth::None);
    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();
    let layout = s.join("multi");
    let index_digest = builder::write_multi_platform_layout(
        &layout,
        &[
            debian_image("multi-amd64", "amd64", None, &["libc6", "only-amd64"]),
            debian_image("multi-arm64", "arm64", Some("v8"), &["libc6", "only-arm64"]),
        ],
        "t",
    );
    let src = format!("oci:{}:t", layout.display());
    reg.push(&src, "team/multi:1", true);
    // The same index as a Docker manifest list.
    push_docker_v2s2(&reg, &src, "team/multi:list", true);

    let amd64 = set(&["libc6", "only-amd64"]);
    let arm64 = set(&["libc6", "only-arm64"]);
    for tag in ["1", "list"] {
        let target = format!("registry:{}/team/multi:{tag}", reg.addr);

        // Default: the host's platform.
        let host = scan(s, &target, &[]);
        match std::env::consts::ARCH {
            "x86_64" => {
                let r = host.success().json();
                assert_eq!(names(&r), amd64, "{tag}");
                assert_eq!(
                    r["platform"],
                    json!({"os": "linux", "architecture": "amd64"})
                );
                assert!(r["image"]["index_digest"].is_string(), "{tag}: {r}");
            }
            "aarch64" => assert_eq!(names(&host.success().json()), arm64, "{tag}"),
            _ => {}
        }
        if tag == "1" {
            // The OCI index is pushed unchanged.
            let r = scan(s, &target, &["--platform", "linux/amd64"])
                .success()
                .json();
            assert_eq!(r["image"]["index_digest"], index_digest.to_string());
        }

        // `linux/arm64` matches the `linux/arm64/v8` entry.
        for platform in ["linux/arm64", "linux/arm64/v8"] {
            let r = scan(s, &target, &["--platform", platform]).success().json();
            assert_eq!(names(&r), arm64, "{tag} {platform}");
            assert_eq!(
                r["platform"],
                json!({"os": "linux", "architecture": "arm64", "variant": "v8"}),
                "{tag} {platform}"
            );
        }

        // A platform the index does not have: the error lists the ones it has.
        let s390x = scan(s, &target, &["--platform", "linux/s390x"]);
        assert_fails_with(
            &s390x,
            &[
                "No `linux/s390x` image",
                &reg.addr,
                "linux/amd64, linux/arm64/v8",
                "hint:",
                "--platform all",
            ],
        );

        // `all`: one report per platform, each saying which.
        let all = scan(s, &target, &["--platform", "all"]).success().json();
        assert_eq!(all["target"], target.as_str());
        let platforms = all["platforms"].as_array().unwrap();
        assert_eq!(platforms.len(), 2, "{tag}: {all}");
        let by_arch: Vec<(String, BTreeSet<String>)> = platforms
            .iter()
            .map(|r| {
                (
                    r["platform"]["architecture"].as_str().unwrap().to_owned(),
                    names(r),
                )
            })
            .collect();
        assert_eq!(
            by_arch,
            vec![
                ("amd64".to_owned(), amd64.clone()),
                ("arm64".to_owned(), arm64.clone())
            ],
            "{tag}"
        );
        for r in platforms {
            assert_eq!(r["target"], target.as_str());
            assert_eq!(r["complete"], true);
            assert_eq!(
                r["image"]["index_digest"],
                platforms[0]["image"]["index_digest"]
            );
        }
        assert_ne!(
            platforms[0]["image"]["manifest_digest"],
            platforms[1]["image"]["manifest_digest"]
        );
    }
}

/// The digest and content of the manifest the registry stores for `repo:tag`, read from
/// its storage (skopeo may have recompressed layers on the way in).
fn stored_manifest(reg: &Registry, repo: &str, tag: &str) -> (Digest, Value) {
    let link = reg.dir().join(format!(
        "data/docker/registry/v2/repositories/{repo}/_manifests/tags/{tag}/current/link"
    ));
    let digest: Digest = std::fs::read_to_string(link)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let bytes = std::fs::read(reg.blob_path(digest.hex())).unwrap();
    (digest, serde_json::from_slice(&bytes).unwrap())
}

fn digest_at(v: &Value) -> Digest {
    v["digest"].as_str().unwrap().parse().unwrap()
}

/// Flip bytes of a stored blob in place, keeping its size.
fn corrupt_blob(reg: &Registry, digest: &Digest, edit: impl FnOnce(&mut Vec<u8>)) {
    let path = reg.blob_path(digest.hex());
    let mut bytes = std::fs::read(&path).unwrap();
    let len = bytes.len();
    edit(&mut bytes);
    assert_eq!(bytes.len(), len);
    assert_ne!(
        &Digest::sha256_of(&bytes),
        digest,
        "the edit changed nothing"
    );
    std::fs::write(&path, bytes).unwrap();
}

fn replace_once(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .unwrap_or_else(|| panic!("`{}` not found", String::from_utf8_lossy(from)));
    bytes[at..at + to.len()].copy_from_slice(to);
}

#[test]
fn corrupt_blobs_manifests_and_configs_are_caught_by_their_digests() {
    require!(
        registry::available(&Auth::None),
        "docker-registry and skopeo (apt: docker-registry skopeo)"
    );
    let reg = Registry::start(Auth::None);
    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();

    // A layer: change its gzip header's MTIME. The decoder does not care and the layer's
    // content is intact, so only the blob digest can tell.
    let image = debian_image("layers", "amd64", None, &["pkg-layers"])
        .layer(Layer::new().file("etc/motd", "hello\n"));
    push_image(&reg, s, &image, "team/layers:1");
    let (_, manifest) = stored_manifest(&reg, "team/layers", "1");
    let layers: Vec<Digest> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(digest_at)
        .collect();
    assert_eq!(layers.len(), 3);
    corrupt_blob(&reg, &layers[1], |b| {
        assert_eq!(&b[..2], &[0x1f, 0x8b], "a gzip layer");
        b[4..8].copy_from_slice(&[1, 2, 3, 4]);
    });
    let run = scan(s, &format!("registry:{}/team/layers:1", reg.addr), &[]);
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["complete"], false);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "only the corrupt layer: {errors:?}");
    let error = errors[0].as_str().unwrap();
    assert!(
        error.starts_with("Layer 1 ") && error.contains(&format!("does not match {}", layers[1])),
        "{error}"
    );
    assert!(
        run.stderr.contains(&format!("error: {error}")),
        "{}",
        run.stderr
    );
    // The intact layers still count: the OS comes from layer 0.
    assert_eq!(report["os"]["family"], "debian");

    // Damage the deflate data itself, so the decoder fails before the end of the blob:
    // the blob's digest is still checked, and the mismatch (the cause) is what is reported.
    corrupt_blob(&reg, &layers[2], |b| {
        let middle = b.len() / 2;
        for byte in &mut b[middle..middle + 8] {
            *byte ^= 0x5a;
        }
    });
    let run = scan(s, &format!("registry:{}/team/layers:1", reg.addr), &[]);
    let report = run.json();
    let errors: Vec<&str> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("Layer 2 ")
                && e.contains(&format!("does not match {}", layers[2]))),
        "{errors:?}"
    );

    // A config blob: refused before anything is read.
    push_image(
        &reg,
        s,
        &debian_image("config", "amd64", None, &["pkg-config"]),
        "team/config:1",
    );
    let config = digest_at(&stored_manifest(&reg, "team/config", "1").1["config"]);
    corrupt_blob(&reg, &config, |b| {
        replace_once(b, b"\"amd64\"", b"\"AMD64\"");
    });
    let run = scan(s, &format!("registry:{}/team/config:1", reg.addr), &[]);
    assert_fails_with(
        &run,
        &[
            &format!("Content of {config} "),
            "does not match its digest",
            &reg.addr,
        ],
    );
    assert!(run.stdout.is_empty(), "no report for an unverified config");

    // A manifest (still valid JSON, so the registry serves it): refused by tag and by digest.
    push_image(
        &reg,
        s,
        &debian_image("manifest", "amd64", None, &["pkg-manifest"]),
        "team/manifest:1",
    );
    let (manifest_digest, manifest) = stored_manifest(&reg, "team/manifest", "1");
    let config_hex = digest_at(&manifest["config"]).hex().to_owned();
    let flipped: String = config_hex
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 0 {
                if c == '0' { '1' } else { '0' }
            } else {
                c
            }
        })
        .collect();
    corrupt_blob(&reg, &manifest_digest, |b| {
        replace_once(b, config_hex.as_bytes(), flipped.as_bytes());
    });
    for reference in [":1".to_owned(), format!("@{manifest_digest}")] {
        let run = scan(
            s,
            &format!("registry:{}/team/manifest{reference}", reg.addr),
            &[],
        );
        assert_fails_with(
            &run,
            &[
                &format!("Content of {manifest_digest} "),
                "does not match its digest",
                &reg.addr,
            ],
        );
    }
}

/// Plain-HTTP requests (not TLS) the proxy saw below `/v2/team/`.
fn repo_requests(proxy: &Proxy) -> Vec<Seen> {
    proxy
        .seen()
        .into_iter()
        .filter(|s| s.request.starts_with("GET /v2/team/"))
        .collect()
}

#[test]
fn retries_429_and_5xx_with_backoff_then_gives_up_clearly() {
    require!(
        registry::available(&Auth::None),
        "docker-registry and skopeo (apt: docker-registry skopeo)"
    );
    let reg = Registry::start(Auth::None);
    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();
    let built = push_image(
        &reg,
        s,
        &debian_image("retry", "amd64", None, &["curl", "libcurl4"]),
        "team/app:1.0",
    );

    // The first request for every manifest and blob gets a 503; the manifest's second a
    // 429 with `Retry-After: 1`; everything else is forwarded.
    let flaky = Proxy::start(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        &reg.addr,
        |req, earlier| {
            if !req.starts_with("GET /v2/team/") {
                return None;
            }
            match earlier {
                0 => Canned::status(503),
                1 if req.contains("/manifests/") => {
                    Some(Canned::Answer(429, vec![("Retry-After", "1".into())]))
                }
                _ => None,
            }
        },
    );
    let target = format!("registry:{}/team/app:1.0", flaky.addr);
    let report = scan(s, &target, &[]).success().json();
    assert_eq!(names(&report), set(&["curl", "libcurl4"]));
    assert_eq!(report["complete"], true);

    // TLS first, even on loopback; plain HTTP only after that failed.
    assert_eq!(flaky.seen()[0].request, "TLS");
    let manifest = flaky.requests_ending("/manifests/1.0");
    let statuses: Vec<Option<u16>> = manifest.iter().map(|s| s.canned).collect();
    assert_eq!(statuses, [Some(503), Some(429), None], "{manifest:?}");
    let waited = manifest[2].at - manifest[1].at;
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After: 1 honoured, waited {waited:?}"
    );
    let mut blobs = vec![built.config_digest.clone()];
    blobs.extend(built.layers.iter().map(|l| l.2.clone()));
    for digest in &blobs {
        let seen = flaky.requests_ending(&format!("/blobs/{digest}"));
        let statuses: Vec<Option<u16>> = seen.iter().map(|s| s.canned).collect();
        assert_eq!(statuses, [Some(503), None], "{digest}: {seen:?}");
        assert!(
            seen[1].at - seen[0].at >= Duration::from_millis(200),
            "backoff"
        );
    }
    assert_eq!(repo_requests(&flaky).len(), 3 + 2 * blobs.len());

    // A registry that always answers 503: a bounded number of attempts with backoff,
    // then one clear error.
    let down = Proxy::start(IpAddr::V4(Ipv4Addr::LOCALHOST), &reg.addr, |_, _| {
        Canned::status(503)
    });
    let start = Instant::now();
    let run = scan(s, &format!("registry:{}/team/app:1.0", down.addr), &[]);
    let took = start.elapsed();
    assert_fails_with(
        &run,
        &[
            &format!("Registry `{}` answered 503", down.addr),
            "manifest `team/app:1.0`",
        ],
    );
    let attempts = down.requests_ending("/manifests/1.0");
    // RegistryOptions::default().retries is 4: one attempt and four retries.
    assert_eq!(attempts.len(), 5, "{attempts:?}");
    let spread = attempts[4].at - attempts[0].at;
    assert!(
        spread >= Duration::from_secs(3),
        "exponential backoff between attempts (250 ms doubling), got {spread:?}"
    );
    assert!(took < Duration::from_secs(30), "gave up in {took:?}");
}

#[test]
fn interrupted_blob_downloads_resume_with_range_requests() {
    require!(
        registry::available(&Auth::None),
        "docker-registry and skopeo (apt: docker-registry skopeo)"
    );
    let reg = Registry::start(Auth::None);
    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();
    push_image(
        &reg,
        s,
        &debian_image("resume", "amd64", None, &["pkg-resume"]),
        "team/app:1.0",
    );
    let (_, manifest) = stored_manifest(&reg, "team/app", "1.0");
    let dpkg_layer = digest_at(&manifest["layers"][1]);
    let path = format!("/blobs/{dpkg_layer}");
    // The connection drops after 40 bytes of the dpkg layer's first download.
    let cut = Proxy::start(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        &reg.addr,
        move |req, earlier| (req.ends_with(&path) && earlier == 0).then_some(Canned::Truncate(40)),
    );
    let report = scan(s, &format!("registry:{}/team/app:1.0", cut.addr), &[])
        .success()
        .json();
    assert_eq!(names(&report), set(&["pkg-resume"]));
    assert_eq!(report["complete"], true);
    let seen = cut.requests_ending(&format!("/blobs/{dpkg_layer}"));
    let ranges: Vec<Option<&str>> = seen.iter().map(|s| s.range.as_deref()).collect();
    assert_eq!(
        ranges,
        [None, Some("bytes=40-")],
        "resumed where the stream stopped: {seen:?}"
    );
}

#[test]
fn schema1_manifests_served_by_the_registry_are_refused_clearly() {
    require!(
        registry::available(&Auth::None),
        "docker-registry and skopeo (apt: docker-registry skopeo)"
    );
    let reg = Registry::start(Auth::None);
    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();
    let built = push_image(
        &reg,
        s,
        &debian_image("schema1", "amd64", None, &["pkg-schema1"]),
        "team/app:1.0",
    );

    // This registry refuses schema-1 pushes, but still serves schema-1 manifests it holds
    // (signing them on the way out). Store one the way it does: the unsigned payload as a
    // blob, linked as a revision and a tag of the repository.
    let layer = |i: usize| built.layers[i].2.to_string();
    let manifest = serde_json::to_vec_pretty(&json!({
        "schemaVersion": 1,
        "name": "team/app",
        "tag": "old",
        "architecture": "amd64",
        "fsLayers": [{"blobSum": layer(1)}, {"blobSum": layer(0)}],
        "history": [
            {"v1Compatibility": "{\"id\":\"b2\",\"parent\":\"b1\",\"os\":\"linux\",\"architecture\":\"amd64\"}"},
            {"v1Compatibility": "{\"id\":\"b1\"}"}
        ],
    }))
    .unwrap();
    let digest = Digest::sha256_of(&manifest);
    let blob = reg.blob_path(digest.hex());
    std::fs::create_dir_all(blob.parent().unwrap()).unwrap();
    std::fs::write(&blob, &manifest).unwrap();
    let repo = reg
        .dir()
        .join("data/docker/registry/v2/repositories/team/app/_manifests");
    for link in [
        format!("revisions/sha256/{}", digest.hex()),
        "tags/old/current".to_owned(),
        format!("tags/old/index/sha256/{}", digest.hex()),
    ] {
        std::fs::create_dir_all(repo.join(&link)).unwrap();
        std::fs::write(repo.join(link).join("link"), digest.to_string()).unwrap();
    }

    for reference in [":old".to_owned(), format!("@{digest}")] {
        let run = scan(
            s,
            &format!("registry:{}/team/app{reference}", reg.addr),
            &[],
        );
        assert_fails_with(
            &run,
            &[
                &reg.addr,
                "Docker schema 1 manifests are not supported",
                "hint:",
            ],
        );
        assert!(
            !run.stderr.contains("does not match"),
            "schema 1 is refused as such, not as a digest mismatch:\n{}",
            run.stderr
        );
    }
    // The schema-2 image beside it still scans.
    let ok = scan(s, &format!("registry:{}/team/app:1.0", reg.addr), &[])
        .success()
        .json();
    assert_eq!(names(&ok), set(&["pkg-schema1"]));
}

/// This machine's address on its default route, if it has one that is not loopback.
fn non_loopback_ip() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    // Connecting a UDP socket sends nothing; it only picks the route and source address.
    socket.connect("8.8.8.8:53").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified() && TcpListener::bind((ip, 0)).is_ok()).then_some(ip)
}

#[test]
fn non_loopback_registries_use_tls_unless_insecure() {
    require!(
        registry::available(&Auth::None),
        "docker-registry and skopeo (apt: docker-registry skopeo)"
    );
    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();

    // A name that does not resolve: the error shows the HTTPS URL tried, no plain-HTTP
    // fallback, and the hint names `--insecure`.
    let run = scan(s, "registry:localhost.invalid:5000/x:y", &[]);
    assert_fails_with(
        &run,
        &[
            "Cannot connect to registry `localhost.invalid:5000`",
            "https://localhost.invalid:5000/v2/",
            "hint:",
            "--insecure",
        ],
    );
    assert!(
        !run.stderr.contains("http://localhost.invalid"),
        "{}",
        run.stderr
    );

    // A plain-HTTP registry on a non-loopback address of this machine (the proxy in
    // front of the loopback registry): refused without `--insecure` after a TLS attempt
    // only; read over plain HTTP with it.
    let Some(ip) = non_loopback_ip() else {
        eprintln!("skipping the non-loopback part: no non-loopback address");
        return;
    };
    let reg = Registry::start(Auth::None);
    push_image(
        &reg,
        s,
        &debian_image("insecure", "amd64", None, &["pkg-insecure"]),
        "team/app:1.0",
    );
    let proxy = Proxy::start(ip, &reg.addr, |_, _| None);
    let target = format!("registry:{}/team/app:1.0", proxy.addr);
    let secure = scan(s, &target, &[]);
    assert_fails_with(
        &secure,
        &[
            &format!("Cannot connect to registry `{}`", proxy.addr),
            &format!("https://{}/v2/", proxy.addr),
            "--insecure",
        ],
    );
    let seen = proxy.seen();
    assert!(
        !seen.is_empty() && seen.iter().all(|s| s.request == "TLS"),
        "only TLS handshakes without --insecure: {seen:?}"
    );
    let insecure = scan(s, &target, &["--insecure"]).success().json();
    assert_eq!(names(&insecure), set(&["pkg-insecure"]));
    assert!(
        proxy
            .seen()
            .iter()
            .any(|s| s.request == "GET /v2/team/app/manifests/1.0"),
        "plain HTTP with --insecure"
    );
}

/// A `docker-registry` serving HTTPS on loopback with a self-signed certificate (the
/// fixture's registries speak plain HTTP); killed on drop.
struct TlsRegistry {
    child: Child,
    addr: String,
}

impl TlsRegistry {
    fn start(dir: &Path) -> TlsRegistry {
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        tools::run(
            Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                ])
                .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
                .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&cert),
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  redirect:\n    disable: true\nhttp:\n  addr: {addr}\n  tls:\n    certificate: {}\n    key: {}\n",
            dir.join("data").display(),
            cert.display(),
            key.display()
        );
        let config_path = dir.join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let mut child = Command::new(which("docker-registry").unwrap())
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while TcpStream::connect(&addr).is_err() {
            assert!(
                child.try_wait().unwrap().is_none(),
                "docker-registry (TLS) exited"
            );
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "docker-registry (TLS) did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        TlsRegistry { child, addr }
    }
}

impl Drop for TlsRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn self_signed_tls_registry_needs_insecure_even_on_loopback() {
    require!(
        registry::available(&Auth::None) && have("openssl"),
        "docker-registry, skopeo and openssl (apt: docker-registry skopeo openssl)"
    );
    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();
    let tls_dir = s.join("tls");
    std::fs::create_dir_all(&tls_dir).unwrap();
    let reg = TlsRegistry::start(&tls_dir);
    let layout = s.join("layout");
    debian_image("tls", "amd64", None, &["pkg-tls"]).write_oci_layout(&layout, "t");
    tools::skopeo_copy(
        &format!("oci:{}:t", layout.display()),
        &format!("docker://{}/team/app:1.0", reg.addr),
        &[],
    );
    let target = format!("registry:{}/team/app:1.0", reg.addr);

    // The certificate does not verify. The registry speaks TLS, so the loopback plain-HTTP
    // fallback does not apply: the TLS failure is reported, with the hint to pass
    // `--insecure`.
    let refused = scan(s, &target, &[]);
    assert_fails_with(
        &refused,
        &[
            &format!("Cannot connect to registry `{}`", reg.addr),
            &format!("https://{}/v2/", reg.addr),
            "certificate",
            "hint:",
            "--insecure",
        ],
    );
    assert!(
        !refused.stderr.contains("answered 400"),
        "{}",
        refused.stderr
    );

    // `--insecure` accepts the certificate.
    let report = scan(s, &target, &["--insecure"]).success().json();
    assert_eq!(names(&report), set(&["pkg-tls"]));
}
