//! The common shape of the platform capabilities' error variants, so that endpoints map any of them to a fixed
//! error name and HTTP status without matching on each interface's variant type.

/// Implemented by the SDKs for `keys::KeyError`, `sql::SqlError` and `cache::CacheError`.
pub trait CapabilityError {
    /// The WIT variant name, e.g. `invalid-input` or `backend-unavailable`.
    fn variant(&self) -> &'static str;
    /// True for the variants that mean "the backend is down, retry later" (the request should fail with 503).
    fn is_unavailable(&self) -> bool;
}
