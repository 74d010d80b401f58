//! The capabilities' host side: implementations of the generated `Host` traits, each delegating to the backend
//! that `runtime-config.toml` chose and applying the component's grants (key purposes, cache namespace, logical
//! database). Backend detail goes to the log; guests get the coarse WIT error.

pub mod audit;
pub mod authenticator;
pub mod cache;
pub mod config;
pub mod credential_data;
pub mod keys;
pub mod outbound;
pub mod sql;

use wasmtime::component::{HasSelf, Linker};

use crate::bindings::endpoint::esignet;
use crate::state::HostState;

/// Adds WASI (empty context) and every capability to a linker. Grants are enforced at deploy by refusing
/// components that import what they were not granted, so one linker serves all components.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    esignet::platform::keys::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    esignet::platform::sql::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    esignet::platform::cache::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    esignet::platform::config::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    esignet::platform::audit::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    esignet::platform::http_types::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    esignet::platform::outbound_http::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    esignet::plugin::authenticator::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    esignet::plugin::credential_data::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    Ok(())
}

impl esignet::platform::http_types::Host for HostState {}
