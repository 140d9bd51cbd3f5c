//! The people a message shows (sender, direct-message members, reacting users, mentioned
//! users), loaded by id or name as they are needed and kept for one request, without the
//! user row's secret columns.

use crate::{App, Result};
use std::collections::HashMap;
use tessera_core::markdown::Rendered;
use tessera_store::PersonRow;

/// People of one realm, loaded on demand.
pub(crate) struct People {
    realm_id: i64,
    map: HashMap<i64, PersonRow>,
}

impl People {
    pub(crate) fn new(realm_id: i64) -> People {
        People {
            realm_id,
            map: HashMap::new(),
        }
    }

    pub(crate) fn get(&self, id: i64) -> Option<&PersonRow> {
        self.map.get(&id)
    }
}

impl App {
    /// Load the people of these ids not loaded yet (one query).
    pub(crate) async fn load_people(
        &self,
        people: &mut People,
        ids: impl IntoIterator<Item = i64>,
    ) -> Result<()> {
        let mut missing: Vec<i64> = ids
            .into_iter()
            .filter(|id| !people.map.contains_key(id))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        for p in self
            .store()
            .people_by_ids(people.realm_id, &missing)
            .await?
        {
            people.map.insert(p.id, p);
        }
        Ok(())
    }

    /// The id of the realm's user with this email (or delivery email), loading them.
    pub(crate) async fn person_id_by_email(
        &self,
        people: &mut People,
        email: &str,
    ) -> Result<Option<i64>> {
        let found = self.store().person_by_email(people.realm_id, email).await?;
        Ok(found.map(|p| {
            let id = p.id;
            people.map.insert(id, p);
            id
        }))
    }

    /// Render a message of the realm: the people its mentions name are looked up (by id, or
    /// by full name without case), active users only.
    pub(crate) async fn render_in_realm(
        &self,
        people: &mut People,
        content: &str,
    ) -> Result<Rendered> {
        let targets = tessera_core::markdown::mention_targets(content);
        let ids: Vec<i64> = targets.iter().filter_map(|(_, id)| *id).collect();
        let mut names: Vec<String> = targets
            .iter()
            .filter(|(_, id)| id.is_none())
            .map(|(n, _)| n.clone())
            .collect();
        names.sort_unstable();
        names.dedup();
        self.load_people(people, ids).await?;
        let mut by_name: Vec<PersonRow> = Vec::new();
        if !names.is_empty() {
            by_name = self
                .store()
                .active_people_by_names(people.realm_id, &names)
                .await?;
        }
        let rendered = tessera_core::markdown::render(content, &|name, id| match id {
            Some(id) => people
                .get(id)
                .filter(|p| p.is_active)
                .map(|p| (p.id, p.full_name.clone())),
            None => by_name
                .iter()
                .find(|p| p.full_name == name)
                .or_else(|| {
                    by_name
                        .iter()
                        .find(|p| p.full_name.to_lowercase() == name.to_lowercase())
                })
                .map(|p| (p.id, p.full_name.clone())),
        });
        for p in by_name {
            people.map.entry(p.id).or_insert(p);
        }
        Ok(rendered)
    }

    /// A person's avatar URL (as `avatar_url` for a user row).
    pub(crate) fn person_avatar_url(&self, p: &PersonRow) -> String {
        crate::users::gravatar_url(&p.email, p.avatar_version)
    }
}
