//! Running several nodes on one PostgreSQL: every notice published on this node is also
//! written to `event_notices` and announced; notices from other nodes are delivered to this
//! node's queues. A node that loses its listener connection reconnects; notices sent in the
//! gap are lost for its queues (as events are when Zulip's Tornado restarts), and the queues
//! keep working.

use crate::events::Notice;
use crate::{App, Result};
use tessera_store::EVENTS_CHANNEL;

impl App {
    /// Start the fan-out (PostgreSQL only); returns whether it runs.
    pub async fn start_event_fanout(&self) -> Result<bool> {
        let mut listener = match self.store().listen(EVENTS_CHANNEL).await {
            Ok(Some(l)) => l,
            Ok(None) => return Ok(false),
            Err(e) => {
                tracing::warn!(error = %e, "event fan-out: cannot LISTEN; events stay on this node");
                return Ok(false);
            }
        };
        let node = self.inner.node_id.clone();
        // Outgoing: notices published here, written in order by one task.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Notice>();
        self.events().set_fanout(tx);
        let writer = self.clone();
        let me = node.clone();
        tokio::spawn(async move {
            while let Some(notice) = rx.recv().await {
                let Ok(payload) = serde_json::to_string(&notice) else {
                    continue;
                };
                if let Err(e) = writer
                    .store()
                    .publish_notice(&me, &payload, writer.now())
                    .await
                {
                    tracing::warn!(error = %e, "event fan-out: could not publish");
                }
            }
        });
        // Incoming: notices of the other nodes.
        let reader = self.clone();
        tokio::spawn(async move {
            loop {
                match listener.try_recv().await {
                    Ok(Some(n)) => {
                        let Ok(id) = n.payload().parse::<i64>() else {
                            continue;
                        };
                        match reader.store().notice(id).await {
                            Ok(Some((from, payload))) if from != node => {
                                match serde_json::from_str::<Notice>(&payload) {
                                    Ok(notice) => reader.events().deliver_local(notice),
                                    Err(e) => {
                                        tracing::warn!(error = %e, "event fan-out: bad notice")
                                    }
                                }
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "event fan-out: could not read a notice")
                            }
                        }
                    }
                    Ok(None) => {
                        tracing::warn!(
                            "event fan-out: listener reconnected; notices may have been missed"
                        );
                        reader.events().max_message_ids().clear();
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "event fan-out: listener failed");
                        reader.events().max_message_ids().clear();
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(true)
    }
}
