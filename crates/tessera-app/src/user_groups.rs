//! User groups: Zulip's system groups, whose members follow roles (`GET /user_groups`, the
//! `realm_user_groups` state, and the group-setting values of realm and channel settings).

use crate::auth::Principal;
use crate::{App, Result};
use serde::Serialize;
use tessera_store::{UserGroupRow, UserRow};

/// Zulip's system groups, in the order Zulip creates them: (name, description).
pub const SYSTEM_GROUPS: [(&str, &str); 8] = [
    ("role:nobody", "Nobody"),
    ("role:owners", "Owners of this organization"),
    (
        "role:administrators",
        "Administrators of this organization, including owners",
    ),
    (
        "role:moderators",
        "Moderators of this organization, including administrators",
    ),
    (
        "role:fullmembers",
        "Members of this organization, not including new accounts and guests",
    ),
    (
        "role:members",
        "Members of this organization, not including guests",
    ),
    (
        "role:everyone",
        "Everyone in this organization, including guests",
    ),
    ("role:internet", "Everyone on the Internet"),
];

/// The system group each system group directly contains (Zulip's subgroup chain).
fn direct_subgroup(name: &str) -> Option<&'static str> {
    Some(match name {
        "role:internet" => "role:everyone",
        "role:everyone" => "role:members",
        "role:members" => "role:fullmembers",
        "role:fullmembers" => "role:moderators",
        "role:moderators" => "role:administrators",
        "role:administrators" => "role:owners",
        _ => return None,
    })
}

/// Whether a user with `role` is a direct member of system group `name`. Members are
/// direct members of both `role:members` and `role:fullmembers` (tessera has no waiting
/// period: every member is a full member).
fn direct_member(name: &str, role: i64) -> bool {
    matches!(
        (name, role),
        ("role:owners", 100)
            | ("role:administrators", 200)
            | ("role:moderators", 300)
            | ("role:fullmembers", 400)
            | ("role:members", 400)
            | ("role:everyone", 600)
    )
}

/// Zulip's user group object (field order as Zulip's).
#[derive(Debug, Clone, Serialize)]
pub struct UserGroup {
    pub name: String,
    pub description: String,
    pub members: Vec<i64>,
    pub direct_subgroup_ids: Vec<i64>,
    pub id: i64,
    pub is_system_group: bool,
    pub can_mention_group: i64,
}

/// The realm's groups, with ids looked up by name.
#[derive(Debug, Clone)]
pub struct RealmGroups {
    pub rows: Vec<UserGroupRow>,
}

impl RealmGroups {
    /// The id of the group called `name` (system groups always exist).
    pub fn id(&self, name: &str) -> i64 {
        self.rows
            .iter()
            .find(|g| g.name == name)
            .map(|g| g.id)
            .unwrap_or(0)
    }

    /// Whether a user with `role` belongs to the (system) group `id`, through its subgroups.
    pub fn role_in(&self, id: i64, role: i64) -> bool {
        let mut name = self
            .rows
            .iter()
            .find(|g| g.id == id)
            .map(|g| g.name.as_str());
        while let Some(n) = name {
            if direct_member(n, role) {
                return true;
            }
            name = direct_subgroup(n);
        }
        false
    }

    /// Zulip's objects, members from `users` (active users only).
    pub fn objects(&self, users: &[UserRow]) -> Vec<UserGroup> {
        let nobody = self.id("role:nobody");
        self.rows
            .iter()
            .map(|g| UserGroup {
                name: g.name.clone(),
                description: g.description.clone(),
                members: if g.is_system_group {
                    users
                        .iter()
                        .filter(|u| u.is_active && direct_member(&g.name, u.role))
                        .map(|u| u.id)
                        .collect()
                } else {
                    Vec::new()
                },
                direct_subgroup_ids: direct_subgroup(&g.name)
                    .map(|s| vec![self.id(s)])
                    .unwrap_or_default(),
                id: g.id,
                is_system_group: g.is_system_group,
                can_mention_group: if g.is_system_group {
                    nobody
                } else {
                    self.id("role:everyone")
                },
            })
            .collect()
    }
}

impl App {
    /// The realm's user groups (the system groups are made on first use).
    pub async fn realm_groups(&self, realm_id: i64) -> Result<RealmGroups> {
        let rows = self
            .store()
            .user_groups(realm_id, &SYSTEM_GROUPS, self.now())
            .await?;
        Ok(RealmGroups { rows })
    }

    /// `GET /user_groups`: every group of the caller's organization.
    pub async fn user_groups(&self, who: &Principal) -> Result<Vec<UserGroup>> {
        let groups = self.realm_groups(who.realm_id).await?;
        let users = self.store().users_in_realm(who.realm_id).await?;
        Ok(groups.objects(&users))
    }
}
