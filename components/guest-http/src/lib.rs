//! The buffered HTTP exchange a guest component sees, as plain Rust types with the conveniences endpoint code
//! needs (header lookup, query and form parameters, JSON bodies, response constructors). Nothing here touches the
//! WIT bindings, so all of it is tested natively; `esignet-sdk` and `esignet-plugin-sdk` convert the generated
//! `esignet:platform/http-types` records to and from these types.

#![forbid(unsafe_code)]

mod error;
mod request;
mod response;

pub use error::CapabilityError;
pub use request::Request;
pub use response::Response;

/// What an endpoint component implements: one call per request, on a fresh instance.
pub trait Endpoint {
    fn handle(req: Request) -> Response;
}
