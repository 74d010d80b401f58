//! The native host of the eSignet identity provider.
//!
//! It reads `spin.toml`, compiles and pre-instantiates the endpoint components and ID-system plugins it names,
//! serves HTTP by running a fresh, sandboxed instance per request, and supplies the capabilities that the
//! manifest grants (`keys`, `sql`, `cache`, `config`, `audit`, and the `authenticator` plugin bridge) from the
//! backends that `runtime-config.toml` chooses.

pub mod admin;
pub mod artifact;
pub mod backends;
pub mod bindings;
pub mod caps;
pub mod cli;
pub mod demo;
pub mod deploy;
pub mod engine;
pub mod invoke;
pub mod manifest;
pub mod metrics;
pub mod migrate;
pub mod runtime_config;
pub mod server;
pub mod state;
