//! Running guest code: one fresh instance per HTTP request (endpoints and plugins' own routes) and one per
//! plugin call, each in its own store under its memory cap and CPU budget. A trap, a timeout or an exhausted
//! memory cap becomes an [`InvokeError`] for that one call; nothing is shared with the next.

use std::sync::Arc;
use std::time::Instant;

use crate::bindings::endpoint::exports::esignet::platform::handler::{Request, Response};
use crate::bindings::plugin::exports::esignet::plugin::authenticator as plugin_api;
use crate::deploy::{ComponentSlot, Loaded, LoadedKind};
use crate::state::HostState;

#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("component `{0}` is not loaded")]
    NotLoaded(String),
    #[error("component `{0}` exceeded its CPU budget")]
    Timeout(String),
    #[error("component `{0}` exceeded its memory limit")]
    OutOfMemory(String),
    #[error("component `{0}` trapped")]
    Trap(String),
    #[error("component `{0}` cannot serve this call: {1}")]
    Unsupported(String, &'static str),
}

impl InvokeError {
    pub fn kind(&self) -> &'static str {
        match self {
            InvokeError::NotLoaded(_) => "not_loaded",
            InvokeError::Timeout(_) => "timeout",
            InvokeError::OutOfMemory(_) => "out_of_memory",
            InvokeError::Trap(_) => "trap",
            InvokeError::Unsupported(..) => "unsupported",
        }
    }
}

fn classify(loaded: &Loaded, err: wasmtime::Error, stderr: &[u8]) -> InvokeError {
    let id = loaded.env.spec.id.clone();
    let trap = err.downcast_ref::<wasmtime::Trap>().copied();
    let text = format!("{err:#}");
    let error = if trap == Some(wasmtime::Trap::Interrupt) {
        InvokeError::Timeout(id)
    } else if text.contains("growing memory") || text.contains("memory limit") || trap == Some(wasmtime::Trap::AllocationTooLarge) {
        InvokeError::OutOfMemory(id)
    } else {
        InvokeError::Trap(id)
    };
    let guest_stderr = String::from_utf8_lossy(&stderr[..stderr.len().min(1024)]);
    tracing::error!(
        component = %loaded.env.spec.id,
        version = loaded.version,
        kind = error.kind(),
        error = %text,
        guest_stderr = %guest_stderr,
        "guest failed"
    );
    loaded.env.platform.metrics.guest_failure(&loaded.env.spec.id, error.kind());
    error
}

/// Serves one HTTP request on a fresh instance of the slot's current version.
pub async fn handle_request(slot: &ComponentSlot, req: Request) -> Result<Response, InvokeError> {
    let loaded = slot.current().ok_or_else(|| InvokeError::NotLoaded(slot.id.clone()))?;
    handle_with(&loaded, req).await
}

pub async fn handle_with(loaded: &Arc<Loaded>, req: Request) -> Result<Response, InvokeError> {
    let started = Instant::now();
    let mut store = HostState::new_store(loaded.env.clone());
    let result = match &loaded.kind {
        LoadedKind::Endpoint(pre) => match pre.instantiate_async(&mut store).await {
            Ok(instance) => {
                loaded.env.platform.metrics.instantiated(&loaded.env.spec.id, started.elapsed());
                instance.esignet_platform_handler().call_handle(&mut store, &req).await
            }
            Err(e) => Err(e),
        },
        LoadedKind::Plugin(pre) => match pre.instantiate_async(&mut store).await {
            Ok(instance) => {
                loaded.env.platform.metrics.instantiated(&loaded.env.spec.id, started.elapsed());
                instance.esignet_platform_handler().call_handle(&mut store, &req).await
            }
            Err(e) => Err(e),
        },
        LoadedKind::CredentialData(pre) => match pre.instantiate_async(&mut store).await {
            Ok(instance) => {
                loaded.env.platform.metrics.instantiated(&loaded.env.spec.id, started.elapsed());
                instance.esignet_platform_handler().call_handle(&mut store, &req).await
            }
            Err(e) => Err(e),
        },
    };
    result.map_err(|e| classify(loaded, e, &store.data().stderr.contents()))
}

/// A call into an authenticator plugin.
pub enum PluginCall {
    SendOtp(String, String, plugin_api::SendOtpRequest),
    SupportedOtpChannels,
    KycAuth(String, String, plugin_api::KycAuthRequest),
    KycExchange(String, String, plugin_api::KycExchangeRequest),
    SigningKeys,
}

pub enum PluginReply {
    SendOtp(Result<plugin_api::SendOtpResult, plugin_api::PluginError>),
    SupportedOtpChannels(Vec<String>),
    KycAuth(Result<plugin_api::KycAuthResult, plugin_api::PluginError>),
    KycExchange(Result<plugin_api::KycExchangeResult, plugin_api::PluginError>),
    SigningKeys(Result<Vec<plugin_api::SigningKey>, plugin_api::PluginError>),
}

/// Calls a plugin on a fresh instance in its own store (its own memory cap and CPU budget).
pub async fn call_plugin(slot: &ComponentSlot, call: PluginCall) -> Result<PluginReply, InvokeError> {
    let loaded = slot.current().ok_or_else(|| InvokeError::NotLoaded(slot.id.clone()))?;
    let LoadedKind::Plugin(pre) = &loaded.kind else {
        return Err(InvokeError::Unsupported(slot.id.clone(), "not a plugin"));
    };
    let started = Instant::now();
    let mut store = HostState::new_store(loaded.env.clone());
    let result = async {
        let instance = pre.instantiate_async(&mut store).await?;
        loaded.env.platform.metrics.instantiated(&loaded.env.spec.id, started.elapsed());
        let api = instance.esignet_plugin_authenticator();
        Ok::<_, wasmtime::Error>(match &call {
            PluginCall::SendOtp(rp, client, req) => {
                PluginReply::SendOtp(api.call_send_otp(&mut store, rp, client, req).await?)
            }
            PluginCall::SupportedOtpChannels => {
                PluginReply::SupportedOtpChannels(api.call_supported_otp_channels(&mut store).await?)
            }
            PluginCall::KycAuth(rp, client, req) => {
                PluginReply::KycAuth(api.call_kyc_auth(&mut store, rp, client, req).await?)
            }
            PluginCall::KycExchange(rp, client, req) => {
                PluginReply::KycExchange(api.call_kyc_exchange(&mut store, rp, client, req).await?)
            }
            PluginCall::SigningKeys => PluginReply::SigningKeys(api.call_signing_keys(&mut store).await?),
        })
    }
    .await;
    result.map_err(|e| {
        let err = classify(&loaded, e, &store.data().stderr.contents());
        loaded.env.platform.metrics.plugin_failure(&loaded.env.spec.id, err.kind());
        err
    })
}

/// Calls a credential-data plugin's `fetch` on a fresh instance in its own store (its own memory cap and CPU
/// budget), like [`call_plugin`] does for authenticator plugins.
pub async fn call_credential_data(
    slot: &ComponentSlot,
    req: &crate::bindings::credential_data_plugin::exports::esignet::plugin::credential_data::DataRequest,
) -> Result<
    Result<String, crate::bindings::credential_data_plugin::exports::esignet::plugin::credential_data::DataError>,
    InvokeError,
> {
    let loaded = slot.current().ok_or_else(|| InvokeError::NotLoaded(slot.id.clone()))?;
    let LoadedKind::CredentialData(pre) = &loaded.kind else {
        return Err(InvokeError::Unsupported(slot.id.clone(), "not a credential-data plugin"));
    };
    let started = Instant::now();
    let mut store = HostState::new_store(loaded.env.clone());
    let result = async {
        let instance = pre.instantiate_async(&mut store).await?;
        loaded.env.platform.metrics.instantiated(&loaded.env.spec.id, started.elapsed());
        instance.esignet_plugin_credential_data().call_fetch(&mut store, req).await
    }
    .await;
    result.map_err(|e| {
        let err = classify(&loaded, e, &store.data().stderr.contents());
        loaded.env.platform.metrics.plugin_failure(&loaded.env.spec.id, err.kind());
        err
    })
}
