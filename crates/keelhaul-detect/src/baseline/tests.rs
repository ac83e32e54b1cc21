use super::*;

fn fs_with(files: &[(&str, &str)]) -> FileSystem {
    let mut fs = FileSystem::default();
    for (p, c) in files {
        fs.files
            .insert(p.to_string(), (c.as_bytes().to_vec(), None));
    }
    fs
}

fn ids(findings: &[BaselineFinding]) -> Vec<&str> {
    findings.iter().map(|f| f.id.as_str()).collect()
}

fn with_id<'a>(findings: &'a [BaselineFinding], id: &str) -> Vec<&'a BaselineFinding> {
    findings.iter().filter(|f| f.id == id).collect()
}

/// A config that passes every config check.
fn good_config() -> ImageConfig {
    ImageConfig {
        user: Some("app".into()),
        healthcheck: Some(vec!["CMD".into(), "true".into()]),
        tags: vec!["registry.example.com/app:1.2.3".into()],
        ..ImageConfig::default()
    }
}

fn config_findings(cfg: &ImageConfig) -> Vec<BaselineFinding> {
    check(Some(cfg), &FileSystem::default())
}

const PASSWD_OK: &str = "root:x:0:0:root:/root:/bin/bash\n\
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
sync:x:4:65534:sync:/bin:/bin/sync\n\
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
app:x:1000:1000::/home/app:/bin/sh\n";
const SHADOW_OK: &str = "root:*:19634:0:99999:7:::\n\
daemon:*:19634:0:99999:7:::\n\
sync:!:19634:0:99999:7:::\n\
nobody:*:19634:0:99999:7:::\n\
app:$y$j9T$abcdefghijklmnop$ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm01:19634:0:99999:7:::\n";
const GROUP_OK: &str = "root:x:0:\ndaemon:x:1:\nshadow:x:42:\napp:x:1000:\nnogroup:x:65534:\n";

fn accounts_fs(passwd: &str, shadow: &str, group: &str) -> FileSystem {
    fs_with(&[
        ("etc/passwd", passwd),
        ("etc/shadow", shadow),
        ("etc/group", group),
    ])
}

// ---------- catalogue & contract ----------

#[test]
fn catalogue_ids_are_unique_sorted_and_well_formed() {
    let ids: Vec<&str> = CHECKS.iter().map(|c| c.id).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(ids, sorted);
    for (i, c) in CHECKS.iter().enumerate() {
        assert_eq!(c.id, format!("KH-IMG-{:03}", i + 1));
        assert!(!c.title.is_empty() && !c.remediation.is_empty() && !c.references.is_empty());
    }
}

#[test]
fn glob_lists_are_consistent() {
    let mut expected: Vec<&str> = CONTENT_GLOBS.to_vec();
    expected.extend(KEY_GLOBS);
    assert_eq!(content_globs(), expected.as_slice());
    assert_eq!(presence_globs(), PRESENCE_GLOBS);
    assert_eq!(
        wanted_globs().len(),
        content_globs().len() + presence_globs().len()
    );
    assert!(wanted_paths().contains(&"etc/shadow"));
}

#[test]
fn glob_matching() {
    assert!(glob_match("**/*.pem", "a.pem"));
    assert!(glob_match("**/*.pem", "srv/app/tls/server.pem"));
    assert!(!glob_match("**/*.pem", "srv/app/tls/server.pem.bak"));
    assert!(glob_match(
        "etc/ssh/ssh_host_*_key",
        "etc/ssh/ssh_host_ed25519_key"
    ));
    assert!(!glob_match(
        "etc/ssh/ssh_host_*_key",
        "etc/ssh/ssh_host_ed25519_key.pub"
    ));
    assert!(glob_match(
        "var/lib/apt/lists/*_Packages*",
        "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4"
    ));
    assert!(!glob_match("var/cache/apk/*", "var/cache/apk/sub/x"));
    assert!(glob_match(
        "var/cache/yum/**/*.rpm",
        "var/cache/yum/x86_64/7/base/packages/a.rpm"
    ));
    assert!(glob_match(
        "home/*/.cache/pip/**",
        "home/bob/.cache/pip/http-v2/a/b"
    ));
    assert!(glob_match("a*b?c", "aXXbYc"));
    assert!(!glob_match("a*b?c", "aXXbc"));
}

#[test]
fn wanted_classifies_paths() {
    assert_eq!(
        wanted("/etc/shadow"),
        Some(Want::Content {
            pattern: "etc/shadow",
            max_bytes: MAX_CONTENT_BYTES
        })
    );
    assert_eq!(
        wanted("./etc/ssh/sshd_config.d/50-cloud.conf"),
        Some(Want::Content {
            pattern: "etc/ssh/sshd_config.d/*",
            max_bytes: MAX_CONTENT_BYTES
        })
    );
    assert_eq!(
        wanted("srv/tls/server.key"),
        Some(Want::Content {
            pattern: "**/*.key",
            max_bytes: MAX_KEY_BYTES
        })
    );
    // Trust stores are not read, and not recorded either.
    assert_eq!(wanted("etc/ssl/certs/ca-certificates.pem"), None);
    assert_eq!(
        wanted("var/cache/apt/archives/curl_8.5.0_amd64.deb"),
        Some(Want::Presence {
            pattern: "var/cache/apt/archives/*.deb"
        })
    );
    assert_eq!(
        wanted("usr/bin/sudo"),
        Some(Want::Presence {
            pattern: "usr/bin/sudo"
        })
    );
    assert_eq!(wanted("usr/bin/ls"), None);
    assert_eq!(wanted("var/cache/apt/archives/partial"), None);
}

#[test]
fn special_modes() {
    assert!(is_special(0o4755, false));
    assert!(is_special(0o2755, false));
    assert!(is_special(0o100666, false)); // file-type bits ignored
    assert!(is_special(0o777, true));
    assert!(!is_special(0o1777, true)); // /tmp
    assert!(!is_special(0o2775, true)); // setgid dir
    assert!(!is_special(0o755, false));
    assert!(!is_special(0o644, false));
}

#[test]
fn empty_input_is_clean() {
    assert!(check(None, &FileSystem::default()).is_empty());
}

// ---------- config ----------

#[test]
fn good_config_is_clean() {
    assert!(config_findings(&good_config()).is_empty());
}

#[test]
fn root_user_variants() {
    for user in [
        None,
        Some(""),
        Some("root"),
        Some("0"),
        Some("root:root"),
        Some("0:0"),
    ] {
        let cfg = ImageConfig {
            user: user.map(String::from),
            ..good_config()
        };
        assert_eq!(ids(&config_findings(&cfg)), ["KH-IMG-001"], "{user:?}");
    }
    for user in ["app", "1000", "1000:0", "app:root"] {
        let cfg = ImageConfig {
            user: Some(user.into()),
            ..good_config()
        };
        assert!(config_findings(&cfg).is_empty(), "{user}");
    }
}

#[test]
fn user_with_uid0_in_passwd_is_root() {
    let cfg = ImageConfig {
        user: Some("toor".into()),
        ..good_config()
    };
    let fs = fs_with(&[(
        "etc/passwd",
        "root:x:0:0::/root:/bin/sh\ntoor:x:0:0::/root:/bin/sh\n",
    )]);
    let f = check(Some(&cfg), &fs);
    let root = with_id(&f, "KH-IMG-001");
    assert_eq!(root.len(), 1);
    assert!(root[0].reason.contains("toor"));
}

#[test]
fn healthcheck() {
    let mut cfg = good_config();
    cfg.healthcheck = None;
    assert_eq!(ids(&config_findings(&cfg)), ["KH-IMG-002"]);
    cfg.healthcheck = Some(vec!["NONE".into()]);
    assert_eq!(ids(&config_findings(&cfg)), ["KH-IMG-002"]);
    cfg.healthcheck = Some(vec!["CMD-SHELL".into(), "curl -f localhost".into()]);
    assert!(config_findings(&cfg).is_empty());
}

#[test]
fn ssh_port() {
    let mut cfg = good_config();
    cfg.exposed_ports = vec!["22/tcp".into(), "8080/tcp".into()];
    let f = config_findings(&cfg);
    assert_eq!(ids(&f), ["KH-IMG-003"]);
    assert!(f[0].reason.contains("22/tcp"));
    cfg.exposed_ports = vec!["2222/tcp".into(), "220/tcp".into()];
    assert!(config_findings(&cfg).is_empty());
}

#[test]
fn add_remote_url() {
    use super::config::{redact_url, remote_add};
    assert_eq!(
        remote_add("ADD https://user:tok@example.com/x.tgz?sig=1 /opt/ # buildkit"),
        Some("https://example.com/…".to_string())
    );
    assert_eq!(
        remote_add("/bin/sh -c #(nop) ADD --chown=1:1 http://example.com/a /a"),
        Some("http://example.com/…".to_string())
    );
    assert_eq!(
        remote_add("ADD --checksum=sha256:abc https://example.com/x /x # buildkit"),
        None
    );
    assert_eq!(remote_add("/bin/sh -c #(nop) ADD file:0123abc in / "), None);
    assert_eq!(remote_add("COPY https-notes.txt /x # buildkit"), None);
    assert_eq!(
        redact_url("git@github.com:org/repo.git"),
        "git@github.com:…"
    );

    let mut cfg = good_config();
    cfg.history = vec![
        "/bin/sh -c #(nop) ADD file:0123 in / ".into(),
        "ADD https://example.com/tool.tgz /opt/ # buildkit".into(),
    ];
    let f = config_findings(&cfg);
    assert_eq!(ids(&f), ["KH-IMG-004"]);
    assert_eq!(f[0].path.as_deref(), Some("config:history[1]"));
}

#[test]
fn sensitive_names() {
    use super::config::is_sensitive_name as s;
    for n in [
        "DB_PASSWORD",
        "MYSQL_ROOT_PASSWORD",
        "NPM_TOKEN",
        "GITHUB_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "API_KEY",
        "APIKEY",
        "DBPASSWORD",
        "SMTP_PASS",
        "REDIS_PWD",
        "CLIENT_SECRET",
        "password",
    ] {
        assert!(s(n), "{n}");
    }
    for n in [
        "PATH",
        "PWD",
        "HOME",
        "POSTGRES_PASSWORD_FILE",
        "TOKENIZERS_PARALLELISM",
        "AWS_ACCESS_KEY_ID",
        "GPG_KEY",
        "NGINX_GPGKEY",
        "TOKEN_URL",
        "PASSWORD_MIN_LENGTH",
        "BYPASS_CACHE",
        "LANG",
    ] {
        assert!(!s(n), "{n}");
    }
}

#[test]
fn sensitive_env_and_build_args_without_values() {
    use super::config::build_arg_names;
    let mut cfg = good_config();
    cfg.env = vec![
        "PATH=/usr/bin".into(),
        "DB_PASSWORD=hunter2".into(),
        "EMPTY_TOKEN=".into(),
        "POSTGRES_PASSWORD_FILE=/run/secrets/pg".into(),
    ];
    cfg.history = vec![
        "RUN |2 NPM_TOKEN=abc123 VERSION=1 /bin/sh -c npm ci # buildkit".into(),
        "|1 GITHUB_TOKEN=ghp_x /bin/sh -c make".into(),
        "ARG API_KEY=default-key".into(),
        "ARG API_KEY".into(),
        "/bin/sh -c docker build --build-arg SECRET_KEY=s3 .".into(),
        "ENV DB_PASSWORD=hunter2".into(),
    ];
    let f = config_findings(&cfg);
    let got: Vec<(&str, &str)> = f
        .iter()
        .map(|f| (f.id.as_str(), f.path.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        got,
        [
            ("KH-IMG-005", "config:Env"),
            ("KH-IMG-005", "config:history[0]"),
            ("KH-IMG-005", "config:history[1]"),
            ("KH-IMG-005", "config:history[2]"),
            ("KH-IMG-005", "config:history[4]"),
        ]
    );
    for x in &f {
        for secret in ["hunter2", "abc123", "ghp_x", "default-key", "s3"] {
            assert!(!x.reason.contains(secret), "{}", x.reason);
        }
    }
    assert!(build_arg_names("RUN |1 VERSION=1 /bin/sh -c x").is_empty());
    // Only the first N tokens are arguments; the command itself is not parsed.
    assert!(build_arg_names("|1 A=1 /bin/sh -c export PASSWORD=x").is_empty());
}

#[test]
fn latest_tag() {
    use super::config::is_latest;
    assert!(is_latest("nginx"));
    assert!(is_latest("nginx:latest"));
    assert!(is_latest("localhost:5000/app"));
    assert!(!is_latest("localhost:5000/app:1.0"));
    assert!(!is_latest("nginx@sha256:0123"));
    assert!(!is_latest("nginx:latest@sha256:0123"));
    let mut cfg = good_config();
    cfg.tags = vec!["app:latest".into()];
    assert_eq!(ids(&config_findings(&cfg)), ["KH-IMG-006"]);
    cfg.tags = vec!["app:latest".into(), "app:1.2".into()];
    assert!(config_findings(&cfg).is_empty());
    cfg.tags = vec![];
    assert!(config_findings(&cfg).is_empty());
}

#[test]
fn sensitive_volume() {
    let mut cfg = good_config();
    cfg.volumes = vec![
        "/proc".into(),
        "/sys/fs/cgroup".into(),
        "/data".into(),
        "/device".into(),
    ];
    let f = config_findings(&cfg);
    assert_eq!(ids(&f), ["KH-IMG-009", "KH-IMG-009"]);
}

// ---------- accounts ----------

#[test]
fn clean_accounts() {
    let fs = accounts_fs(PASSWD_OK, SHADOW_OK, GROUP_OK);
    assert!(check(None, &fs).is_empty(), "{:#?}", check(None, &fs));
}

#[test]
fn empty_password() {
    let shadow = format!("{SHADOW_OK}guest::19634:0:99999:7:::\nsvc::19634:0:99999:7:::\n");
    let passwd = format!(
        "{PASSWD_OK}guest:x:1001:1000::/home/guest:/bin/bash\nsvc:x:1002:1000::/:/usr/sbin/nologin\n"
    );
    let f = check(None, &accounts_fs(&passwd, &shadow, GROUP_OK));
    let e = with_id(&f, "KH-IMG-010");
    assert_eq!(e.len(), 1, "{f:#?}");
    assert!(e[0].reason.contains("`guest`"));
    assert_eq!(e[0].path.as_deref(), Some("etc/shadow"));

    // Alpine CVE-2019-5021: root with an empty hash.
    let f = check(
        None,
        &accounts_fs(
            "root:x:0:0:root:/root:/bin/ash\n",
            "root:::0:::::\n",
            "root:x:0:root\n",
        ),
    );
    assert_eq!(ids(&f), ["KH-IMG-010"]);

    // Empty password field in passwd itself.
    let f = check(
        None,
        &fs_with(&[("etc/passwd", "root::0:0::/root:/bin/sh\n")]),
    );
    assert_eq!(ids(&f), ["KH-IMG-010"]);
}

#[test]
fn locked_accounts_are_not_flagged() {
    let shadow = "root:!:1:0:99999:7:::\nbin:*:1::::::\nold:!!:1::::::\nlk:!$1$salt$abcdefghijklmnopqrstuv:1::::::\n";
    let passwd = "root:x:0:0::/root:/bin/sh\nbin:x:2:2::/bin:/usr/sbin/nologin\nold:x:1001:1001::/:/bin/sh\nlk:x:1002:1002::/:/bin/sh\n";
    let group = "root:x:0:\nbin:x:2:\nold:x:1001:\nlk:x:1002:\n";
    assert!(check(None, &accounts_fs(passwd, shadow, group)).is_empty());
}

#[test]
fn weak_hashes() {
    use super::accounts::weak_hash;
    assert!(weak_hash("$1$salt$hash").is_some());
    assert!(weak_hash("abJnggxhB/yWI").is_some()); // DES
    assert!(weak_hash("$3$$abc").is_some());
    assert!(weak_hash("$y$j9T$salt$hash").is_none());
    assert!(weak_hash("$6$salt$hash").is_none());
    assert!(weak_hash("$5$salt$hash").is_none());
    assert!(weak_hash("$2b$12$abcdefghijklmnopqrstuv").is_none());
    assert!(weak_hash("$2y$12$abcdefghijklmnopqrstuv").is_none());
    assert!(weak_hash("$2a$12$abcdefghijklmnopqrstuv").is_none());

    let shadow = SHADOW_OK.replace("$y$j9T$", "$1$");
    let f = check(None, &accounts_fs(PASSWD_OK, &shadow, GROUP_OK));
    assert_eq!(ids(&f), ["KH-IMG-011"]);
    assert!(f[0].reason.contains("`app`") && f[0].reason.contains("MD5"));

    let mut fs = accounts_fs(PASSWD_OK, SHADOW_OK, GROUP_OK);
    fs.files.insert(
        "etc/login.defs".into(),
        (b"UID_MIN 1000\nENCRYPT_METHOD MD5\n".to_vec(), None),
    );
    let f = check(None, &fs);
    assert_eq!(ids(&f), ["KH-IMG-011"]);
    assert_eq!(f[0].path.as_deref(), Some("etc/login.defs"));
}

#[test]
fn uid0_and_duplicates() {
    let passwd = format!(
        "{PASSWD_OK}toor:x:0:0::/root:/bin/sh\napp2:x:1000:1000::/:/bin/sh\napp:x:1003:1000::/:/bin/sh\n"
    );
    let shadow = format!("{SHADOW_OK}toor:*:1::::::\napp2:*:1::::::\n");
    let group = format!("{GROUP_OK}app:x:1001:\nother:x:42:\n");
    let f = check(None, &accounts_fs(&passwd, &shadow, &group));
    let reasons =
        |id| -> Vec<String> { with_id(&f, id).iter().map(|f| f.reason.clone()).collect() };
    assert_eq!(reasons("KH-IMG-012"), ["account `toor` has UID 0"]);
    assert_eq!(
        reasons("KH-IMG-013"),
        [
            "UID 1000 is shared by app, app2",
            "user name `app` appears 2 times in /etc/passwd"
        ]
    );
    assert_eq!(
        reasons("KH-IMG-014"),
        [
            "GID 42 is shared by groups shadow, other",
            "group name `app` appears 2 times in /etc/group"
        ]
    );
}

#[test]
fn system_account_shells() {
    let passwd = format!(
        "{PASSWD_OK}www-data:x:33:33::/var/www:/bin/bash\nnoshell:x:34:34::/:\nhalt:x:7:0::/sbin:/sbin/halt\n"
    );
    let shadow = format!("{SHADOW_OK}www-data:*:1::::::\nnoshell:*:1::::::\nhalt:*:1::::::\n");
    let group = format!("{GROUP_OK}www-data:x:33:\nx:x:34:\n");
    let f = check(None, &accounts_fs(&passwd, &shadow, &group));
    let r: Vec<&str> = with_id(&f, "KH-IMG-015")
        .iter()
        .map(|f| f.reason.as_str())
        .collect();
    assert_eq!(
        r,
        [
            "system account `noshell` (UID 34) has login shell /bin/sh (empty shell field)",
            "system account `www-data` (UID 33) has login shell /bin/bash",
        ]
    );
}

#[test]
fn shadow_modes_and_hashes_in_passwd() {
    let mut fs = accounts_fs(PASSWD_OK, SHADOW_OK, GROUP_OK);
    fs.modes.insert("etc/shadow".into(), 0o640);
    assert!(check(None, &fs).is_empty());
    fs.modes.insert("etc/shadow".into(), 0o644);
    let f = check(None, &fs);
    assert_eq!(ids(&f), ["KH-IMG-016"]);
    assert!(f[0].reason.contains("0644"));

    let passwd = PASSWD_OK.replace("app:x:", "app:$6$salt$hash:");
    let f = check(None, &accounts_fs(&passwd, SHADOW_OK, GROUP_OK));
    assert_eq!(ids(&f), ["KH-IMG-016"]);
    assert_eq!(f[0].path.as_deref(), Some("etc/passwd"));
}

#[test]
fn consistency_checks() {
    let passwd = format!("{PASSWD_OK}ghost:x:1005:4242::/:/usr/sbin/nologin\n+::::::\n");
    let shadow = SHADOW_OK.to_string();
    let group = format!("{GROUP_OK}+:::\n");
    let f = check(None, &accounts_fs(&passwd, &shadow, &group));
    let got: Vec<(&str, &str)> = f
        .iter()
        .map(|f| (f.id.as_str(), f.reason.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("KH-IMG-017", "account `ghost` has no /etc/shadow entry"),
            (
                "KH-IMG-018",
                "line 6 of /etc/group is a legacy NIS `+` entry"
            ),
            (
                "KH-IMG-018",
                "line 7 of /etc/passwd is a legacy NIS `+` entry"
            ),
            (
                "KH-IMG-019",
                "primary GID 4242 of `ghost` is not defined in /etc/group"
            ),
        ]
    );
}

#[test]
fn duplicate_hash_root_gid_and_groups() {
    let passwd = PASSWD_OK.replace("root:x:0:0:", "root:x:0:1:");
    let hash = "$6$salt$0123456789";
    let shadow = SHADOW_OK
        .replace("root:*:", &format!("root:{hash}:"))
        .replace("daemon:*:", &format!("daemon:{hash}:"));
    let group = "root:x:0:app\ndaemon:x:1:\nshadow:x:42:app\nsudo:x:27:root,app\nwheel:x:10:root\napp:x:1000:\nnogroup:x:65534:\n";
    let f = check(None, &accounts_fs(&passwd, &shadow, group));
    let got: Vec<(&str, &str)> = f
        .iter()
        .map(|f| (f.id.as_str(), f.reason.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "KH-IMG-020",
                "accounts root, daemon have the same password hash"
            ),
            ("KH-IMG-021", "root's primary GID is 1"),
            ("KH-IMG-022", "group `shadow` has members app"),
            (
                "KH-IMG-023",
                "account `app` is a member of privileged group `root`"
            ),
            (
                "KH-IMG-023",
                "account `app` is a member of privileged group `sudo`"
            ),
        ]
    );
}

// ---------- trust, sudo ----------

#[test]
fn trust_files_and_authorized_keys() {
    let fs = fs_with(&[
        ("etc/hosts.equiv", "# comment only\n"),
        ("root/.rhosts", "+ +\n"),
        (
            "root/.ssh/authorized_keys",
            "# none\nssh-ed25519 AAAAC3Nz admin@host\n",
        ),
        ("home/bob/.ssh/authorized_keys", "\n"),
    ]);
    let f = check(None, &fs);
    let got: Vec<(&str, &str)> = f
        .iter()
        .map(|f| (f.id.as_str(), f.path.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        got,
        [
            ("KH-IMG-024", "root/.rhosts"),
            ("KH-IMG-025", "root/.ssh/authorized_keys")
        ]
    );
    assert!(f[0].reason.contains('+'));
    assert!(f[1].reason.contains("as root"));
}

#[test]
fn sudo_and_sudoers() {
    let mut fs = fs_with(&[
        (
            "etc/sudoers",
            "Defaults env_reset\nroot ALL=(ALL:ALL) ALL\n%sudo ALL=(ALL:ALL) ALL\n#includedir /etc/sudoers.d\n",
        ),
        ("etc/sudoers.d/app", "app ALL=(ALL) \\\n  NOPASSWD: ALL\n"),
    ]);
    fs.present.insert("usr/bin/sudo".into(), None);
    fs.special.push(SpecialEntry {
        path: "usr/bin/sudo".into(),
        mode: 0o4755,
        uid: 0,
        gid: 0,
        is_dir: false,
        layer: None,
    });
    let f = check(None, &fs);
    let got: Vec<(&str, &str)> = f
        .iter()
        .map(|f| (f.id.as_str(), f.path.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        got,
        [
            ("KH-IMG-007", "usr/bin/sudo"),
            ("KH-IMG-026", "etc/sudoers.d/app")
        ]
    );
    assert!(f[1].reason.contains("`app`"));
}

// ---------- SSH ----------

fn sshd_fs(files: &[(&str, &str)]) -> FileSystem {
    fs_with(files)
}

#[test]
fn sshd_first_value_wins_and_includes() {
    let fs = sshd_fs(&[
        (
            "etc/ssh/sshd_config",
            "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\nPasswordAuthentication no\n",
        ),
        (
            "etc/ssh/sshd_config.d/20-later.conf",
            "PermitRootLogin no\n",
        ),
        (
            "etc/ssh/sshd_config.d/10-root.conf",
            "permitrootlogin=yes # why\n",
        ),
        ("etc/ssh/sshd_config.d/README", "PermitEmptyPasswords yes\n"),
    ]);
    let f = check(None, &fs);
    let got: Vec<(&str, &str)> = f
        .iter()
        .map(|f| (f.id.as_str(), f.path.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(got, [("KH-IMG-027", "etc/ssh/sshd_config.d/10-root.conf")]);

    // Set in the main file before the Include: the include's value loses.
    let fs = sshd_fs(&[
        (
            "etc/ssh/sshd_config",
            "PermitRootLogin prohibit-password\nPasswordAuthentication no\nInclude sshd_config.d/*.conf\n",
        ),
        (
            "etc/ssh/sshd_config.d/10-root.conf",
            "PermitRootLogin yes\n",
        ),
    ]);
    assert!(check(None, &fs).is_empty());
}

#[test]
fn sshd_match_blocks_and_defaults() {
    let fs = sshd_fs(&[(
        "etc/ssh/sshd_config",
        "PasswordAuthentication no\nMatch User admin\n  PermitRootLogin yes\n  PermitEmptyPasswords yes\nMatch all\nPermitEmptyPasswords yes\n",
    )]);
    assert_eq!(ids(&check(None, &fs)), ["KH-IMG-028"]);

    // Unset PasswordAuthentication: OpenSSH's default (yes) is reported.
    let fs = sshd_fs(&[("etc/ssh/sshd_config", "UsePAM yes\n")]);
    let f = check(None, &fs);
    assert_eq!(ids(&f), ["KH-IMG-029"]);
    assert!(f[0].reason.contains("defaults to yes"));

    // sshd binary without a config: defaults apply too.
    let mut fs = FileSystem::default();
    fs.present.insert("usr/sbin/sshd".into(), None);
    let f = check(None, &fs);
    assert_eq!(ids(&f), ["KH-IMG-029"]);
    assert_eq!(f[0].path.as_deref(), Some("usr/sbin/sshd"));

    // Explicit yes.
    let fs = sshd_fs(&[("etc/ssh/sshd_config", "PasswordAuthentication yes\n")]);
    assert_eq!(ids(&check(None, &fs)), ["KH-IMG-029"]);
}

#[test]
fn ssh_host_keys() {
    let mut fs = FileSystem::default();
    fs.present
        .insert("etc/ssh/ssh_host_ed25519_key".into(), None);
    let f = check(None, &fs);
    assert_eq!(ids(&f), ["KH-IMG-030"]);
}

// ---------- files ----------

fn special(path: &str, mode: u32, is_dir: bool) -> SpecialEntry {
    SpecialEntry {
        path: path.into(),
        mode,
        uid: 0,
        gid: 0,
        is_dir,
        layer: None,
    }
}

#[test]
fn setuid_world_writable() {
    let fs = FileSystem {
        special: vec![
            special("usr/bin/passwd", 0o4755, false),
            special("usr/bin/chage", 0o2755, false),
            special("usr/lib/openssh/ssh-keysign", 0o4755, false),
            special("tmp", 0o1777, true),
            special("usr/local/bin/helper", 0o4755, false),
            special("opt/app/passwd", 0o4755, false),
            special("usr/bin/pkexec", 0o4755, false),
            special("var/www/uploads", 0o777, true),
            special("etc/app.conf", 0o666, false),
        ],
        ..FileSystem::default()
    };
    let f = check(None, &fs);
    let got: Vec<(&str, &str)> = f
        .iter()
        .map(|f| (f.id.as_str(), f.path.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        got,
        [
            ("KH-IMG-031", "opt/app/passwd"),
            ("KH-IMG-031", "usr/local/bin/helper"),
            ("KH-IMG-032", "usr/bin/pkexec"),
            ("KH-IMG-033", "etc/app.conf"),
            ("KH-IMG-034", "var/www/uploads"),
        ]
    );
}

fn pem(kind: &str, body: &str) -> String {
    format!("-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n")
}

#[test]
fn private_keys() {
    let key = pem(
        &["RSA", "PRIVATE", "KEY"].join(" "),
        "TUlJRXBBSUJBQUtDQVFFQTAwMDAw",
    );
    let cert = pem("CERTIFICATE", "TUlJQzAwMDAwMDAw");
    let bundle = format!("{cert}{}", pem(&["PRIVATE", "KEY"].join(" "), "TUlJRXZR"));
    let mut fs = fs_with(&[
        ("srv/tls/server.key", key.as_str()),
        ("srv/tls/bundle.pem", bundle.as_str()),
        ("srv/tls/ca.pem", cert.as_str()),
        ("usr/lib/python3/test/keycert.pem", key.as_str()),
        ("etc/ssh/ssh_host_rsa_key.pem", key.as_str()),
    ]);
    fs.present.insert("home/bob/.ssh/id_ed25519".into(), None);
    let f = check(None, &fs);
    let got: Vec<(&str, &str)> = f
        .iter()
        .map(|f| (f.id.as_str(), f.path.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        got,
        [
            ("KH-IMG-035", "home/bob/.ssh/id_ed25519"),
            ("KH-IMG-035", "srv/tls/bundle.pem"),
            ("KH-IMG-035", "srv/tls/server.key"),
        ]
    );
    assert!(f[1].reason.contains("bundles a certificate"));
    assert!(f[2].reason.contains("RSA private key"));
}

#[test]
fn package_caches() {
    let mut fs = FileSystem::default();
    for p in [
        "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4",
        "var/lib/apt/lists/deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages.lz4",
        "var/cache/apk/APKINDEX.4c3c8ba5.tar.gz",
        "root/.cache/pip/http-v2/a/b/c",
        "home/bob/.npm/_cacache/index-v5/00/aa",
        "var/cache/dnf/fedora.solv",
    ] {
        fs.present.insert(p.into(), None);
    }
    let f = check(None, &fs);
    let got: Vec<(&str, &str)> = f
        .iter()
        .map(|f| (f.id.as_str(), f.path.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        got,
        [
            ("KH-IMG-008", "home/bob/.npm/_cacache"),
            ("KH-IMG-008", "root/.cache/pip"),
            ("KH-IMG-008", "var/cache/apk"),
            ("KH-IMG-008", "var/cache/dnf"),
            ("KH-IMG-008", "var/lib/apt/lists"),
        ]
    );
    let apt = f
        .iter()
        .find(|f| f.path.as_deref() == Some("var/lib/apt/lists"));
    assert!(apt.is_some_and(|f| f.reason.contains("2 files")));
}

#[test]
fn unnecessary_files() {
    let mut fs = FileSystem::default();
    fs.present.insert("app/.git/HEAD".into(), None);
    fs.present.insert("app/static/.DS_Store".into(), None);
    let f = check(None, &fs);
    let got: Vec<(&str, &str)> = f
        .iter()
        .map(|f| (f.id.as_str(), f.path.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        got,
        [
            ("KH-IMG-036", "app/.git"),
            ("KH-IMG-036", "app/static/.DS_Store")
        ]
    );
}

#[test]
fn output_is_sorted_and_deterministic() {
    let mut fs = accounts_fs(PASSWD_OK, SHADOW_OK, GROUP_OK);
    fs.special.push(special("z", 0o777, true));
    fs.special.push(special("a", 0o777, true));
    let f1 = check(None, &fs);
    fs.special.reverse();
    let f2 = check(None, &fs);
    assert_eq!(f1, f2);
    assert_eq!(f1[0].path.as_deref(), Some("a"));
}
