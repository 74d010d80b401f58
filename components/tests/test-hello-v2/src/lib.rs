//! Test endpoint "hello v2": any path answers 200 `hello v2` with the request path in `x-path`;
//! `.../slow?ms=N` sleeps N ms first and answers `slow v2`.

const VERSION: &str = "v2";

#[path = "../../hello.rs"]
mod hello;
