//! Zulip's user roles and bot types, with their wire numbers.

use std::str::FromStr;

/// A user's role in an organization. The numbers are Zulip's (`UserProfile.ROLE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Owner,
    Admin,
    Moderator,
    Member,
    Guest,
}

impl Role {
    /// Zulip's numeric role.
    pub fn as_i64(self) -> i64 {
        match self {
            Role::Owner => 100,
            Role::Admin => 200,
            Role::Moderator => 300,
            Role::Member => 400,
            Role::Guest => 600,
        }
    }

    /// The role for a Zulip role number, if it is one.
    pub fn from_i64(n: i64) -> Option<Role> {
        Some(match n {
            100 => Role::Owner,
            200 => Role::Admin,
            300 => Role::Moderator,
            400 => Role::Member,
            600 => Role::Guest,
            _ => return None,
        })
    }

    /// Organization administrators and owners (`is_realm_admin` in Zulip).
    pub fn is_admin(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// Zulip's `UserProfile.has_permission` for an integer policy (1 members, 2
    /// administrators, 3 full members, 4 moderators, 5 everyone, 6 nobody, 7 owners), in
    /// its order: nobody refuses even owners, everyone admits guests. A full member is any
    /// member who is not `provisional` (joined within the waiting period).
    pub fn has_permission(self, policy: i64, provisional: bool) -> bool {
        match policy {
            6 => return false,
            5 => return true,
            _ => {}
        }
        if self == Role::Owner {
            return true;
        }
        if policy == 7 {
            return false;
        }
        if self.is_admin() {
            return true;
        }
        if policy == 2 {
            return false;
        }
        if self == Role::Moderator {
            return true;
        }
        if policy == 4 || self == Role::Guest {
            return false;
        }
        policy == 1 || !provisional
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Moderator => "moderator",
            Role::Member => "member",
            Role::Guest => "guest",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "owner" => Role::Owner,
            "admin" => Role::Admin,
            "moderator" => Role::Moderator,
            "member" => Role::Member,
            "guest" => Role::Guest,
            other => return Err(format!("unknown role '{other}'")),
        })
    }
}

/// Zulip's bot types (`UserProfile.*_BOT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BotType {
    /// 1: a generic bot, full API access.
    Generic,
    /// 2: may only send messages (and use webhook integrations).
    IncomingWebhook,
    /// 3: tessera POSTs to its endpoint; it carries a service token.
    OutgoingWebhook,
    /// 4: runs inside the server.
    Embedded,
}

impl BotType {
    /// Zulip's numeric bot type.
    pub fn as_i64(self) -> i64 {
        match self {
            BotType::Generic => 1,
            BotType::IncomingWebhook => 2,
            BotType::OutgoingWebhook => 3,
            BotType::Embedded => 4,
        }
    }

    /// The bot type for a Zulip number, if it is one.
    pub fn from_i64(n: i64) -> Option<BotType> {
        Some(match n {
            1 => BotType::Generic,
            2 => BotType::IncomingWebhook,
            3 => BotType::OutgoingWebhook,
            4 => BotType::Embedded,
            _ => return None,
        })
    }

    /// Whether bots of this type carry a `Service` row with a secret token.
    pub fn has_service(self) -> bool {
        matches!(self, BotType::OutgoingWebhook | BotType::Embedded)
    }
}

impl FromStr for BotType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "generic" => BotType::Generic,
            "incoming" => BotType::IncomingWebhook,
            "outgoing" => BotType::OutgoingWebhook,
            "embedded" => BotType::Embedded,
            other => return Err(format!("unknown bot type '{other}'")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for r in [
            Role::Owner,
            Role::Admin,
            Role::Moderator,
            Role::Member,
            Role::Guest,
        ] {
            assert_eq!(Role::from_i64(r.as_i64()), Some(r));
            assert_eq!(r.name().parse::<Role>(), Ok(r));
        }
        assert_eq!(Role::from_i64(500), None);
        assert_eq!(Role::Guest.as_i64(), 600);
        for b in 1..=4 {
            assert_eq!(BotType::from_i64(b).map(BotType::as_i64), Some(b));
        }
        assert_eq!(BotType::from_i64(5), None);
    }
}

#[cfg(test)]
mod permission_tests {
    use super::Role;

    #[test]
    fn policies_admit_whom_zulip_admits() {
        use Role::*;
        let who = |policy: i64| -> Vec<Role> {
            [Owner, Admin, Moderator, Member, Guest]
                .into_iter()
                .filter(|r| r.has_permission(policy, false))
                .collect()
        };
        assert_eq!(who(1), vec![Owner, Admin, Moderator, Member]);
        assert_eq!(who(2), vec![Owner, Admin]);
        assert_eq!(who(3), vec![Owner, Admin, Moderator, Member]);
        assert_eq!(who(4), vec![Owner, Admin, Moderator]);
        assert_eq!(who(5), vec![Owner, Admin, Moderator, Member, Guest]);
        assert_eq!(who(6), Vec::<Role>::new());
        assert_eq!(who(7), vec![Owner]);
        assert!(!Member.has_permission(3, true));
        assert!(Moderator.has_permission(3, true));
    }
}
