//! The client-management API (reference §2.5): register (`POST`), replace (`PUT`) and patch (`PATCH`) OIDC
//! clients under `/v1/esignet/client-mgmt/`, on the current `client` endpoints and the deprecated `oidc-client`
//! and `oauth-client` ones.
//!
//! Each request is authorized first ([`auth`]), then its eSignet envelope is parsed and its `request` validated
//! by `esignet_core::client::registration`; only a request that passed every check reaches the database
//! ([`store`]), whose change is followed by the eviction of the `client:<id>` cache entry so `oidc` and `ui` see
//! it at once. Validation failures answer HTTP 200 with one `errors[]` entry per field, as eSignet does; auth
//! failures answer 401 `unauthorized` / 403 `forbidden`. Every outcome is audited as `OAUTH_CLIENT_CREATE`,
//! `OAUTH_CLIENT_UPDATE` or `OAUTH_CLIENT_PATCH`, without keys or tokens.

mod auth;
mod keycheck;
mod reply;
mod store;

use esignet_core::claims::AmrAcrMapping;
use esignet_core::client::registration::{validate_client_id, validate_request, Api, Operation};
use esignet_core::clock::{Clock, SystemClock};
use esignet_core::envelope::{parse_request, DEFAULT_LEEWAY_MINUTES};
use esignet_core::EsignetError;
use esignet_sdk::{config, Endpoint, Request, Response};
use serde_json::Value;

use reply::Outcome;

struct ClientMgmt;

/// One matched route: the endpoint family, the operation, and the client id from the path (PUT/PATCH).
struct Route {
    api: Api,
    op: Operation,
    path_id: Option<String>,
}

enum RouteMatch {
    Found(Route),
    WrongMethod(&'static str),
    NotFound,
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn match_route(method: &str, subpath: &str) -> RouteMatch {
    let mut parts = subpath.trim_start_matches('/').splitn(2, '/');
    let api = match parts.next() {
        Some("client") => Api::Client,
        Some("oidc-client") => Api::OidcClient,
        Some("oauth-client") => Api::OauthClient,
        _ => return RouteMatch::NotFound,
    };
    match (parts.next(), method) {
        (None, "POST") => RouteMatch::Found(Route {
            api,
            op: Operation::Create,
            path_id: None,
        }),
        (None, _) => RouteMatch::WrongMethod("POST"),
        (Some(id), _) if id.is_empty() || id.contains('/') => RouteMatch::NotFound,
        (Some(id), "PUT") => RouteMatch::Found(Route {
            api,
            op: Operation::Update,
            path_id: Some(id.to_owned()),
        }),
        (Some(id), "PATCH") if api == Api::Client => RouteMatch::Found(Route {
            api,
            op: Operation::Patch,
            path_id: Some(id.to_owned()),
        }),
        (Some(_), _) if api == Api::Client => RouteMatch::WrongMethod("PUT, PATCH"),
        (Some(_), _) => RouteMatch::WrongMethod("PUT"),
    }
}

fn run(req: &Request, route: &Route, clock: &dyn Clock) -> Outcome {
    let caller = auth::authorize(req, route.op, clock.now())?;
    let leeway = config::get("request_time_leeway_minutes")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|m| *m >= 0)
        .unwrap_or(DEFAULT_LEEWAY_MINUTES);
    let env =
        parse_request::<Value>(&req.body, clock.now_ms(), leeway).map_err(reply::Failure::one)?;
    let acrs = AmrAcrMapping::default_mapping().map_err(reply::Failure::one)?;
    let changes = validate_request(&env.request, route.api, route.op, &acrs)
        .map_err(reply::Failure::fields)?;
    let record = match &route.path_id {
        None => {
            if let Some(key) = &changes.public_key {
                keycheck::signature_key(key)?;
            }
            store::create(changes, clock.now())?
        }
        Some(raw) => {
            let id = percent_decode(raw)
                .and_then(|s| validate_client_id(&Value::String(s)).ok())
                .ok_or(reply::Failure::one(EsignetError::InvalidClientId))?;
            if let Some(key) = &changes.enc_public_key {
                keycheck::encryption_key(key)?;
            }
            store::update(&id, changes, clock.now())?
        }
    };
    Ok(reply::Done {
        client_id: record.id,
        status: record.status,
        caller,
    })
}

impl Endpoint for ClientMgmt {
    fn handle(req: Request) -> Response {
        let clock = SystemClock;
        let route = match match_route(&req.method, req.subpath()) {
            RouteMatch::Found(route) => route,
            RouteMatch::WrongMethod(allow) => {
                return Response::new(405).with_header("allow", allow)
            }
            RouteMatch::NotFound => return Response::not_found(),
        };
        let outcome = run(&req, &route, &clock);
        reply::finish(outcome, &route, clock.now_ms())
    }
}

esignet_sdk::export_endpoint!(ClientMgmt);

#[cfg(test)]
mod tests {
    use super::*;

    fn found(m: RouteMatch) -> Option<(Api, Operation, Option<String>)> {
        match m {
            RouteMatch::Found(r) => Some((r.api, r.op, r.path_id)),
            _ => None,
        }
    }

    #[test]
    fn routes() {
        assert_eq!(
            found(match_route("POST", "/client")),
            Some((Api::Client, Operation::Create, None))
        );
        assert_eq!(
            found(match_route("PATCH", "/client/c1")),
            Some((Api::Client, Operation::Patch, Some("c1".into())))
        );
        assert_eq!(
            found(match_route("PUT", "/oauth-client/c1")),
            Some((Api::OauthClient, Operation::Update, Some("c1".into())))
        );
        assert!(matches!(
            match_route("PATCH", "/oidc-client/c1"),
            RouteMatch::WrongMethod("PUT")
        ));
        assert!(matches!(
            match_route("GET", "/client"),
            RouteMatch::WrongMethod("POST")
        ));
        assert!(matches!(
            match_route("PUT", "/client/a/b"),
            RouteMatch::NotFound
        ));
        assert!(matches!(
            match_route("PUT", "/client/"),
            RouteMatch::NotFound
        ));
        assert!(matches!(
            match_route("POST", "/clients"),
            RouteMatch::NotFound
        ));
        assert_eq!(percent_decode("a%2Db").as_deref(), Some("a-b"));
        assert_eq!(percent_decode("a%zz"), None);
    }
}
