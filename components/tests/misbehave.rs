//! Misbehaviours the test components share (each includes this file with `#[path]`): spin until the host's CPU
//! budget interrupts, commit memory until the memory cap stops it, trap.

use std::hint::black_box;

/// Loops until the host interrupts it.
pub fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

/// Allocates `bytes`, writes one byte per 4 KiB page so the memory is really committed, and returns the number
/// of bytes touched pages cover. A failed allocation aborts, i.e. traps.
pub fn allocate(bytes: usize) -> usize {
    let mut block = vec![0u8; bytes];
    for page in block.chunks_mut(4096) {
        page[0] = 1;
    }
    let touched: usize = block.iter().step_by(4096).map(|b| usize::from(*b)).sum();
    black_box(&block);
    touched << 12
}

#[cfg(target_arch = "wasm32")]
pub fn trap() -> ! {
    core::arch::wasm32::unreachable()
}

#[cfg(not(target_arch = "wasm32"))]
pub fn trap() -> ! {
    std::process::abort()
}
