//! Test endpoint that misbehaves on request, for the host's limits: `/loop` spins forever (epoch or fuel
//! interruption), `/alloc?mb=N` allocates and touches N MiB (memory limit), `/trap` executes `unreachable`,
//! `/panic` panics (on wasm32-wasip2 a panic prints to stderr and aborts, i.e. traps), `/ok` answers 200 `ok`.

use std::hint::black_box;

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

fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

/// Allocates `bytes`, writes one byte per 4 KiB page so the memory is really committed, and returns the number
/// of bytes touched pages cover. A failed allocation aborts, i.e. traps.
fn allocate(bytes: usize) -> usize {
    let mut block = vec![0u8; bytes];
    for page in block.chunks_mut(4096) {
        page[0] = 1;
    }
    let touched: usize = block.iter().step_by(4096).map(|b| usize::from(*b)).sum();
    black_box(&block);
    touched << 12
}

#[cfg(target_arch = "wasm32")]
fn trap() -> ! {
    core::arch::wasm32::unreachable()
}

#[cfg(not(target_arch = "wasm32"))]
fn trap() -> ! {
    std::process::abort()
}

esignet_sdk::export_endpoint!(Runaway);
