//! The `oidc` component: the OpenID Connect protocol endpoints of the provider.
//!
//! With `P` the issuer's path (config variable `issuer`, e.g. `http://127.0.0.1:8088/v1/esignet` → `/v1/esignet`):
//! `P/authorize` ([`authorize`]), `P/oauth/v2/token` and the deprecated `P/oauth/token` ([`token`], issuing
//! through [`issue`] after [`client_auth`], or [`credential`] for credential scopes), `P/oidc/userinfo`
//! ([`userinfo`]), and the discovery documents and JWK set ([`metadata`]). Decisions are made by `esignet-core`; this crate moves data between the request, the
//! host's capabilities (cache, SQL, keys, audit, the identity-system plugin) and the response. State lives
//! only in the cache and the database, as `docs/design/login-flow.md` lays out.

mod authorize;
mod client_auth;
mod clients;
mod credential;
mod events;
mod issue;
mod metadata;
mod reply;
mod settings;
mod token;
mod userinfo;

use esignet_core::discovery::Endpoints;
use esignet_core::EsignetError;
use esignet_sdk::audit::{self, Level};
use esignet_sdk::{Endpoint, Request, Response};

use crate::reply::Failure;
use crate::settings::Settings;

/// Which endpoint a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Authorize,
    Token { legacy: bool },
    Userinfo,
    Metadata(metadata::Document),
}

fn route(path: &str, endpoints: &Endpoints) -> Option<Route> {
    let p = endpoints.issuer_path();
    let under = |suffix: &str| path.strip_prefix(p) == Some(suffix);
    if under("/authorize") {
        Some(Route::Authorize)
    } else if under("/oauth/v2/token") {
        Some(Route::Token { legacy: false })
    } else if under("/oauth/token") {
        Some(Route::Token { legacy: true })
    } else if under("/oidc/userinfo") {
        Some(Route::Userinfo)
    } else {
        metadata::document_for(path, endpoints).map(Route::Metadata)
    }
}

struct Oidc;

impl Endpoint for Oidc {
    fn handle(req: Request) -> Response {
        let Some(settings) = Settings::load() else {
            audit::log(Level::Error, "config variable `issuer` is not set");
            return Failure::Fault.response();
        };
        let endpoints = &settings.endpoints;
        match route(&req.path, endpoints) {
            Some(Route::Authorize) => authorize::handle(&req, endpoints),
            Some(Route::Token { legacy }) => token::handle(&req, &settings, legacy),
            Some(Route::Userinfo) => userinfo::handle(&req, endpoints),
            Some(Route::Metadata(doc)) if req.method == "GET" || req.method == "HEAD" => {
                metadata::serve(doc, endpoints)
            }
            Some(Route::Metadata(_)) => reply::method_not_allowed("GET"),
            None if req.path.contains("/oauth/") => Failure::Oauth(EsignetError::InvalidRequest)
                .response()
                .with_status(404),
            None => Response::not_found(),
        }
    }
}

esignet_sdk::export_endpoint!(Oidc);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_issuer_path() {
        let e = Endpoints::from_issuer("http://127.0.0.1:18082/v1/esignet");
        assert_eq!(route("/v1/esignet/authorize", &e), Some(Route::Authorize));
        assert_eq!(
            route("/v1/esignet/oauth/v2/token", &e),
            Some(Route::Token { legacy: false })
        );
        assert_eq!(
            route("/v1/esignet/oauth/token", &e),
            Some(Route::Token { legacy: true })
        );
        assert_eq!(
            route("/v1/esignet/oidc/userinfo", &e),
            Some(Route::Userinfo)
        );
        assert_eq!(
            route("/v1/esignet/.well-known/jwks.json", &e),
            Some(Route::Metadata(metadata::Document::Jwks))
        );
        assert_eq!(route("/v1/esignet/authorize/x", &e), None);
        assert_eq!(route("/v2/esignet/authorize", &e), None);
    }
}
