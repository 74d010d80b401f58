//! The write side of `client_detail`: the full row client-mgmt inserts and updates, with its statements.
//!
//! Readers (`oidc`, `ui`) build a [`crate::client::ClientDetail`] with `ClientDetail::from_columns`; client-mgmt
//! needs every column, the key hashes and timestamps included, to merge an update into the stored row and
//! write it back whole. JSON columns stay JSON text here. Statements use `$n` parameters in
//! [`RECORD_COLUMNS`] order ([`ClientRecord::params`]).

use crate::error::EsignetError;

/// The columns of `client_detail`, in parameter order.
pub const RECORD_COLUMNS: [&str; 18] = [
    "id",
    "name",
    "rp_id",
    "logo_uri",
    "redirect_uris",
    "claims",
    "acr_values",
    "public_key",
    "public_key_hash",
    "enc_public_key",
    "enc_public_key_hash",
    "enc_public_key_cert",
    "grant_types",
    "auth_methods",
    "status",
    "additional_config",
    "cr_dtimes",
    "upd_dtimes",
];

/// Reads the whole row of one client (`$1` = id).
pub fn select_record_sql() -> String {
    format!(
        "SELECT {} FROM client_detail WHERE id = $1",
        RECORD_COLUMNS.join(", ")
    )
}

/// Inserts a row (`$1..$18` in [`RECORD_COLUMNS`] order).
pub fn insert_record_sql() -> String {
    let params: Vec<String> = (1..=RECORD_COLUMNS.len())
        .map(|i| format!("${i}"))
        .collect();
    format!(
        "INSERT INTO client_detail ({}) VALUES ({})",
        RECORD_COLUMNS.join(", "),
        params.join(", ")
    )
}

/// Rewrites every column but `id` and `cr_dtimes` of the row whose id is `$1` (same parameters as insert).
pub fn update_record_sql() -> String {
    let sets: Vec<String> = RECORD_COLUMNS
        .iter()
        .enumerate()
        .filter(|(_, c)| !matches!(**c, "id" | "cr_dtimes"))
        .map(|(i, c)| format!("{c} = ${}", i + 1))
        .collect();
    format!(
        "UPDATE client_detail SET {} WHERE id = $1 AND cr_dtimes = $17",
        sets.join(", ")
    )
}

/// A cell read from or written to the table (reals and blobs never occur in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// An integer (the timestamps).
    Integer(i64),
    /// Text.
    Text(String),
}

/// A whole `client_detail` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRecord {
    pub id: String,
    /// Lang-map JSON (`{"@none": ..., "<lang>": ...}`), or a legacy plain name.
    pub name: String,
    pub rp_id: String,
    pub logo_uri: Option<String>,
    /// JSON arrays of strings.
    pub redirect_uris: String,
    pub claims: String,
    pub acr_values: String,
    /// Normalised public JWK JSON and its hex SHA-256 thumbprint (unique).
    pub public_key: String,
    pub public_key_hash: String,
    pub enc_public_key: Option<String>,
    pub enc_public_key_hash: Option<String>,
    /// Kept for schema compatibility with eSignet; this implementation leaves it NULL.
    pub enc_public_key_cert: Option<String>,
    pub grant_types: String,
    pub auth_methods: String,
    /// `ACTIVE` / `INACTIVE`.
    pub status: String,
    /// JSON object.
    pub additional_config: Option<String>,
    /// Epoch seconds.
    pub cr_dtimes: i64,
    pub upd_dtimes: Option<i64>,
}

fn text_or_null(v: &Option<String>) -> Cell {
    v.clone().map_or(Cell::Null, Cell::Text)
}

impl ClientRecord {
    /// The row's values in [`RECORD_COLUMNS`] order.
    pub fn params(&self) -> Vec<Cell> {
        vec![
            Cell::Text(self.id.clone()),
            Cell::Text(self.name.clone()),
            Cell::Text(self.rp_id.clone()),
            text_or_null(&self.logo_uri),
            Cell::Text(self.redirect_uris.clone()),
            Cell::Text(self.claims.clone()),
            Cell::Text(self.acr_values.clone()),
            Cell::Text(self.public_key.clone()),
            Cell::Text(self.public_key_hash.clone()),
            text_or_null(&self.enc_public_key),
            text_or_null(&self.enc_public_key_hash),
            text_or_null(&self.enc_public_key_cert),
            Cell::Text(self.grant_types.clone()),
            Cell::Text(self.auth_methods.clone()),
            Cell::Text(self.status.clone()),
            text_or_null(&self.additional_config),
            Cell::Integer(self.cr_dtimes),
            self.upd_dtimes.map_or(Cell::Null, Cell::Integer),
        ]
    }

    /// Reads a row given each column's cell by name; `unknown_error` if a required column is missing or mistyped.
    pub fn from_columns(column: impl Fn(&str) -> Option<Cell>) -> Result<Self, EsignetError> {
        let text = |name: &str| match column(name) {
            Some(Cell::Text(s)) => Ok(s),
            _ => Err(EsignetError::UnknownError),
        };
        let opt_text = |name: &str| match column(name) {
            Some(Cell::Text(s)) => Ok(Some(s)),
            None | Some(Cell::Null) => Ok(None),
            Some(Cell::Integer(_)) => Err(EsignetError::UnknownError),
        };
        let opt_int = |name: &str| match column(name) {
            Some(Cell::Integer(v)) => Ok(Some(v)),
            None | Some(Cell::Null) => Ok(None),
            Some(Cell::Text(_)) => Err(EsignetError::UnknownError),
        };
        Ok(ClientRecord {
            id: text("id")?,
            name: text("name")?,
            rp_id: text("rp_id")?,
            logo_uri: opt_text("logo_uri")?,
            redirect_uris: text("redirect_uris")?,
            claims: text("claims")?,
            acr_values: text("acr_values")?,
            public_key: text("public_key")?,
            public_key_hash: text("public_key_hash")?,
            enc_public_key: opt_text("enc_public_key")?,
            enc_public_key_hash: opt_text("enc_public_key_hash")?,
            enc_public_key_cert: opt_text("enc_public_key_cert")?,
            grant_types: text("grant_types")?,
            auth_methods: text("auth_methods")?,
            status: text("status")?,
            additional_config: opt_text("additional_config")?,
            cr_dtimes: opt_int("cr_dtimes")?.ok_or(EsignetError::UnknownError)?,
            upd_dtimes: opt_int("upd_dtimes")?,
        })
    }
}
