//! Host-side bindings generated from `wit/`: the endpoint world (platform imports, the authenticator and
//! credential-data imports, the handler export), the authenticator-plugin world (same platform imports,
//! authenticator and handler exports) and the credential-data-plugin world (same platform imports,
//! credential-data and handler exports).

/// Endpoint components: world `esignet:plugin/issuer-endpoint` (`idp-endpoint` plus the credential-data import).
pub mod endpoint {
    wasmtime::component::bindgen!({
        path: "../wit/plugin",
        world: "esignet:plugin/issuer-endpoint",
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

/// Credential-data plugins: world `esignet:plugin/credential-data-plugin`.
pub mod credential_data_plugin {
    wasmtime::component::bindgen!({
        path: "../wit/plugin",
        world: "esignet:plugin/credential-data-plugin",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "esignet:platform": super::endpoint::esignet::platform,
        },
    });
}
