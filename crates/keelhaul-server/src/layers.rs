//! Layer analyses kept in the database by layer digest, shared by every worker of a fleet:
//! a base layer used by a thousand images is downloaded and analysed once.
//!
//! A worker that misses claims the layer (a row without facts, with a deadline); others that
//! need the same layer meanwhile wait for the facts instead of analysing it again. A claim
//! whose worker died runs out and is taken over.

use std::time::{Duration, Instant};

use keelhaul_analyze::{FactsStore, LayerFacts};
use keelhaul_core::Digest;
use sqlx::Row;

use crate::store::{Store, now_ms};

/// How long a claim holds before others may take the layer over.
const CLAIM: Duration = Duration::from_secs(600);
/// How often a waiting worker looks again.
const POLL: Duration = Duration::from_millis(200);

/// The database as a [`FactsStore`], for one job (the claims are the job's).
pub struct DbFacts {
    store: Store,
    runtime: tokio::runtime::Handle,
    owner: String,
}

impl DbFacts {
    /// A store whose claims are made in `owner`'s name; its methods block, so call them from
    /// threads outside the async runtime (the scan runs in `spawn_blocking`).
    pub fn new(store: Store, runtime: tokio::runtime::Handle, owner: String) -> DbFacts {
        DbFacts {
            store,
            runtime,
            owner,
        }
    }

    async fn lookup(&self, fingerprint: &str, key: &str) -> Result<Lookup, sqlx::Error> {
        let row = sqlx::query(
            "SELECT facts, claimed_by, claim_until FROM layer_facts \
             WHERE fingerprint = $1 AND digest = $2",
        )
        .bind(fingerprint)
        .bind(key)
        .fetch_optional(self.store.pool())
        .await?;
        let now = now_ms();
        // A claim whose job lost its lease (its worker died), taken over below.
        let mut stale = String::new();
        if let Some(row) = &row {
            if let Some(bytes) = row.try_get::<Option<Vec<u8>>, _>(0)? {
                return Ok(Lookup::Found(bytes));
            }
            let owner: Option<String> = row.try_get(1)?;
            let until: Option<i64> = row.try_get(2)?;
            if let Some(owner) = owner.filter(|o| *o != self.owner)
                && until.is_some_and(|u| u > now)
            {
                if self.holder_alive(&owner, now).await? {
                    return Ok(Lookup::Claimed);
                }
                stale = owner;
            }
        }
        let until = now + i64::try_from(CLAIM.as_millis()).unwrap_or(i64::MAX);
        let won = sqlx::query(
            "INSERT INTO layer_facts (fingerprint, digest, claimed_by, claim_until, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (fingerprint, digest) DO UPDATE \
             SET claimed_by = excluded.claimed_by, claim_until = excluded.claim_until \
             WHERE layer_facts.facts IS NULL AND (layer_facts.claim_until < $5 \
             OR layer_facts.claimed_by = excluded.claimed_by OR layer_facts.claimed_by = $6)",
        )
        .bind(fingerprint)
        .bind(key)
        .bind(&self.owner)
        .bind(until)
        .bind(now)
        .bind(&stale)
        .execute(self.store.pool())
        .await?
        .rows_affected();
        Ok(if won == 1 {
            Lookup::Mine
        } else {
            Lookup::Claimed
        })
    }
}

impl DbFacts {
    /// Whether the job that made a claim still holds its lease. Jobs claim in the name
    /// `LEASE_OWNER/jobID` (worker.rs); a claim in any other name counts as alive. Without
    /// this, a worker killed mid-analysis held its layers for the whole claim time (ten
    /// minutes) and every scan needing them, its own job's retry included, waited.
    async fn holder_alive(&self, owner: &str, now: i64) -> Result<bool, sqlx::Error> {
        let Some((lease_owner, job)) = owner.rsplit_once("/job") else {
            return Ok(true);
        };
        let Ok(job) = job.parse::<i64>() else {
            return Ok(true);
        };
        let alive: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM jobs WHERE id = $1 AND lease_owner = $2 AND state = 'running' \
             AND lease_until >= $3",
        )
        .bind(job)
        .bind(lease_owner)
        .bind(now)
        .fetch_optional(self.store.pool())
        .await?;
        Ok(alive.is_some())
    }
}

enum Lookup {
    Found(Vec<u8>),
    Claimed,
    Mine,
}

fn decode(bytes: &[u8]) -> Option<LayerFacts> {
    let json = zstd::decode_all(bytes).ok()?;
    serde_json::from_slice(&json).ok()
}

impl FactsStore for DbFacts {
    fn get(&self, fingerprint: &str, key: &Digest) -> Option<LayerFacts> {
        let key = key.to_string();
        let deadline = Instant::now() + CLAIM;
        loop {
            match self.runtime.block_on(self.lookup(fingerprint, &key)) {
                Ok(Lookup::Found(bytes)) => {
                    metrics::counter!("keelhaul_layer_cache_hits_total").increment(1);
                    let facts = decode(&bytes);
                    if facts.is_none() {
                        tracing::warn!(
                            "unreadable stored analysis of layer {key}; analysing it again"
                        );
                    }
                    return facts;
                }
                Ok(Lookup::Mine) => {
                    metrics::counter!("keelhaul_layer_cache_misses_total").increment(1);
                    return None;
                }
                Ok(Lookup::Claimed) if Instant::now() < deadline => std::thread::sleep(POLL),
                Ok(Lookup::Claimed) => return None,
                Err(e) => {
                    tracing::warn!("layer store unavailable, analysing layer {key} here: {e}");
                    return None;
                }
            }
        }
    }

    fn put(&self, fingerprint: &str, key: &Digest, facts: &LayerFacts) -> std::io::Result<()> {
        let json = serde_json::to_vec(facts).map_err(std::io::Error::other)?;
        let bytes = zstd::encode_all(json.as_slice(), 3)?;
        let key = key.to_string();
        self.runtime
            .block_on(
                sqlx::query(
                    "INSERT INTO layer_facts (fingerprint, digest, facts, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (fingerprint, digest) DO UPDATE \
                     SET facts = excluded.facts, claimed_by = NULL, claim_until = NULL",
                )
                .bind(fingerprint)
                .bind(&key)
                .bind(bytes)
                .bind(now_ms())
                .execute(self.store.pool()),
            )
            .map_err(std::io::Error::other)?;
        Ok(())
    }

    fn abandon(&self, fingerprint: &str, key: &Digest) {
        let key = key.to_string();
        let result = self.runtime.block_on(
            sqlx::query(
                "DELETE FROM layer_facts WHERE fingerprint = $1 AND digest = $2 \
                 AND facts IS NULL AND claimed_by = $3",
            )
            .bind(fingerprint)
            .bind(&key)
            .bind(&self.owner)
            .execute(self.store.pool()),
        );
        if let Err(e) = result {
            tracing::debug!("could not drop the claim on layer {key}: {e}");
        }
    }

    fn describe(&self) -> String {
        "the service database".to_owned()
    }
}
