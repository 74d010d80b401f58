//! notify/wait over Redis pub/sub: one subscriber connection per process, owned by one task that multiplexes every
//! channel that has waiters. A waiter registers a local receiver, asks the task to make sure the channel is
//! subscribed (the task batches `SUBSCRIBE`s and answers once Redis confirmed, so a `PUBLISH` after `wait` started is
//! seen), then waits with its own timeout. The task fans messages out to the channel's receivers, unsubscribes
//! channels nobody waits on any more, checks the connection with `PING`, and after a loss reconnects (rotating
//! through the seed nodes) and resubscribes the channels that still have waiters. While it is disconnected, new
//! waits fail at once with `Unavailable`; waits already running keep waiting. Messages published while the
//! connection is down are lost, as pub/sub always is; callers treat `wait` as a hint and re-read state.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use parking_lot::Mutex;
use redis::aio::{PubSubSink, PubSubStream};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::{Instant, MissedTickBehavior};

use crate::backends::CacheError;

/// Messages buffered per channel for a waiter that has not been polled yet.
const CHANNEL_BUFFER: usize = 16;
/// How often channels without waiters are unsubscribed.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// How often the idle subscriber connection is checked.
const PING_EVERY: Duration = Duration::from_secs(5);
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

type Channels = Arc<Mutex<HashMap<String, broadcast::Sender<Vec<u8>>>>>;

/// A request to have a channel subscribed; answered once Redis confirmed (or could not).
struct Ensure {
    channel: String,
    done: oneshot::Sender<Result<(), String>>,
}

pub(super) struct Subscriber {
    channels: Channels,
    requests: mpsc::UnboundedSender<Ensure>,
    timeout: Duration,
}

impl Subscriber {
    /// Starts the subscriber task; it stops when this value is dropped.
    pub(super) fn start(nodes: Vec<redis::Client>, timeout: Duration) -> Subscriber {
        let channels: Channels = Arc::default();
        let (requests, inbox) = mpsc::unbounded_channel();
        let task = Task { nodes, timeout, channels: channels.clone(), inbox };
        tokio::spawn(task.run());
        Subscriber { channels, requests, timeout }
    }

    pub(super) async fn wait(&self, channel: &str, timeout: Duration) -> Result<Option<Vec<u8>>, CacheError> {
        let deadline = Instant::now() + timeout;
        let mut receiver = {
            let mut channels = self.channels.lock();
            channels.entry(channel.to_string()).or_insert_with(|| broadcast::channel(CHANNEL_BUFFER).0).subscribe()
        };
        let (done, confirmed) = oneshot::channel();
        self.requests
            .send(Ensure { channel: channel.to_string(), done })
            .map_err(|_| CacheError::Unavailable("redis wait: the subscriber has stopped".into()))?;
        // The task answers within two command timeouts (a batch in progress, then ours); be safe on top.
        match tokio::time::timeout(self.timeout * 3, confirmed).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(reason))) => return Err(CacheError::Unavailable(format!("redis wait: {reason}"))),
            Ok(Err(_)) => return Err(CacheError::Unavailable("redis wait: the subscriber has stopped".into())),
            Err(_) => return Err(CacheError::Unavailable("redis wait: subscription not confirmed in time".into())),
        }
        loop {
            match tokio::time::timeout_at(deadline, receiver.recv()).await {
                Ok(Ok(message)) => return Ok(Some(message)),
                // Fell behind a burst: the oldest messages are gone, the next one still counts.
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
                Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => return Ok(None),
            }
        }
    }
}

/// Why a connection's serving loop ended.
enum Ended {
    /// The connection failed: reconnect.
    Lost(String),
    /// The backend was dropped: stop.
    Stopped,
}

struct Task {
    nodes: Vec<redis::Client>,
    timeout: Duration,
    channels: Channels,
    inbox: mpsc::UnboundedReceiver<Ensure>,
}

impl Task {
    async fn run(mut self) {
        let mut backoff = MIN_BACKOFF;
        let mut node = 0usize;
        let mut down_since: Option<Instant> = None;
        loop {
            let Some(client) = self.nodes.get(node % self.nodes.len().max(1)).cloned() else {
                return;
            };
            let reason = match tokio::time::timeout(self.timeout, client.get_async_pubsub()).await {
                Ok(Ok(pubsub)) => {
                    if down_since.take().is_some() {
                        tracing::info!("cache: redis subscriber connection restored");
                    }
                    backoff = MIN_BACKOFF;
                    let (sink, stream) = pubsub.split();
                    match self.serve(sink, stream).await {
                        Ended::Stopped => return,
                        Ended::Lost(reason) => reason,
                    }
                }
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("no connection within {} ms", self.timeout.as_millis()),
            };
            if down_since.is_none() {
                tracing::warn!(error = %reason, "cache: redis subscriber connection lost; reconnecting");
                down_since = Some(Instant::now());
            }
            node = node.wrapping_add(1);
            if !self.refuse_until(Instant::now() + backoff, &reason).await {
                return;
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// While disconnected: answer every request with the failure until `until`. False when the backend is gone.
    async fn refuse_until(&mut self, until: Instant, reason: &str) -> bool {
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return true,
                request = self.inbox.recv() => match request {
                    Some(request) => {
                        let _ = request.done.send(Err(format!("subscriber disconnected: {reason}")));
                    }
                    None => return false,
                },
            }
        }
    }

    /// Serves one connection until it fails or the backend is dropped.
    async fn serve(&mut self, mut sink: PubSubSink, mut stream: PubSubStream) -> Ended {
        let mut subscribed: HashSet<String> = HashSet::new();
        let wanted: Vec<String> = self.channels.lock().keys().cloned().collect();
        if let Err(e) = self.subscribe(&mut sink, &mut subscribed, wanted).await {
            return Ended::Lost(e);
        }
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        let mut ping = tokio::time::interval(PING_EVERY);
        sweep.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                message = stream.next() => match message {
                    Some(message) => self.dispatch(message.get_channel_name(), message.get_payload_bytes()),
                    None => return Ended::Lost("connection closed".into()),
                },
                request = self.inbox.recv() => {
                    let Some(first) = request else { return Ended::Stopped };
                    let mut batch = vec![first];
                    while let Ok(more) = self.inbox.try_recv() {
                        batch.push(more);
                    }
                    let wanted = batch.iter().map(|r| r.channel.clone()).collect();
                    let result = self.subscribe(&mut sink, &mut subscribed, wanted).await;
                    for request in batch {
                        let _ = request.done.send(result.clone());
                    }
                    if let Err(e) = result {
                        return Ended::Lost(e);
                    }
                }
                _ = sweep.tick() => {
                    if let Err(e) = self.unsubscribe_idle(&mut sink, &mut subscribed).await {
                        return Ended::Lost(e);
                    }
                }
                _ = ping.tick() => {
                    if let Err(e) = self.bounded(sink.ping::<redis::Value>()).await {
                        return Ended::Lost(e);
                    }
                }
            }
        }
    }

    fn dispatch(&self, channel: &str, payload: &[u8]) {
        if let Some(sender) = self.channels.lock().get(channel) {
            let _ = sender.send(payload.to_vec());
        }
    }

    /// Subscribes the channels of `wanted` that this connection has not subscribed yet, in one command.
    async fn subscribe(
        &self,
        sink: &mut PubSubSink,
        subscribed: &mut HashSet<String>,
        wanted: Vec<String>,
    ) -> Result<(), String> {
        let mut new: Vec<String> = wanted.into_iter().filter(|c| !subscribed.contains(c)).collect();
        new.sort_unstable();
        new.dedup();
        if new.is_empty() {
            return Ok(());
        }
        self.bounded(sink.subscribe(&new)).await?;
        subscribed.extend(new);
        Ok(())
    }

    /// Forgets channels without waiters and unsubscribes them. Requests are handled by this same task, so a
    /// waiter that comes back for such a channel is subscribed again after this `UNSUBSCRIBE`.
    async fn unsubscribe_idle(&self, sink: &mut PubSubSink, subscribed: &mut HashSet<String>) -> Result<(), String> {
        let idle: Vec<String> = {
            let mut channels = self.channels.lock();
            let idle: Vec<String> =
                channels.iter().filter(|(_, s)| s.receiver_count() == 0).map(|(c, _)| c.clone()).collect();
            for channel in &idle {
                channels.remove(channel);
            }
            idle
        };
        let idle: Vec<String> = idle.into_iter().filter(|c| subscribed.remove(c)).collect();
        if idle.is_empty() {
            return Ok(());
        }
        self.bounded(sink.unsubscribe(&idle)).await
    }

    async fn bounded<T>(&self, command: impl std::future::Future<Output = redis::RedisResult<T>>) -> Result<(), String> {
        match tokio::time::timeout(self.timeout, command).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} ms", self.timeout.as_millis())),
        }
    }
}
