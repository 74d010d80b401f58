//! `/cache` runs every cache operation once on keys unique to the call; `/cache/notify?ch=X&msg=Y` and
//! `/cache/wait?ch=X&ms=N` are the two halves of the host's long-poll test.

use esignet_sdk::cache;
use esignet_sdk::{Request, Response};
use serde_json::json;

use crate::{required, tag, OrRespond, Outcome};

const TTL_MS: u64 = 60_000;

pub fn run(req: &Request) -> Outcome {
    let tag = tag(req);
    let key = |name: &str| format!("caps:{tag}:{name}");
    let (a, b, n) = (key("a"), key("b"), key("n"));

    cache::set(&a, b"value-a", TTL_MS).or_respond()?;
    let got = cache::get(&a).or_respond()?;
    let absent_first = cache::set_if_absent(&b, b"first", TTL_MS).or_respond()?;
    let absent_second = cache::set_if_absent(&b, b"second", TTL_MS).or_respond()?;
    let take_first = cache::take(&b).or_respond()?;
    let take_second = cache::take(&b).or_respond()?;
    let inc_first = cache::increment(&n, 1, TTL_MS).or_respond()?;
    let inc_second = cache::increment(&n, 5, TTL_MS).or_respond()?;
    let deleted = cache::delete(&a).or_respond()?;
    let after_delete = cache::get(&a).or_respond()?;
    let deleted_again = cache::delete(&a).or_respond()?;

    Ok(Response::json(&json!({
        "get": text(got),
        "set_if_absent": [absent_first, absent_second],
        "take": [text(take_first), text(take_second)],
        "increment": [inc_first, inc_second],
        "delete": deleted,
        "get_after_delete": text(after_delete),
        "delete_again": deleted_again,
    })))
}

pub fn notify(req: &Request) -> Outcome {
    let channel = required(req, "ch")?;
    let message = req.query_param("msg").unwrap_or_default();
    cache::notify(&channel, message.as_bytes()).or_respond()?;
    Ok(Response::json(&json!({ "notified": channel })))
}

pub fn wait(req: &Request) -> Outcome {
    let channel = required(req, "ch")?;
    let ms = req.query_param("ms").and_then(|v| v.parse::<u32>().ok()).unwrap_or(1000);
    let message = cache::wait(&channel, ms).or_respond()?;
    let timed_out = message.is_none();
    Ok(Response::json(&json!({ "message": text(message), "timed_out": timed_out })))
}

fn text(value: Option<Vec<u8>>) -> Option<String> {
    value.map(|v| String::from_utf8_lossy(&v).into_owned())
}
