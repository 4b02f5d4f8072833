//! Resource profiles: named CPU and memory limits, each open to everyone or
//! to listed users and groups, with an optional per-user session cap.

use std::process::Command;

use atelier_config::ProfileConfig;
use atelier_core::{InvalidInput, UserName};
use atelier_launcher::Limits;
use serde::Serialize;

/// A profile as users see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Profile {
    /// Name users pick it by.
    pub name: String,
    /// CPUs (fractions allowed); none: not limited.
    pub cpus: Option<f64>,
    /// Memory limit, e.g. `2G`; none: not limited.
    pub memory: Option<String>,
    /// Most active sessions a user may run with it.
    pub max_sessions: Option<u32>,
    /// GPUs (Slurm clusters only).
    pub gpus: Option<u32>,
    /// Time limit in minutes (Slurm clusters only).
    pub time_limit_minutes: Option<u32>,
    #[serde(skip)]
    memory_bytes: Option<u64>,
    #[serde(skip)]
    users: Vec<String>,
    #[serde(skip)]
    groups: Vec<String>,
}

impl Profile {
    /// The limits a session with this profile is held to.
    pub fn limits(&self) -> Limits {
        Limits {
            cpus: self.cpus,
            memory: self.memory_bytes,
        }
    }

    fn open_to(&self, user: &UserName, groups: &[String]) -> bool {
        (self.users.is_empty() && self.groups.is_empty())
            || self.users.iter().any(|u| u == user.as_str())
            || self.groups.iter().any(|g| groups.contains(g))
    }
}

/// Every configured profile.
#[derive(Debug, Clone, Default)]
pub struct Profiles {
    all: Vec<Profile>,
}

impl Profiles {
    /// From the `[[profile]]` entries, in their order.
    pub fn from_config(entries: &[ProfileConfig]) -> Profiles {
        let all = entries
            .iter()
            .map(|entry| Profile {
                name: entry.name.clone(),
                cpus: entry.cpus,
                memory: entry.memory.map(|m| m.to_string()),
                max_sessions: entry.max_sessions,
                gpus: entry.gpus,
                time_limit_minutes: entry.time_limit_minutes,
                memory_bytes: entry.memory.map(|m| m.0),
                users: entry.users.clone(),
                groups: entry.groups.clone(),
            })
            .collect();
        Profiles { all }
    }

    /// The profiles `user` may pick, in configuration order.
    pub fn for_user(&self, user: &UserName) -> Vec<Profile> {
        if self.all.is_empty() {
            return Vec::new();
        }
        let groups = groups_of(user);
        self.all
            .iter()
            .filter(|p| p.open_to(user, &groups))
            .cloned()
            .collect()
    }

    /// The profile a new session gets: the one asked for (if `user` may use
    /// it), else the first one open to `user`; `None` when no profiles are
    /// configured at all.
    pub fn choose(
        &self,
        user: &UserName,
        asked: Option<&str>,
    ) -> Result<Option<Profile>, InvalidInput> {
        if self.all.is_empty() {
            return match asked {
                None => Ok(None),
                Some(name) => Err(InvalidInput::new(
                    "profile",
                    format!("there is no profile {name:?}; this server defines none"),
                )),
            };
        }
        let open = self.for_user(user);
        let chosen = match asked {
            Some(name) => open.into_iter().find(|p| p.name == name).ok_or_else(|| {
                InvalidInput::new(
                    "profile",
                    format!("there is no profile {name:?} that you may use"),
                )
            })?,
            None => open.into_iter().next().ok_or_else(|| {
                InvalidInput::new(
                    "profile",
                    "no resource profile is open to you; ask an administrator",
                )
            })?,
        };
        Ok(Some(chosen))
    }
}

/// The names of the groups `user` belongs to, through the system's own
/// lookup (so directory groups count too). Empty when it cannot be read.
fn groups_of(user: &UserName) -> Vec<String> {
    let output = Command::new("/usr/bin/id")
        .args(["-Gn", "--", user.as_str()])
        .output();
    match output {
        Ok(output) if output.status.success() => String::from_utf8_lossy(&output.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atelier_config::Config;

    fn profiles(text: &str) -> Profiles {
        Profiles::from_config(&Config::parse("t", text).unwrap().profile)
    }

    #[test]
    fn the_first_open_profile_is_the_default() {
        let p = profiles("[[profile]]\nname = \"big\"\nusers = [\"boss\"]\ncpus = 8\n[[profile]]\nname = \"small\"\ncpus = 1\nmemory = \"200M\"\n");
        let alice = UserName::parse("alice").unwrap();
        let chosen = p.choose(&alice, None).unwrap().unwrap();
        assert_eq!(chosen.name, "small");
        assert_eq!(
            chosen.limits(),
            Limits {
                cpus: Some(1.0),
                memory: Some(200 << 20)
            }
        );
        assert!(
            p.choose(&alice, Some("big")).is_err(),
            "big is only for boss"
        );
        let boss = UserName::parse("boss").unwrap();
        assert_eq!(p.choose(&boss, None).unwrap().unwrap().name, "big");
    }

    #[test]
    fn groups_open_profiles_to_their_members() {
        // root is in group root on every machine.
        let p = profiles("[[profile]]\nname = \"admins\"\ngroups = [\"root\"]\n");
        let root = UserName::parse("root").unwrap();
        assert_eq!(p.for_user(&root).len(), 1);
        let nobody = UserName::parse("nobody").unwrap();
        assert!(p.choose(&nobody, None).is_err());
    }

    #[test]
    fn without_profiles_there_are_no_limits_and_no_names() {
        let p = Profiles::default();
        let alice = UserName::parse("alice").unwrap();
        assert!(p.choose(&alice, None).unwrap().is_none());
        assert!(p.choose(&alice, Some("small")).is_err());
    }
}
