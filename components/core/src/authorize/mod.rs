//! The authorization request: parsing (from `/authorize` query or PAR form, or the oauth-details JSON), and
//! validation per reference §3.1 and the conformance cases ES-06, ES-09 and CF-02.
//!
//! Entry points: [`AuthorizeRequest::from_query`] / serde for the JSON form, then [`validate_authorize`], which
//! returns a [`ValidatedAuthorize`] or an [`AuthorizeFailure`] saying whether the error may be sent to the
//! client's redirect URI ([`error_redirect_allowed`]). [`redirect`] builds the redirect URLs.

mod claims_param;
mod pkce_params;
mod prompt;
pub mod redirect;
mod request;
mod scope;
mod validate;

pub use claims_param::{ClaimDetail, ClaimsRequest};
pub use pkce_params::parse_pkce_params;
pub use prompt::{parse_prompt, Prompt};
pub use redirect::error_redirect_allowed;
pub use request::AuthorizeRequest;
pub use scope::{parse_scope, split_space_list, RequestedScopes, ScopeConfig};
pub use validate::{
    validate_authorize, AuthorizeFailure, AuthorizePolicy, ValidatedAuthorize, DISPLAY_VALUES,
};
