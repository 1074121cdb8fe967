//! Who a binding grants to, and which written subjects a requester is covered by.

use std::fmt;

/// The group every authenticated requester is in.
pub const AUTHENTICATED: &str = "system:authenticated";
/// The group of anonymous requests.
pub const UNAUTHENTICATED: &str = "system:unauthenticated";
/// The group of every service account of every namespace.
pub const ALL_SERVICE_ACCOUNTS: &str = "system:serviceaccounts";
/// The user name of anonymous requests.
pub const ANONYMOUS: &str = "system:anonymous";

/// A requester, or a subject as written in a binding.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Ord, PartialOrd)]
pub enum Subject {
    User(String),
    Group(String),
    ServiceAccount { namespace: String, name: String },
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::User(n) => write!(f, "User:{n}"),
            Subject::Group(n) => write!(f, "Group:{n}"),
            Subject::ServiceAccount { namespace, name } => {
                write!(f, "ServiceAccount:{namespace}/{name}")
            }
        }
    }
}

const PARSE_HELP: &str = "write user:NAME, group:NAME, sa:NAMESPACE/NAME or \
                          system:serviceaccount:NAMESPACE:NAME";

impl Subject {
    /// Parse a subject given on a command line or in a config file.
    ///
    /// Accepted (kind prefixes are case-insensitive): `user:alice`, `User:alice`,
    /// `group:ml-team`, `sa:ns/name`, `sa:ns:name`, `serviceaccount:ns/name`,
    /// `serviceaccount:ns:name`, `ServiceAccount:ns/name` (the [`Display`](fmt::Display)
    /// form) and the service account user name `system:serviceaccount:ns:name`.
    pub fn parse(s: &str) -> Result<Subject, String> {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix("system:serviceaccount:") {
            return sa_from(rest, s);
        }
        let Some((kind, rest)) = s.split_once(':') else {
            return Err(format!("subject `{s}` has no kind; {PARSE_HELP}"));
        };
        match kind.to_ascii_lowercase().as_str() {
            "user" | "u" => non_empty(rest, s).map(|n| Subject::User(n.to_owned())),
            "group" | "g" => non_empty(rest, s).map(|n| Subject::Group(n.to_owned())),
            "sa" | "serviceaccount" => sa_from(rest, s),
            _ => Err(format!(
                "subject `{s}` has unknown kind `{kind}`; {PARSE_HELP}"
            )),
        }
    }

    /// The service account's user name (`system:serviceaccount:ns:name`), the name the API
    /// server authenticates it as. None for users and groups.
    pub fn service_account_user(&self) -> Option<String> {
        match self {
            Subject::ServiceAccount { namespace, name } => {
                Some(format!("system:serviceaccount:{namespace}:{name}"))
            }
            _ => None,
        }
    }

    /// The kind as written in a binding subject (`User`, `Group`, `ServiceAccount`).
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::User(_) => "User",
            Subject::Group(_) => "Group",
            Subject::ServiceAccount { .. } => "ServiceAccount",
        }
    }

    /// The name (without namespace for service accounts).
    pub fn name(&self) -> &str {
        match self {
            Subject::User(n) | Subject::Group(n) => n,
            Subject::ServiceAccount { name, .. } => name,
        }
    }

    /// Whether a binding that names `written` applies to this requester.
    ///
    /// Implicit memberships: a service account is in `system:serviceaccounts`,
    /// `system:serviceaccounts:<ns>` and `system:authenticated`, and a binding to the user
    /// `system:serviceaccount:<ns>:<name>` applies to it; a user is in `system:authenticated`
    /// (`system:anonymous` in `system:unauthenticated` instead); every member of a group other
    /// than `system:unauthenticated` is authenticated, and members of
    /// `system:serviceaccounts:<ns>` are service accounts. Membership of any other named group
    /// is unknown and never assumed.
    pub fn is_covered_by(&self, written: &Subject) -> bool {
        if self == written {
            return true;
        }
        match (self, written) {
            (Subject::User(u), Subject::Group(g)) => {
                if u == ANONYMOUS {
                    g == UNAUTHENTICATED
                } else {
                    g == AUTHENTICATED
                }
            }
            (Subject::ServiceAccount { namespace, .. }, Subject::Group(g)) => {
                g == AUTHENTICATED
                    || g == ALL_SERVICE_ACCOUNTS
                    || g.strip_prefix("system:serviceaccounts:") == Some(namespace.as_str())
            }
            (Subject::ServiceAccount { .. }, Subject::User(u)) => {
                self.service_account_user().as_deref() == Some(u.as_str())
            }
            (Subject::Group(mine), Subject::Group(g)) => {
                if mine == UNAUTHENTICATED {
                    false
                } else if g == AUTHENTICATED {
                    true
                } else {
                    g == ALL_SERVICE_ACCOUNTS && mine.starts_with("system:serviceaccounts:")
                }
            }
            _ => false,
        }
    }
}

fn non_empty<'a>(name: &'a str, whole: &str) -> Result<&'a str, String> {
    if name.is_empty() {
        Err(format!("subject `{whole}` has an empty name; {PARSE_HELP}"))
    } else {
        Ok(name)
    }
}

fn sa_from(rest: &str, whole: &str) -> Result<Subject, String> {
    let split = rest.split_once('/').or_else(|| rest.split_once(':'));
    match split {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains([':', '/']) => {
            Ok(Subject::ServiceAccount {
                namespace: ns.to_owned(),
                name: name.to_owned(),
            })
        }
        _ => Err(format!(
            "service account `{whole}` needs a namespace and a name; {PARSE_HELP}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(ns: &str, n: &str) -> Subject {
        Subject::ServiceAccount {
            namespace: ns.into(),
            name: n.into(),
        }
    }

    #[test]
    fn parses_every_documented_form() {
        let alice = Subject::User("alice".into());
        assert_eq!(Subject::parse("user:alice"), Ok(alice.clone()));
        assert_eq!(Subject::parse("User:alice"), Ok(alice));
        assert_eq!(
            Subject::parse("user:system:admin"),
            Ok(Subject::User("system:admin".into()))
        );
        assert_eq!(
            Subject::parse("group:ml-team"),
            Ok(Subject::Group("ml-team".into()))
        );
        assert_eq!(
            Subject::parse("Group:system:authenticated"),
            Ok(Subject::Group("system:authenticated".into()))
        );
        for s in [
            "sa:ml/trainer",
            "sa:ml:trainer",
            "serviceaccount:ml:trainer",
            "ServiceAccount:ml/trainer",
            "system:serviceaccount:ml:trainer",
        ] {
            assert_eq!(Subject::parse(s), Ok(sa("ml", "trainer")), "{s}");
        }
        for bad in [
            "alice",
            "robot:x",
            "user:",
            "sa:trainer",
            "sa:/x",
            "system:serviceaccount:ml",
        ] {
            assert!(Subject::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_round_trips() {
        for s in [
            Subject::User("alice".into()),
            Subject::Group("ml-team".into()),
            sa("ml", "trainer"),
        ] {
            assert_eq!(Subject::parse(&s.to_string()), Ok(s.clone()));
        }
        assert_eq!(sa("ml", "t").to_string(), "ServiceAccount:ml/t");
        assert_eq!(Subject::User("a".into()).to_string(), "User:a");
        assert_eq!(Subject::Group("g".into()).to_string(), "Group:g");
    }

    #[test]
    fn implicit_memberships() {
        let s = sa("ml", "trainer");
        let g = |n: &str| Subject::Group(n.into());
        assert!(s.is_covered_by(&g("system:serviceaccounts")));
        assert!(s.is_covered_by(&g("system:serviceaccounts:ml")));
        assert!(!s.is_covered_by(&g("system:serviceaccounts:other")));
        assert!(s.is_covered_by(&g("system:authenticated")));
        assert!(!s.is_covered_by(&g("system:unauthenticated")));
        assert!(s.is_covered_by(&Subject::User("system:serviceaccount:ml:trainer".into())));
        assert!(!s.is_covered_by(&sa("other", "trainer")));

        let u = Subject::User("alice".into());
        assert!(u.is_covered_by(&g("system:authenticated")));
        assert!(!u.is_covered_by(&g("ml-team")));
        assert!(!u.is_covered_by(&g("system:serviceaccounts")));
        let anon = Subject::User("system:anonymous".into());
        assert!(anon.is_covered_by(&g("system:unauthenticated")));
        assert!(!anon.is_covered_by(&g("system:authenticated")));

        assert!(g("ml-team").is_covered_by(&g("system:authenticated")));
        assert!(!g("ml-team").is_covered_by(&g("other-team")));
        assert!(g("system:serviceaccounts:ml").is_covered_by(&g("system:serviceaccounts")));
        assert!(!g("system:unauthenticated").is_covered_by(&g("system:authenticated")));
    }
}
