//! Test endpoint that misbehaves on request, for the host's limits: `/loop` spins forever (epoch or fuel
//! interruption), `/alloc?mb=N` allocates and touches N MiB (memory limit), `/trap` executes `unreachable`,
//! `/panic` panics (on wasm32-wasip2 a panic prints to stderr and aborts, i.e. traps), `/ok` answers 200 `ok`.

#[path = "../../misbehave.rs"]
mod faults;

use faults::{allocate, spin, trap};

use esignet_sdk::{Endpoint, Request, Response};

struct Runaway;

impl Endpoint for Runaway {
    fn handle(req: Request) -> Response {
        let path = req.path.as_str();
        if path.ends_with("/loop") {
            spin()
        } else if path.ends_with("/alloc") {
            let mb = req.query_param("mb").and_then(|v| v.parse::<usize>().ok()).unwrap_or(1);
            match mb.checked_mul(1 << 20) {
                Some(bytes) => Response::text(format!("allocated {} MiB", allocate(bytes) >> 20)),
                None => Response::error(400, "too_large"),
            }
        } else if path.ends_with("/trap") {
            trap()
        } else if path.ends_with("/panic") {
            panic!("test-runaway: deliberate panic")
        } else if path.ends_with("/ok") {
            Response::text("ok")
        } else {
            Response::not_found()
        }
    }
}

esignet_sdk::export_endpoint!(Runaway);
