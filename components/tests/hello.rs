//! The body shared by test-hello-v1 and test-hello-v2: each includes this file with its own `VERSION`, so the two
//! wasm files differ only in the text they answer (used by the host's reload and routing tests).

use std::time::Duration;

use esignet_sdk::{Endpoint, Request, Response};

use super::VERSION;

struct Hello;

impl Endpoint for Hello {
    fn handle(req: Request) -> Response {
        let resp = if req.path.ends_with("/slow") {
            let ms = req.query_param("ms").and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            std::thread::sleep(Duration::from_millis(ms));
            Response::text(format!("slow {VERSION}"))
        } else {
            Response::text(format!("hello {VERSION}"))
        };
        resp.with_header("x-path", &req.path)
    }
}

esignet_sdk::export_endpoint!(Hello);
