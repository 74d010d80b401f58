//! The two complete code flows the bench drives, each verified end to end:
//!
//! - eSignet (as oidc-ui and a relying party drive it): authorize (302 to the login page) → csrf → oauth-details
//!   (+ hash) → send-otp → authenticate (OTP) → auth-code → token (private_key_jwt + PKCE) → userinfo (JWS).
//! - oidc-provider (the peer): authorize (303 to the interaction) → interaction (headless login + consent, 303
//!   back) → resume (303 to the redirect URI with the code) → token (private_key_jwt + PKCE) → userinfo (JWS).
//!
//! Each step's time is the request's round trip (send to last body byte); the relying party's own JOSE work
//! (signing the assertion, verifying the tokens) is outside the step times but inside the flow.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use http::Method;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use crate::http::{form, param, query_params, Conn, Jar, Origin, Response};
use crate::jose::{at_hash, now_secs, random_b64, sha256_b64, ClientKey, Jwks};

pub const ESIGNET_STEPS: &[&str] =
    &["authorize", "csrf", "oauth-details", "send-otp", "authenticate", "auth-code", "token", "userinfo"];
/// Steps whose handling calls the ID system (the authenticator plugin): send-otp, authenticate (kyc-auth) and
/// token (kyc-exchange). The latency target applies to the others.
pub const ESIGNET_ID_SYSTEM_STEPS: &[&str] = &["send-otp", "authenticate", "token"];
pub const PEER_STEPS: &[&str] = &["authorize", "interaction", "resume", "token", "userinfo"];

const ESIGNET_PREFIX: &str = "/v1/esignet";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Esignet,
    Peer,
}

impl Kind {
    pub fn steps(self) -> &'static [&'static str] {
        match self {
            Kind::Esignet => ESIGNET_STEPS,
            Kind::Peer => PEER_STEPS,
        }
    }
}

/// What a login's consent step did (eSignet's `consentAction`; the peer grants programmatically every time).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Consent {
    Capture,
    NoCapture,
    Programmatic,
}

/// A provider under load, its client and (for eSignet) its identities.
pub struct Target {
    pub kind: Kind,
    pub origin: Origin,
    pub issuer: String,
    pub client: ClientKey,
    pub redirect_uri: String,
    pub scope: String,
    authorization_path: String,
    token_endpoint: String,
    token_path: String,
    userinfo_path: String,
    jwks: Jwks,
    pub identities: Vec<String>,
    otp: String,
    next_identity: AtomicUsize,
}

/// The bench's view of a target: written by `setup` (eSignet) or by the peer's server.js.
#[derive(Deserialize)]
pub struct TargetFile {
    pub issuer: String,
    pub client_id: String,
    pub client_private_jwk: Value,
    pub redirect_uri: String,
    #[serde(default = "default_scope")]
    pub scope: String,
    #[serde(default)]
    pub identities: Vec<String>,
    #[serde(default = "default_otp")]
    pub otp: String,
}

fn default_scope() -> String {
    "openid profile".into()
}

fn default_otp() -> String {
    "111111".into()
}

impl Target {
    /// Reads the discovery document and the JWKS (once; keys are parsed here, not per flow).
    pub async fn load(kind: Kind, file: TargetFile) -> Result<Target> {
        let origin = Origin::parse(&file.issuer)?;
        let mut conn = Conn::new(origin.clone());
        let discovery_path = origin.path_of(&format!("{}/.well-known/openid-configuration", file.issuer))?;
        let discovery: Value = json_of(conn.send(Method::GET, &discovery_path, &[], None, None).await?.expect(200, "discovery")?)?;
        let endpoint = |name: &str| -> Result<String> {
            discovery.get(name).and_then(Value::as_str).map(str::to_string).ok_or_else(|| anyhow!("discovery lacks {name}"))
        };
        if endpoint("issuer")? != file.issuer {
            bail!("discovery issuer {} is not {}", endpoint("issuer")?, file.issuer);
        }
        let jwks_path = origin.path_of(&endpoint("jwks_uri")?)?;
        let jwks = Jwks::parse(&json_of(conn.send(Method::GET, &jwks_path, &[], None, None).await?.expect(200, "jwks")?)?)?;
        if kind == Kind::Esignet && file.identities.is_empty() {
            bail!("no identities in the target file");
        }
        let token_endpoint = endpoint("token_endpoint")?;
        Ok(Target {
            kind,
            authorization_path: origin.path_of(&endpoint("authorization_endpoint")?)?,
            token_path: origin.path_of(&token_endpoint)?,
            token_endpoint,
            userinfo_path: origin.path_of(&endpoint("userinfo_endpoint")?)?,
            client: ClientKey::from_jwk(&file.client_id, &file.client_private_jwk)?,
            origin,
            issuer: file.issuer,
            redirect_uri: file.redirect_uri,
            scope: file.scope,
            jwks,
            identities: file.identities,
            otp: file.otp,
            next_identity: AtomicUsize::new(0),
        })
    }

    /// The next identity in turn (eSignet), so concurrent flows use different citizens.
    pub fn take_identity(&self) -> usize {
        self.next_identity.fetch_add(1, Ordering::Relaxed)
    }

    pub fn reset_identities(&self) {
        self.next_identity.store(0, Ordering::Relaxed);
    }

    /// One complete login; `times` gets each step's round trip in microseconds.
    pub async fn flow(&self, conn: &mut Conn, identity: usize, times: &mut [u32]) -> Result<Consent> {
        match self.kind {
            Kind::Esignet => {
                let id = &self.identities[identity % self.identities.len()];
                self.esignet_flow(conn, id, times).await
            }
            Kind::Peer => self.peer_flow(conn, times).await,
        }
    }

    fn authorization_query(&self, state: &str, nonce: &str, challenge: &str) -> String {
        form(&[
            ("response_type", "code"),
            ("client_id", &self.client.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", &self.scope),
            ("state", state),
            ("nonce", nonce),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ])
    }

    async fn esignet_flow(&self, conn: &mut Conn, individual_id: &str, times: &mut [u32]) -> Result<Consent> {
        let mut jar = Jar::default();
        let (state, nonce, verifier) = (random_b64(24), random_b64(24), random_b64(48));
        let challenge = sha256_b64(verifier.as_bytes());

        // authorize: the RP sends the browser here; it answers 302 to the login page with the parameters.
        let path = format!("{}?{}", self.authorization_path, self.authorization_query(&state, &nonce, &challenge));
        let r = timed(&mut times[0], conn.send(Method::GET, &path, &[], Some(&mut jar), None)).await?;
        if !matches!(r.status.as_u16(), 302 | 303) {
            bail!("authorize: HTTP {} {}", r.status, r.text());
        }
        let location = r.header("location").ok_or_else(|| anyhow!("authorize: no Location"))?;
        if !location.contains("/login") {
            bail!("authorize: redirected to {location}, not the login page");
        }
        let query = query_params(location)?;
        if param(&query, "state") != Some(&state) || param(&query, "client_id") != Some(&self.client.client_id) {
            bail!("authorize: the login page lost parameters: {location}");
        }

        // The login page (oidc-ui) fetches a CSRF token, then posts the query as oauth-details.
        let r = timed(&mut times[1], conn.send(Method::GET, &format!("{ESIGNET_PREFIX}/csrf/token"), &[], Some(&mut jar), None))
            .await?
            .expect(200, "csrf")?;
        let csrf: Value = json_of(r)?;
        let csrf_token = csrf.get("token").and_then(Value::as_str).ok_or_else(|| anyhow!("csrf: no token"))?.to_string();
        let csrf_header = csrf.get("headerName").and_then(Value::as_str).unwrap_or("X-XSRF-TOKEN").to_string();
        if jar.get("XSRF-TOKEN") != Some(csrf_token.as_str()) {
            bail!("csrf: XSRF-TOKEN cookie not set");
        }

        let mut request = Map::new();
        for (name, member) in [
            ("client_id", "clientId"),
            ("scope", "scope"),
            ("response_type", "responseType"),
            ("redirect_uri", "redirectUri"),
            ("nonce", "nonce"),
            ("state", "state"),
            ("code_challenge", "codeChallenge"),
            ("code_challenge_method", "codeChallengeMethod"),
        ] {
            if let Some(v) = param(&query, name) {
                request.insert(member.into(), v.into());
            }
        }
        let body = envelope(Value::Object(request));
        let headers = [(csrf_header.as_str(), csrf_token.as_str())];
        let r = timed(
            &mut times[2],
            conn.send(Method::POST, &format!("{ESIGNET_PREFIX}/authorization/v3/oauth-details"), &headers, Some(&mut jar), Some(json_body(&body))),
        )
        .await?
        .expect(200, "oauth-details")?;
        let raw = raw_response(&r.body, "oauth-details")?;
        // oidc-ui's oauth-details-hash: base64url(SHA-256(JSON.stringify(response))); the provider writes compact
        // JSON in the form JSON.stringify would, so the raw text is that string.
        let hash = sha256_b64(raw.get().as_bytes());
        let details: Value = serde_json::from_str(raw.get())?;
        let tx = details.get("transactionId").and_then(Value::as_str).ok_or_else(|| anyhow!("oauth-details: no transactionId"))?.to_string();
        let claims: Vec<Value> = ["essentialClaims", "voluntaryClaims"]
            .iter()
            .flat_map(|k| details.get(*k).and_then(Value::as_array).cloned().unwrap_or_default())
            .collect();
        let tx_headers = [(csrf_header.as_str(), csrf_token.as_str()), ("oauth-details-key", tx.as_str()), ("oauth-details-hash", hash.as_str())];

        let body = envelope(json!({ "transactionId": tx, "individualId": individual_id, "otpChannels": ["email"] }));
        let r = timed(
            &mut times[3],
            conn.send(Method::POST, &format!("{ESIGNET_PREFIX}/authorization/send-otp"), &tx_headers, Some(&mut jar), Some(json_body(&body))),
        )
        .await?
        .expect(200, "send-otp")?;
        raw_response(&r.body, "send-otp")?;

        let body = envelope(json!({
            "transactionId": tx, "individualId": individual_id,
            "challengeList": [{ "authFactorType": "OTP", "challenge": self.otp, "format": "alpha-numeric" }],
        }));
        let r = timed(
            &mut times[4],
            conn.send(Method::POST, &format!("{ESIGNET_PREFIX}/authorization/v3/authenticate"), &tx_headers, Some(&mut jar), Some(json_body(&body))),
        )
        .await?
        .expect(200, "authenticate")?;
        let auth: Value = serde_json::from_str(raw_response(&r.body, "authenticate")?.get())?;
        let consent = match auth.get("consentAction").and_then(Value::as_str) {
            Some("CAPTURE") => Consent::Capture,
            Some("NOCAPTURE") => Consent::NoCapture,
            other => bail!("authenticate: consentAction {other:?}"),
        };
        let accepted = if consent == Consent::Capture { claims } else { Vec::new() };

        let body = envelope(json!({ "transactionId": tx, "acceptedClaims": accepted, "permittedAuthorizeScopes": [] }));
        let r = timed(
            &mut times[5],
            conn.send(Method::POST, &format!("{ESIGNET_PREFIX}/authorization/auth-code"), &tx_headers, Some(&mut jar), Some(json_body(&body))),
        )
        .await?
        .expect(200, "auth-code")?;
        let code_resp: Value = serde_json::from_str(raw_response(&r.body, "auth-code")?.get())?;
        if code_resp.get("state").and_then(Value::as_str) != Some(&state) {
            bail!("auth-code: state not echoed");
        }
        if code_resp.get("redirectUri").and_then(Value::as_str) != Some(&self.redirect_uri) {
            bail!("auth-code: redirectUri {:?}", code_resp.get("redirectUri"));
        }
        let code = code_resp.get("code").and_then(Value::as_str).ok_or_else(|| anyhow!("auth-code: no code"))?.to_string();

        self.tokens_and_userinfo(conn, &code, &verifier, &nonce, &mut times[6..8]).await?;
        Ok(consent)
    }

    async fn peer_flow(&self, conn: &mut Conn, times: &mut [u32]) -> Result<Consent> {
        let mut jar = Jar::default();
        let (state, nonce, verifier) = (random_b64(24), random_b64(24), random_b64(48));
        let challenge = sha256_b64(verifier.as_bytes());

        let path = format!("{}?{}", self.authorization_path, self.authorization_query(&state, &nonce, &challenge));
        let r = timed(&mut times[0], conn.send(Method::GET, &path, &[], Some(&mut jar), None)).await?;
        let location = redirect(&r, "authorize")?;
        if !location.starts_with("/interaction/") {
            bail!("authorize: redirected to {location}, not the interaction");
        }
        let r = timed(&mut times[1], conn.send(Method::GET, &location, &[], Some(&mut jar), None)).await?;
        let location = self.origin.path_of(&redirect(&r, "interaction")?)?;
        let r = timed(&mut times[2], conn.send(Method::GET, &location, &[], Some(&mut jar), None)).await?;
        let location = redirect(&r, "resume")?;
        if !location.starts_with(&self.redirect_uri) {
            bail!("resume: redirected to {location}, not the client");
        }
        let query = query_params(&location)?;
        if param(&query, "state") != Some(&state) || param(&query, "iss") != Some(&self.issuer) {
            bail!("resume: state or iss wrong in {location}");
        }
        let code = param(&query, "code").ok_or_else(|| anyhow!("resume: no code in {location}"))?.to_string();
        self.tokens_and_userinfo(conn, &code, &verifier, &nonce, &mut times[3..5]).await?;
        Ok(Consent::Programmatic)
    }

    /// token (private_key_jwt + PKCE) and userinfo, both verified against the JWKS.
    async fn tokens_and_userinfo(&self, conn: &mut Conn, code: &str, verifier: &str, nonce: &str, times: &mut [u32]) -> Result<()> {
        let assertion = self.client.assertion(&self.token_endpoint)?;
        let body = form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &self.redirect_uri),
            ("client_id", &self.client.client_id),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &assertion),
            ("code_verifier", verifier),
        ]);
        let r = timed(
            &mut times[0],
            conn.send(Method::POST, &self.token_path, &[], None, Some(("application/x-www-form-urlencoded", body.into_bytes()))),
        )
        .await?
        .expect(200, "token")?;
        if !r.header("cache-control").is_some_and(|v| v.contains("no-store")) {
            bail!("token: no Cache-Control: no-store");
        }
        let tokens: Value = json_of(r)?;
        let access_token = tokens.get("access_token").and_then(Value::as_str).ok_or_else(|| anyhow!("token: no access_token"))?;
        let id_token = tokens.get("id_token").and_then(Value::as_str).ok_or_else(|| anyhow!("token: no id_token"))?;
        if !tokens.get("token_type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("bearer")) {
            bail!("token: token_type {:?}", tokens.get("token_type"));
        }
        let (_, idc) = self.jwks.verify(id_token).context("id_token")?;
        let now = now_secs();
        if idc.get("iss").and_then(Value::as_str) != Some(&self.issuer) {
            bail!("id_token: iss {:?}", idc.get("iss"));
        }
        if !audience_has(idc.get("aud"), &self.client.client_id) {
            bail!("id_token: aud {:?}", idc.get("aud"));
        }
        if idc.get("nonce").and_then(Value::as_str) != Some(nonce) {
            bail!("id_token: nonce not echoed");
        }
        // at_hash is optional in the code flow (OIDC Core §3.1.3.6): eSignet always sends it, oidc-provider does
        // not; when present it must match.
        match idc.get("at_hash") {
            Some(h) if h.as_str() != Some(at_hash(access_token).as_str()) => bail!("id_token: at_hash wrong"),
            None if self.kind == Kind::Esignet => bail!("id_token: no at_hash"),
            _ => {}
        }
        if idc.get("exp").and_then(Value::as_i64).is_none_or(|e| e <= now) {
            bail!("id_token: expired");
        }
        let sub = idc.get("sub").and_then(Value::as_str).filter(|s| !s.is_empty()).ok_or_else(|| anyhow!("id_token: no sub"))?;

        let bearer = format!("Bearer {access_token}");
        let r = timed(&mut times[1], conn.send(Method::GET, &self.userinfo_path, &[("authorization", &bearer)], None, None))
            .await?
            .expect(200, "userinfo")?;
        if !r.header("content-type").is_some_and(|c| c.starts_with("application/jwt")) {
            bail!("userinfo: content-type {:?}", r.header("content-type"));
        }
        let text = std::str::from_utf8(&r.body)?;
        let (_, uc) = self.jwks.verify(text).context("userinfo")?;
        if uc.get("iss").and_then(Value::as_str) != Some(&self.issuer) || !audience_has(uc.get("aud"), &self.client.client_id) {
            bail!("userinfo: iss/aud wrong: {:?} {:?}", uc.get("iss"), uc.get("aud"));
        }
        if uc.get("sub").and_then(Value::as_str) != Some(sub) {
            bail!("userinfo: sub differs from the ID token's");
        }
        if !uc.contains_key("name") {
            bail!("userinfo: no name claim");
        }
        Ok(())
    }
}

async fn timed<F: std::future::Future<Output = Result<Response>>>(slot: &mut u32, f: F) -> Result<Response> {
    let t0 = Instant::now();
    let r = f.await;
    *slot = t0.elapsed().as_micros().min(u32::MAX as u128) as u32;
    r
}

fn redirect(r: &Response, what: &str) -> Result<String> {
    if !matches!(r.status.as_u16(), 302 | 303) {
        bail!("{what}: HTTP {} (expected a redirect): {}", r.status, r.text());
    }
    r.header("location").map(str::to_string).ok_or_else(|| anyhow!("{what}: no Location"))
}

fn audience_has(aud: Option<&Value>, client_id: &str) -> bool {
    match aud {
        Some(Value::String(s)) => s == client_id,
        Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(client_id)),
        _ => false,
    }
}

pub fn json_of(r: Response) -> Result<Value> {
    serde_json::from_slice(&r.body).with_context(|| format!("not JSON: {}", r.text()))
}

fn json_body(v: &Value) -> (&'static str, Vec<u8>) {
    ("application/json", v.to_string().into_bytes())
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    response: Option<&'a RawValue>,
    #[serde(default)]
    errors: Option<Vec<Value>>,
}

/// The `response` of an eSignet envelope, raw; an error when `errors` is not empty or `response` is null.
fn raw_response<'a>(body: &'a [u8], what: &str) -> Result<&'a RawValue> {
    let env: Envelope<'a> = serde_json::from_slice(body).with_context(|| format!("{what}: not an envelope"))?;
    if let Some(errors) = env.errors.filter(|e| !e.is_empty()) {
        let codes: Vec<_> = errors.iter().filter_map(|e| e.get("errorCode").and_then(Value::as_str)).collect();
        bail!("{what}: errors {codes:?}");
    }
    match env.response {
        Some(r) if r.get() != "null" => Ok(r),
        _ => bail!("{what}: null response"),
    }
}

/// eSignet's request envelope with `requestTime` now (UTC, `yyyy-MM-ddTHH:mm:ss.SSSZ`).
pub fn envelope(request: Value) -> Value {
    json!({ "requestTime": request_time(), "request": request })
}

pub fn request_time() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_millis()
    )
}
