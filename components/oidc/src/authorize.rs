//! `GET`/`POST <issuer>/authorize`: the front-channel authorization request (OIDC Core §3.1.2).
//!
//! The request is validated here, before any page is shown, with `esignet_core::authorize::validate_authorize`
//! against the registered client (cases ES-06, ES-09, CF-01, CF-02). A valid request is sent on to the login
//! page, `<issuer path>/login?<the original parameters>` (the ui component's page, which posts them to
//! oauth-details). An invalid one goes back to the client's redirect URI with `error`, `error_description`,
//! `state` and `iss` only when the client exists, is active and the redirect URI is registered for it;
//! otherwise the provider shows its own error page and never navigates to the supplied URI (RFC 6749
//! §4.1.2.1). POST takes the parameters from an `application/x-www-form-urlencoded` body (OIDC Core §3.1.2.1).

use esignet_core::authorize::{validate_authorize, AuthorizePolicy, AuthorizeRequest};
use esignet_core::discovery::Endpoints;
use esignet_core::EsignetError;
use esignet_sdk::audit::{self, Level};
use esignet_sdk::Request;
use esignet_sdk::Response;

use crate::clients;
use crate::reply::{error_page, method_not_allowed, redirect, Failure};

/// The raw parameter string of the request: the query for GET, the form body for POST.
fn parameters(req: &Request) -> Result<String, Response> {
    match req.method.as_str() {
        "GET" => Ok(req.query.clone()),
        "POST" if req.is_form() => req
            .body_text()
            .map(str::to_owned)
            .ok_or_else(|| error_page(400, EsignetError::InvalidRequest)),
        "POST" => Err(error_page(400, EsignetError::InvalidRequest)),
        _ => Err(method_not_allowed("GET, POST")),
    }
}

/// Handles the authorization endpoint.
pub fn handle(req: &Request, endpoints: &Endpoints) -> Response {
    let params = match parameters(req) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let request = AuthorizeRequest::from_query(&params);
    let client = match request.client_id.as_deref() {
        Some(id) => match clients::load(id) {
            Ok(c) => c,
            Err(Failure::Unavailable) => return error_page(503, EsignetError::UnknownError),
            Err(_) => return error_page(500, EsignetError::UnknownError),
        },
        None => None,
    };
    match validate_authorize(
        &request,
        client.as_ref(),
        &AuthorizePolicy::default(),
        false,
    ) {
        Ok(_) => redirect(&login_location(endpoints, &params)),
        Err(failure) => {
            audit::log(
                Level::Info,
                &format!("authorize rejected: {}", failure.error.code()),
            );
            match failure.redirect_url(&endpoints.issuer) {
                Some(url) => redirect(&url),
                None => error_page(400, failure.error),
            }
        }
    }
}

/// `<issuer path>/login?<params>`: a same-origin path, so the browser stays on the provider. The parameters are
/// parsed and re-encoded (never copied raw: a POST body may hold CR/LF or spaces that are not valid in a
/// `Location` header).
pub fn login_location(endpoints: &Endpoints, params: &str) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form_urlencoded::parse(params.as_bytes()))
        .finish();
    format!("{}/login?{}", endpoints.issuer_path(), query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_location_keeps_parameters() {
        let e = Endpoints::from_issuer("http://127.0.0.1:18082/v1/esignet");
        assert_eq!(
            login_location(&e, "client_id=a&state=x%20y"),
            "/v1/esignet/login?client_id=a&state=x+y"
        );
    }

    #[test]
    fn login_location_re_encodes_raw_bytes() {
        let e = Endpoints::from_issuer("http://127.0.0.1:18082/v1/esignet");
        let loc = login_location(&e, "client_id=a&state=x y\r\nSet-Cookie: z=1&nonce=%0D%0A");
        assert_eq!(
            loc,
            "/v1/esignet/login?client_id=a&state=x+y%0D%0ASet-Cookie%3A+z%3D1&nonce=%0D%0A"
        );
        assert!(loc.bytes().all(|b| b.is_ascii_graphic()));
    }
}
