//! Running the service for end-to-end tests: a store per test (a temporary SQLite data
//! directory, or a fresh PostgreSQL database dropped at the end), `keelhaul serve` and
//! `keelhaul worker` processes that are killed when dropped, admin commands, a small JSON
//! HTTP client, and direct SQL on the store to check what the API cannot show.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use keelhaul_test::{Run, keelhaul_bin};
use serde_json::Value;

/// Where the service keeps its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// `n` random bytes as lower-case hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut bytes)
        .unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

const PG: &str = "postgres://postgres@127.0.0.1:5432";

fn psql(database: &str, sql: &str) -> std::process::Output {
    Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", database])
        .args(["-v", "ON_ERROR_STOP=1", "-X", "-q", "-A", "-t", "-F", "\t"])
        .args(["-c", sql])
        .env("PGCONNECT_TIMEOUT", "5")
        .output()
        .unwrap_or_else(|e| panic!("cannot run psql: {e}"))
}

/// Whether PostgreSQL answers at 127.0.0.1:5432 as `postgres` without a password.
pub fn postgres_available() -> bool {
    keelhaul_test::have("psql") && psql("postgres", "SELECT 1").status.success()
}

/// Whether the store of SQLite tests can be read (python3's sqlite3 module).
pub fn python_sqlite_available() -> bool {
    Command::new("python3")
        .args(["-c", "import sqlite3"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A fresh PostgreSQL database, dropped on drop.
struct PgDatabase {
    name: String,
}

impl PgDatabase {
    fn create() -> PgDatabase {
        let name = format!("kh_t_{}", random_hex(8));
        let out = psql("postgres", &format!("CREATE DATABASE {name}"));
        assert!(
            out.status.success(),
            "CREATE DATABASE failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PgDatabase { name }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// A process killed (SIGKILL) and reaped on drop; its stderr and stdout go to a file.
pub struct Proc {
    child: Child,
    log: PathBuf,
    name: String,
}

impl Proc {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last lines of its log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }

    /// SIGKILL it now and reap it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Panic with its log if it exited.
    fn check_alive(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited early ({status}):\n{}", self.name, self.log());
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A test's service installation: its sandbox, data directory, store and server key.
pub struct Service {
    pub backend: Backend,
    sandbox: tempfile::TempDir,
    pub data_dir: PathBuf,
    server_key: String,
    pg: Option<PgDatabase>,
}

/// An access key.
#[derive(Debug, Clone)]
pub struct Key {
    pub id: String,
    pub secret: String,
    pub project_id: String,
}

impl Key {
    /// The `Authorization` header value.
    pub fn bearer(&self) -> String {
        format!("Bearer {}:{}", self.id, self.secret)
    }
}

impl Service {
    /// A fresh store (callers check [`postgres_available`] first for PostgreSQL).
    pub fn new(backend: Backend) -> Service {
        let sandbox = tempfile::tempdir().unwrap();
        for d in ["home", "cache", "tmp", "data"] {
            std::fs::create_dir_all(sandbox.path().join(d)).unwrap();
        }
        let data_dir = sandbox.path().join("data");
        Service {
            backend,
            data_dir,
            server_key: random_hex(32),
            pg: (backend == Backend::Postgres).then(PgDatabase::create),
            sandbox,
        }
    }

    /// The sandbox directory (scratch space for the test).
    pub fn dir(&self) -> &Path {
        self.sandbox.path()
    }

    /// The PostgreSQL URL, for PostgreSQL stores.
    pub fn database_url(&self) -> Option<String> {
        self.pg.as_ref().map(|db| format!("{PG}/{}", db.name))
    }

    /// `--data-dir D [--database-url URL]`.
    pub fn store_args(&self) -> Vec<String> {
        let mut args = vec!["--data-dir".to_owned(), self.data_dir.display().to_string()];
        if let Some(url) = self.database_url() {
            args.extend(["--database-url".to_owned(), url]);
        }
        args
    }

    /// The keelhaul binary with this service's environment: the shared server key, and
    /// `HOME`, the cache and temp dirs in the sandbox (so no user vulnerability database
    /// or registry credentials are picked up).
    pub fn command(&self) -> Command {
        let s = self.sandbox.path();
        let mut cmd = Command::new(keelhaul_bin());
        cmd.env("KEELHAUL_SERVER_KEY", &self.server_key)
            .env("HOME", s.join("home"))
            .env("XDG_CACHE_HOME", s.join("cache"))
            .env("XDG_DATA_HOME", s.join("home"))
            .env("TMPDIR", s.join("tmp"))
            .env("NO_COLOR", "1")
            .env_remove("KEELHAUL_LOG")
            .env_remove("KEELHAUL_DATA_DIR")
            .env_remove("KEELHAUL_DATABASE_URL")
            .env_remove("KEELHAUL_VULNDB")
            .env_remove("KEELHAUL_DB")
            .env_remove("KEELHAUL_LISTEN")
            .env_remove("KEELHAUL_CACHE_DIR")
            .env_remove("DOCKER_CONFIG")
            .env_remove("REGISTRY_AUTH_FILE");
        cmd
    }

    /// Run `keelhaul ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.command().args(args).output().unwrap();
        Run {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `keelhaul admin create-key --tenant T --levels L --format json`.
    pub fn create_key(&self, tenant: &str, levels: &str) -> Key {
        let mut args = vec![
            "admin",
            "create-key",
            "--tenant",
            tenant,
            "--levels",
            levels,
            "--format",
            "json",
        ];
        let store = self.store_args();
        args.extend(store.iter().map(String::as_str));
        let out = self.run(&args).success().json();
        assert_eq!(out["tenant"], tenant, "{out}");
        let want: Vec<&str> = levels.split(',').collect();
        let got: Vec<&str> = out["levels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        assert_eq!(got, want, "{out}");
        Key {
            id: out["access_key_id"].as_str().unwrap().to_owned(),
            secret: out["access_key_secret"].as_str().unwrap().to_owned(),
            project_id: out["project_id"].as_str().unwrap().to_owned(),
        }
    }

    /// `keelhaul admin set-quota`.
    pub fn set_quota(&self, tenant: &str, scan_quota: Option<i64>, max_running: Option<i64>) {
        let mut args: Vec<String> = vec![
            "admin".into(),
            "set-quota".into(),
            "--tenant".into(),
            tenant.into(),
        ];
        if let Some(q) = scan_quota {
            args.extend(["--scan-quota".into(), q.to_string()]);
        }
        if let Some(m) = max_running {
            args.extend(["--max-running-tasks".into(), m.to_string()]);
        }
        args.extend(self.store_args());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&args).success();
    }

    fn spawn(&self, name: &str, args: &[String], env: &[(&str, &str)]) -> Proc {
        let log = self
            .sandbox
            .path()
            .join(format!("{name}-{}.log", random_hex(4)));
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = self.command();
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Proc {
            child: cmd.spawn().unwrap(),
            log,
            name: name.to_owned(),
        }
    }

    /// `keelhaul serve` on a free port with on-demand syncs only, plus `extra` flags;
    /// returns once `/readyz` answers 200.
    pub fn serve(&self, extra: &[&str]) -> Server {
        self.serve_env(extra, &[])
    }

    /// [`Service::serve`] with extra environment variables.
    pub fn serve_env(&self, extra: &[&str], env: &[(&str, &str)]) -> Server {
        self.serve_at(free_port(), extra, env)
    }

    /// [`Service::serve_env`] on `port` (to restart a server where its clients expect it).
    pub fn serve_at(&self, port: u16, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--sync-interval".into(),
            "0".into(),
        ];
        args.extend(self.store_args());
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let mut proc = self.spawn("serve", &args, env);
        let base = format!("http://127.0.0.1:{port}");
        let http = client();
        let start = Instant::now();
        loop {
            proc.check_alive();
            if http
                .get(format!("{base}/readyz"))
                .send()
                .is_ok_and(|r| r.status().as_u16() == 200)
            {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the server did not become ready:\n{}",
                proc.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Server { proc, base, http }
    }

    /// `keelhaul worker` with `extra` flags.
    pub fn worker(&self, extra: &[&str]) -> Proc {
        let mut args: Vec<String> = vec!["worker".into()];
        args.extend(self.store_args());
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        self.spawn("worker", &args, &[])
    }

    /// Run SQL on the store; rows of text columns (NULL is the empty string).
    pub fn sql(&self, query: &str) -> Vec<Vec<String>> {
        let out = match self.backend {
            Backend::Postgres => {
                let url = self.database_url().unwrap();
                let name = url.rsplit('/').next().unwrap().to_owned();
                psql(&name, query)
            }
            Backend::Sqlite => Command::new("python3")
                .args([
                    "-c",
                    "import sqlite3, sys\n\
                     c = sqlite3.connect(sys.argv[1], timeout=30)\n\
                     for row in c.execute(sys.argv[2]).fetchall():\n\
                     \x20   print('\\t'.join('' if v is None else str(v) for v in row))\n",
                ])
                .arg(self.data_dir.join("keelhaul.sqlite"))
                .arg(query)
                .output()
                .unwrap(),
        };
        assert!(
            out.status.success(),
            "SQL `{query}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| l.split('\t').map(str::to_owned).collect())
            .collect()
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// A running `keelhaul serve`.
pub struct Server {
    pub proc: Proc,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    http: reqwest::blocking::Client,
}

impl Server {
    /// A client sending `key`.
    pub fn api(&self, key: &Key) -> Api {
        self.api_with(Some(key.bearer()))
    }

    /// A client sending this `Authorization` header (or none).
    pub fn api_with(&self, authorization: Option<String>) -> Api {
        Api {
            base: self.base.clone(),
            authorization,
            http: self.http.clone(),
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        self.proc.log()
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Resp {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub request_id: Option<String>,
    pub content_type: Option<String>,
    pub text: String,
}

impl Resp {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| {
            panic!(
                "{} {} answered {} with a body that is not JSON ({e}): {}",
                self.method, self.path, self.status, self.text
            )
        })
    }

    /// Assert the status and return the JSON body.
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "{} {}: {}",
            self.method, self.path, self.text
        );
        if self.text.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }

    /// Assert an error answer: the status, a JSON body `{code, message, request_id,
    /// field?}` with this code, and the body's request id equal to the header's.
    pub fn expect_error(&self, status: u16, code: &str) -> Value {
        let body = self.expect(status);
        let what = format!(
            "{} {} -> {}: {}",
            self.method, self.path, self.status, self.text
        );
        assert_eq!(body["code"], code, "{what}");
        assert!(
            self.content_type
                .as_deref()
                .is_some_and(|t| t.starts_with("application/json")),
            "{what}: content type {:?}",
            self.content_type
        );
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}"
        );
        let header = self.request_id.as_deref().unwrap_or_else(|| {
            panic!("{what}: no x-request-id header");
        });
        assert!(!header.is_empty(), "{what}");
        assert_eq!(body["request_id"], header, "{what}");
        let allowed = ["code", "message", "request_id", "field"];
        for key in body.as_object().unwrap().keys() {
            assert!(
                allowed.contains(&key.as_str()),
                "{what}: unexpected `{key}`"
            );
        }
        if let Some(field) = body.get("field") {
            assert!(field.is_string(), "{what}");
        }
        body
    }

    /// [`Resp::expect_error`] with a 400 `InvalidParameter` naming `field`.
    pub fn expect_invalid(&self, field: &str) -> Value {
        let body = self.expect_error(400, "InvalidParameter");
        assert_eq!(
            body["field"], field,
            "{} {}: {}",
            self.method, self.path, self.text
        );
        body
    }
}

/// A JSON client of one server with one `Authorization` header.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    authorization: Option<String>,
    http: reqwest::blocking::Client,
}

impl Api {
    /// Send `method path` with an optional raw body of `content_type` and extra headers.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let method_value = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .http
            .request(method_value, format!("{}{path}", self.base));
        if let Some(auth) = &self.authorization {
            request = request.header("authorization", auth);
        }
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        if let Some((content_type, bytes)) = body {
            request = request.header("content-type", content_type).body(bytes);
        }
        let response = request
            .send()
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let request_id = header("x-request-id");
        // Every answer, success or error, names its request.
        assert!(
            request_id.as_deref().is_some_and(|id| !id.is_empty()),
            "{method} {path} answered {} without an x-request-id header",
            response.status()
        );
        let content_type = header("content-type");
        let status = response.status().as_u16();
        let text = response.text().unwrap_or_default();
        Resp {
            method: method.to_owned(),
            path: path.to_owned(),
            status,
            request_id,
            content_type,
            text,
        }
    }

    pub fn get(&self, path: &str) -> Resp {
        self.send("GET", path, None, &[])
    }

    pub fn post(&self, path: &str, body: &Value) -> Resp {
        self.send(
            "POST",
            path,
            Some(("application/json", serde_json::to_vec(body).unwrap())),
            &[],
        )
    }

    pub fn post_raw(&self, path: &str, content_type: &str, body: &[u8]) -> Resp {
        self.send("POST", path, Some((content_type, body.to_vec())), &[])
    }

    pub fn delete(&self, path: &str) -> Resp {
        self.send("DELETE", path, None, &[])
    }

    /// Poll a task until it ends; returns it.
    pub fn wait_task(&self, id: &str, timeout: Duration, server: &Server) -> Value {
        let start = Instant::now();
        loop {
            let task = self.get(&format!("/api/v1/tasks/{id}")).expect(200);
            if ["SUCCESS", "FAIL", "CANCELLED"].contains(&task["status"].as_str().unwrap()) {
                return task;
            }
            assert!(
                start.elapsed() < timeout,
                "task {id} did not end within {timeout:?}: {task:#}\nserver log:\n{}",
                server.proc.log_tail()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Poll `f` until it returns `Some`, for at most `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
