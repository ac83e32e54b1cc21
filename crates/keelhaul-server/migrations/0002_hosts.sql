-- Hosts that run `keelhaul agent`, jobs bound to a host (local images are scanned there, by
-- its agent, never by a worker), and the nonces of signed cloud-API requests (replays).

CREATE TABLE hosts (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    uuid TEXT NOT NULL,
    hostname TEXT NOT NULL,
    engine TEXT,
    agent_version TEXT,
    images BIGINT NOT NULL DEFAULT 0,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, uuid)
);

ALTER TABLE jobs ADD COLUMN host_uuid TEXT;
CREATE INDEX jobs_host ON jobs(host_uuid, state) WHERE host_uuid IS NOT NULL;
CREATE INDEX jobs_image ON jobs(image_id, state);
CREATE INDEX images_tenant_host ON images(tenant_id, host_uuid, id) WHERE host_uuid IS NOT NULL;

CREATE TABLE request_nonces (
    nonce TEXT PRIMARY KEY,
    seen_at BIGINT NOT NULL
);
CREATE INDEX request_nonces_seen ON request_nonces(seen_at);
