//! Test endpoint "hello v1": any path answers 200 `hello v1` with the request path in `x-path`;
//! `.../slow?ms=N` sleeps N ms first and answers `slow v1`.

const VERSION: &str = "v1";

#[path = "../../hello.rs"]
mod hello;
