//! Loading a registered client: read-through cache `client:<clientId>` (300 s, the serde JSON of
//! [`ClientDetail`]; client-mgmt deletes the entry on change) in front of the `client_detail` table.
//!
//! Unknown clients are not cached (a client registered a moment later must work at once). A client id longer
//! than any registrable one is unknown without a lookup. A cache that is down is skipped (SQL still answers);
//! SQL down is [`Failure::Unavailable`]; a row that cannot be read is [`Failure::Fault`].

use esignet_core::client::{ClientDetail, SELECT_CLIENT_SQL};
use esignet_sdk::audit::{self, Level};
use esignet_sdk::{cache, sql};

use crate::reply::Failure;

/// Cache lifetime of a client copy.
const CLIENT_TTL_MS: u64 = 300_000;
/// `client_detail.id` is varchar(100) in eSignet; allow some slack.
const MAX_CLIENT_ID_LEN: usize = 256;

fn cache_key(client_id: &str) -> String {
    format!("client:{client_id}")
}

fn text(value: &sql::Value) -> Option<String> {
    match value {
        sql::Value::Text(s) => Some(s.clone()),
        sql::Value::Integer(i) => Some(i.to_string()),
        sql::Value::Real(f) => Some(f.to_string()),
        sql::Value::Blob(b) => String::from_utf8(b.clone()).ok(),
        sql::Value::Null => None,
    }
}

fn from_cache(key: &str) -> Option<ClientDetail> {
    match cache::get(key) {
        Ok(Some(bytes)) => serde_json::from_slice(&bytes).ok(),
        Ok(None) => None,
        Err(_) => {
            audit::log(
                Level::Warn,
                "client cache read failed; reading the database",
            );
            None
        }
    }
}

/// The client `client_id`, `None` when it is not registered.
pub fn load(client_id: &str) -> Result<Option<ClientDetail>, Failure> {
    if client_id.len() > MAX_CLIENT_ID_LEN || !esignet_core::client::plausible_client_id(client_id)
    {
        return Ok(None);
    }
    let key = cache_key(client_id);
    if let Some(c) = from_cache(&key).filter(|c| c.id == client_id) {
        return Ok(Some(c));
    }
    let rows =
        sql::query(SELECT_CLIENT_SQL, &[sql::Value::Text(client_id.to_owned())]).map_err(|e| {
            audit::log(Level::Error, "client_detail query failed");
            Failure::capability(&e)
        })?;
    if rows.rows.is_empty() {
        return Ok(None);
    }
    let client =
        ClientDetail::from_columns(|name| rows.get(0, name).and_then(text)).map_err(|_| {
            audit::log(Level::Error, "client_detail row could not be read");
            Failure::Fault
        })?;
    if let Ok(json) = serde_json::to_vec(&client) {
        if cache::set(&key, &json, CLIENT_TTL_MS).is_err() {
            audit::log(Level::Warn, "client cache write failed");
        }
    }
    Ok(Some(client))
}
