//! The check catalogue. Ids are stable: never renumber, only append.

use keelhaul_core::Severity;

use super::Check;

const fn c(
    id: &'static str,
    title: &'static str,
    severity: Severity,
    remediation: &'static str,
    references: &'static [&'static str],
) -> Check {
    Check {
        id,
        title,
        severity,
        remediation,
        references,
    }
}

// --- image config ---
pub(super) const RUNS_AS_ROOT: Check = c(
    "KH-IMG-001",
    "Container runs as root",
    Severity::Medium,
    "Create an unprivileged user and add `USER <name>` (or a non-zero UID) to the Dockerfile.",
    &["CIS-DI-0001", "CIS Docker 4.1"],
);
pub(super) const NO_HEALTHCHECK: Check = c(
    "KH-IMG-002",
    "No HEALTHCHECK",
    Severity::Low,
    "Add a `HEALTHCHECK CMD …` instruction so the runtime can detect a hung service.",
    &["CIS-DI-0006", "CIS Docker 4.6"],
);
pub(super) const SSH_PORT: Check = c(
    "KH-IMG-003",
    "SSH port exposed",
    Severity::Medium,
    "Do not run an SSH server in a container; use `docker exec`/`kubectl exec` and remove `EXPOSE 22`.",
    &["CIS Docker 5.6"],
);
pub(super) const ADD_REMOTE: Check = c(
    "KH-IMG-004",
    "ADD of a remote URL",
    Severity::Medium,
    "Download with a verified checksum (`ADD --checksum=sha256:…` or `RUN curl … && sha256sum -c`) or use `COPY` of a vetted file.",
    &["CIS-DI-0009", "CIS Docker 4.9"],
);
pub(super) const SENSITIVE_VARIABLE: Check = c(
    "KH-IMG-005",
    "Credential-like variable baked into the image",
    Severity::Medium,
    "Pass credentials at run time or with BuildKit secrets (`RUN --mount=type=secret`), never with `ENV` or `--build-arg`; rotate any value that was baked in.",
    &["CIS-DI-0010", "CIS Docker 4.10"],
);
pub(super) const LATEST_TAG: Check = c(
    "KH-IMG-006",
    "Image referenced by `latest` tag",
    Severity::Low,
    "Reference the image by an immutable version tag or by digest.",
    &["DKL-DI-0006"],
);
pub(super) const SUDO: Check = c(
    "KH-IMG-007",
    "sudo installed",
    Severity::Medium,
    "Remove sudo/doas; switch users at build time with `USER`, and use `gosu`/`setpriv` in entrypoints if needed.",
    &["DKL-DI-0001"],
);
pub(super) const PACKAGE_CACHE: Check = c(
    "KH-IMG-008",
    "Package manager cache left in the image",
    Severity::Low,
    "Clean caches in the same RUN that installs (`rm -rf /var/lib/apt/lists/*`, `apk add --no-cache`, `dnf clean all`, `pip install --no-cache-dir`, `npm cache clean --force`).",
    &["DKL-DI-0004", "DKL-DI-0005", "DKL-LI-0003"],
);
pub(super) const SENSITIVE_VOLUME: Check = c(
    "KH-IMG-009",
    "VOLUME on a sensitive system directory",
    Severity::Low,
    "Remove `VOLUME` instructions for /dev, /proc and /sys.",
    &["DKL-DI-0002"],
);

// --- accounts ---
pub(super) const EMPTY_PASSWORD: Check = c(
    "KH-IMG-010",
    "Account with an empty password",
    Severity::High,
    "Lock the account (`passwd -l <user>`, or `*`/`!` in the shadow hash field) or give it a login shell of /usr/sbin/nologin.",
    &[
        "DKL-LI-0001",
        "CVE-2019-5021",
        "HSS: Ensuring that the account password is not empty",
    ],
);
pub(super) const WEAK_HASH: Check = c(
    "KH-IMG-011",
    "Weak password hash algorithm",
    Severity::Medium,
    "Lock unused accounts; re-set passwords with yescrypt or SHA-512 (`ENCRYPT_METHOD YESCRYPT`/`SHA512` in /etc/login.defs).",
    &[
        "HSS: Weak password hash algorithms",
        "CIS Linux: ENCRYPT_METHOD",
    ],
);
pub(super) const UID0_NON_ROOT: Check = c(
    "KH-IMG-012",
    "Non-root account with UID 0",
    Severity::High,
    "Remove the account or give it a unique non-zero UID.",
    &[
        "HSS: Non-root accounts whose UIDs are 0",
        "CIS Linux: root is the only UID 0 account",
    ],
);
pub(super) const DUPLICATE_USER: Check = c(
    "KH-IMG-013",
    "Duplicate user name or UID",
    Severity::Medium,
    "Give every account a unique name and UID (`pwck` reports them).",
    &["DKL-LI-0002", "HSS: Accounts with duplicate names or UIDs"],
);
pub(super) const DUPLICATE_GROUP: Check = c(
    "KH-IMG-014",
    "Duplicate group name or GID",
    Severity::Medium,
    "Give every group a unique name and GID (`grpck` reports them).",
    &["DKL-LI-0002", "HSS: Duplicate group names or GIDs"],
);
pub(super) const SYSTEM_LOGIN_SHELL: Check = c(
    "KH-IMG-015",
    "System account with a login shell",
    Severity::Low,
    "Set the shell of system accounts to /usr/sbin/nologin (`usermod -s /usr/sbin/nologin <user>`).",
    &["CIS Linux: system accounts are secured"],
);
pub(super) const HASH_READABLE: Check = c(
    "KH-IMG-016",
    "Password hashes readable by unprivileged users",
    Severity::High,
    "Keep hashes in /etc/shadow only (`pwconv`) and make it mode 0640 root:shadow (or 0000).",
    &["CIS Linux: permissions on /etc/shadow"],
);
pub(super) const MISSING_SHADOW: Check = c(
    "KH-IMG-017",
    "Account without a shadow entry",
    Severity::Low,
    "Run `pwconv` (or `pwck`) so every account has a consistent /etc/shadow entry.",
    &["CIS Linux: shadowed passwords"],
);
pub(super) const LEGACY_PLUS: Check = c(
    "KH-IMG-018",
    "Legacy NIS `+` entry",
    Severity::Low,
    "Remove `+` lines from /etc/passwd, /etc/shadow and /etc/group.",
    &["HSS: Old \"+\" entries in /etc/passwd, /etc/shadow, /etc/group"],
);
pub(super) const MISSING_GROUP: Check = c(
    "KH-IMG-019",
    "Primary group not defined",
    Severity::Low,
    "Add the group to /etc/group or change the account's primary GID (`grpck`).",
    &["HSS: Ensuring all groups in /etc/passwd are in /etc/group"],
);
pub(super) const DUPLICATE_HASH: Check = c(
    "KH-IMG-020",
    "Accounts share a password hash",
    Severity::Medium,
    "Set distinct passwords (a shared salted hash means the entry was copied), or lock the accounts.",
    &["HSS: Accounts with duplicate password hash values"],
);
pub(super) const ROOT_GID: Check = c(
    "KH-IMG-021",
    "root's primary group is not GID 0",
    Severity::Low,
    "Set root's primary group to 0 (`usermod -g 0 root`).",
    &[
        "HSS: User root not in the group with GID 0",
        "CIS Linux: default group for root is GID 0",
    ],
);
pub(super) const SHADOW_GROUP_MEMBERS: Check = c(
    "KH-IMG-022",
    "Members in the shadow group",
    Severity::Low,
    "Remove all members from the `shadow` group; only setgid helpers need it.",
    &[
        "HSS: Members in the shadow group",
        "CIS Linux: shadow group is empty",
    ],
);
pub(super) const PRIVILEGED_GROUP: Check = c(
    "KH-IMG-023",
    "Unprivileged account in a privileged group",
    Severity::Low,
    "Remove ordinary accounts from the root (GID 0), sudo, wheel and admin groups.",
    &["HSS: Non-privileged account incorrectly included in the privilege group"],
);
pub(super) const HOST_TRUST: Check = c(
    "KH-IMG-024",
    "rhosts/hosts.equiv trust relationship",
    Severity::Medium,
    "Delete /etc/hosts.equiv, /etc/shosts.equiv and every .rhosts/.shosts file.",
    &["HSS: Host trust relationship"],
);
pub(super) const AUTHORIZED_KEYS: Check = c(
    "KH-IMG-025",
    "Preset SSH authorized_keys",
    Severity::Medium,
    "Do not bake authorized_keys into images; inject keys at run time if SSH is really needed.",
    &["HSS: Preset root-level trust relationship establishment"],
);
pub(super) const SUDO_NOPASSWD: Check = c(
    "KH-IMG-026",
    "Passwordless sudo",
    Severity::Medium,
    "Remove NOPASSWD rules (and `Defaults !authenticate`) from sudoers, or remove sudo.",
    &["CIS Linux: sudo requires authentication"],
);

// --- SSH ---
pub(super) const SSH_ROOT_LOGIN: Check = c(
    "KH-IMG-027",
    "sshd permits root login with a password",
    Severity::High,
    "Set `PermitRootLogin no` (or `prohibit-password`) before any other value in sshd_config.",
    &["CIS Linux: SSH root login is disabled"],
);
pub(super) const SSH_EMPTY_PASSWORDS: Check = c(
    "KH-IMG-028",
    "sshd permits empty passwords",
    Severity::High,
    "Set `PermitEmptyPasswords no`.",
    &["CIS Linux: SSH PermitEmptyPasswords is disabled"],
);
pub(super) const SSH_PASSWORD_AUTH: Check = c(
    "KH-IMG-029",
    "sshd allows password authentication",
    Severity::Medium,
    "Set `PasswordAuthentication no` and use keys, or do not ship sshd at all.",
    &["CIS Linux: SSH password authentication"],
);
pub(super) const SSH_HOST_KEY: Check = c(
    "KH-IMG-030",
    "SSH host private key baked into the image",
    Severity::High,
    "Delete /etc/ssh/ssh_host_*_key at build time and generate host keys when the container starts (`ssh-keygen -A`).",
    &["CIS-DI-0010"],
);

// --- files ---
pub(super) const SETUID: Check = c(
    "KH-IMG-031",
    "Unexpected setuid/setgid file",
    Severity::Medium,
    "Remove the bit (`chmod u-s,g-s <file>`) or the file; run the container with `--security-opt no-new-privileges`.",
    &["CIS-DI-0008", "CIS Docker 4.8"],
);
pub(super) const PKEXEC: Check = c(
    "KH-IMG-032",
    "setuid pkexec present",
    Severity::High,
    "Remove polkit's pkexec (or its setuid bit); it has a history of local root exploits (PwnKit, CVE-2021-4034).",
    &["CIS-DI-0008", "CVE-2021-4034"],
);
pub(super) const WORLD_WRITABLE_FILE: Check = c(
    "KH-IMG-033",
    "World-writable file",
    Severity::Medium,
    "Remove write permission for others (`chmod o-w <file>`).",
    &["CIS Linux: no world-writable files"],
);
pub(super) const WORLD_WRITABLE_DIR: Check = c(
    "KH-IMG-034",
    "World-writable directory without sticky bit",
    Severity::Medium,
    "Remove write permission for others or set the sticky bit (`chmod o-w` / `chmod +t`).",
    &["CIS Linux: sticky bit on world-writable directories"],
);
pub(super) const PRIVATE_KEY: Check = c(
    "KH-IMG-035",
    "Private key file in the image",
    Severity::High,
    "Do not bake private keys into images; mount them as secrets at run time, and rotate the key.",
    &["CIS-DI-0010"],
);
pub(super) const UNNECESSARY_FILE: Check = c(
    "KH-IMG-036",
    "Unnecessary file (VCS metadata, .DS_Store)",
    Severity::Low,
    "Exclude it with .dockerignore.",
    &["DKL-LI-0003"],
);

/// Every check, in id order.
pub const CHECKS: &[Check] = &[
    RUNS_AS_ROOT,
    NO_HEALTHCHECK,
    SSH_PORT,
    ADD_REMOTE,
    SENSITIVE_VARIABLE,
    LATEST_TAG,
    SUDO,
    PACKAGE_CACHE,
    SENSITIVE_VOLUME,
    EMPTY_PASSWORD,
    WEAK_HASH,
    UID0_NON_ROOT,
    DUPLICATE_USER,
    DUPLICATE_GROUP,
    SYSTEM_LOGIN_SHELL,
    HASH_READABLE,
    MISSING_SHADOW,
    LEGACY_PLUS,
    MISSING_GROUP,
    DUPLICATE_HASH,
    ROOT_GID,
    SHADOW_GROUP_MEMBERS,
    PRIVILEGED_GROUP,
    HOST_TRUST,
    AUTHORIZED_KEYS,
    SUDO_NOPASSWD,
    SSH_ROOT_LOGIN,
    SSH_EMPTY_PASSWORDS,
    SSH_PASSWORD_AUTH,
    SSH_HOST_KEY,
    SETUID,
    PKEXEC,
    WORLD_WRITABLE_FILE,
    WORLD_WRITABLE_DIR,
    PRIVATE_KEY,
    UNNECESSARY_FILE,
];
