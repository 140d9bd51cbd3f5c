//! Event queues (Zulip's Tornado queues), in process. `POST /register` makes a queue for a
//! user; use-cases `publish` [`Notice`]s; `GET /events` long-polls. Every event gets the
//! queue's next id. Idle queues expire after 10 minutes (`BAD_EVENT_QUEUE_ID` afterwards).
//!
//! `EventHub::publish` is the one interface the rest of the code uses: a multi-node
//! deployment puts a fan-out through PostgreSQL behind it without touching the callers.

use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Zulip's idle queue lifetime (`DEFAULT_EVENT_QUEUE_TIMEOUT_SECS`).
pub const QUEUE_IDLE_SECS: i64 = 600;
/// A queue that holds this many unacknowledged events is dropped (its client gets
/// `BAD_EVENT_QUEUE_ID` and registers anew, as after a restart): a client that registered
/// and went away cannot make the server hold 10 minutes of every event it would have seen.
pub const MAX_QUEUED_EVENTS: usize = 10_000;

/// A message as every reader sees it, except for the per-queue choices.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MessageNotice {
    /// The message object with rendered `content` (`content_type` `text/html`).
    pub message: crate::messages::Message,
    /// The Markdown source, for queues registered with `apply_markdown=false`.
    pub raw_content: String,
    /// Receivers and their flags.
    pub recipients: Vec<(i64, Vec<String>)>,
    /// For queue narrows: channel name (stream messages), topic, sender email.
    pub stream_name: Option<String>,
    pub topic: String,
    pub sender_email: String,
    /// A message to a public channel (queues with `all_public_streams` get it too).
    pub public_stream: bool,
    pub realm_id: i64,
}

/// Something that happened, for the users it concerns.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Notice {
    Message(Box<MessageNotice>),
    /// `delete_message`: sent in Zulip's bulk form, or one event per id to queues without
    /// the `bulk_message_deletion` capability.
    Delete {
        users: Vec<i64>,
        event: Value,
    },
    /// The same event for each of these users.
    Plain {
        users: Vec<i64>,
        event: Value,
    },
    /// Drop every queue of a user (their key changed or they were deactivated).
    DropQueues {
        user: i64,
    },
}

impl Notice {
    /// A plain event for some users.
    pub fn plain(users: Vec<i64>, event: Value) -> Notice {
        Notice::Plain { users, event }
    }
}

/// A queue's narrow (`register`'s `narrow`): Zulip's event queues filter by `channel`
/// (`stream`), `topic`, `sender` and `is` only; other operators are
/// `Operator <op> not supported.`
pub fn queue_narrow(terms: Vec<crate::NarrowTerm>) -> crate::Result<Vec<(String, String, bool)>> {
    terms
        .into_iter()
        .map(|t| {
            let operand = match t.operand {
                Value::String(s) => s,
                other => other.to_string(),
            };
            match t.operator.as_str() {
                "stream" | "channel" | "topic" | "sender" | "is" => {
                    Ok((t.operator, operand, t.negated))
                }
                op => Err(crate::AppError::bad(format!(
                    "Operator {op} not supported."
                ))),
            }
        })
        .collect()
}

/// What a client asked for at `POST /register`.
#[derive(Debug, Clone, Default)]
pub struct QueueOptions {
    pub event_types: Option<HashSet<String>>,
    pub apply_markdown: bool,
    pub client_gravatar: bool,
    pub all_public_streams: bool,
    pub bulk_message_deletion: bool,
    /// The `user_settings_object` capability: no legacy `update_display_settings` /
    /// `update_global_notifications` events.
    pub user_settings_object: bool,
    /// The `stream_typing_notifications` capability: typing events about channel topics.
    pub stream_typing_notifications: bool,
    /// (operator, operand, negated) for message events.
    pub narrow: Vec<(String, String, bool)>,
}

struct QueueState {
    events: VecDeque<Value>,
    next_id: i64,
    last_access: i64,
    waiting: u32,
    /// Dropped from the hub: a waiting poll ends with `BAD_EVENT_QUEUE_ID`.
    closed: bool,
}

/// One client's queue.
pub struct EventQueue {
    pub id: String,
    pub user_id: i64,
    pub realm_id: i64,
    pub options: QueueOptions,
    state: Mutex<QueueState>,
    notify: Notify,
}

impl EventQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wants(&self, event_type: &str) -> bool {
        self.options
            .event_types
            .as_ref()
            .is_none_or(|t| t.contains(event_type))
    }

    /// Zulip's `ClientDescriptor.accepts_event`: the queue asked for the event's type, and
    /// its capabilities allow it (no legacy settings events with `user_settings_object`, no
    /// channel typing events without `stream_typing_notifications`).
    fn accepts(&self, event: &Value) -> bool {
        let kind = event["type"].as_str().unwrap_or("");
        let refused_by_capability = match kind {
            "update_display_settings" | "update_global_notifications" => {
                self.options.user_settings_object
            }
            "typing" => {
                event.get("stream_id").is_some() && !self.options.stream_typing_notifications
            }
            // Zulip's event server drops the legacy list for queues that take `user_topic`.
            "muted_topics" => self
                .options
                .event_types
                .as_ref()
                .is_some_and(|t| t.contains("user_topic")),
            _ => false,
        };
        !refused_by_capability && self.wants(kind)
    }

    fn push(&self, mut event: Value) {
        let mut st = self.lock();
        if st.closed {
            return;
        }
        if st.events.len() >= MAX_QUEUED_EVENTS {
            // Abandoned (or hopelessly behind): free it; the hub drops it on the next look.
            st.closed = true;
            st.events = VecDeque::new();
            drop(st);
            self.notify.notify_waiters();
            return;
        }
        if let Some(map) = event.as_object_mut() {
            map.insert("id".into(), json!(st.next_id));
        }
        st.next_id += 1;
        st.events.push_back(event);
        drop(st);
        self.notify.notify_one();
    }

    fn narrow_accepts(&self, m: &MessageNotice, flags: &[String]) -> bool {
        self.options.narrow.iter().all(|(op, operand, negated)| {
            let hit = match op.as_str() {
                "stream" | "channel" => m
                    .stream_name
                    .as_ref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(operand)),
                "topic" => m.stream_name.is_some() && m.topic.eq_ignore_ascii_case(operand),
                "sender" => m.sender_email.eq_ignore_ascii_case(operand),
                "is" => match operand.as_str() {
                    "dm" | "private" => m.stream_name.is_none(),
                    "mentioned" | "alerted" => flags.iter().any(|f| f.contains("mentioned")),
                    "starred" => flags.iter().any(|f| f == "starred"),
                    "unread" => !flags.iter().any(|f| f == "read"),
                    _ => true,
                },
                _ => true,
            };
            hit != *negated
        })
    }

    fn deliver_message(&self, m: &MessageNotice, flags: &[String]) {
        if !self.wants("message") || !self.narrow_accepts(m, flags) {
            return;
        }
        let mut message = m.message.clone();
        if !self.options.apply_markdown {
            message.content = m.raw_content.clone();
            message.content_type = crate::messages::ContentType::Markdown;
        }
        self.push(json!({"type": "message", "message": message, "flags": flags}));
    }
}

/// Why `GET /events` failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueError {
    /// Unknown, expired or another user's queue.
    BadQueue(String),
}

/// All queues of this process, and (on PostgreSQL) the way out to the other nodes.
#[derive(Default)]
pub struct EventHub {
    queues: Mutex<HashMap<String, Arc<EventQueue>>>,
    fanout: Mutex<Option<tokio::sync::mpsc::UnboundedSender<Notice>>>,
    max_message_ids: crate::users::MaxMessageIds,
    /// The server is shutting down: long polls answer at once (a heartbeat), so no poll holds
    /// the shutdown; the client polls again (another node, or this one restarted, where the
    /// queue is gone and it registers anew, as after a restart of Zulip's Tornado).
    stopping: std::sync::atomic::AtomicBool,
}

impl EventHub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<EventQueue>>> {
        self.queues.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Shutting down: wake every waiting poll with a heartbeat, and let none wait from now on.
    pub fn stop_polls(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::Release);
        for q in self.lock().values() {
            q.notify.notify_waiters();
        }
    }

    fn is_stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::Acquire)
    }

    /// A new queue for a user.
    pub fn create(
        &self,
        user_id: i64,
        realm_id: i64,
        options: QueueOptions,
        now: i64,
    ) -> Arc<EventQueue> {
        let id = uuid_v4();
        let q = Arc::new(EventQueue {
            id: id.clone(),
            user_id,
            realm_id,
            options,
            state: Mutex::new(QueueState {
                events: VecDeque::new(),
                next_id: 0,
                last_access: now,
                waiting: 0,
                closed: false,
            }),
            notify: Notify::new(),
        });
        self.lock().insert(id, q.clone());
        q
    }

    /// The live queue `id` of `user_id` (expired queues are dropped here).
    pub fn get(&self, id: &str, user_id: i64, now: i64) -> Result<Arc<EventQueue>, QueueError> {
        let mut queues = self.lock();
        let Some(q) = queues.get(id).cloned() else {
            return Err(QueueError::BadQueue(id.to_owned()));
        };
        if q.user_id != user_id {
            return Err(QueueError::BadQueue(id.to_owned()));
        }
        let expired = {
            let st = q.lock();
            st.closed || (st.waiting == 0 && now - st.last_access > QUEUE_IDLE_SECS * 1_000_000)
        };
        if expired {
            queues.remove(id);
            return Err(QueueError::BadQueue(id.to_owned()));
        }
        Ok(q)
    }

    /// `DELETE /events`.
    pub fn remove(&self, id: &str, user_id: i64) -> Result<(), QueueError> {
        let mut queues = self.lock();
        match queues.get(id) {
            Some(q) if q.user_id == user_id => {
                queues.remove(id);
                Ok(())
            }
            _ => Err(QueueError::BadQueue(id.to_owned())),
        }
    }

    /// Drop every queue of a user (their key changed or they were deactivated); polls
    /// waiting on them end at once.
    pub fn drop_user(&self, user_id: i64) {
        let dropped: Vec<Arc<EventQueue>> = {
            let mut queues = self.lock();
            let ids: Vec<String> = queues
                .iter()
                .filter(|(_, q)| q.user_id == user_id)
                .map(|(id, _)| id.clone())
                .collect();
            ids.iter().filter_map(|id| queues.remove(id)).collect()
        };
        for q in dropped {
            q.lock().closed = true;
            q.notify.notify_waiters();
            q.notify.notify_one();
        }
    }

    /// Drop queues idle for longer than the lifetime.
    pub fn gc(&self, now: i64) -> usize {
        let mut queues = self.lock();
        let before = queues.len();
        queues.retain(|_, q| {
            let st = q.lock();
            !st.closed && (st.waiting > 0 || now - st.last_access <= QUEUE_IDLE_SECS * 1_000_000)
        });
        before - queues.len()
    }

    /// How many queues are open.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no queue is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Send every notice published here to `tx` too (the PostgreSQL fan-out to other nodes).
    pub fn set_fanout(&self, tx: tokio::sync::mpsc::UnboundedSender<Notice>) {
        *self.fanout.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
    }

    /// Deliver a notice to the queues it concerns — on this node, and through the fan-out
    /// (when running on PostgreSQL) on every other node.
    pub fn publish(&self, notice: Notice) {
        if let Some(tx) = self
            .fanout
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let _ = tx.send(notice.clone());
        }
        self.deliver_local(notice);
    }

    /// Each user's newest message id, as this node's deliveries keep it.
    pub(crate) fn max_message_ids(&self) -> &crate::users::MaxMessageIds {
        &self.max_message_ids
    }

    /// Deliver a notice to this node's queues only (what arrives from other nodes).
    pub fn deliver_local(&self, notice: Notice) {
        match &notice {
            Notice::Message(m) => self
                .max_message_ids
                .delivered(m.recipients.iter().map(|(u, _)| *u), m.message.id),
            Notice::Delete { users, .. } => self.max_message_ids.forget(users),
            _ => {}
        }
        let queues: Vec<Arc<EventQueue>> = self.lock().values().cloned().collect();
        match notice {
            Notice::Message(m) => {
                let flags_of: HashMap<i64, &Vec<String>> =
                    m.recipients.iter().map(|(u, f)| (*u, f)).collect();
                for q in &queues {
                    match flags_of.get(&q.user_id) {
                        Some(flags) => q.deliver_message(&m, flags),
                        None if m.public_stream
                            && q.options.all_public_streams
                            && q.realm_id == m.realm_id =>
                        {
                            q.deliver_message(&m, &[])
                        }
                        None => {}
                    }
                }
            }
            Notice::Delete { users, event } => {
                let users: HashSet<i64> = users.into_iter().collect();
                for q in queues
                    .iter()
                    .filter(|q| users.contains(&q.user_id) && q.wants("delete_message"))
                {
                    if q.options.bulk_message_deletion {
                        q.push(event.clone());
                    } else {
                        let ids = event["message_ids"].as_array().cloned().unwrap_or_default();
                        for id in ids {
                            let mut one = event.clone();
                            if let Some(map) = one.as_object_mut() {
                                map.remove("message_ids");
                                map.insert("message_id".into(), id);
                            }
                            q.push(one);
                        }
                    }
                }
            }
            Notice::DropQueues { user } => self.drop_user(user),
            Notice::Plain { users, event } => {
                let users: HashSet<i64> = users.into_iter().collect();
                for q in queues
                    .iter()
                    .filter(|q| users.contains(&q.user_id) && q.accepts(&event))
                {
                    q.push(event.clone());
                }
            }
        }
    }

    /// `GET /events`: acknowledge up to `last_event_id`, then return what is queued, waiting
    /// up to `heartbeat` for something (a `heartbeat` event when nothing came).
    pub async fn poll(
        &self,
        q: &Arc<EventQueue>,
        last_event_id: i64,
        dont_block: bool,
        heartbeat: Duration,
        now: &(dyn Fn() -> i64 + Send + Sync),
    ) -> Result<Vec<Value>, QueueError> {
        {
            let mut st = q.lock();
            if st.closed {
                return Err(QueueError::BadQueue(q.id.clone()));
            }
            st.last_access = now();
            while st
                .events
                .front()
                .and_then(|e| e["id"].as_i64())
                .is_some_and(|id| id <= last_event_id)
            {
                st.events.pop_front();
            }
            if !st.events.is_empty() || dont_block {
                return Ok(st.events.iter().cloned().collect());
            }
            st.waiting += 1;
        }
        let deadline = tokio::time::Instant::now() + heartbeat;
        let events = loop {
            // Wake at least twice a second to notice a shutdown that began meanwhile.
            let wake = deadline.min(tokio::time::Instant::now() + Duration::from_millis(500));
            let woke = tokio::time::timeout_at(wake, q.notify.notified())
                .await
                .is_ok();
            let timed_out =
                self.is_stopping() || (!woke && tokio::time::Instant::now() >= deadline);
            let mut st = q.lock();
            if st.closed {
                st.waiting = st.waiting.saturating_sub(1);
                return Err(QueueError::BadQueue(q.id.clone()));
            }
            if !st.events.is_empty() {
                break st.events.iter().cloned().collect::<Vec<_>>();
            }
            if timed_out {
                drop(st);
                q.push(json!({"type": "heartbeat"}));
                break q.lock().events.iter().cloned().collect();
            }
        };
        let mut st = q.lock();
        st.waiting = st.waiting.saturating_sub(1);
        st.last_access = now();
        Ok(events)
    }
}

/// A random (version 4) UUID string, as Zulip's queue ids.
fn uuid_v4() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_abandoned_queue_is_dropped_at_its_cap() {
        let hub = EventHub::default();
        let abandoned = hub.create(7, 1, QueueOptions::default(), 0);
        let polled = hub.create(8, 1, QueueOptions::default(), 0);
        let now = || 0;
        for i in 0..MAX_QUEUED_EVENTS {
            hub.publish(Notice::plain(
                vec![7, 8],
                json!({"type": "presence", "n": i}),
            ));
            if i % 1000 == 999 {
                let last = hub
                    .poll(&polled, -1, true, Duration::from_millis(1), &now)
                    .await
                    .unwrap_or_default()
                    .last()
                    .and_then(|e| e["id"].as_i64())
                    .unwrap_or(-1);
                let _ = hub
                    .poll(&polled, last, true, Duration::from_millis(1), &now)
                    .await;
            }
        }
        assert!(
            hub.get(&abandoned.id, 7, 0).is_ok(),
            "at the cap, still there"
        );
        hub.publish(Notice::plain(vec![7, 8], json!({"type": "presence"})));
        // One more: the abandoned queue is freed and gone; the polled one is untouched.
        assert!(abandoned.lock().events.is_empty());
        assert!(matches!(
            hub.get(&abandoned.id, 7, 0),
            Err(QueueError::BadQueue(_))
        ));
        assert!(hub.get(&polled.id, 8, 0).is_ok());
        assert_eq!(hub.len(), 1);
    }

    #[tokio::test]
    async fn poll_returns_published_events_in_order() {
        let hub = EventHub::default();
        let q = hub.create(7, 1, QueueOptions::default(), 0);
        hub.publish(Notice::plain(vec![7, 8], json!({"type": "presence"})));
        hub.publish(Notice::plain(vec![8], json!({"type": "presence"})));
        let now = || 0;
        let events = hub
            .poll(&q, -1, false, Duration::from_secs(1), &now)
            .await
            .unwrap_or_default();
        assert_eq!(events, vec![json!({"type": "presence", "id": 0})]);
        // Acknowledged events are gone; nothing new: a heartbeat after the wait.
        let events = hub
            .poll(&q, 0, false, Duration::from_millis(20), &now)
            .await
            .unwrap_or_default();
        assert_eq!(events, vec![json!({"type": "heartbeat", "id": 1})]);
        // A waiting poll wakes when an event arrives.
        let hub = Arc::new(hub);
        let (h2, q2) = (hub.clone(), q.clone());
        let waiter = tokio::spawn(async move {
            let now = || 0;
            h2.poll(&q2, 1, false, Duration::from_secs(30), &now).await
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        hub.publish(Notice::plain(vec![7], json!({"type": "realm_user"})));
        let got = waiter.await.ok().and_then(|r| r.ok()).unwrap_or_default();
        assert_eq!(got, vec![json!({"type": "realm_user", "id": 2})]);
    }

    #[test]
    fn queues_expire_and_belong_to_one_user() {
        let hub = EventHub::default();
        let q = hub.create(7, 1, QueueOptions::default(), 0);
        assert!(hub.get(&q.id, 8, 0).is_err(), "another user's queue");
        assert!(hub.get(&q.id, 7, 599 * 1_000_000).is_ok());
        let later = 599 * 1_000_000 + 601 * 1_000_000;
        assert_eq!(
            hub.get(&q.id, 7, later).err(),
            Some(QueueError::BadQueue(q.id.clone()))
        );
        assert!(hub.is_empty());
        let q = hub.create(7, 1, QueueOptions::default(), 0);
        hub.drop_user(7);
        assert!(hub.get(&q.id, 7, 0).is_err());
    }

    #[tokio::test]
    async fn dropping_a_queue_ends_its_poll() {
        let hub = Arc::new(EventHub::default());
        let q = hub.create(7, 1, QueueOptions::default(), 0);
        let (h2, q2) = (hub.clone(), q.clone());
        let waiter = tokio::spawn(async move {
            let now = || 0;
            h2.poll(&q2, -1, false, Duration::from_secs(30), &now).await
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        hub.drop_user(7);
        let got = tokio::time::timeout(Duration::from_secs(5), waiter).await;
        assert!(
            matches!(got, Ok(Ok(Err(QueueError::BadQueue(_))))),
            "{got:?}"
        );
    }
}
