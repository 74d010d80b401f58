//! The `ui` component: eSignet's UI-facing API under `/v1/esignet/authorization/` (oauth-details, send-otp,
//! authenticate, auth-code, claim-details), the CSRF token at `/v1/esignet/csrf/token`, and the login pages
//! at `/v1/esignet/login` that `/authorize` redirects browsers to, with their script, style sheet and language
//! files under `/v1/esignet/login/assets/` (see [`login_page`], [`assets`], [`i18n`]).
//!
//! Each request runs on a fresh instance: flow state lives in the shared cache and SQL under the keys of
//! `docs/design/login-flow.md`, decisions are `esignet-core`'s. The router checks path and method (404 / 405),
//! serves the pages (no settings or I/O needed), then checks CSRF for every state-changing call (403), then
//! hands over to the endpoint module. API answers use eSignet's response wrapper throughout (see [`reply`]).

#![forbid(unsafe_code)]

mod assets;
mod auth_code;
mod authenticate;
mod consent;
mod csrf;
mod details;
mod i18n;
mod login_page;
mod prelude;
mod reply;
mod send_otp;
mod settings;
mod store;
#[cfg(test)]
mod test_support;

use esignet_core::clock::{Clock, SystemClock};
use esignet_sdk::audit::Level;
use esignet_sdk::{config, Endpoint, Request, Response};

use reply::{Failure, Outcome};
use settings::Settings;

/// The API's base path.
const AUTHORIZATION: &str = "/v1/esignet/authorization";

/// What a path is, with the one method it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    CsrfToken,
    LoginPage,
    LoginAsset,
    OAuthDetails(details::Version),
    SendOtp,
    Authenticate(authenticate::Version),
    AuthCode,
    ClaimDetails,
}

impl Route {
    /// The route of a path (exact match; `None` for anything else).
    fn of(path: &str) -> Option<Route> {
        if path == "/v1/esignet/csrf/token" {
            return Some(Route::CsrfToken);
        }
        if path == "/v1/esignet/login" || path == "/v1/esignet/login/" {
            return Some(Route::LoginPage);
        }
        if path.starts_with(assets::PREFIX) {
            return Some(Route::LoginAsset);
        }
        let api = path.strip_prefix(AUTHORIZATION)?;
        Some(match api {
            "/oauth-details" => Route::OAuthDetails(details::Version::V1),
            "/v2/oauth-details" => Route::OAuthDetails(details::Version::V2),
            "/v3/oauth-details" => Route::OAuthDetails(details::Version::V3),
            "/send-otp" => Route::SendOtp,
            "/authenticate" => Route::Authenticate(authenticate::Version::V1),
            "/v2/authenticate" | "/v3/authenticate" => {
                Route::Authenticate(authenticate::Version::V2OrV3)
            }
            "/auth-code" => Route::AuthCode,
            "/claim-details" => Route::ClaimDetails,
            _ => return None,
        })
    }

    fn method(self) -> &'static str {
        match self {
            Route::CsrfToken | Route::LoginPage | Route::LoginAsset | Route::ClaimDetails => "GET",
            _ => "POST",
        }
    }

    /// Whether the call changes state and so needs the CSRF double submit.
    fn needs_csrf(self) -> bool {
        !matches!(
            self,
            Route::CsrfToken | Route::LoginPage | Route::LoginAsset
        )
    }
}

struct Ui;

impl Endpoint for Ui {
    fn handle(req: Request) -> Response {
        let now_ms = SystemClock.now_ms();
        dispatch(&req, now_ms).unwrap_or_else(|failure| failure.into_response(now_ms))
    }
}

fn dispatch(req: &Request, now_ms: i64) -> Outcome {
    let route = Route::of(&req.path).ok_or(Failure::Status(404, "not_found"))?;
    let allowed = route.method();
    let method_ok = req.method == allowed || (allowed == "GET" && req.method == "HEAD");
    if !method_ok {
        let resp = Failure::Status(405, "method_not_allowed").into_response(now_ms);
        return Ok(resp.with_header("allow", allowed));
    }
    if matches!(route, Route::LoginPage | Route::LoginAsset) {
        return pages(req, route);
    }
    if route == Route::CsrfToken {
        // Needs no settings: answered before the dozen `config` look-ups every other call makes.
        return csrf::token(req);
    }
    if route.needs_csrf() {
        csrf::check(req)?;
    }
    let settings = Settings::from_lookup(config::get);
    if !settings.rejected.is_empty() {
        store::log(
            Level::Warn,
            &format!(
                "unusable variables, defaults used: {}",
                settings.rejected.join(", ")
            ),
        );
    }
    match route {
        Route::CsrfToken => csrf::token(req),
        Route::LoginPage | Route::LoginAsset => pages(req, route),
        Route::OAuthDetails(version) => {
            prelude::require_json(req)?;
            details::handle(req, &settings, now_ms, version)
        }
        Route::SendOtp => send_otp::handle(req, &settings, now_ms),
        Route::Authenticate(version) => authenticate::handle(req, &settings, now_ms, version),
        Route::AuthCode => auth_code::handle(req, &settings, now_ms),
        Route::ClaimDetails => auth_code::claim_details(req, &settings, now_ms),
    }
}

/// The login page or one of its assets.
fn pages(req: &Request, route: Route) -> Outcome {
    if route == Route::LoginPage {
        return Ok(login_page::page(req));
    }
    assets::serve(&req.path, req.header("if-none-match")).ok_or(Failure::Status(404, "not_found"))
}

esignet_sdk::export_endpoint!(Ui);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_exact() {
        assert_eq!(
            Route::of("/v1/esignet/authorization/v3/oauth-details"),
            Some(Route::OAuthDetails(details::Version::V3))
        );
        assert_eq!(
            Route::of("/v1/esignet/authorization/v2/authenticate"),
            Some(Route::Authenticate(authenticate::Version::V2OrV3))
        );
        assert_eq!(
            Route::of("/v1/esignet/authorization/v4/oauth-details"),
            None
        );
        assert_eq!(Route::of("/v1/esignet/authorization/send-otp/"), None);
        assert_eq!(Route::of("/v1/esignet/authorization"), None);
        assert_eq!(Route::of("/v1/esignet/csrf/token"), Some(Route::CsrfToken));
        assert_eq!(Route::of("/v1/esignet/login"), Some(Route::LoginPage));
        assert_eq!(
            Route::of("/v1/esignet/login/assets/login.js"),
            Some(Route::LoginAsset)
        );
        assert_eq!(Route::of("/v1/esignet/login/other"), None);
        assert_eq!(Route::ClaimDetails.method(), "GET");
        assert!(Route::ClaimDetails.needs_csrf() && !Route::CsrfToken.needs_csrf());
    }

    fn request(method: &str, path: &str) -> Request {
        Request {
            method: method.into(),
            path: path.into(),
            ..Request::default()
        }
    }

    #[test]
    fn unknown_paths_wrong_methods_and_csrf_are_refused_before_any_io() {
        let status = |r: Outcome| r.unwrap_or_else(|f| f.into_response(0)).status;
        assert_eq!(
            status(dispatch(
                &request("POST", "/v1/esignet/authorization/nope"),
                0
            )),
            404
        );
        let r = dispatch(&request("GET", "/v1/esignet/authorization/auth-code"), 0).unwrap();
        assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
        assert_eq!(
            status(dispatch(
                &request("POST", "/v1/esignet/authorization/auth-code"),
                0
            )),
            403
        );
        assert_eq!(
            status(dispatch(
                &request("GET", "/v1/esignet/authorization/claim-details"),
                0
            )),
            403
        );
    }
}
