//! `config`: the component's variables from `spin.toml`, resolved at deploy.

use crate::bindings::endpoint::esignet::platform::config::Host;
use crate::state::HostState;

impl Host for HostState {
    async fn get(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        Ok(self.env.spec.variables.get(&name).cloned())
    }
}
