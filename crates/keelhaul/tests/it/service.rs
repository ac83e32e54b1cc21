//! The service end to end: `keelhaul serve`, `keelhaul worker` and `keelhaul admin` as
//! processes, on SQLite and on PostgreSQL, against a real registry. The API contract and its
//! security (authentication, access levels, tenant isolation, errors), a scan from sync to
//! handled findings with layer analyses shared by digest, quotas and task limits, a worker
//! killed mid-scan, push webhooks, re-matching when the vulnerability database changes, and
//! schemathesis against the OpenAPI document.
//!
//! Expected values come from the inputs: digests from the OCI layout files the images were
//! pushed from, findings from the files planted in them.

#[path = "cloud.rs"]
mod cloud;
#[path = "support/service_harness.rs"]
mod harness;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

use harness::{
    Api, Backend, Service, postgres_available, python_sqlite_available, random_hex, wait_for,
};
use keelhaul_test::builder::{self, Compression, Image, Layer};
use keelhaul_test::registry::{self, Auth, Registry};
use keelhaul_test::require;
use serde_json::{Value, json};

/// A fake AWS key pair of the right shape (the one detect.rs plants).
const AWS_KEY_ID: &str = concat!("AKIA", "Q7RZ2MXW4KTB5NPV");
const AWS_SECRET: &str = "kR3vX9pL2mQ8sT4wY7zB1nC6dF0gH5jK8lM2pQ4r";
const OS_RELEASE: &str =
    "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n";

/// Check what every service test needs; `false` (after a skip message) when missing.
fn prerequisites(backend: Backend) -> bool {
    keelhaul_test::prerequisite(
        registry::available(&Auth::None),
        "docker-registry and skopeo (apt: docker-registry skopeo)",
    ) && match backend {
        Backend::Sqlite => keelhaul_test::prerequisite(
            python_sqlite_available(),
            "python3 with its sqlite3 module",
        ),
        Backend::Postgres => keelhaul_test::prerequisite(
            postgres_available(),
            "PostgreSQL at 127.0.0.1:5432 (user postgres, trust auth) and psql",
        ),
    }
}

// ---------------------------------------------------------------------------------------
// Images and what their layout files say about them.

/// The layer every test image starts with: byte-identical everywhere, so one digest.
fn base_layer() -> Layer {
    Layer::new()
        .file("etc/os-release", OS_RELEASE)
        .file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
        .file("usr/share/keelhaul/base.txt", "the shared base layer\n")
        .created_by("ADD base.tar /")
}

/// A small layer of one image's own.
fn own_layer(name: &str) -> Layer {
    Layer::new()
        .file(&format!("srv/{name}/README"), format!("image {name}\n"))
        .created_by(&format!("COPY {name} /srv/"))
}

/// An image's own layer with a planted AWS key and a setuid binary.
fn risky_layer(name: &str) -> Layer {
    own_layer(name)
        .file(
            "opt/app/.env",
            format!("AWS_ACCESS_KEY_ID={AWS_KEY_ID}\nAWS_SECRET_ACCESS_KEY={AWS_SECRET}\n"),
        )
        .file_mode("usr/local/bin/helper", "\x7fELF not really", 0o4755)
}

/// Write `image` as an OCI layout under `work` and push it to `repo_tag`; returns the
/// layout directory.
fn push(reg: &Registry, work: &Path, image: &Image, repo_tag: &str) -> std::path::PathBuf {
    let layout = work.join(repo_tag.replace(['/', ':'], "_"));
    image.write_oci_layout(&layout, "t");
    reg.push(&format!("oci:{}:t", layout.display()), repo_tag, false);
    layout
}

/// Push a multi-platform index of `images` to `repo_tag`; returns the layout directory.
fn push_index(reg: &Registry, work: &Path, images: &[Image], repo_tag: &str) -> std::path::PathBuf {
    let layout = work.join(repo_tag.replace(['/', ':'], "_"));
    builder::write_multi_platform_layout(&layout, images, "t");
    reg.push(&format!("oci:{}:t", layout.display()), repo_tag, true);
    layout
}

fn read_blob(layout: &Path, digest: &str) -> Value {
    let hex = digest.strip_prefix("sha256:").unwrap();
    serde_json::from_slice(&std::fs::read(layout.join("blobs/sha256").join(hex)).unwrap()).unwrap()
}

/// One platform manifest of a layout, read from its files.
#[derive(Debug, Clone)]
struct Manifest {
    digest: String,
    platform: String,
    layers: Vec<String>,
    /// The config's `rootfs.diff_ids`.
    diff_ids: Vec<String>,
    config: String,
}

/// A layout's tagged entry: its digest, whether it is an index, and its platform
/// manifests.
struct Layout {
    digest: String,
    is_index: bool,
    manifests: Vec<Manifest>,
}

fn platform_string(p: &Value) -> String {
    let mut s = format!(
        "{}/{}",
        p["os"].as_str().unwrap(),
        p["architecture"].as_str().unwrap()
    );
    if let Some(v) = p["variant"].as_str() {
        s.push('/');
        s.push_str(v);
    }
    s
}

fn read_layout(layout: &Path) -> Layout {
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let top = &index["manifests"][0];
    let digest = top["digest"].as_str().unwrap().to_owned();
    let manifest = |digest: &str, platform: Option<String>| {
        let m = read_blob(layout, digest);
        let config = m["config"]["digest"].as_str().unwrap().to_owned();
        let config_blob = read_blob(layout, &config);
        let platform = platform.unwrap_or_else(|| platform_string(&config_blob));
        let diff_ids = config_blob["rootfs"]["diff_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().to_owned())
            .collect();
        Manifest {
            digest: digest.to_owned(),
            platform,
            layers: m["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["digest"].as_str().unwrap().to_owned())
                .collect(),
            diff_ids,
            config,
        }
    };
    if top["mediaType"] == "application/vnd.oci.image.index.v1+json" {
        let idx = read_blob(layout, &digest);
        let manifests = idx["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                manifest(
                    d["digest"].as_str().unwrap(),
                    Some(platform_string(&d["platform"])),
                )
            })
            .collect();
        Layout {
            digest,
            is_index: true,
            manifests,
        }
    } else {
        let m = manifest(&digest, None);
        Layout {
            digest,
            is_index: false,
            manifests: vec![m],
        }
    }
}

// ---------------------------------------------------------------------------------------
// API helpers.

fn id_of(v: &Value) -> i64 {
    v["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no integer id in {v}"))
}

fn add_registry(api: &Api, name: &str, addr: &str) -> i64 {
    let created = api
        .post(
            "/api/v1/registries",
            &json!({"name": name, "type": "docker", "url": format!("http://{addr}")}),
        )
        .expect(201);
    assert_eq!(created["name"], name);
    assert_eq!(created["has_password"], false);
    assert_eq!(created["sync_status"], "NEVER");
    id_of(&created)
}

/// Every image of the tenant (index entries included), by id.
fn images(api: &Api, query: &str) -> Vec<Value> {
    let list = api
        .get(&format!("/api/v1/images?page_size=500&{query}"))
        .expect(200);
    let items = list["items"].as_array().unwrap().clone();
    assert_eq!(
        list["total"].as_u64().unwrap() as usize,
        items.len(),
        "{list:#}"
    );
    items
}

fn findings(api: &Api, image: i64, query: &str) -> Vec<Value> {
    let list = api
        .get(&format!("/api/v1/images/{image}/findings?{query}"))
        .expect(200);
    let items = list["items"].as_array().unwrap().clone();
    assert_eq!(list["total"].as_u64().unwrap() as usize, items.len());
    items
}

/// A counter or gauge without labels from a Prometheus text page.
fn metric(page: &str, name: &str) -> Option<f64> {
    page.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (n, v) = l.split_once(' ')?;
        (n == name).then(|| v.trim().parse().unwrap())
    })
}

fn create_task(api: &Api, body: &Value) -> Value {
    let task = api.post("/api/v1/tasks", body).expect(201);
    assert!(task["id"].is_string(), "{task}");
    task
}

// =======================================================================================
// 1. API contract and security.

#[test]
fn api_contract_sqlite() {
    api_contract(Backend::Sqlite);
}

#[test]
fn api_contract_postgres() {
    api_contract(Backend::Postgres);
}

fn api_contract(backend: Backend) {
    if !prerequisites(backend) {
        return;
    }
    let svc = Service::new(backend);
    let reg = Registry::start(Auth::None);
    let work = svc.dir().join("images");
    push(
        &reg,
        &work,
        &Image::new()
            .layer(base_layer())
            .layer(risky_layer("contract")),
        "team/secret:1",
    );
    let alpha = svc.create_key("alpha", "read,list,write");
    let alpha_reader = svc.create_key("alpha", "read,list");
    let beta = svc.create_key("beta", "read,list,write");
    assert_eq!(
        alpha.project_id, alpha_reader.project_id,
        "one tenant, two keys"
    );
    assert_ne!(alpha.project_id, beta.project_id);
    // Debug logging: the password check below then covers everything the server logs.
    let server = svc.serve_env(
        &[
            "--workers",
            "1",
            "--lease-seconds",
            "3",
            "--scanners",
            "secret",
        ],
        &[("KEELHAUL_LOG", "debug")],
    );
    let a = server.api(&alpha);
    let b = server.api(&beta);
    let reader = server.api(&alpha_reader);

    // --- Authentication: every failure is a JSON 401 with the request id.
    let anonymous = server.api_with(None);
    anonymous
        .get("/api/v1/images")
        .expect_error(401, "Unauthorized");
    for header in [
        "Basic YWxpY2U6cHc=".to_owned(),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        format!("Bearer {}", alpha.id),
        format!("Bearer {}:", alpha.id),
        format!("Bearer {}:{}x", alpha.id, alpha.secret),
        format!("Bearer {}:{}", alpha.id, &alpha.secret[1..]),
        format!("Bearer {}:{}", alpha.id, beta.secret),
        format!("Bearer KHNOSUCHKEY000000000:{}", alpha.secret),
        format!("Bearer {}:{}", alpha.secret, alpha.id),
    ] {
        let r = server
            .api_with(Some(header.clone()))
            .get("/api/v1/registries");
        r.expect_error(401, "Unauthorized");
        assert!(!r.text.contains(&alpha.secret), "{header}: {}", r.text);
    }
    // A key's id with a valid secret still works after all those failures.
    a.get("/api/v1/registries").expect(200);

    // --- Request ids: a sane caller id is echoed, an unsafe one replaced.
    let r = a.send(
        "GET",
        "/api/v1/quota",
        None,
        &[("x-request-id", "trace-42_ok")],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.request_id.as_deref(), Some("trace-42_ok"));
    let r = a.send(
        "GET",
        "/api/v1/nope",
        None,
        &[("x-request-id", "bad id with spaces")],
    );
    let body = r.expect_error(404, "NotFound");
    assert_ne!(body["request_id"], "bad id with spaces");
    let long = "x".repeat(65);
    let r = a.send("GET", "/api/v1/quota", None, &[("x-request-id", &long)]);
    assert_ne!(r.request_id.as_deref(), Some(long.as_str()));
    // Distinct requests get distinct ids.
    let ids: BTreeSet<String> = (0..5)
        .map(|_| a.get("/healthz").request_id.unwrap())
        .collect();
    assert_eq!(ids.len(), 5);

    // --- Routes that do not exist, and methods a route does not have.
    for path in [
        "/nope",
        "/api/v1/nope",
        "/api/v1/images/1/nope",
        "/api/v2/images",
    ] {
        a.get(path).expect_error(404, "NotFound");
        anonymous.get(path).expect_error(404, "NotFound");
    }
    for (method, path) in [
        ("PUT", "/api/v1/images"),
        ("DELETE", "/api/v1/tasks"),
        ("POST", "/healthz"),
    ] {
        let r = a.send(method, path, None, &[]);
        r.expect_error(405, "MethodNotAllowed");
    }

    // --- Health, readiness, metrics, OpenAPI: no key needed.
    assert_eq!(anonymous.get("/healthz").expect(200)["status"], "ok");
    assert_eq!(anonymous.get("/readyz").expect(200)["status"], "ok");
    let metrics = anonymous.get("/metrics");
    assert_eq!(metrics.status, 200, "{}", metrics.text);
    assert!(metrics.request_id.is_some());
    assert!(
        metric(&metrics.text, "keelhaul_queue_depth").is_some(),
        "{}",
        metrics.text
    );
    let doc = anonymous.get("/api/v1/openapi.json").expect(200);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/registries", "get"),
        ("/api/v1/registries", "post"),
        ("/api/v1/registries/{id}", "get"),
        ("/api/v1/registries/{id}", "delete"),
        ("/api/v1/registries/{id}/sync", "post"),
        ("/api/v1/registries/{id}/webhook", "post"),
        ("/api/v1/images", "get"),
        ("/api/v1/images/{id}", "get"),
        ("/api/v1/images/{id}/findings", "get"),
        ("/api/v1/findings/{id}/handle", "post"),
        ("/api/v1/findings/{id}/unhandle", "post"),
        ("/api/v1/statistics", "get"),
        ("/api/v1/tasks", "get"),
        ("/api/v1/tasks", "post"),
        ("/api/v1/tasks/precheck", "post"),
        ("/api/v1/tasks/{id}", "get"),
        ("/api/v1/tasks/{id}/cancel", "post"),
        ("/api/v1/quota", "get"),
        ("/api/v1/access-keys", "get"),
        ("/api/v1/access-keys", "post"),
        ("/api/v1/vulndb/rematch", "post"),
    ] {
        assert!(
            paths.get(path).is_some_and(|p| p.get(method).is_some()),
            "the OpenAPI document lacks {method} {path}"
        );
    }
    assert!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"]
            .as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("bearer")),
        "{:#}",
        doc["components"]["securitySchemes"]
    );

    // --- Alpha's data: a registry, a synced image, a scan, a finding.
    let registry = add_registry(&a, "local", &reg.addr);
    let sync = a
        .post(&format!("/api/v1/registries/{registry}/sync"), &json!({}))
        .expect(200);
    assert_eq!(sync["changed"], 1, "{sync:#}");
    let image = images(&a, "")[0].clone();
    let image_id = id_of(&image);
    let task = create_task(
        &a,
        &json!({"selectors": {"image_ids": image_id.to_string()}}),
    );
    let task_id = task["id"].as_str().unwrap().to_owned();
    let done = a.wait_task(&task_id, Duration::from_secs(120), &server);
    assert_eq!(done["status"], "SUCCESS", "{done:#}");
    let secrets = findings(&a, image_id, "kind=secret");
    assert!(!secrets.is_empty(), "the planted key is found");
    let finding_id = id_of(&secrets[0]);
    let unhandled_before =
        a.get(&format!("/api/v1/images/{image_id}")).expect(200)["counts"]["unhandled"]
            .as_i64()
            .unwrap();
    assert!(unhandled_before > 0);

    // --- Access levels: read,list may read and list, never write.
    reader.get("/api/v1/images").expect(200);
    reader
        .get(&format!("/api/v1/images/{image_id}"))
        .expect(200);
    reader
        .post(
            "/api/v1/tasks",
            &json!({"selectors": {"image_ids": image_id.to_string()}}),
        )
        .expect_error(403, "NoPermission");
    reader
        .post(
            "/api/v1/registries",
            &json!({"name": "nope", "type": "docker", "url": "http://127.0.0.1:9"}),
        )
        .expect_error(403, "NoPermission");
    reader
        .post(&format!("/api/v1/findings/{finding_id}/handle"), &json!({}))
        .expect_error(403, "NoPermission");
    reader
        .delete(&format!("/api/v1/registries/{registry}"))
        .expect_error(403, "NoPermission");
    reader
        .post("/api/v1/access-keys", &json!({"levels": ["write"]}))
        .expect_error(403, "NoPermission");
    reader
        .post(&format!("/api/v1/registries/{registry}/sync"), &json!({}))
        .expect_error(403, "NoPermission");
    reader
        .post(
            &format!("/api/v1/registries/{registry}/webhook"),
            &json!({"events": []}),
        )
        .expect_error(403, "NoPermission");
    reader
        .post(&format!("/api/v1/tasks/{task_id}/cancel"), &json!({}))
        .expect_error(403, "NoPermission");
    assert_eq!(
        a.get("/api/v1/registries")
            .expect(200)
            .as_array()
            .unwrap()
            .len(),
        1,
        "the refused registry was not made"
    );
    assert_eq!(
        a.get("/api/v1/tasks").expect(200)["total"],
        1,
        "the refused task was not made"
    );

    // --- Tenant isolation: beta gets 404 for every alpha id, and never alpha's data.
    let alpha_texts = [
        image["digest"].as_str().unwrap().to_owned(),
        "team/secret".to_owned(),
    ];
    let not_found = |r: harness::Resp| {
        let body = r.expect_error(404, "NotFound");
        for t in &alpha_texts {
            assert!(!r.text.contains(t.as_str()), "{}", r.text);
        }
        body
    };
    not_found(b.get(&format!("/api/v1/registries/{registry}")));
    not_found(b.post(&format!("/api/v1/registries/{registry}/sync"), &json!({})));
    not_found(b.delete(&format!("/api/v1/registries/{registry}")));
    not_found(b.post(
        &format!("/api/v1/registries/{registry}/webhook"),
        &json!({"events": []}),
    ));
    not_found(b.get(&format!("/api/v1/images/{image_id}")));
    not_found(b.get(&format!("/api/v1/images/{image_id}/findings")));
    not_found(b.get(&format!("/api/v1/tasks/{task_id}")));
    not_found(b.post(&format!("/api/v1/tasks/{task_id}/cancel"), &json!({})));
    not_found(b.post(
        &format!("/api/v1/findings/{finding_id}/handle"),
        &json!({"reason": "not yours"}),
    ));
    not_found(b.post(
        &format!("/api/v1/findings/{finding_id}/unhandle"),
        &json!({}),
    ));
    not_found(b.delete(&format!("/api/v1/access-keys/{}", alpha.id)));
    let listed = b.get("/api/v1/images?page_size=500").expect(200);
    assert_eq!(listed["total"], 0, "{listed:#}");
    assert_eq!(
        b.get(&format!("/api/v1/images?image_ids={image_id}"))
            .expect(200)["total"],
        0
    );
    assert_eq!(
        b.get(&format!("/api/v1/images?registry_ids={registry}"))
            .expect(200)["total"],
        0
    );
    assert_eq!(b.get("/api/v1/registries").expect(200), json!([]));
    assert_eq!(b.get("/api/v1/tasks").expect(200)["total"], 0);
    let keys = b.get("/api/v1/access-keys").expect(200);
    let key_ids: Vec<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["access_key_id"].as_str().unwrap())
        .collect();
    assert_eq!(key_ids, vec![beta.id.as_str()], "{keys:#}");
    assert!(
        !keys.to_string().contains(&beta.secret),
        "no secret in a key list"
    );
    let stats = b.get("/api/v1/statistics").expect(200);
    assert!(
        stats["groups"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["images"] == 0),
        "{stats:#}"
    );
    // A task of beta's naming alpha's image selects nothing.
    let precheck = b
        .post(
            "/api/v1/tasks/precheck",
            &json!({"selectors": {"image_ids": image_id.to_string()}}),
        )
        .expect(200);
    assert_eq!(precheck["selected"], 0, "{precheck:#}");
    let beta_task = create_task(
        &b,
        &json!({"selectors": {"image_ids": image_id.to_string()}, "force": true}),
    );
    assert_eq!(beta_task["total"], 0, "{beta_task:#}");
    // Nothing beta did changed alpha's data.
    let after = a.get(&format!("/api/v1/images/{image_id}")).expect(200);
    assert_eq!(after["counts"]["unhandled"], unhandled_before);
    a.get(&format!("/api/v1/registries/{registry}")).expect(200);
    a.get(&format!("/api/v1/tasks/{task_id}")).expect(200);
    assert!(findings(&a, image_id, "handled=true").is_empty());
    // The key beta could not delete still works.
    a.get("/api/v1/quota").expect(200);

    // --- Malformed filters: 400 InvalidParameter naming the field.
    for (query, field) in [
        ("page_size=0", "page_size"),
        ("page_size=501", "page_size"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("page=-1", "page"),
        ("bogus=1", "bogus"),
        ("registry_types=bogus", "registry_types"),
        ("registry_types=docker,bogus", "registry_types"),
        ("scan_status=NOPE", "scan_status"),
        ("repo_ids=x", "repo_ids"),
        ("registry_ids=1,two", "registry_ids"),
        ("image_ids=1.5", "image_ids"),
        ("has_risk=maybe", "has_risk"),
        ("include_index=2", "include_index"),
    ] {
        a.get(&format!("/api/v1/images?{query}"))
            .expect_invalid(field);
    }
    for (path, field) in [
        (
            format!("/api/v1/images/{image_id}/findings?kind=bogus"),
            "kind",
        ),
        (
            format!("/api/v1/images/{image_id}/findings?severity=dire"),
            "severity",
        ),
        (
            format!("/api/v1/images/{image_id}/findings?page_size=0"),
            "page_size",
        ),
        (
            format!("/api/v1/images/{image_id}/findings?extra=1"),
            "extra",
        ),
        ("/api/v1/tasks?status=nope".to_owned(), "status"),
        ("/api/v1/tasks?page_size=0".to_owned(), "page_size"),
        ("/api/v1/statistics?group_by=planet".to_owned(), "group_by"),
        ("/api/v1/statistics?color=red".to_owned(), "color"),
    ] {
        a.get(&path).expect_invalid(field);
    }
    // Path ids that are not ids (the only path parameter, so no field is named).
    for path in [
        "/api/v1/images/abc",
        "/api/v1/registries/99999999999999999999",
    ] {
        let body = a.get(path).expect_error(400, "InvalidParameter");
        assert_eq!(body.get("field"), None, "{body}");
    }
    // Text that PostgreSQL cannot store is refused or matched, never a server error.
    let r = a.get("/api/v1/images?repo_names=a%00b");
    assert!(
        r.status == 200 || r.status == 400,
        "{}: {}",
        r.status,
        r.text
    );
    let r = a.post(
        "/api/v1/tasks/precheck",
        &json!({"selectors": {"tags": "a\u{0}b"}}),
    );
    assert!(
        r.status == 200 || r.status == 400,
        "{}: {}",
        r.status,
        r.text
    );

    // --- Malformed bodies: syntax errors name no field, the rest the field at fault.
    for (path, body) in [
        ("/api/v1/registries", &b"{\"name\": "[..]),
        ("/api/v1/tasks", &b"not json"[..]),
        ("/api/v1/tasks/precheck", &b"{\"force\": true,}"[..]),
    ] {
        let body = a
            .post_raw(path, "application/json", body)
            .expect_error(400, "InvalidParameter");
        assert_eq!(body.get("field"), None, "{body}");
    }
    a.post(
        "/api/v1/registries",
        &json!({"name": "x", "type": "docker", "url": "http://127.0.0.1:9", "colour": "red"}),
    )
    .expect_invalid("colour");
    a.post("/api/v1/tasks", &json!({"selectors": {"repo_name": "x"}}))
        .expect_invalid("selectors.repo_name");
    a.post("/api/v1/tasks", &json!({"force": "yes"}))
        .expect_invalid("force");
    a.post("/api/v1/tasks/precheck", &json!({"selectors": {"tags": 5}}))
        .expect_invalid("selectors.tags");
    a.post("/api/v1/tasks", &json!({"source": "nightly"}))
        .expect_invalid("source");
    a.post(
        "/api/v1/registries",
        &json!({"type": "docker", "url": "http://127.0.0.1:9"}),
    )
    .expect_invalid("name");
    a.post(
        "/api/v1/registries",
        &json!({"name": "x", "type": "floppy", "url": "http://127.0.0.1:9"}),
    )
    .expect_invalid("type");
    a.post(
        "/api/v1/registries",
        &json!({"name": "x", "type": "docker", "url": "http://user:pw@127.0.0.1:9/path"}),
    )
    .expect_invalid("url");
    a.post(
        "/api/v1/registries",
        &json!({"name": "x", "type": "docker", "url": "http://127.0.0.1:9", "password": "p"}),
    )
    .expect_invalid("username");
    a.post(
        &format!("/api/v1/findings/{finding_id}/handle"),
        &json!({"reason": "x".repeat(1001)}),
    )
    .expect_invalid("reason");
    let r = a.post_raw(
        "/api/v1/registries",
        "text/plain",
        br#"{"name": "x", "type": "docker", "url": "http://127.0.0.1:9"}"#,
    );
    r.expect_error(415, "UnsupportedMediaType");
    let big = vec![b' '; 5 * 1024 * 1024];
    // (`connection: close`: the server answers before reading the body, and drops the
    // connection.)
    let r = a.send(
        "POST",
        "/api/v1/tasks/precheck",
        Some(("application/json", big)),
        &[("connection", "close")],
    );
    r.expect_error(413, "PayloadTooLarge");
    a.post("/api/v1/access-keys", &json!({"levels": []}))
        .expect_invalid("levels");
    a.post("/api/v1/access-keys", &json!({"levels": ["admin"]}))
        .expect_invalid("levels[0]");
    assert_eq!(
        a.get("/api/v1/registries")
            .expect(200)
            .as_array()
            .unwrap()
            .len(),
        1,
        "no refused body made a registry"
    );

    // --- Keys made through the API: levels as asked, the secret shown once, deletion.
    let made = a
        .post(
            "/api/v1/access-keys",
            &json!({"levels": ["read", "read"], "description": "dashboard"}),
        )
        .expect(201);
    assert_eq!(made["levels"], json!(["read"]), "{made:#}");
    assert_eq!(made["project_id"], alpha.project_id.as_str());
    let made_key = harness::Key {
        id: made["access_key_id"].as_str().unwrap().to_owned(),
        secret: made["access_key_secret"].as_str().unwrap().to_owned(),
        project_id: alpha.project_id.clone(),
    };
    let dashboard = server.api(&made_key);
    dashboard
        .get(&format!("/api/v1/images/{image_id}"))
        .expect(200);
    dashboard
        .get("/api/v1/images")
        .expect_error(403, "NoPermission");
    let listed = a.get("/api/v1/access-keys");
    assert!(!listed.text.contains(&made_key.secret), "{}", listed.text);
    let listed = listed.expect(200);
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["access_key_id"] == made_key.id.as_str())
        .unwrap_or_else(|| panic!("{listed:#}"));
    assert_eq!(entry["description"], "dashboard");
    a.delete(&format!("/api/v1/access-keys/{}", made_key.id))
        .expect(204);
    // Refused at once by the node that deleted it, though it was just used (and cached).
    dashboard
        .get(&format!("/api/v1/images/{image_id}"))
        .expect_error(401, "Unauthorized");

    // --- A registry with a closed catalog: only the named repositories are synced; one
    // that does not exist is reported, the rest synced.
    let listed = a
        .post(
            "/api/v1/registries",
            &json!({"name": "listed", "type": "acr", "url": format!("http://{}", reg.addr),
                "region_id": "cn-north-4", "repositories": ["team/secret", "team/missing"]}),
        )
        .expect(201);
    assert_eq!(
        listed["repositories"],
        json!(["team/secret", "team/missing"])
    );
    let listed = id_of(&listed);
    let sync = a
        .post(&format!("/api/v1/registries/{listed}/sync"), &json!({}))
        .expect(200);
    assert_eq!(sync["repositories"], 2, "{sync:#}");
    assert_eq!(sync["tags"], 1, "{sync:#}");
    assert_eq!(sync["changed"], 1, "{sync:#}");
    let errors = sync["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{sync:#}");
    assert!(
        errors[0].as_str().unwrap().contains("team/missing"),
        "{sync:#}"
    );
    let r = a.get(&format!("/api/v1/registries/{listed}")).expect(200);
    assert_eq!(r["sync_status"], "SUCCESS", "{r:#}");
    assert!(
        r["sync_error"]
            .as_str()
            .is_some_and(|e| e.contains("team/missing")),
        "{r:#}"
    );
    let synced = images(&a, &format!("registry_ids={listed}"));
    assert_eq!(synced.len(), 1);
    assert_eq!(synced[0]["registry_type"], "acr");
    assert_eq!(synced[0]["region_id"], "cn-north-4");
    assert_eq!(images(&a, "registry_types=acr").len(), 1);
    assert_eq!(images(&a, "region_ids=cn-north-4").len(), 1);
    a.delete(&format!("/api/v1/registries/{listed}"))
        .expect(204);

    // --- A registry that does not answer: the sync fails as a bad gateway, recorded.
    let dead = a
        .post(
            "/api/v1/registries",
            &json!({"name": "dead", "type": "docker", "url": format!("http://127.0.0.1:{}", harness::free_port())}),
        )
        .expect(201);
    let dead = id_of(&dead);
    let started = Instant::now();
    a.post(&format!("/api/v1/registries/{dead}/sync"), &json!({}))
        .expect_error(502, "RegistryUnavailable");
    assert!(started.elapsed() < Duration::from_secs(60));
    let r = a.get(&format!("/api/v1/registries/{dead}")).expect(200);
    assert_eq!(r["sync_status"], "FAIL", "{r:#}");
    assert!(r["sync_error"].is_string(), "{r:#}");
    a.delete(&format!("/api/v1/registries/{dead}")).expect(204);

    // --- A registry password is stored sealed and never shown or logged.
    let password = format!("pw-{}", random_hex(12));
    let r = a.post(
        "/api/v1/registries",
        &json!({"name": "private", "type": "harbor", "url": format!("http://{}", reg.addr),
                "username": "robot", "password": password}),
    );
    let created = r.expect(201);
    assert!(!r.text.contains(&password), "{}", r.text);
    assert_eq!(created["has_password"], true, "{created:#}");
    assert_eq!(created["username"], "robot");
    let private = id_of(&created);
    let r = a.get("/api/v1/registries");
    assert!(!r.text.contains(&password), "{}", r.text);
    let listed = r.expect(200);
    let item = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| id_of(r) == private)
        .unwrap();
    assert_eq!(item["has_password"], true);
    let r = a.get(&format!("/api/v1/registries/{private}"));
    assert!(!r.text.contains(&password), "{}", r.text);
    assert_eq!(r.expect(200)["has_password"], true);
    // The registry it names is anonymous: a sync with the credentials works.
    let r = a.post(&format!("/api/v1/registries/{private}/sync"), &json!({}));
    assert!(!r.text.contains(&password), "{}", r.text);
    r.expect(200);
    let stored = svc.sql(&format!(
        "SELECT password_sealed FROM registries WHERE id = {private}"
    ));
    assert!(
        !stored[0][0].is_empty() && !stored[0][0].contains(&password),
        "the password is stored sealed"
    );
    let names = a.post(
        "/api/v1/registries",
        &json!({"name": "private", "type": "docker", "url": "http://127.0.0.1:9"}),
    );
    names.expect_error(409, "Conflict");
    // Deleting it removes it and its images.
    a.delete(&format!("/api/v1/registries/{private}"))
        .expect(204);
    a.get(&format!("/api/v1/registries/{private}"))
        .expect_error(404, "NotFound");
    assert!(
        images(&a, &format!("registry_ids={private}")).is_empty(),
        "the deleted registry's images are gone"
    );
    let log = server.log();
    assert!(log.contains("DEBUG"), "debug logging is on: {log}");
    assert!(!log.contains(&password), "the server logged the password");
    assert!(
        !log.contains(&alpha.secret),
        "the server logged a key secret"
    );
}

// =======================================================================================
// 2. A scan end to end.

#[test]
fn scan_end_to_end_sqlite() {
    scan_end_to_end(Backend::Sqlite);
}

#[test]
fn scan_end_to_end_postgres() {
    scan_end_to_end(Backend::Postgres);
}

fn scan_end_to_end(backend: Backend) {
    if !prerequisites(backend) {
        return;
    }
    let svc = Service::new(backend);
    let reg = Registry::start(Auth::None);
    let work = svc.dir().join("images");
    // Three images sharing the base layer, one of them risky, and a two-platform index
    // whose images share it too.
    let mut layouts: BTreeMap<&str, Layout> = BTreeMap::new();
    for (repo, own) in [
        ("team/a", own_layer("a")),
        ("team/b", risky_layer("b")),
        ("team/c", own_layer("c")),
    ] {
        let image = Image::new().layer(base_layer()).layer(own);
        let dir = push(&reg, &work, &image, &format!("{repo}:1"));
        layouts.insert(repo, read_layout(&dir));
    }
    let multi = push_index(
        &reg,
        &work,
        &[
            Image::new()
                .platform("linux", "amd64", None)
                .layer(base_layer())
                .layer(own_layer("multi-amd64")),
            Image::new()
                .platform("linux", "arm64", Some("v8"))
                .layer(base_layer())
                .layer(own_layer("multi-arm64")),
        ],
        "team/multi:1",
    );
    layouts.insert("team/multi", read_layout(&multi));
    let repos: Vec<&str> = layouts.keys().copied().collect();
    let platform_images: usize = layouts.values().map(|l| l.manifests.len()).sum();
    let layer_uses: usize = layouts
        .values()
        .flat_map(|l| &l.manifests)
        .map(|m| m.layers.len())
        .sum();
    let distinct_layers: BTreeSet<String> = layouts
        .values()
        .flat_map(|l| &l.manifests)
        .flat_map(|m| m.layers.clone())
        .collect();
    assert!(layouts["team/multi"].is_index);
    assert!(
        distinct_layers.len() < layer_uses,
        "the base layer is shared"
    );

    let key = svc.create_key("acme", "read,list,write");
    let server = svc.serve(&[
        "--workers",
        "2",
        "--lease-seconds",
        "3",
        "--scanners",
        "secret,baseline",
    ]);
    let api = server.api(&key);

    // --- Sync: repositories, tags, images; the index with its children.
    let registry = add_registry(&api, "local", &reg.addr);
    let sync = api
        .post(&format!("/api/v1/registries/{registry}/sync"), &json!({}))
        .expect(200);
    assert_eq!(sync["repositories"], repos.len(), "{sync:#}");
    assert_eq!(sync["tags"], repos.len(), "{sync:#}");
    assert_eq!(sync["changed"], platform_images, "{sync:#}");
    assert_eq!(sync["unchanged"], 0, "{sync:#}");
    assert_eq!(sync["errors"], json!([]), "{sync:#}");
    assert_eq!(
        sync["changed_image_ids"].as_array().unwrap().len(),
        platform_images
    );
    let r = api
        .get(&format!("/api/v1/registries/{registry}"))
        .expect(200);
    assert_eq!(r["sync_status"], "SUCCESS", "{r:#}");
    assert!(r["synced_at"].is_string());

    let all = images(&api, "");
    assert_eq!(
        all.len(),
        platform_images + 1,
        "platform images and one index entry"
    );
    let by_digest: BTreeMap<String, Value> = all
        .iter()
        .map(|i| (i["digest"].as_str().unwrap().to_owned(), i.clone()))
        .collect();
    for (repo, layout) in &layouts {
        let entry = &by_digest[&layout.digest];
        assert_eq!(entry["repository"], *repo, "{entry:#}");
        assert_eq!(entry["tag"], "1");
        assert_eq!(entry["namespace"], "team");
        assert_eq!(entry["registry_id"], registry);
        assert_eq!(entry["registry_type"], "docker");
        assert_eq!(entry["is_index"], layout.is_index, "{entry:#}");
        assert_eq!(entry["latest"], true, "{entry:#}");
        if layout.is_index {
            assert_eq!(entry["platform"], "multi", "{entry:#}");
            let mut got: Vec<&str> = entry["association_images"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap())
                .collect();
            got.sort_unstable();
            let mut want: Vec<&str> = layout.manifests.iter().map(|m| m.digest.as_str()).collect();
            want.sort_unstable();
            assert_eq!(got, want, "{entry:#}");
        } else {
            assert_eq!(entry["association_images"], json!([]));
        }
        for m in &layout.manifests {
            let image = &by_digest[&m.digest];
            assert_eq!(image["repository"], *repo);
            assert_eq!(image["is_index"], false);
            assert_eq!(image["platform"], m.platform.as_str(), "{image:#}");
            assert_eq!(image["image_id"], m.config.as_str(), "{image:#}");
            assert_eq!(image["scan_status"], "INIT");
            if layout.is_index {
                assert_eq!(image["parent_id"], entry["id"], "{image:#}");
            } else {
                assert_eq!(image["parent_id"], Value::Null);
            }
        }
    }
    let no_index = images(&api, "include_index=false");
    assert_eq!(no_index.len(), platform_images);
    // Pages: newest first, disjoint, together everything.
    let mut paged = Vec::new();
    for page in 1..=4 {
        let p = api
            .get(&format!("/api/v1/images?page_size=2&page={page}"))
            .expect(200);
        assert_eq!(p["total"], platform_images + 1, "{p:#}");
        assert_eq!(p["page"], page);
        assert_eq!(p["page_size"], 2);
        paged.extend(p["items"].as_array().unwrap().iter().map(id_of));
    }
    let mut ids: Vec<i64> = all.iter().map(id_of).collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(paged, ids, "pages, newest first");
    // Name search: `_` and `%` are literal characters, not patterns.
    assert_eq!(
        images(&api, "repo_name_contains=team/").len(),
        platform_images + 1
    );
    assert_eq!(images(&api, "repo_name_contains=multi").len(), 3);
    assert!(images(&api, "repo_name_contains=team_a").is_empty());
    assert!(images(&api, "repo_name_contains=t%25a").is_empty());
    assert!(images(&api, "repo_name_contains=_").is_empty());
    assert_eq!(
        images(
            &api,
            &format!("registry_ids={registry}&registry_types=docker")
        )
        .len(),
        platform_images + 1
    );
    assert!(images(&api, "registry_types=harbor").is_empty());
    assert_eq!(images(&api, "repo_names=team/a,team/c").len(), 2);
    assert_eq!(
        images(&api, &format!("digests={}", layouts["team/multi"].digest)).len(),
        1
    );

    // A second sync fetches nothing again.
    let again = api
        .post(&format!("/api/v1/registries/{registry}/sync"), &json!({}))
        .expect(200);
    assert_eq!(again["changed"], 0, "{again:#}");
    assert_eq!(again["unchanged"], repos.len(), "{again:#}");
    assert_eq!(again["removed"], 0, "{again:#}");
    assert_eq!(again["tags"], repos.len());
    assert_eq!(images(&api, "").len(), platform_images + 1);

    // --- Precheck and the scan.
    let selectors = json!({"repo_names": repos.join(",")});
    let precheck = api
        .post("/api/v1/tasks/precheck", &json!({"selectors": selectors}))
        .expect(200);
    assert_eq!(precheck["selected"], platform_images, "{precheck:#}");
    assert_eq!(precheck["to_scan"], platform_images, "{precheck:#}");
    assert_eq!(precheck["beyond_quota"], false);
    assert_eq!(precheck["can_create"], true);
    let task = create_task(&api, &json!({"selectors": selectors}));
    assert_eq!(task["total"], platform_images, "{task:#}");
    assert_eq!(task["source"], "manual");
    assert_eq!(task["force"], false);
    assert_eq!(task["selectors"]["repo_names"], selectors["repo_names"]);
    let task_id = task["id"].as_str().unwrap();
    let done = api.wait_task(task_id, Duration::from_secs(120), &server);
    assert_eq!(done["status"], "SUCCESS", "{done:#}");
    assert_eq!(done["total"], platform_images);
    assert_eq!(done["finished"], platform_images);
    assert_eq!(done["failed"], 0);
    assert_eq!(done["progress"], 100);
    assert!(
        done["started"].is_string() && done["finished_at"].is_string(),
        "{done:#}"
    );

    let scanned = images(&api, "include_index=false");
    for image in &scanned {
        assert_eq!(image["scan_status"], "SUCCESS", "{image:#}");
        assert_eq!(image["progress"], 100, "{image:#}");
        assert_eq!(image["result_code"], "OK", "{image:#}");
        assert!(image["last_scan_time"].is_string(), "{image:#}");
        // No User in any config: every image runs as root, a baseline finding.
        assert!(
            image["counts"]["baseline"].as_i64().unwrap() >= 1,
            "{image:#}"
        );
    }
    assert_eq!(
        images(&api, "scan_status=SUCCESS&include_index=false").len(),
        platform_images
    );

    // --- Findings: the planted key and the setuid file, in the risky image only.
    let risky_digest = &layouts["team/b"].manifests[0].digest;
    // Findings name the layer by its digest or its diff id.
    let risky_layer_ids = [
        layouts["team/b"].manifests[0].layers[1].clone(),
        layouts["team/b"].manifests[0].diff_ids[1].clone(),
    ];
    let risky = by_digest[risky_digest.as_str()].clone();
    let risky_id = id_of(&risky);
    for image in &scanned {
        let id = id_of(image);
        let secrets = findings(&api, id, "kind=secret");
        let baseline = findings(&api, id, "kind=baseline");
        assert_eq!(
            image["counts"]["secret"].as_u64().unwrap() as usize,
            secrets.len()
        );
        let setuid = baseline
            .iter()
            .any(|f| f["name"] == "KH-IMG-031" && f["path"] == "usr/local/bin/helper");
        if id == risky_id {
            assert!(setuid, "{baseline:#?}");
            assert!(
                secrets.iter().all(|f| f["path"] == "opt/app/.env"
                    && risky_layer_ids.iter().any(|l| f["layer"] == l.as_str())),
                "want layer {risky_layer_ids:?}: {secrets:#?}"
            );
        } else {
            assert!(secrets.is_empty(), "{}: {secrets:#?}", image["repository"]);
            assert!(!setuid);
        }
    }
    let secrets = findings(&api, risky_id, "kind=secret");
    let high = findings(&api, risky_id, "kind=secret,baseline&severity=HIGH");
    let all_risky = findings(&api, risky_id, "");
    assert_eq!(
        high.len(),
        all_risky
            .iter()
            .filter(
                |f| f["severity"] == "high" && (f["kind"] == "secret" || f["kind"] == "baseline")
            )
            .count()
    );
    assert!(
        high.iter().any(|f| id_of(f) == id_of(&secrets[0])) == (secrets[0]["severity"] == "high")
    );
    let page = |n: u32| {
        let p = api
            .get(&format!(
                "/api/v1/images/{risky_id}/findings?page_size=1&page={n}"
            ))
            .expect(200);
        assert_eq!(p["total"], all_risky.len(), "{p:#}");
        assert_eq!(p["items"].as_array().unwrap().len(), 1, "{p:#}");
        id_of(&p["items"][0])
    };
    assert_ne!(page(1), page(2));
    let key_finding = secrets
        .iter()
        .find(|f| f["name"].as_str().unwrap().contains("aws-access-key"))
        .unwrap_or_else(|| panic!("no AWS key finding: {secrets:#?}"))
        .clone();
    assert!(
        !serde_json::to_string(&secrets)
            .unwrap()
            .contains(AWS_SECRET),
        "a whole secret is shown"
    );
    assert_eq!(key_finding["handled"], false);
    let fid = id_of(&key_finding);
    let all_findings = findings(&api, risky_id, "");
    let risky = api.get(&format!("/api/v1/images/{risky_id}")).expect(200);
    let unhandled = risky["counts"]["unhandled"].as_i64().unwrap();
    assert_eq!(
        unhandled as usize,
        all_findings.len(),
        "nothing handled yet"
    );

    // --- Handle and unhandle.
    let handled = api
        .post(
            &format!("/api/v1/findings/{fid}/handle"),
            &json!({"reason": "rotated"}),
        )
        .expect(200);
    assert_eq!(id_of(&handled), risky_id);
    assert_eq!(handled["counts"]["unhandled"], unhandled - 1, "{handled:#}");
    let after = api.get(&format!("/api/v1/images/{risky_id}")).expect(200);
    assert_eq!(after["counts"]["unhandled"], unhandled - 1);
    assert_eq!(after["counts"]["secret"], risky["counts"]["secret"]);
    let marked = findings(&api, risky_id, "handled=true");
    assert_eq!(marked.len(), 1, "{marked:#?}");
    assert_eq!(id_of(&marked[0]), fid);
    assert_eq!(marked[0]["handled"], true);
    assert_eq!(marked[0]["handled_by"], key.id.as_str());
    assert_eq!(marked[0]["handled_reason"], "rotated");
    assert!(marked[0]["handled_at"].is_string());
    assert_eq!(
        findings(&api, risky_id, "handled=false").len(),
        all_findings.len() - 1
    );
    assert!(
        images(&api, "has_risk=true")
            .iter()
            .any(|i| id_of(i) == risky_id),
        "other findings stay unhandled"
    );
    let restored = api
        .post(&format!("/api/v1/findings/{fid}/unhandle"), &json!({}))
        .expect(200);
    assert_eq!(restored["counts"]["unhandled"], unhandled);
    let f = findings(&api, risky_id, "kind=secret")
        .into_iter()
        .find(|f| id_of(f) == fid)
        .unwrap();
    assert_eq!(f["handled"], false);
    assert_eq!(f["handled_by"], Value::Null);
    assert_eq!(f["handled_reason"], Value::Null);
    // Handled again, without a body: it must survive the forced rescan below.
    let r = api.send("POST", &format!("/api/v1/findings/{fid}/handle"), None, &[]);
    assert_eq!(r.expect(200)["counts"]["unhandled"], unhandled - 1);

    // --- Layers: analysed once per digest, shared through the store.
    let check_layers = |when: &str| {
        let rows = svc.sql("SELECT digest, COUNT(*) FROM layer_facts GROUP BY digest");
        let got: BTreeMap<String, String> = rows
            .into_iter()
            .map(|r| (r[0].clone(), r[1].clone()))
            .collect();
        assert_eq!(
            got.keys().cloned().collect::<BTreeSet<_>>(),
            distinct_layers,
            "{when}: one stored analysis per distinct layer digest"
        );
        assert!(got.values().all(|n| n == "1"), "{when}: {got:?}");
        let claims = svc.sql("SELECT COUNT(*) FROM layer_facts WHERE facts IS NULL");
        assert_eq!(claims[0][0], "0", "{when}: no claim left behind");
    };
    check_layers("first scan");
    let page = api.get("/metrics").text;
    assert_eq!(
        metric(&page, "keelhaul_layer_cache_misses_total"),
        Some(distinct_layers.len() as f64),
        "every distinct layer analysed once:\n{page}"
    );
    assert_eq!(
        metric(&page, "keelhaul_layer_cache_hits_total"),
        Some((layer_uses - distinct_layers.len()) as f64),
        "every other use of a layer is a hit:\n{page}"
    );

    // --- The same task again: nothing to scan; forced: everything, from stored layers.
    let precheck = api
        .post("/api/v1/tasks/precheck", &json!({"selectors": selectors}))
        .expect(200);
    assert_eq!(precheck["selected"], platform_images, "{precheck:#}");
    assert_eq!(precheck["to_scan"], 0, "{precheck:#}");
    let again = create_task(&api, &json!({"selectors": selectors}));
    assert_eq!(again["total"], 0, "{again:#}");
    assert_eq!(again["status"], "SUCCESS", "{again:#}");
    assert_eq!(again["progress"], 100);
    let forced = create_task(&api, &json!({"selectors": selectors, "force": true}));
    assert_eq!(forced["total"], platform_images, "{forced:#}");
    assert_eq!(forced["force"], true);
    let done = api.wait_task(
        forced["id"].as_str().unwrap(),
        Duration::from_secs(120),
        &server,
    );
    assert_eq!(done["status"], "SUCCESS", "{done:#}");
    assert_eq!(done["finished"], platform_images);
    assert_eq!(
        done["failed"],
        0,
        "{done:#}\njobs: {:?}\nimages: {:?}\nserver log:\n{}",
        svc.sql("SELECT id, image_id, state, attempts, error FROM jobs"),
        svc.sql("SELECT id, scan_status, progress, result_code FROM images"),
        server.proc.log_tail()
    );
    for image in images(&api, "include_index=false") {
        assert_eq!(
            image["scan_status"],
            "SUCCESS",
            "{image:#}\njobs: {:?}\nserver log:\n{}",
            svc.sql("SELECT id, image_id, state, attempts, error FROM jobs"),
            server.proc.log_tail()
        );
    }
    check_layers("forced rescan");
    let page = api.get("/metrics").text;
    assert_eq!(
        metric(&page, "keelhaul_layer_cache_misses_total"),
        Some(distinct_layers.len() as f64),
        "the rescan analysed nothing again:\n{page}"
    );
    assert_eq!(
        metric(&page, "keelhaul_layer_cache_hits_total"),
        Some((2 * layer_uses - distinct_layers.len()) as f64),
        "{page}"
    );
    let f = findings(&api, risky_id, "kind=secret")
        .into_iter()
        .find(|f| id_of(f) == fid)
        .unwrap_or_else(|| panic!("finding {fid} kept its id across the rescan"));
    assert_eq!(f["handled"], true, "a handled finding stays handled: {f:#}");
    assert_eq!(
        api.get(&format!("/api/v1/images/{risky_id}")).expect(200)["counts"]["unhandled"],
        unhandled - 1
    );

    // --- Statistics by repository agree with the images.
    let current = images(&api, "");
    let stats = api
        .get("/api/v1/statistics?group_by=repository")
        .expect(200);
    let groups = stats["groups"].as_array().unwrap();
    let keys: Vec<&str> = groups.iter().map(|g| g["key"].as_str().unwrap()).collect();
    assert_eq!(keys, repos, "{stats:#}");
    for g in groups {
        let repo = g["key"].as_str().unwrap();
        let layout = &layouts[repo];
        let mine: Vec<&Value> = current.iter().filter(|i| i["repository"] == repo).collect();
        let entries = layout.manifests.len() + usize::from(layout.is_index);
        assert_eq!(g["images"], entries, "{g:#}");
        assert_eq!(g["scanned"], layout.manifests.len(), "{g:#}");
        for kind in ["cve", "sca", "malicious", "baseline", "secret", "unhandled"] {
            let sum: i64 = mine
                .iter()
                .map(|i| i["counts"][kind].as_i64().unwrap())
                .sum();
            assert_eq!(g["counts"][kind], sum, "{repo} {kind}: {g:#}");
        }
        let at_risk = mine
            .iter()
            .filter(|i| i["counts"]["unhandled"].as_i64().unwrap() > 0)
            .count();
        assert_eq!(g["at_risk"], at_risk, "{g:#}");
        let handled = if repo == "team/b" { 1 } else { 0 };
        assert_eq!(g["handled"], handled, "{g:#}");
        assert_eq!(
            g["counts"]["secret"].as_i64().unwrap() > 0,
            repo == "team/b",
            "{g:#}"
        );
    }
    let by_registry = api.get("/api/v1/statistics?group_by=registry").expect(200);
    assert_eq!(
        by_registry["groups"].as_array().unwrap().len(),
        1,
        "{by_registry:#}"
    );
    assert_eq!(by_registry["groups"][0]["key"], registry.to_string());
    assert_eq!(by_registry["groups"][0]["images"], platform_images + 1);
    let tenant = api.get("/api/v1/statistics").expect(200);
    assert_eq!(
        tenant["groups"][0]["images"],
        platform_images + 1,
        "{tenant:#}"
    );
    assert_eq!(tenant["groups"][0]["key"], Value::Null);

    let quota = api.get("/api/v1/quota").expect(200);
    assert_eq!(quota["used"], 2 * platform_images, "{quota:#}");
    assert_eq!(
        quota["left"].as_i64().unwrap(),
        quota["scan_quota"].as_i64().unwrap() - 2 * platform_images as i64
    );
    assert_eq!(quota["running_tasks"], 0);
    let tasks = api.get("/api/v1/tasks").expect(200);
    assert_eq!(tasks["total"], 3, "{tasks:#}");
    assert_eq!(
        api.get("/api/v1/tasks?status=success").expect(200)["total"],
        3
    );
}

// =======================================================================================
// 3. Quotas and task limits.

#[test]
fn quotas_and_task_limits_sqlite() {
    if !prerequisites(Backend::Sqlite) {
        return;
    }
    let svc = Service::new(Backend::Sqlite);
    let reg = Registry::start(Auth::None);
    let work = svc.dir().join("images");
    let mut digests = BTreeMap::new();
    for repo in ["team/q1", "team/q2"] {
        let image = Image::new().layer(base_layer()).layer(own_layer(repo));
        let layout = read_layout(&push(&reg, &work, &image, &format!("{repo}:1")));
        digests.insert(repo, layout.digest);
    }
    let key = svc.create_key("quota", "read,list,write");
    // No workers: tasks stay queued.
    let server = svc.serve(&["--workers", "0", "--scanners", "none"]);
    let api = server.api(&key);
    let registry = add_registry(&api, "local", &reg.addr);
    let sync = api
        .post(&format!("/api/v1/registries/{registry}/sync"), &json!({}))
        .expect(200);
    assert_eq!(sync["changed"], 2, "{sync:#}");
    let both = json!({"selectors": {"repo_names": "team/q1,team/q2"}});
    let one = json!({"selectors": {"repo_names": "team/q1"}});
    let other = json!({"selectors": {"repo_names": "team/q2"}});

    // A quota of one scan: a task of two images is refused whole.
    svc.set_quota("quota", Some(1), None);
    let precheck = api.post("/api/v1/tasks/precheck", &both).expect(200);
    assert_eq!(precheck["to_scan"], 2, "{precheck:#}");
    assert_eq!(precheck["quota_left"], 1, "{precheck:#}");
    assert_eq!(precheck["beyond_quota"], true, "{precheck:#}");
    assert_eq!(precheck["can_create"], false, "{precheck:#}");
    api.post("/api/v1/tasks", &both)
        .expect_error(400, "BeyondQuata");
    assert_eq!(
        api.get("/api/v1/tasks").expect(200)["total"],
        0,
        "nothing was made"
    );
    let quota = api.get("/api/v1/quota").expect(200);
    assert_eq!(quota["scan_quota"], 1, "{quota:#}");
    assert_eq!(quota["used"], 0, "{quota:#}");
    let precheck = api.post("/api/v1/tasks/precheck", &one).expect(200);
    assert_eq!(precheck["beyond_quota"], false, "{precheck:#}");

    // One task at a time.
    svc.set_quota("quota", Some(10), Some(1));
    let first = create_task(&api, &one);
    assert_eq!(first["total"], 1, "{first:#}");
    assert_eq!(first["status"], "INIT", "{first:#}");
    let first_id = first["id"].as_str().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        api.get(&format!("/api/v1/tasks/{first_id}")).expect(200)["status"],
        "INIT",
        "no worker runs it"
    );
    let quota = api.get("/api/v1/quota").expect(200);
    assert_eq!(quota["used"], 1, "{quota:#}");
    assert_eq!(quota["left"], 9, "{quota:#}");
    assert_eq!(quota["running_tasks"], 1, "{quota:#}");
    assert_eq!(quota["max_running_tasks"], 1, "{quota:#}");
    assert_eq!(quota["can_create"], false, "{quota:#}");
    let precheck = api.post("/api/v1/tasks/precheck", &other).expect(200);
    assert_eq!(precheck["can_create"], false, "{precheck:#}");
    assert_eq!(precheck["beyond_quota"], false, "{precheck:#}");
    assert_eq!(precheck["running_tasks"], 1);
    assert_eq!(precheck["max_running_tasks"], 1);
    api.post("/api/v1/tasks", &other)
        .expect_error(400, "TaskLimitExceeded");
    // A client may not pose as a push; CI scans are not held back by the limit.
    api.post(
        "/api/v1/tasks",
        &json!({"selectors": {"repo_names": "team/q2"}, "source": "push"}),
    )
    .expect_invalid("source");
    let ci = create_task(
        &api,
        &json!({"selectors": {"repo_names": "team/q2"}, "source": "ci"}),
    );
    assert_eq!(ci["source"], "ci");
    assert_eq!(ci["total"], 1);
    assert_eq!(api.get("/api/v1/quota").expect(200)["used"], 2);

    // Cancelling gives the queued scans' quota back and frees the slot.
    let cancelled = api
        .post(&format!("/api/v1/tasks/{first_id}/cancel"), &json!({}))
        .expect(200);
    assert_eq!(cancelled["status"], "CANCELLED", "{cancelled:#}");
    assert!(cancelled["finished_at"].is_string(), "{cancelled:#}");
    let ci_id = ci["id"].as_str().unwrap();
    api.post(&format!("/api/v1/tasks/{ci_id}/cancel"), &json!({}))
        .expect(200);
    let quota = api.get("/api/v1/quota").expect(200);
    assert_eq!(quota["used"], 0, "{quota:#}");
    assert_eq!(quota["running_tasks"], 0, "{quota:#}");
    assert_eq!(quota["can_create"], true, "{quota:#}");
    // Cancelling again changes nothing and returns nothing twice.
    let again = api
        .post(&format!("/api/v1/tasks/{first_id}/cancel"), &json!({}))
        .expect(200);
    assert_eq!(again["status"], "CANCELLED");
    assert_eq!(api.get("/api/v1/quota").expect(200)["used"], 0);
    api.post("/api/v1/tasks/no-such-task/cancel", &json!({}))
        .expect_error(404, "NotFound");
    let jobs = svc.sql(&format!(
        "SELECT state FROM jobs WHERE task_id = '{first_id}'"
    ));
    assert_eq!(jobs, vec![vec!["cancelled".to_owned()]]);
    let listed = api.get("/api/v1/tasks?status=CANCELLED").expect(200);
    assert_eq!(listed["total"], 2, "{listed:#}");
    // The slot is free again.
    let next = create_task(&api, &other);
    assert_eq!(next["total"], 1, "{next:#}");
    assert_eq!(api.get("/api/v1/quota").expect(200)["used"], 1);
    let next_id = next["id"].as_str().unwrap();

    // The queued image leaves the registry: a sync removes it, and its task must not stay
    // queued for ever, holding the tenant's only slot.
    let deleted = reqwest::blocking::Client::new()
        .delete(format!(
            "http://{}/v2/team/q2/manifests/{}",
            reg.addr, digests["team/q2"]
        ))
        .send()
        .unwrap();
    assert_eq!(
        deleted.status().as_u16(),
        202,
        "the registry deletes the manifest"
    );
    let sync = api
        .post(&format!("/api/v1/registries/{registry}/sync"), &json!({}))
        .expect(200);
    assert_eq!(sync["removed"], 1, "{sync:#}");
    assert_eq!(sync["tags"], 1, "{sync:#}");
    assert!(images(&api, "repo_names=team/q2").is_empty());
    let orphan = api.get(&format!("/api/v1/tasks/{next_id}")).expect(200);
    assert!(
        !["INIT", "PRE_ANALYZER"].contains(&orphan["status"].as_str().unwrap()),
        "a task whose images were all removed still runs: {orphan:#}"
    );
    let quota = api.get("/api/v1/quota").expect(200);
    assert_eq!(quota["running_tasks"], 0, "{quota:#}");
    let last = create_task(&api, &one);
    assert_eq!(last["total"], 1, "{last:#}");
    // Deleting the registry takes that task's image with it, and ends the task too.
    a_registry_deletion_ends_its_tasks(&api, registry, last["id"].as_str().unwrap());
}

fn a_registry_deletion_ends_its_tasks(api: &Api, registry: i64, task: &str) {
    api.delete(&format!("/api/v1/registries/{registry}"))
        .expect(204);
    assert!(images(api, "").is_empty());
    let orphan = api.get(&format!("/api/v1/tasks/{task}")).expect(200);
    assert!(
        !["INIT", "PRE_ANALYZER"].contains(&orphan["status"].as_str().unwrap()),
        "a task whose registry was deleted still runs: {orphan:#}"
    );
    assert_eq!(api.get("/api/v1/quota").expect(200)["running_tasks"], 0);
}

// =======================================================================================
// 4. A worker killed mid-scan.

/// Text that the secret scanner reads in full (not binary, under its size cap) and that
/// compresses badly.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=-_ ";
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        for i in 0..8 {
            if out.len() % 100 == 99 {
                out.push(b'\n');
            } else {
                out.push(ALPHABET[((x >> (i * 8)) as usize) % ALPHABET.len()]);
            }
        }
    }
    out.truncate(len);
    out
}

/// A TCP forwarder to `upstream` on a free loopback port whose answers flow at about
/// `bytes_per_second`; returns its `127.0.0.1:PORT`. It lives as long as the test process.
fn slow_proxy(upstream: &str, bytes_per_second: usize) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let upstream = upstream.to_owned();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { continue };
            let Ok(mut server) = std::net::TcpStream::connect(&upstream) else {
                continue;
            };
            let (mut client_reader, mut server_writer) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut client_reader, &mut server_writer);
                let _ = server_writer.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let chunk = 16 * 1024;
                let pause = Duration::from_secs_f64(chunk as f64 / bytes_per_second as f64);
                let mut buf = vec![0; chunk];
                loop {
                    match server.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if client.write_all(&buf[..n]).is_err() {
                                break;
                            }
                            if n == chunk {
                                std::thread::sleep(pause);
                            }
                        }
                    }
                }
                let _ = client.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    addr
}

#[test]
fn killed_worker_job_is_taken_over_postgres() {
    if !prerequisites(Backend::Postgres) {
        return;
    }
    let svc = Service::new(Backend::Postgres);
    let reg = Registry::start(Auth::None);
    let work = svc.dir().join("images");
    // Compressed, so the registry stores the very blob of the layout (skopeo compresses
    // uncompressed layers on the way).
    let mut big = Layer::new().compression(Compression::Gzip);
    for n in 0..2 {
        big = big.file(
            &format!("srv/data/part{n}.txt"),
            noise(n + 1, 4 * 1024 * 1024),
        );
    }
    let big_dir = push(
        &reg,
        &work,
        &Image::new().layer(base_layer()).layer(big),
        "team/big:1",
    );
    let big_layer = read_layout(&big_dir).manifests[0].layers[1].clone();
    for repo in ["team/small1", "team/small2"] {
        push(
            &reg,
            &work,
            &Image::new().layer(base_layer()).layer(own_layer(repo)),
            &format!("{repo}:1"),
        );
    }
    let key = svc.create_key("fleet", "read,list,write");
    let server = svc.serve(&["--workers", "0"]);
    let api = server.api(&key);
    // The workers reach the registry through a slow link: the big layer takes seconds.
    let slow = slow_proxy(&reg.addr, 2 * 1024 * 1024);
    let registry = add_registry(&api, "local", &slow);
    api.post(&format!("/api/v1/registries/{registry}/sync"), &json!({}))
        .expect(200);
    let all = images(&api, "");
    assert_eq!(all.len(), 3);
    let big_id = id_of(all.iter().find(|i| i["repository"] == "team/big").unwrap());
    let worker_args = [
        "--concurrency",
        "1",
        "--lease-seconds",
        "3",
        "--scanners",
        "secret",
    ];
    let mut workers = [svc.worker(&worker_args), svc.worker(&worker_args)];
    let task = create_task(&api, &json!({}));
    assert_eq!(task["total"], 3, "{task:#}");
    let task_id = task["id"].as_str().unwrap().to_owned();

    // Wait until the big image's job runs and its worker is analysing the big layer (it
    // holds the layer's claim), then kill the worker.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (job_id, owner) = wait_for("the big layer's analysis", Duration::from_secs(61), || {
        assert!(
            Instant::now() < deadline,
            "the big layer was never seen being analysed; jobs: {:?}\nworker logs:\n{}\n---\n{}",
            svc.sql("SELECT id, image_id, state, attempts, started_at, finished_at FROM jobs"),
            workers[0].log_tail(),
            workers[1].log_tail()
        );
        svc.sql(&format!(
            "SELECT j.id, j.lease_owner FROM jobs j JOIN layer_facts f \
             ON f.claimed_by LIKE j.lease_owner || '/%' \
             WHERE j.state = 'running' AND j.image_id = {big_id} \
             AND f.digest = '{big_layer}' AND f.facts IS NULL"
        ))
        .into_iter()
        .next()
        .map(|r| (r[0].clone(), r[1].clone()))
    });
    // `HOST:PID:RANDOM#N`.
    let pid: u32 = owner
        .rsplit(':')
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("lease owner `{owner}` names no pid"));
    let victim = workers
        .iter()
        .position(|w| w.pid() == pid)
        .unwrap_or_else(|| panic!("lease owner `{owner}` is none of our workers"));
    let killed_at = Instant::now();
    workers[victim].kill();
    let state = svc.sql(&format!(
        "SELECT state, attempts FROM jobs WHERE id = {job_id}"
    ));
    assert_eq!(
        state[0],
        vec!["running".to_owned(), "1".to_owned()],
        "the job was still running when its worker died"
    );

    let survivor = &workers[1 - victim];
    let done = loop {
        let task = api.get(&format!("/api/v1/tasks/{task_id}")).expect(200);
        if task["status"] != "INIT" && task["status"] != "PRE_ANALYZER" {
            break task;
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(120),
            "the task did not end after its worker was killed: {task:#}\njobs: {:?}\n\
             layer claims: {:?}\nsurvivor log:\n{}",
            svc.sql("SELECT id, state, attempts, lease_owner, lease_until FROM jobs"),
            svc.sql("SELECT digest, claimed_by, claim_until FROM layer_facts WHERE facts IS NULL"),
            survivor.log_tail()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        done["status"],
        "SUCCESS",
        "{done:#}\nsurvivor log:\n{}",
        survivor.log_tail()
    );
    assert_eq!(done["total"], 3);
    assert_eq!(done["finished"], 3);
    assert_eq!(done["failed"], 0, "{done:#}");
    for image in images(&api, "") {
        assert_eq!(image["scan_status"], "SUCCESS", "{image:#}");
        assert_eq!(image["result_code"], "OK", "{image:#}");
    }
    let job = svc.sql(&format!(
        "SELECT state, attempts, lease_owner FROM jobs WHERE id = {job_id}"
    ));
    assert_eq!(
        job[0],
        vec!["done".to_owned(), "2".to_owned(), String::new()],
        "the killed job ran twice and ended done"
    );
    let attempts = svc.sql(&format!(
        "SELECT attempts FROM jobs WHERE task_id = '{task_id}' AND id <> {job_id}"
    ));
    assert!(attempts.iter().all(|r| r[0] == "1"), "{attempts:?}");
    // Taken over after the lease ran out, not after some longer timeout.
    assert!(
        killed_at.elapsed() < Duration::from_secs(90),
        "the takeover took {:?}",
        killed_at.elapsed()
    );
    let claims = svc.sql("SELECT COUNT(*) FROM layer_facts WHERE facts IS NULL");
    assert_eq!(claims[0][0], "0", "no layer claim left behind");
}

// =======================================================================================
// 5. Push webhooks.

#[test]
fn push_webhooks_sqlite() {
    if !prerequisites(Backend::Sqlite) {
        return;
    }
    let svc = Service::new(Backend::Sqlite);
    let reg = Registry::start(Auth::None);
    let work = svc.dir().join("images");
    let key = svc.create_key("hooks", "read,list,write");
    let server = svc.serve(&[
        "--workers",
        "1",
        "--lease-seconds",
        "3",
        "--scanners",
        "none",
    ]);
    let api = server.api(&key);
    let registry = add_registry(&api, "local", &reg.addr);
    let hook = format!("/api/v1/registries/{registry}/webhook");

    // Pushed after the registry was added, never synced.
    let dir = push(
        &reg,
        &work,
        &Image::new().layer(base_layer()).layer(own_layer("hooked")),
        "team/hooked:v1",
    );
    let layout = read_layout(&dir);
    assert!(images(&api, "").is_empty());
    let envelope = json!({"events": [
        {"action": "pull", "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "repository": "team/pulled", "digest": layout.digest, "tag": "v1"}},
        {"action": "push", "target": {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "repository": "team/hooked", "digest": layout.manifests[0].layers[0]}},
        {"action": "push", "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "repository": "team/hooked", "digest": layout.digest, "tag": "v1"}},
    ]});
    let outcome = api.post(&hook, &envelope).expect(200);
    assert_eq!(outcome["pushes"], json!(["team/hooked:v1"]), "{outcome:#}");
    assert_eq!(outcome["errors"], json!([]), "{outcome:#}");
    assert_eq!(
        outcome["image_ids"].as_array().unwrap().len(),
        1,
        "{outcome:#}"
    );
    let task = &outcome["task"];
    assert_eq!(task["source"], "push", "{outcome:#}");
    assert_eq!(task["total"], 1, "{outcome:#}");
    let listed = images(&api, "repo_names=team/hooked");
    assert_eq!(listed.len(), 1, "{listed:#?}");
    assert_eq!(listed[0]["digest"], layout.digest.as_str());
    assert_eq!(listed[0]["tag"], "v1");
    assert_eq!(id_of(&listed[0]), outcome["image_ids"][0].as_i64().unwrap());
    assert!(
        images(&api, "repo_names=team/pulled").is_empty(),
        "pulls are ignored"
    );
    let done = api.wait_task(
        task["id"].as_str().unwrap(),
        Duration::from_secs(120),
        &server,
    );
    assert_eq!(done["status"], "SUCCESS", "{done:#}");
    assert_eq!(done["source"], "push");
    let image = api
        .get(&format!("/api/v1/images/{}", id_of(&listed[0])))
        .expect(200);
    assert_eq!(image["scan_status"], "SUCCESS", "{image:#}");
    assert_eq!(image["image_id"], layout.manifests[0].config.as_str());

    // Harbor's payload.
    let dir = push(
        &reg,
        &work,
        &Image::new()
            .layer(base_layer())
            .layer(own_layer("harbored")),
        "library/harbored:h1",
    );
    let layout = read_layout(&dir);
    let payload = json!({"type": "PUSH_ARTIFACT", "occur_at": 1_700_000_000, "operator": "robot",
        "event_data": {"resources": [{"digest": layout.digest, "tag": "h1",
            "resource_url": format!("{}/library/harbored:h1", reg.addr)}],
        "repository": {"name": "harbored", "namespace": "library",
            "repo_full_name": "library/harbored", "repo_type": "private"}}});
    let outcome = api.post(&hook, &payload).expect(200);
    assert_eq!(
        outcome["pushes"],
        json!(["library/harbored:h1"]),
        "{outcome:#}"
    );
    assert_eq!(outcome["task"]["source"], "push", "{outcome:#}");
    let listed = images(&api, "repo_names=library/harbored");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["digest"], layout.digest.as_str());
    assert_eq!(listed[0]["namespace"], "library");
    let done = api.wait_task(
        outcome["task"]["id"].as_str().unwrap(),
        Duration::from_secs(120),
        &server,
    );
    assert_eq!(done["status"], "SUCCESS", "{done:#}");
    // A multi-platform push: the index's event (the children come untagged) brings all.
    let dir = push_index(
        &reg,
        &work,
        &[
            Image::new()
                .platform("linux", "amd64", None)
                .layer(base_layer())
                .layer(own_layer("hook-amd64")),
            Image::new()
                .platform("linux", "arm64", Some("v8"))
                .layer(base_layer())
                .layer(own_layer("hook-arm64")),
        ],
        "team/multihook:m1",
    );
    let index = read_layout(&dir);
    let mut events: Vec<Value> = index
        .manifests
        .iter()
        .map(|m| {
            json!({"action": "push", "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                "repository": "team/multihook", "digest": m.digest}})
        })
        .collect();
    events.push(json!({"action": "push", "target": {
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "repository": "team/multihook", "digest": index.digest, "tag": "m1"}}));
    let outcome = api.post(&hook, &json!({"events": events})).expect(200);
    assert_eq!(
        outcome["pushes"],
        json!(["team/multihook:m1"]),
        "{outcome:#}"
    );
    assert_eq!(
        outcome["image_ids"].as_array().unwrap().len(),
        2,
        "{outcome:#}"
    );
    assert_eq!(outcome["task"]["total"], 2, "{outcome:#}");
    let listed = images(&api, "repo_names=team/multihook");
    let got: BTreeSet<&str> = listed
        .iter()
        .map(|i| i["digest"].as_str().unwrap())
        .collect();
    let mut want: BTreeSet<&str> = index.manifests.iter().map(|m| m.digest.as_str()).collect();
    want.insert(index.digest.as_str());
    assert_eq!(got, want, "{listed:#?}");
    let done = api.wait_task(
        outcome["task"]["id"].as_str().unwrap(),
        Duration::from_secs(120),
        &server,
    );
    assert_eq!(done["status"], "SUCCESS", "{done:#}");
    assert_eq!(done["finished"], 2);

    // A Harbor event that is not a push does nothing.
    let mut delete = payload.clone();
    delete["type"] = json!("DELETE_ARTIFACT");
    let outcome = api.post(&hook, &delete).expect(200);
    assert_eq!(outcome["pushes"], json!([]), "{outcome:#}");
    assert_eq!(outcome["task"], Value::Null);
    // The same push again: known and scanned, so nothing to scan.
    let outcome = api.post(&hook, &envelope).expect(200);
    assert_eq!(outcome["task"]["total"], 0, "{outcome:#}");
    assert_eq!(outcome["task"]["status"], "SUCCESS", "{outcome:#}");

    // Garbage, and pushes of things that do not exist.
    api.post_raw(&hook, "application/json", b"{\"events\": [")
        .expect_error(400, "InvalidParameter");
    api.post(&hook, &json!({"hello": "world"}))
        .expect_error(400, "InvalidParameter");
    api.post(
        &hook,
        &json!({"events": [{"action": "push", "target": {"repository": "../etc", "tag": "x"}}]}),
    )
    .expect_invalid("repository");
    let missing = api
        .post(
            &hook,
            &json!({"events": [{"action": "push", "target": {"repository": "team/ghost",
                "digest": format!("sha256:{}", "0".repeat(64)), "tag": "v0"}}]}),
        )
        .expect(200);
    assert_eq!(
        missing["errors"].as_array().unwrap().len(),
        1,
        "{missing:#}"
    );
    assert_eq!(missing["task"], Value::Null, "{missing:#}");
    api.post("/api/v1/registries/999999/webhook", &json!({"events": []}))
        .expect_error(404, "NotFound");
    assert_eq!(images(&api, "include_index=false").len(), 4);
}

// =======================================================================================
// 6. Re-matching when the vulnerability database changes.

fn osv(id: &str, cve: &str, package: &str, fixed: &str) -> String {
    json!({"id": id, "modified": "2024-01-01T00:00:00Z", "aliases": [cve],
        "summary": format!("{package} test advisory {id}"),
        "affected": [{"package": {"ecosystem": "PyPI", "name": package},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]})
    .to_string()
}

/// A one-shot HTTP receiver: records the body of the first POST and answers 200.
fn receiver() -> (u16, std::sync::mpsc::Receiver<Vec<u8>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            if tx.send(body).is_err() {
                return;
            }
        }
    });
    (port, rx)
}

#[test]
fn rematch_on_database_update_sqlite() {
    if !prerequisites(Backend::Sqlite) {
        return;
    }
    let svc = Service::new(Backend::Sqlite);
    let reg = Registry::start(Auth::None);
    let work = svc.dir().join("images");
    let feeds = svc.dir().join("feeds");
    std::fs::create_dir_all(&feeds).unwrap();
    let package = "khwidget";
    let (first_id, first_cve) = ("GHSA-kh01-0000-0001", "CVE-2099-41001");
    let (second_id, second_cve) = ("GHSA-kh01-0000-0002", "CVE-2099-41002");
    std::fs::write(
        feeds.join("first.json"),
        osv(first_id, first_cve, package, "2.0"),
    )
    .unwrap();
    std::fs::write(
        feeds.join("second.json"),
        osv(second_id, second_cve, package, "3.0"),
    )
    .unwrap();
    let db = svc.dir().join("vuln.db");
    let db_arg = db.to_string_lossy().into_owned();
    let import = |file: &str| {
        let path = feeds.join(file);
        svc.run(&["db", "import", &path.to_string_lossy(), "--db", &db_arg])
            .success();
    };
    import("first.json");
    let built_at = |svc: &Service| {
        svc.run(&["db", "status", "--json", "--db", &db_arg])
            .success()
            .json()
    };
    let status_before = built_at(&svc);

    let site = "usr/local/lib/python3.11/site-packages";
    push(
        &reg,
        &work,
        &Image::new().layer(base_layer()).layer(Layer::new().file(
            &format!("{site}/{package}-1.0.dist-info/METADATA"),
            format!("Metadata-Version: 2.1\nName: {package}\nVersion: 1.0\n"),
        )),
        "team/py:1",
    );
    let (port, notifications) = receiver();
    let key = svc.create_key("vulns", "read,list,write");
    let server = svc.serve(&[
        "--workers",
        "1",
        "--lease-seconds",
        "3",
        "--scanners",
        "none",
        "--vulndb",
        &db_arg,
        "--rematch-interval",
        "3600",
        "--notify-url",
        &format!("http://127.0.0.1:{port}/hook"),
    ]);
    let api = server.api(&key);
    let registry = add_registry(&api, "local", &reg.addr);
    api.post(&format!("/api/v1/registries/{registry}/sync"), &json!({}))
        .expect(200);
    let image_id = id_of(&images(&api, "")[0]);
    let task = create_task(&api, &json!({}));
    let done = api.wait_task(
        task["id"].as_str().unwrap(),
        Duration::from_secs(120),
        &server,
    );
    assert_eq!(done["status"], "SUCCESS", "{done:#}");
    let image = api.get(&format!("/api/v1/images/{image_id}")).expect(200);
    assert_eq!(image["counts"]["sca"], 1, "{image:#}");
    assert_eq!(image["counts"]["cve"], 0, "{image:#}");
    let sca = findings(&api, image_id, "kind=sca");
    assert_eq!(sca.len(), 1);
    assert!(
        [first_id, first_cve].contains(&sca[0]["name"].as_str().unwrap()),
        "{sca:#?}"
    );
    assert_eq!(sca[0]["package"], package);
    assert_eq!(sca[0]["version"], "1.0");
    assert_eq!(sca[0]["fixed_version"], "2.0");
    // Handled before the re-match: it must stay handled.
    api.post(
        &format!("/api/v1/findings/{}/handle", id_of(&sca[0])),
        &json!({"reason": "accepted"}),
    )
    .expect(200);

    // The registry goes away: a re-match must not need it.
    drop(reg);
    import("second.json");
    let status_after = built_at(&svc);
    assert_ne!(
        status_before["built_at"], status_after["built_at"],
        "importing changes the database's version: {status_after:#}"
    );
    let summary = api.post("/api/v1/vulndb/rematch", &json!({})).expect(200);
    assert!(summary["images"].as_u64().unwrap() >= 1, "{summary:#}");
    assert_eq!(summary["changed"], 1, "{summary:#}");
    let image = api.get(&format!("/api/v1/images/{image_id}")).expect(200);
    assert_eq!(image["counts"]["sca"], 2, "{image:#}");
    assert_eq!(image["counts"]["unhandled"], 1, "{image:#}");
    assert_eq!(image["scan_status"], "SUCCESS");
    let sca = findings(&api, image_id, "kind=sca");
    let names: BTreeSet<&str> = sca.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert!(
        names.contains(second_id) || names.contains(second_cve),
        "{names:?}"
    );
    let old = sca
        .iter()
        .find(|f| [first_id, first_cve].contains(&f["name"].as_str().unwrap()))
        .unwrap();
    assert_eq!(old["handled"], true, "{old:#}");

    // The notification lists the image and what appeared.
    let body = notifications
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| {
            panic!(
                "no notification was posted\nserver log:\n{}",
                server.proc.log_tail()
            )
        });
    let note: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(note["event"], "findings_changed", "{note:#}");
    let changed = note["images"].as_array().unwrap();
    assert_eq!(changed.len(), 1, "{note:#}");
    assert_eq!(changed[0]["image_id"], image_id, "{note:#}");
    assert_eq!(changed[0]["repository"], "team/py");
    assert_eq!(changed[0]["tag"], "1");
    let added = changed[0]["added"].as_array().unwrap();
    assert_eq!(added.len(), 1, "{note:#}");
    let added = added[0].as_str().unwrap();
    assert!(
        added.starts_with("sca:") && (added.contains(second_id) || added.contains(second_cve)),
        "{added}"
    );
    assert_eq!(changed[0]["removed"], json!([]), "{note:#}");
    // Nothing more to do: a second re-match changes nothing.
    let summary = api.post("/api/v1/vulndb/rematch", &json!({})).expect(200);
    assert_eq!(summary["images"], 0, "{summary:#}");
    assert_eq!(summary["changed"], 0, "{summary:#}");

    // A rescan needs the registry, which is gone: the scan fails, and says so, and what
    // the last scan found stays.
    let task = create_task(&api, &json!({"force": true}));
    let done = api.wait_task(
        task["id"].as_str().unwrap(),
        Duration::from_secs(120),
        &server,
    );
    assert_eq!(done["status"], "FAIL", "{done:#}");
    assert_eq!(done["failed"], 1, "{done:#}");
    assert_eq!(done["finished"], 1, "{done:#}");
    let image = api.get(&format!("/api/v1/images/{image_id}")).expect(200);
    assert_eq!(image["scan_status"], "FAIL", "{image:#}");
    assert_eq!(image["result_code"], "SCAN_FAILED", "{image:#}");
    assert_eq!(image["counts"]["sca"], 2, "{image:#}");
}

// =======================================================================================
// 7. schemathesis against the OpenAPI document.

#[test]
fn schemathesis_finds_no_server_errors_sqlite() {
    require!(
        keelhaul_test::have("schemathesis"),
        "schemathesis (pip install schemathesis==4.32.5)"
    );
    if !prerequisites(Backend::Sqlite) {
        return;
    }
    let svc = Service::new(Backend::Sqlite);
    let reg = Registry::start(Auth::None);
    let work = svc.dir().join("images");
    push(
        &reg,
        &work,
        &Image::new().layer(base_layer()).layer(risky_layer("fuzz")),
        "team/fuzz:1",
    );
    let key = svc.create_key("fuzz", "read,list,write");
    let server = svc.serve(&[
        "--workers",
        "1",
        "--lease-seconds",
        "3",
        "--scanners",
        "secret,baseline",
    ]);
    let api = server.api(&key);
    let registry = add_registry(&api, "local", &reg.addr);
    api.post(&format!("/api/v1/registries/{registry}/sync"), &json!({}))
        .expect(200);
    let task = create_task(&api, &json!({}));
    let done = api.wait_task(
        task["id"].as_str().unwrap(),
        Duration::from_secs(120),
        &server,
    );
    assert_eq!(done["status"], "SUCCESS", "{done:#}");

    let report = svc.dir().join("schemathesis");
    let start = Instant::now();
    let out = std::process::Command::new("schemathesis")
        .current_dir(svc.dir())
        .args(["run", &format!("{}/api/v1/openapi.json", server.base)])
        .args(["--url", &server.base])
        .args(["--header", &format!("Authorization: {}", key.bearer())])
        .args(["--checks", "not_a_server_error,response_schema_conformance"])
        .args([
            "--max-examples",
            "15",
            "--phases",
            "examples,coverage,fuzzing",
        ])
        .args(["--seed", "1", "--workers", "1", "--request-timeout", "20"])
        // Syncs and webhooks reach out to whatever registry a generated body names.
        .args(["--exclude-path-regex", "/(sync|webhook)$"])
        .args(["--exclude-path", "/api/v1/vulndb/rematch"])
        .args(["--report", "junit", "--report-dir"])
        .arg(&report)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("schemathesis took {:?}", start.elapsed());
    assert!(
        out.status.success(),
        "schemathesis failed ({}):\n{text}\nserver log:\n{}",
        out.status,
        server.proc.log_tail()
    );
    assert!(
        !server.log().contains("answered 500"),
        "{}",
        server.proc.log_tail()
    );
}
