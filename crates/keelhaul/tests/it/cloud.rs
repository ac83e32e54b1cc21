//! The cloud-compatible APIs through the official, unmodified Alibaba Cloud and Huawei Cloud
//! Python SDKs (from PyPI, in a venv the test creates), and the host agent against a real
//! Docker-API engine (Podman with the vfs driver, on a unix socket in a temp dir).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::*;

const SDKS: &[&str] = &[
    "alibabacloud-sas20181203==10.3.2",
    "alibabacloud-tea-openapi==0.4.6",
    "huaweicloudsdkcore==3.1.219",
    "huaweicloudsdkhss==3.1.219",
];

/// The venv's python with the SDKs, created once per target directory (and once per test
/// process: the tests that need it run in parallel threads).
fn sdk_python() -> Option<PathBuf> {
    static PYTHON: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    PYTHON.get_or_init(create_sdk_venv).clone()
}

fn create_sdk_venv() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cloud-sdk-venv");
    let python = venv.join("bin/python");
    let stamp = venv.join("keelhaul-sdks.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(&SDKS.join("\n")) {
        return Some(python);
    }
    let _ = std::fs::remove_dir_all(&venv);
    let ok = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|s| s.success())
        && Command::new(&python)
            .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
            .args(SDKS)
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        return None;
    }
    std::fs::write(&stamp, SDKS.join("\n")).ok()?;
    Some(python)
}

fn run_sdk(python: &Path, step: &str, config: &Value) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/cloud_sdk_client.py");
    let mut child = Command::new(python)
        .arg(&script)
        .arg(step)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(config.to_string().as_bytes())
        .expect("config written");
    let out = child.wait_with_output().expect("python finishes");
    assert!(
        out.status.success(),
        "SDK step {step} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "SDK step {step} printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn by_digest(items: &Value, field: &str) -> BTreeMap<String, Value> {
    items
        .as_array()
        .expect("a list")
        .iter()
        .map(|i| (i[field].as_str().expect("digest").to_owned(), i.clone()))
        .collect()
}

#[test]
fn cloud_sdks_and_host_agent_sqlite() {
    cloud_sdks_and_host_agent(Backend::Sqlite);
}

#[test]
fn cloud_sdks_and_host_agent_postgres() {
    cloud_sdks_and_host_agent(Backend::Postgres);
}

fn cloud_sdks_and_host_agent(backend: Backend) {
    if !prerequisites(backend) {
        return;
    }
    let Some(python) = sdk_python() else {
        keelhaul_test::prerequisite(
            false,
            "python3 -m venv and pip access to PyPI (the cloud SDKs)",
        );
        return;
    };
    let svc = Service::new(backend);
    let reg = Registry::start(Auth::None);
    let work = svc.dir().join("images");
    push(
        &reg,
        &work,
        &Image::new().layer(base_layer()).layer(own_layer("a")),
        "team/a:1",
    );
    let b = push(
        &reg,
        &work,
        &Image::new().layer(base_layer()).layer(risky_layer("b")),
        "team/b:1",
    );
    let digest_b = read_layout(&b).digest;
    push_index(
        &reg,
        &work,
        &[
            Image::new()
                .platform("linux", "amd64", None)
                .layer(base_layer())
                .layer(risky_layer("m-amd64")),
            Image::new()
                .platform("linux", "arm64", Some("v8"))
                .layer(base_layer())
                .layer(own_layer("m-arm64")),
        ],
        "team/multi:1",
    );
    push(
        &reg,
        &work,
        &Image::new().layer(base_layer()).layer(own_layer("o")),
        "other/o:1",
    );

    let key = svc.create_key("acme", "read,list,write");
    let read_only = svc.create_key("acme", "read,list");
    let agent_key = svc.create_key("acme", "agent");
    let poor = svc.create_key("poor", "read,list,write");
    let other = svc.create_key("globex", "read,list,write");
    svc.set_quota("poor", Some(0), None);
    // A vulnerability database with one advisory, for the server-side match of what the agent
    // uploads: khwidget below 2.0.
    let feed = svc.dir().join("khwidget.json");
    std::fs::write(
        &feed,
        osv("GHSA-kh07-0000-0001", "CVE-2099-47001", "khwidget", "2.0"),
    )
    .unwrap();
    let db = svc.dir().join("vuln.db");
    let db_arg = db.to_string_lossy().into_owned();
    svc.run(&["db", "import", &feed.to_string_lossy(), "--db", &db_arg])
        .success();
    let serve_flags = [
        "--workers",
        "2",
        "--scanners",
        "secret,baseline",
        "--vulndb",
        &db_arg,
    ];
    let mut server = svc.serve(&serve_flags);
    let api = server.api(&key);
    let registry = add_registry(&api, "local", &reg.addr);
    api.post(&format!("/api/v1/registries/{registry}/sync"), &json!({}))
        .expect(200);
    let poor_api = server.api(&poor);
    let poor_registry = add_registry(&poor_api, "local", &reg.addr);
    poor_api
        .post(
            &format!("/api/v1/registries/{poor_registry}/sync"),
            &json!({}),
        )
        .expect(200);

    let endpoint = server.base.trim_start_matches("http://").to_owned();
    let config = json!({
        "endpoint": endpoint,
        "ak": key.id, "sk": key.secret,
        "ro_ak": read_only.id, "ro_sk": read_only.secret,
        "poor_ak": poor.id, "poor_sk": poor.secret,
        "hw_ak": key.id, "hw_sk": key.secret,
        "project_id": key.project_id, "other_project_id": other.project_id,
        "digest_b": digest_b.trim_start_matches("sha256:"),
    });

    // --- Alibaba: criteria, instances, precheck, a task followed to its end, counts, errors.
    let ali = run_sdk(&python, "aliyun", &config);
    assert!(
        ali["criteria"]
            .as_array()
            .unwrap()
            .contains(&json!("repoName")),
        "{ali:#}"
    );
    let native = images(&api, "include_index=false");
    assert_eq!(
        ali["before_total"],
        native.len(),
        "platform images of the tenant only"
    );
    let team: Vec<&Value> = native.iter().filter(|i| i["namespace"] == "team").collect();
    assert_eq!(ali["precheck"]["NeedAuthCount"], team.len(), "{ali:#}");
    assert_eq!(ali["precheck"]["ScanImageCount"], team.len());
    let created = &ali["created"];
    assert_eq!(created["TotalCount"], team.len(), "{created:#}");
    assert!(created["CollectTime"].is_i64() && created["TaskId"].is_string());
    let finished = &ali["finished"];
    assert_eq!(finished["Status"], "SUCCESS", "{finished:#}");
    assert_eq!(finished["FinishCount"], team.len());
    assert_eq!(finished["Progress"], 100);

    let after = by_digest(&ali["after"], "Digest");
    let native = images(&api, "include_index=false");
    for image in &native {
        let digest = image["digest"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:");
        let got = &after[digest];
        assert_eq!(got["Tag"], image["tag"]);
        assert_eq!(got["RepoNamespace"], image["namespace"]);
        assert_eq!(got["ScaStatus"], image["scan_status"], "{got:#}");
        assert_eq!(
            got["ImageSize"],
            image["size"].as_i64().unwrap().to_string(),
            "a string, as the SDK model has it"
        );
        assert!(
            got["ImageCreate"].is_string()
                && got["ImageUpdate"].is_string()
                && got["Endpoints"] == "[]"
        );
        assert!(got["LastScanTime"].is_i64());
        let c = &image["counts"];
        assert_eq!(
            got["VulCount"],
            c["cve"].as_i64().unwrap() + c["sca"].as_i64().unwrap()
        );
        let hc = c["baseline"].as_i64().unwrap() + c["secret"].as_i64().unwrap();
        assert_eq!(got["HcCount"], hc, "{got:#}");
        assert_eq!(got["HcStatus"], if hc > 0 { "YES" } else { "NO" });
        assert_eq!(got["RegistryType"], "docker");
    }
    let scanned: usize = native
        .iter()
        .filter(|i| i["last_scan_time"].is_string())
        .count();
    assert_eq!(ali["scanned_only"].as_array().unwrap().len(), scanned);
    assert_eq!(scanned, team.len(), "the task scanned the team images only");
    let repo_b: Vec<&Value> = ali["repo_b"].as_array().unwrap().iter().collect();
    assert_eq!(repo_b.len(), 1, "repoName contains `b`: {repo_b:?}");
    assert_eq!(repo_b[0]["RepoName"], "b");
    let risky: Vec<i64> = native
        .iter()
        .filter(|i| {
            i["counts"]["baseline"].as_i64().unwrap() + i["counts"]["secret"].as_i64().unwrap() > 0
        })
        .map(id_of)
        .collect();
    assert!(
        risky.len() >= 2,
        "team/b and the amd64 image carry the risky layer"
    );
    assert_eq!(ali["risky_or"].as_array().unwrap().len(), risky.len());

    // Counts equal the stored findings.
    let stored = |filter: &str| -> BTreeMap<String, i64> {
        svc.sql(&format!(
            "SELECT f.kind, COUNT(*) FROM findings f JOIN images i ON i.id = f.image_id \
             JOIN tenants t ON t.id = f.tenant_id WHERE t.name = 'acme' {filter} GROUP BY f.kind"
        ))
        .into_iter()
        .map(|r| (r[0].clone(), r[1].parse().unwrap()))
        .collect()
    };
    let expect = |m: &BTreeMap<String, i64>| {
        let g = |k: &str| m.get(k).copied().unwrap_or(0);
        json!({
            "ImageBaselineCount": g("baseline") + g("secret"),
            "ImageMaliciousFileCount": g("malicious"),
            "ImageScaVulCount": g("sca"),
            "ImageCveVulCount": g("cve"),
        })
    };
    let all = stored("");
    assert!(all.get("secret").copied().unwrap_or(0) > 0, "{all:?}");
    assert_eq!(ali["counts"]["all"], expect(&all));
    assert_eq!(
        ali["counts"]["undealt"],
        expect(&stored("AND f.handled = 0"))
    );
    assert_eq!(ali["counts"]["dealt"], expect(&BTreeMap::new()));
    assert_eq!(
        ali["counts"]["image_b"],
        expect(&stored(&format!("AND i.digest = '{digest_b}'")))
    );
    assert_eq!(ali["counts"]["cluster"], expect(&BTreeMap::new()));

    let errors = &ali["errors"];
    for (case, status, code) in [
        ("malformed_criteria", 400, "InvalidParameter"),
        ("unknown_criteria", 400, "InvalidParameter"),
        ("page_size", 400, "InvalidParameter"),
        ("wrong_secret", 400, "SignatureDoesNotMatch"),
        ("unknown_key", 404, "InvalidAccessKeyId.NotFound"),
        ("read_only_create", 403, "NoPermission"),
        ("quota", 400, "BeyondQuata"),
    ] {
        assert_eq!(errors[case]["status"], status, "{case}: {:#}", errors[case]);
        assert_eq!(errors[case]["code"], code, "{case}: {:#}", errors[case]);
    }
    assert!(
        errors["unknown_criteria"]["message"]
            .as_str()
            .unwrap()
            .contains("colour")
    );

    // --- Huawei: the image list with its filters, multi-arch entries, errors.
    let hw = run_sdk(&python, "huawei", &config);
    let top = images(&api, "")
        .into_iter()
        .filter(|i| i["parent_id"].is_null())
        .count();
    assert_eq!(hw["all"]["total_num"], top, "{:#}", hw["all"]);
    let entries = by_digest(&hw["all"]["data_list"], "image_digest");
    let multi = images(&api, "repo_names=team/multi")
        .into_iter()
        .find(|i| i["is_index"] == true)
        .expect("the index entry");
    let m = &entries[multi["digest"].as_str().unwrap()];
    let assoc = m["association_images"].as_array().unwrap();
    assert_eq!(assoc.len(), 2, "{m:#}");
    for a in assoc {
        assert!(
            multi["association_images"]
                .as_array()
                .unwrap()
                .contains(&a["image_digest"])
        );
        assert_eq!(a["scan_status"], "success");
    }
    assert_eq!(m["scan_status"], "success", "as scanned as its platforms");
    assert!(
        m["unsafe_setting_num"].as_i64().unwrap() > 0,
        "the amd64 platform's findings: {m:#}"
    );
    let b_entry = &entries[&digest_b];
    assert_eq!(b_entry["image_name"], "b");
    assert_eq!(b_entry["namespace"], "team");
    assert_eq!(b_entry["image_version"], "1");
    assert_eq!(b_entry["image_type"], "private_image");
    assert!(b_entry["latest_scan_time"].as_i64().unwrap() > 0);
    let o = entries
        .values()
        .find(|e| e["namespace"] == "other")
        .expect("other/o");
    assert_eq!(o["scan_status"], "unscan");
    assert_eq!(hw["page2"]["data_list"].as_array().unwrap().len(), 1);
    assert_eq!(hw["page2"]["total_num"], top);
    let unsafe_names: BTreeSet<&str> = hw["team_unsafe"]["data_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["image_name"].as_str().unwrap())
        .collect();
    // Filters read each row's own counts: a multi-arch row counts no findings of its own.
    let top_level: Vec<Value> = images(&api, "")
        .into_iter()
        .filter(|i| i["parent_id"].is_null() && i["is_index"] == false)
        .collect();
    let want_unsafe: BTreeSet<&str> = top_level
        .iter()
        .filter(|i| i["namespace"] == "team")
        .filter(|i| {
            i["counts"]["baseline"].as_i64().unwrap() + i["counts"]["secret"].as_i64().unwrap() > 0
        })
        .map(|i| {
            i["repository"]
                .as_str()
                .unwrap()
                .trim_start_matches("team/")
        })
        .collect();
    assert!(want_unsafe.contains("b"));
    assert_eq!(unsafe_names, want_unsafe);
    assert_eq!(hw["by_name"]["total_num"], 1);
    let succeeded = top_level
        .iter()
        .filter(|i| i["scan_status"] == "SUCCESS")
        .count();
    assert_eq!(hw["success"]["total_num"], succeeded);
    assert_eq!(hw["local"]["total_num"], 0);
    let e = &hw["errors"];
    assert_eq!(e["wrong_secret"]["status"], 401, "{e:#}");
    assert_eq!(e["wrong_secret"]["code"], "APIGW.0301");
    assert!(
        e["wrong_secret"]["request_id"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "X-Request-Id reaches the SDK"
    );
    assert_eq!(e["other_project"]["status"], 403, "{e:#}");
    assert_eq!(e["no_image_type"]["status"], 400);
    assert_eq!(e["bad_limit"]["status"], 400);

    // --- The host agent with a real Docker-API engine.
    if !keelhaul_test::prerequisite(podman_available(), "podman (apt: podman)") {
        return;
    }
    let podman = Podman::start(&svc.dir().join("podman"));
    let archive = svc.dir().join("local.tar");
    Image::new()
        .layer(base_layer())
        .layer(risky_layer("local").file(
            "usr/local/lib/python3.11/site-packages/khwidget-1.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: khwidget\nVersion: 1.0\n",
        ))
        .write_docker_archive(&archive, "local/app:1");
    podman.run(&["load", "-i", archive.to_str().unwrap()]);
    let agent = |extra: &[&str], k: &harness::Key| {
        let mut cmd = svc.command();
        cmd.args([
            "agent",
            "--server",
            &format!("http://{endpoint}"),
            "--key-id",
            &k.id,
            "--key-secret",
            &k.secret,
            "--engine-socket",
            podman.socket.to_str().unwrap(),
            "--host-uuid",
            "host-1",
            "--hostname",
            "builder-1",
            "--once",
            "--scanners",
            "secret,baseline",
        ]);
        cmd.args(extra);
        let out = cmd.output().expect("the agent runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // A key without the agent level is refused; the agent level opens nothing else.
    let (ok, log) = agent(&[], &key);
    assert!(!ok && log.contains("403"), "{log}");
    server
        .api(&agent_key)
        .post("/api/v1/access-keys", &json!({"levels": ["write"]}))
        .expect_error(403, "NoPermission");
    server
        .api(&agent_key)
        .get("/api/v1/images")
        .expect_error(403, "NoPermission");

    let (ok, log) = agent(&[], &agent_key);
    assert!(ok, "{log}");
    let local = images(&api, "host_uuids=host-1");
    assert_eq!(local.len(), 1, "{local:#?}");
    let local_image = &local[0];
    assert!(
        local_image["repository"]
            .as_str()
            .unwrap()
            .ends_with("local/app"),
        "{local_image:#}"
    );
    assert_eq!(local_image["tag"], "1");
    assert_eq!(local_image["scan_status"], "INIT");
    let hosts = api.get("/api/v1/hosts").expect(200);
    assert_eq!(hosts[0]["hostname"], "builder-1", "{hosts:#}");
    assert!(
        hosts[0]["engine"].as_str().unwrap().contains("Podman"),
        "{hosts:#}"
    );

    let mut config = config.clone();
    config["local_name"] = local_image["repository"].clone();
    config["local_tag"] = local_image["tag"].clone();
    let batch = run_sdk(&python, "batch_scan", &config);
    assert_eq!(batch["status"], 200, "{batch:#}");
    assert_eq!(batch["local"]["total_num"], 1);
    assert_eq!(batch["local"]["data_list"][0]["image_type"], "local_image");
    assert_eq!(batch["no_region"]["status"], 400);
    assert_eq!(batch["nothing_named"]["status"], 400);
    // Queued for the host, never for a worker: the workers leave it alone.
    std::thread::sleep(Duration::from_secs(2));
    let queued = images(&api, "host_uuids=host-1");
    assert_eq!(queued[0]["scan_status"], "INIT", "{queued:#?}");

    let (ok, log) = agent(&[], &agent_key);
    assert!(ok, "{log}");
    let scanned = images(&api, "host_uuids=host-1");
    let s = &scanned[0];
    assert_eq!(s["scan_status"], "SUCCESS", "{s:#}\n{log}");
    assert!(
        s["counts"]["secret"].as_i64().unwrap() > 0,
        "the .env keys: {s:#}"
    );
    assert!(
        s["counts"]["baseline"].as_i64().unwrap() > 0,
        "the setuid helper: {s:#}"
    );
    // Matched by the server against its database, from the inventory the agent uploaded.
    assert_eq!(s["counts"]["sca"], 1, "khwidget 1.0 < 2.0: {s:#}");
    let sca = findings(&api, id_of(s), "kind=sca");
    assert_eq!(sca.len(), 1, "{sca:#?}");
    assert!(["GHSA-kh07-0000-0001", "CVE-2099-47001"].contains(&sca[0]["name"].as_str().unwrap()));
    assert_eq!(sca[0]["version"], "1.0");
    let after = run_sdk(&python, "local_after", &config);
    assert_eq!(
        after["local"]["data_list"][0]["scan_status"], "success",
        "{after:#}"
    );

    // The image leaves the host: the next report drops it.
    podman.run(&["rmi", "-f", "localhost/local/app:1"]);
    let (ok, log) = agent(&[], &agent_key);
    assert!(ok, "{log}");
    assert!(images(&api, "host_uuids=host-1").is_empty());

    // A running agent outlives a server restart: it reports again once the server is back.
    let mut daemon = svc
        .command()
        .args([
            "agent",
            "--server",
            &server.base,
            "--key-id",
            &agent_key.id,
            "--key-secret",
            &agent_key.secret,
            "--engine-socket",
            podman.socket.to_str().unwrap(),
            "--host-uuid",
            "host-1",
            "--report-interval",
            "1",
            "--poll",
            "1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the agent starts");
    let port: u16 = server
        .base
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a port");
    server.proc.kill();
    Image::new()
        .layer(base_layer())
        .layer(own_layer("second"))
        .write_docker_archive(&archive, "local/second:1");
    podman.run(&["load", "-i", archive.to_str().unwrap()]);
    std::thread::sleep(Duration::from_secs(3));
    server = svc.serve_at(port, &serve_flags, &[]);
    let api = server.api(&key);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let local = images(&api, "host_uuids=host-1");
        if local.iter().any(|i| {
            i["repository"]
                .as_str()
                .unwrap_or_default()
                .ends_with("local/second")
        }) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the agent did not report after the restart: {local:#?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let _ = daemon.kill();
    let _ = daemon.wait();
}

fn podman_available() -> bool {
    Command::new("podman")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `podman system service` on a socket in a temp dir, with its own vfs storage.
struct Podman {
    root: PathBuf,
    socket: PathBuf,
    service: std::process::Child,
}

impl Podman {
    fn args(root: &Path) -> Vec<String> {
        vec![
            "--root".into(),
            root.join("root").display().to_string(),
            "--runroot".into(),
            root.join("run").display().to_string(),
            "--storage-driver".into(),
            "vfs".into(),
            "--tmpdir".into(),
            root.join("tmp").display().to_string(),
        ]
    }

    fn start(root: &Path) -> Podman {
        std::fs::create_dir_all(root.join("tmp")).expect("podman dirs");
        let socket = root.join("podman.sock");
        let service = Command::new("podman")
            .args(Self::args(root))
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", socket.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("podman system service starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !socket.exists() {
            assert!(Instant::now() < deadline, "podman's socket never appeared");
            std::thread::sleep(Duration::from_millis(100));
        }
        Podman {
            root: root.to_owned(),
            socket,
            service,
        }
    }

    fn run(&self, args: &[&str]) {
        let out = Command::new("podman")
            .args(Self::args(&self.root))
            .args(args)
            .output()
            .expect("podman runs");
        assert!(
            out.status.success(),
            "podman {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.service.kill();
        let _ = self.service.wait();
    }
}

/// Sign an Alibaba RPC call by hand (the SDK always signs fresh): to replay a nonce, send an
/// old date, or sign with the wrong secret.
fn signed_rpc(base: &str, key_id: &str, secret: &str, date: &str, nonce: &str) -> (u16, Value) {
    use keelhaul_compat::sign;
    use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
    let host = base.trim_start_matches("http://");
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("host", host),
        ("x-acs-action", "DescribeImageInstances"),
        ("x-acs-version", "2018-12-03"),
        ("x-acs-date", date),
        ("x-acs-signature-nonce", nonce),
        ("x-acs-content-sha256", &sign::sha256_hex(b"")),
    ] {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(value).expect("header value"),
        );
    }
    let auth = sign::Authorization {
        access_key_id: key_id.to_owned(),
        signed_headers:
            "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
                .split(';')
                .map(str::to_owned)
                .collect(),
        signature: String::new(),
    };
    let query = "PageSize=5&Criteria=%5B%5D";
    let canonical = sign::acs3_canonical_request(
        &sign::SignedRequest {
            method: "POST",
            path: "/",
            raw_query: query,
            headers: &headers,
            body: b"",
        },
        &auth,
    )
    .expect("canonical request");
    let signature = sign::hmac_hex(
        secret,
        &format!(
            "ACS3-HMAC-SHA256\n{}",
            sign::sha256_hex(canonical.as_bytes())
        ),
    );
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!(
            "ACS3-HMAC-SHA256 Credential={key_id},SignedHeaders={},Signature={signature}",
            auth.signed_headers.join(";")
        ))
        .expect("header value"),
    );
    let response = reqwest::blocking::Client::new()
        .post(format!("{base}/?{query}"))
        .headers(headers)
        .send()
        .expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

#[test]
fn cloud_auth_and_agent_routes_refuse_bad_input_sqlite() {
    if !keelhaul_test::prerequisite(python_sqlite_available(), "python3 with its sqlite3 module") {
        return;
    }
    let svc = Service::new(Backend::Sqlite);
    let key = svc.create_key("acme", "read,list,write");
    let server = svc.serve(&["--workers", "0"]);
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    let date = now.format(fmt).expect("date");
    let nonce = random_hex(32);
    let (status, body) = signed_rpc(&server.base, &key.id, &key.secret, &date, &nonce);
    assert_eq!(status, 200, "{body:#}");
    assert!(
        body["RequestId"].is_string() && body["PageInfo"]["TotalCount"] == 0,
        "{body:#}"
    );
    // The same signed request again: a replay.
    let (status, body) = signed_rpc(&server.base, &key.id, &key.secret, &date, &nonce);
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("SignatureNonceUsed")),
        "{body:#}"
    );
    // Sixteen minutes old.
    let old = (now - time::Duration::minutes(16))
        .format(fmt)
        .expect("date");
    let (status, body) = signed_rpc(&server.base, &key.id, &key.secret, &old, &random_hex(32));
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("InvalidTimeStamp.Expired")),
        "{body:#}"
    );
    // Another secret.
    let (status, body) = signed_rpc(
        &server.base,
        &key.id,
        "not-the-secret",
        &date,
        &random_hex(32),
    );
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("SignatureDoesNotMatch")),
        "{body:#}"
    );
    assert!(body["RequestId"].is_string());
    // No signature at all, and an unknown action.
    let plain = reqwest::blocking::Client::new()
        .post(format!("{}/?PageSize=5", server.base))
        .header("x-acs-action", "DescribeImageInstances")
        .header("x-acs-version", "2018-12-03")
        .send()
        .expect("answers");
    assert_eq!(plain.status().as_u16(), 400);
    let body: Value = plain.json().expect("JSON");
    assert_eq!(body["Code"], "IncompleteSignature", "{body:#}");

    // The agent routes refuse bad input with the field at fault, and hold nothing of others.
    let agent_key = svc.create_key("acme", "agent");
    let agent_api = server.api(&agent_key);
    let put = |path: &str, body: &Value| {
        agent_api.send(
            "PUT",
            path,
            Some(("application/json", body.to_string().into_bytes())),
            &[],
        )
    };
    put(
        "/api/v1/hosts/bad%20host/images",
        &json!({"hostname": "h", "images": []}),
    )
    .expect_invalid("uuid");
    let malformed = put(
        "/api/v1/hosts/h1/images",
        &json!({"hostname": "h", "images": [{"repository": "r"}]}),
    );
    assert_eq!(malformed.status, 400, "{:?}", malformed.json());
    let unknown_field = put(
        "/api/v1/hosts/h1/images",
        &json!({"hostname": "h", "images": [], "extra": 1}),
    );
    assert_eq!(unknown_field.status, 400);
    // A key bound to a host works for that host only; binding needs a pure agent key.
    let store = svc.store_args();
    let admin = |extra: &[&str]| {
        let mut args = vec!["admin", "create-key", "--tenant", "acme"];
        args.extend(extra);
        args.extend(store.iter().map(String::as_str));
        svc.run(&args)
    };
    let bound = admin(&["--levels", "agent", "--host-uuid", "h1", "--format", "json"])
        .success()
        .json();
    assert_eq!(bound["host_uuid"], "h1");
    let bound_api = server.api_with(Some(format!(
        "Bearer {}:{}",
        bound["access_key_id"].as_str().unwrap(),
        bound["access_key_secret"].as_str().unwrap()
    )));
    let report = json!({"hostname": "h", "images": []});
    let own = bound_api.send(
        "PUT",
        "/api/v1/hosts/h1/images",
        Some(("application/json", report.to_string().into_bytes())),
        &[],
    );
    assert_eq!(own.status, 200, "{:?}", own.json());
    bound_api
        .send(
            "PUT",
            "/api/v1/hosts/h2/images",
            Some(("application/json", report.to_string().into_bytes())),
            &[],
        )
        .expect_error(403, "NoPermission");
    bound_api
        .post("/api/v1/hosts/h2/jobs/claim", &json!({}))
        .expect_error(403, "NoPermission");
    let refused = admin(&["--levels", "agent,read", "--host-uuid", "h1"]);
    assert!(
        !refused.status.success() && refused.stderr.contains("only an agent key"),
        "{}",
        refused.stderr
    );
    server
        .api(&key)
        .post(
            "/api/v1/access-keys",
            &json!({"levels": ["read"], "host_uuid": "h1"}),
        )
        .expect_invalid("host_uuid");
    let keys = server.api(&key).get("/api/v1/access-keys").expect(200);
    assert!(
        keys.as_array()
            .unwrap()
            .iter()
            .any(|k| k["access_key_id"] == bound["access_key_id"] && k["host_uuid"] == "h1"),
        "{keys:#}"
    );

    let claim = agent_api
        .post("/api/v1/hosts/h1/jobs/claim", &json!({}))
        .expect(200);
    assert_eq!(claim["job"], Value::Null);
    let result = agent_api
        .post("/api/v1/hosts/h1/jobs/1/result", &json!({"complete": true}))
        .expect(200);
    assert_eq!(result["held"], false, "no job is held by this host");

    // Huawei-style X-Auth-Token: a token the server issued stands for its key and project.
    let issued = server
        .api(&key)
        .post("/api/v1/tokens", &json!({}))
        .expect(201);
    let token = issued["token"].as_str().expect("a token");
    let other = svc.create_key("globex", "read,list");
    let list = |project: &str, token: &str| {
        let r = reqwest::blocking::Client::new()
            .get(format!(
                "{}/v5/{project}/image/swr-repository?image_type=private_image",
                server.base
            ))
            .header("x-auth-token", token)
            .send()
            .expect("answers");
        let request_id = r
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        (
            r.status().as_u16(),
            request_id,
            r.json::<Value>().unwrap_or(Value::Null),
        )
    };
    let (status, request_id, body) = list(&key.project_id, token);
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body, json!({"total_num": 0, "data_list": []}));
    assert!(request_id.is_some_and(|r| !r.is_empty()));
    let (status, _, body) = list(&other.project_id, token);
    assert_eq!(
        (status, body["error_code"].as_str()),
        (403, Some("HSS.1003")),
        "{body:#}"
    );
    let (status, _, body) = list(&key.project_id, "bm90IGEgdG9rZW4=");
    assert_eq!(
        (status, body["error_code"].as_str()),
        (401, Some("APIGW.0301")),
        "{body:#}"
    );
    // A disabled key's tokens stop working.
    server
        .api(&key)
        .delete(&format!("/api/v1/access-keys/{}", key.id))
        .expect(204);
    let (status, _, body) = list(&key.project_id, token);
    assert_eq!(
        (status, body["error_code"].as_str()),
        (401, Some("APIGW.0301")),
        "{body:#}"
    );
}
