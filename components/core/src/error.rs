//! The eSignet error codes, and how each one is spelled on the three kinds of endpoint.
//!
//! Every failure in this crate is an [`EsignetError`]: one variant per eSignet 1.8 error code (reference §9.1,
//! plus the few plugin and develop-branch codes the flow needs). The variant carries no detail on purpose: the
//! code is what goes out (`errorCode` in the UI envelope, `error_description` at `/oauth/**`), detail belongs in
//! the caller's log. Three spellings exist:
//! - [`EsignetError::code`]: the snake_case eSignet code, used in the `/authorization/**` envelope.
//! - [`EsignetError::oauth_error`]: the RFC 6749 §5.2 `error` value at `/oauth/**` (§1.2 collapse rule).
//! - [`EsignetError::authorize_error`]: the RFC 6749 §4.1.2.1 / OIDC Core §3.1.2.6 `error` value put on the
//!   client's redirect URI when an authorization request fails.

use std::fmt;

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, )+) => {
        /// An eSignet error code. `Display` prints the code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EsignetError {
            $( $(#[$doc])* $variant, )+
        }

        impl EsignetError {
            /// Every code, in declaration order.
            pub const ALL: &'static [EsignetError] = &[$(EsignetError::$variant),+];

            /// The eSignet error code, exactly as eSignet 1.8 spells it.
            pub const fn code(self) -> &'static str {
                match self { $(EsignetError::$variant => $code,)+ }
            }

            /// The variant for an eSignet code string, if it is one this crate knows.
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some(EsignetError::$variant),)+ _ => None }
            }
        }
    };
}

error_codes! {
    /// Generic bad request (envelope, requestTime, hash mismatch, PAR required, none+other prompt, ...).
    InvalidRequest = "invalid_request",
    /// Client authentication failed (assertion missing/invalid/replayed, unsupported assertion type).
    InvalidClient = "invalid_client",
    /// Client id blank, unknown or inactive.
    InvalidClientId = "invalid_client_id",
    /// Client name map invalid.
    InvalidClientName = "invalid_client_name",
    /// Unknown language code in a client name map.
    InvalidLanguageCode = "invalid_language_code",
    /// Logo URI is not a URL.
    InvalidUri = "invalid_uri",
    /// Relying-party id format.
    InvalidRpId = "invalid_rp_id",
    /// `response_type` missing or not `code`.
    InvalidResponseType = "invalid_response_type",
    /// Code unknown, expired or used; PKCE verifier missing or wrong.
    InvalidGrant = "invalid_grant",
    /// `grant_type` is not `authorization_code`.
    UnsupportedGrantType = "unsupported_grant_type",
    /// Scope rules violated.
    InvalidScope = "invalid_scope",
    /// Redirect URI missing, malformed or not registered.
    InvalidRedirectUri = "invalid_redirect_uri",
    /// Unsupported `display` value.
    InvalidDisplay = "invalid_display",
    /// Unsupported `prompt` value.
    InvalidPrompt = "invalid_prompt",
    /// Client authentication method not supported.
    InvalidClientAuth = "invalid_client_auth",
    /// Transaction not found or expired.
    InvalidTransaction = "invalid_transaction",
    /// ACR not in the mapping.
    InvalidAcr = "invalid_acr",
    /// Access or ID token invalid or expired.
    InvalidToken = "invalid_token",
    /// The amr/acr mapping could not be read.
    AcrAmrMappingNotFound = "acr_amr_mapping_not_found",
    /// The client has no ACR registered.
    NoAcrRegistered = "no_acr_registered",
    /// Hash, thumbprint or signature algorithm not supported.
    InvalidAlgorithm = "invalid_algorithm",
    /// Unexpected failure.
    UnknownError = "unknown_error",
    /// Generic invalid input.
    InvalidInput = "invalid_input",
    /// Claim not supported, or claims JSON invalid.
    InvalidClaim = "invalid_claim",
    /// Bad JWK, or encryption key missing for JWE.
    InvalidPublicKey = "invalid_public_key",
    /// Userinfo `Authorization` header missing.
    MissingHeader = "missing_header",
    /// Individual id blank.
    InvalidIdentifier = "invalid_identifier",
    /// OTP channel not supported.
    InvalidOtpChannel = "invalid_otp_channel",
    /// Challenge list empty or longer than 5.
    InvalidNoOfChallenges = "invalid_no_of_challenges",
    /// Permitted scopes not a subset of the requested ones.
    InvalidPermittedScope = "invalid_permitted_scope",
    /// Accepted claims miss an essential claim or exceed the requested ones.
    InvalidAcceptedClaim = "invalid_accepted_claim",
    /// Transaction id blank.
    InvalidTransactionId = "invalid_transaction_id",
    /// Auth factor type unknown or not upper-case.
    InvalidAuthFactorType = "invalid_auth_factor_type",
    /// Challenge blank or of the wrong content.
    InvalidChallenge = "invalid_challenge",
    /// Challenge `format` differs from the configured one.
    InvalidChallengeFormat = "invalid_challenge_format",
    /// Challenge length outside the configured bounds.
    InvalidChallengeLength = "invalid_challenge_length",
    /// Client status not ACTIVE/INACTIVE.
    InvalidStatus = "invalid_status",
    /// `id_token_hint` invalid.
    InvalidIdTokenHint = "invalid_id_token_hint",
    /// Provided factors satisfy no resolved factor group.
    AuthFactorMismatch = "auth_factor_mismatch",
    /// Id format not supported.
    UnsupportedIdFormat = "unsupported_id_format",
    /// oauth-details hash could not be computed.
    FailedToGenerateHeaderHash = "failed_to_generate_header_hash",
    /// Captcha rejected.
    InvalidCaptcha = "invalid_captcha",
    /// PKCE method other than S256.
    UnsupportedPkceChallengeMethod = "unsupported_pkce_challenge_method",
    /// PKCE challenge malformed, or challenge/method not both present.
    InvalidPkceChallenge = "invalid_pkce_challenge",
    /// The client (or server profile) requires PKCE and none was sent.
    UsePkce = "use_pkce",
    /// Rate limit for this transaction reached.
    NoAttemptsLeft = "no_attempts_left",
    /// The individual id is temporarily blocked.
    IndividualIdBlocked = "individual_id_blocked",
    /// Verified-claims request without a usable `verification`.
    InvalidVerification = "invalid_verification",
    /// Verified-claims request without usable `claims`.
    InvalidVerifiedClaims = "invalid_verified_claims",
    /// Request body too large (HTTP 413).
    PayloadTooLarge = "payload_too_large",
    /// DPoP proof invalid.
    InvalidDpopProof = "invalid_dpop_proof",
    /// DPoP server nonce required.
    UseDpopNonce = "use_dpop_nonce",
    /// Client additionalConfig invalid.
    InvalidAdditionalConfig = "invalid_additional_config",
    /// `prompt=none` but the OP has no session (OIDC Core §3.1.2.6).
    LoginRequired = "login_required",
    /// `request` (JAR) parameter sent; not supported.
    RequestNotSupported = "request_not_supported",
    /// The user denied consent (UI-side code).
    AccessDenied = "access_denied",
    /// The identity system rejected the authentication (plugin code).
    AuthFailed = "auth_failed",
    /// The identity system's KYC exchange failed (plugin code).
    DataExchangeFailed = "data_exchange_failed",
    /// The identity system could not send the OTP (plugin code).
    SendOtpFailed = "send_otp_failed",
    /// A client with this id is already registered (client management).
    DuplicateClientId = "duplicate_client_id",
    /// The public key is already registered to another client (client management).
    DuplicatePublicKey = "duplicate_public_key",
    /// A client name in `clientNameLangMap` is blank or unsafe.
    InvalidClientNameValue = "invalid_client_name_value",
    /// A client name in `clientNameLangMap` is longer than 50 characters.
    InvalidClientNameLength = "invalid_client_name_length",
    /// Management API called without a valid bearer token (HTTP 401).
    Unauthorized = "unauthorized",
    /// Management API token lacks the scope the operation needs (HTTP 403).
    Forbidden = "forbidden",
}

/// The only internal codes that keep their own name as the OAuth `error` at `/oauth/**` (reference §1.2), plus
/// the three that eSignet answers specially there (413, DPoP nonce, 500) and RFC 9449's `invalid_dpop_proof`.
const OAUTH_PASS_THROUGH: &[EsignetError] = &[
    EsignetError::InvalidClient,
    EsignetError::UnsupportedGrantType,
    EsignetError::InvalidScope,
    EsignetError::InvalidGrant,
    EsignetError::PayloadTooLarge,
    EsignetError::UseDpopNonce,
    EsignetError::InvalidDpopProof,
    EsignetError::UnknownError,
];

impl EsignetError {
    /// The OAuth `error` value at `/oauth/**`: `invalid_client`, `unsupported_grant_type`, `invalid_scope` and
    /// `invalid_grant` (and the special `payload_too_large`, `use_dpop_nonce`, `invalid_dpop_proof`,
    /// `unknown_error`) pass through; every other code becomes `invalid_request`, with the code itself in
    /// `error_description`.
    pub fn oauth_error(self) -> &'static str {
        if OAUTH_PASS_THROUGH.contains(&self) {
            self.code()
        } else {
            "invalid_request"
        }
    }

    /// The HTTP status of an `/oauth/**` error answer: 413 for `payload_too_large`, 500 for `unknown_error`,
    /// 400 for everything else (eSignet answers 400 for `invalid_client` too).
    pub fn oauth_status(self) -> u16 {
        match self {
            EsignetError::PayloadTooLarge => 413,
            EsignetError::UnknownError => 500,
            _ => 400,
        }
    }

    /// The `error` value for the authorization-error redirect (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6). Only
    /// codes those specs define go out as themselves; `invalid_response_type` becomes
    /// `unsupported_response_type`, `unknown_error` becomes `server_error`, the rest `invalid_request`.
    pub fn authorize_error(self) -> &'static str {
        match self {
            EsignetError::InvalidScope
            | EsignetError::LoginRequired
            | EsignetError::AccessDenied
            | EsignetError::RequestNotSupported => self.code(),
            EsignetError::InvalidResponseType => "unsupported_response_type",
            EsignetError::UnknownError => "server_error",
            _ => "invalid_request",
        }
    }
}

impl fmt::Display for EsignetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl std::error::Error for EsignetError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_snake_case_and_round_trip() {
        for e in EsignetError::ALL {
            let c = e.code();
            assert!(
                c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'),
                "{c}"
            );
            assert_eq!(EsignetError::from_code(c), Some(*e));
        }
        assert_eq!(EsignetError::from_code("nope"), None);
    }

    #[test]
    fn codes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for e in EsignetError::ALL {
            assert!(seen.insert(e.code()), "duplicate {}", e.code());
        }
    }

    #[test]
    fn spelled_as_esignet() {
        assert_eq!(EsignetError::InvalidClientId.code(), "invalid_client_id");
        assert_eq!(
            EsignetError::AuthFactorMismatch.code(),
            "auth_factor_mismatch"
        );
        assert_eq!(EsignetError::NoAttemptsLeft.code(), "no_attempts_left");
        assert_eq!(
            EsignetError::IndividualIdBlocked.code(),
            "individual_id_blocked"
        );
        assert_eq!(
            EsignetError::InvalidPkceChallenge.code(),
            "invalid_pkce_challenge"
        );
        assert_eq!(EsignetError::UsePkce.code(), "use_pkce");
        assert_eq!(EsignetError::LoginRequired.code(), "login_required");
        assert_eq!(
            EsignetError::InvalidNoOfChallenges.to_string(),
            "invalid_no_of_challenges"
        );
    }

    #[test]
    fn oauth_collapse_rule() {
        assert_eq!(EsignetError::InvalidClient.oauth_error(), "invalid_client");
        assert_eq!(
            EsignetError::UnsupportedGrantType.oauth_error(),
            "unsupported_grant_type"
        );
        assert_eq!(EsignetError::InvalidScope.oauth_error(), "invalid_scope");
        assert_eq!(EsignetError::InvalidGrant.oauth_error(), "invalid_grant");
        assert_eq!(
            EsignetError::InvalidClientId.oauth_error(),
            "invalid_request"
        );
        assert_eq!(
            EsignetError::InvalidRedirectUri.oauth_error(),
            "invalid_request"
        );
        assert_eq!(EsignetError::UsePkce.oauth_error(), "invalid_request");
        assert_eq!(
            EsignetError::InvalidTransaction.oauth_error(),
            "invalid_request"
        );
        assert_eq!(EsignetError::PayloadTooLarge.oauth_status(), 413);
        assert_eq!(EsignetError::UnknownError.oauth_status(), 500);
        assert_eq!(EsignetError::InvalidClient.oauth_status(), 400);
    }

    #[test]
    fn authorize_redirect_errors() {
        assert_eq!(
            EsignetError::InvalidScope.authorize_error(),
            "invalid_scope"
        );
        assert_eq!(
            EsignetError::LoginRequired.authorize_error(),
            "login_required"
        );
        assert_eq!(
            EsignetError::InvalidResponseType.authorize_error(),
            "unsupported_response_type"
        );
        assert_eq!(EsignetError::UsePkce.authorize_error(), "invalid_request");
        assert_eq!(
            EsignetError::InvalidPkceChallenge.authorize_error(),
            "invalid_request"
        );
        assert_eq!(
            EsignetError::UnsupportedPkceChallengeMethod.authorize_error(),
            "invalid_request"
        );
        assert_eq!(
            EsignetError::AccessDenied.authorize_error(),
            "access_denied"
        );
        assert_eq!(EsignetError::UnknownError.authorize_error(), "server_error");
    }
}
