//! tessera-http integration tests: the real router, in process, on a real store. Every test
//! runs twice, on SQLite and on PostgreSQL (`TEST_DATABASE_URL`).

// Test helpers outside `#[test]` functions may panic on set-up failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod helpers;

mod advisories;
mod api_docs;
mod auth;
mod bots;
mod channels;
mod device_keys;
mod devices;
mod drafts;
mod dump;
mod fetch_api_key;
mod leak_reports;
mod mark_as_read;
mod message_history;
mod messages;
mod named_keys;
mod openapi;
mod params;
mod password_reset;
mod push_devices;
mod realm;
mod realm_policies;
mod regenerate;
mod register;
mod server_settings;
mod settings;
mod stream_admin;
mod subscription_properties;
mod typing;
mod uploads;
mod user_status;
mod user_topics;
mod users_me;
mod web;
