//! Host-side bindings generated from `wit/`: the endpoint world (platform imports, the authenticator import,
//! the handler export) and the authenticator-plugin world (same platform imports, authenticator and handler
//! exports).

/// Endpoint components: world `esignet:plugin/idp-endpoint`.
pub mod endpoint {
    wasmtime::component::bindgen!({
        path: "../wit/plugin",
        world: "esignet:plugin/idp-endpoint",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "esignet:platform/sql.transaction": crate::caps::sql::TransactionHandle,
        },
    });
}

/// Authenticator plugins: world `esignet:plugin/authenticator-plugin`.
pub mod plugin {
    wasmtime::component::bindgen!({
        path: "../wit/plugin",
        world: "esignet:plugin/authenticator-plugin",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "esignet:platform": super::endpoint::esignet::platform,
        },
    });
}
