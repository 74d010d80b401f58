//! What a request resolves to: the claims to ask consent for (reference §3.2–§3.3) and the authentication
//! factors its ACRs demand (§3.4).

mod acr;
mod resolve;

pub use acr::{auth_factors_satisfied, resolve_acrs, AmrAcrMapping, AuthFactor};
pub use resolve::{resolve_claims, ResolvedClaims, ScopeClaims};
