//! Key records in Workers KV.
//!
//! | KV key | value | metadata |
//! |---|---|---|
//! | `hash:<sha256 hex>` | the record (JSON) | |
//! | `id:<key id>` | the record (JSON) | the record, so one list call returns every key |
//!
//! KV caps metadata at 1024 bytes: a record larger than that (long names, policies or notes)
//! is stored without it, and listing reads that one record's value instead.
//!
//! Records are written only by the admin API (KV allows one write per second per key); the
//! request path only reads `hash:` entries.

use worker::{Env, KvStore, Result};

use crate::keys::KeyRecord;

pub const KV_BINDING: &str = "KEYS";
/// The largest metadata KV stores with a key, in bytes of JSON.
const KV_METADATA_MAX_BYTES: usize = 1024;

pub struct KeyStore {
    kv: KvStore,
}

impl KeyStore {
    pub fn new(env: &Env) -> Result<KeyStore> {
        Ok(KeyStore {
            kv: env.kv(KV_BINDING)?,
        })
    }

    pub async fn by_hash(&self, hash: &str) -> Result<Option<KeyRecord>> {
        self.read(&format!("hash:{hash}")).await
    }

    pub async fn by_id(&self, id: &str) -> Result<Option<KeyRecord>> {
        self.read(&format!("id:{id}")).await
    }

    async fn read(&self, key: &str) -> Result<Option<KeyRecord>> {
        let text = self.kv.get(key).text().await?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    pub async fn save(&self, record: &KeyRecord) -> Result<()> {
        let json =
            serde_json::to_string(record).map_err(|e| worker::Error::RustError(e.to_string()))?;
        self.kv
            .put(&format!("hash:{}", record.hash), json.as_str())?
            .execute()
            .await?;
        let by_id = self.kv.put(&format!("id:{}", record.id), json.as_str())?;
        let by_id = if json.len() <= KV_METADATA_MAX_BYTES {
            by_id.metadata(record)?
        } else {
            by_id
        };
        by_id.execute().await?;
        Ok(())
    }

    /// Every key record, oldest first.
    pub async fn list(&self) -> Result<Vec<KeyRecord>> {
        let mut records = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut request = self.kv.list().prefix("id:".to_owned());
            if let Some(c) = cursor.take() {
                request = request.cursor(c);
            }
            let page = request.execute().await?;
            for key in page.keys {
                let from_metadata = key
                    .metadata
                    .and_then(|m| serde_json::from_value::<KeyRecord>(m).ok());
                match from_metadata {
                    Some(record) => records.push(record),
                    None => {
                        if let Some(record) = self.read(&key.name).await? {
                            records.push(record);
                        }
                    }
                }
            }
            if page.list_complete {
                break;
            }
            match page.cursor {
                Some(c) if !c.is_empty() => cursor = Some(c),
                _ => break,
            }
        }
        records.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(records)
    }
}
