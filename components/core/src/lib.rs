//! Pure eSignet 1.8-compatible OpenID Connect business logic, shared by the `oidc` and `ui` components.
//!
//! Nothing here performs I/O or knows about WIT: the components fetch clients, transactions and consents
//! through the host's capabilities and call these functions to decide. Time is passed in (`now` seconds,
//! `now_ms` milliseconds, or a [`clock::Clock`]) and randomness through [`random::RandomSource`], so every
//! rule is unit-tested natively. Signatures are the host's `keys` capability's job; this crate only builds and
//! checks claims. Errors are [`error::EsignetError`] codes, spelled per endpoint kind.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod assertion;
pub mod authorize;
pub mod bearer;
pub mod challenge;
pub mod claims;
pub mod client;
pub mod clock;
pub mod consent;
pub mod credential;
pub mod discovery;
pub mod envelope;
pub mod error;
pub mod hashing;
pub mod ids;
pub mod js_json;
pub mod oauth_details;
pub mod oauth_error;
pub mod pkce;
pub mod random;
pub mod timestamp;
pub mod token_request;
pub mod tokens;
pub mod transaction;
pub mod userinfo;

pub use error::EsignetError;
