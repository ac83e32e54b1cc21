-- One schema for SQLite and PostgreSQL. Written in their common SQL; the store substitutes
-- the few words that differ: AUTO_ID (an auto-assigned 64-bit key) and BLOB (BYTEA).
-- Times are Unix milliseconds, flags 0/1, structured values JSON text.

CREATE TABLE server_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    scan_quota BIGINT NOT NULL,
    quota_used BIGINT NOT NULL DEFAULT 0,
    max_running_tasks BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE access_keys (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    secret_sealed TEXT NOT NULL,
    levels TEXT NOT NULL,
    description TEXT,
    created_at BIGINT NOT NULL,
    disabled BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX access_keys_tenant ON access_keys(tenant_id);

CREATE TABLE registries (
    id AUTO_ID,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    url TEXT NOT NULL,
    insecure BIGINT NOT NULL DEFAULT 0,
    username TEXT,
    password_sealed TEXT,
    region_id TEXT,
    instance_id TEXT,
    namespaces TEXT,
    created_at BIGINT NOT NULL,
    sync_status TEXT NOT NULL DEFAULT 'NEVER',
    sync_error TEXT,
    synced_at BIGINT,
    UNIQUE (tenant_id, name)
);

CREATE TABLE repositories (
    id AUTO_ID,
    tenant_id TEXT NOT NULL,
    registry_id BIGINT NOT NULL REFERENCES registries(id) ON DELETE CASCADE,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (registry_id, name)
);
CREATE INDEX repositories_tenant ON repositories(tenant_id, name);

-- One row per (repository, tag, platform manifest); an index row (is_index = 1) stands for a
-- multi-arch tag and its children point at it with parent_id. Local images have host_uuid.
CREATE TABLE images (
    id AUTO_ID,
    tenant_id TEXT NOT NULL,
    registry_id BIGINT,
    registry_kind TEXT,
    region_id TEXT,
    instance_id TEXT,
    repository_id BIGINT,
    host_uuid TEXT,
    namespace TEXT NOT NULL DEFAULT '',
    repository TEXT NOT NULL,
    tag TEXT NOT NULL DEFAULT '',
    digest TEXT NOT NULL,
    image_id TEXT,
    parent_id BIGINT,
    is_index BIGINT NOT NULL DEFAULT 0,
    platform TEXT,
    size BIGINT NOT NULL DEFAULT 0,
    layers TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT,
    updated_at BIGINT NOT NULL,
    deployed BIGINT NOT NULL DEFAULT 0,
    latest BIGINT NOT NULL DEFAULT 0,
    scan_status TEXT NOT NULL DEFAULT 'INIT',
    progress BIGINT NOT NULL DEFAULT 0,
    result_code TEXT,
    scan_key TEXT,
    last_scan_at BIGINT,
    matched_db TEXT,
    cve BIGINT NOT NULL DEFAULT 0,
    sca BIGINT NOT NULL DEFAULT 0,
    malicious BIGINT NOT NULL DEFAULT 0,
    baseline BIGINT NOT NULL DEFAULT 0,
    secret BIGINT NOT NULL DEFAULT 0,
    unhandled BIGINT NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, registry_id, host_uuid, repository, tag, digest)
);
CREATE INDEX images_tenant_id ON images(tenant_id, id);
CREATE INDEX images_tenant_repo ON images(tenant_id, repository, id);
CREATE INDEX images_tenant_digest ON images(tenant_id, digest);
CREATE INDEX images_tenant_status ON images(tenant_id, scan_status, id);
CREATE INDEX images_tenant_registry ON images(tenant_id, registry_id, id);
CREATE INDEX images_tenant_namespace ON images(tenant_id, namespace, id);
CREATE INDEX images_tenant_tag ON images(tenant_id, tag, id);
CREATE INDEX images_tenant_region ON images(tenant_id, region_id, id);
CREATE INDEX images_tenant_at_risk ON images(tenant_id, id) WHERE unhandled > 0;
-- Covers the list filters, so a filtered count or page scan reads the index only.
CREATE INDEX images_tenant_cover ON images(tenant_id, id, scan_status, registry_kind,
    region_id, instance_id, namespace, tag, unhandled, is_index, registry_id, repository_id);
CREATE INDEX images_parent ON images(parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX images_repository_id ON images(repository_id, created_at);

-- What a scan found that re-matching needs: the OS and packages (JSON), per image.
CREATE TABLE inventories (
    image_id BIGINT PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
    body BLOB NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE findings (
    id AUTO_ID,
    tenant_id TEXT NOT NULL,
    image_id BIGINT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    identity TEXT NOT NULL,
    name TEXT NOT NULL,
    severity TEXT NOT NULL,
    package TEXT,
    version TEXT,
    fixed_version TEXT,
    path TEXT,
    layer TEXT,
    detail TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    seen_at BIGINT NOT NULL,
    handled BIGINT NOT NULL DEFAULT 0,
    handled_by TEXT,
    handled_at BIGINT,
    handled_reason TEXT,
    UNIQUE (image_id, kind, identity)
);
CREATE INDEX findings_tenant_image ON findings(tenant_id, image_id, kind);

-- Layer analyses shared by every worker, keyed by analyzer-set fingerprint and layer digest.
-- A row without facts is a claim: one worker is analysing the layer until claim_until.
CREATE TABLE layer_facts (
    fingerprint TEXT NOT NULL,
    digest TEXT NOT NULL,
    facts BLOB,
    claimed_by TEXT,
    claim_until BIGINT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (fingerprint, digest)
);

CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    source TEXT NOT NULL,
    priority BIGINT NOT NULL,
    selectors TEXT NOT NULL,
    force_rescan BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    total BIGINT NOT NULL DEFAULT 0,
    finished BIGINT NOT NULL DEFAULT 0,
    failed BIGINT NOT NULL DEFAULT 0,
    progress BIGINT NOT NULL DEFAULT 0,
    result TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT
);
CREATE INDEX tasks_tenant ON tasks(tenant_id, status, created_at);

CREATE TABLE jobs (
    id AUTO_ID,
    tenant_id TEXT NOT NULL,
    task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    image_id BIGINT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    -- Lower runs first: 0 push/webhook and CI, 1 manual tasks, 2 periodic sweeps. Within a
    -- rank, position (the job's place in its task) interleaves tasks and so tenants.
    priority BIGINT NOT NULL,
    position BIGINT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    error TEXT
);
CREATE INDEX jobs_claim ON jobs(state, priority, position, id);
CREATE INDEX jobs_task ON jobs(task_id, state);
CREATE INDEX jobs_lease ON jobs(state, lease_until);
