//! Lifetimes the client chooses in its own request (`lifetimes: { session: 30m }`), sent as
//! `${lifetime.session.seconds}` and used as the token's lifetime (`requested: session`).

use std::fmt;
use std::time::Duration;

/// The unit a requested lifetime is sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LifetimeUnit {
    /// Whole seconds.
    Seconds,
    /// Whole minutes (the lifetime must be whole minutes).
    Minutes,
    /// Milliseconds.
    Milliseconds,
}

impl LifetimeUnit {
    /// The units, as written after the lifetime's name.
    pub const NAMES: &'static [&'static str] = &["seconds", "minutes", "milliseconds"];

    /// Reads `seconds`, `minutes` or `milliseconds`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "seconds" => Some(Self::Seconds),
            "minutes" => Some(Self::Minutes),
            "milliseconds" => Some(Self::Milliseconds),
            _ => None,
        }
    }

    /// The unit as written.
    pub fn name(self) -> &'static str {
        match self {
            Self::Seconds => "seconds",
            Self::Minutes => "minutes",
            Self::Milliseconds => "milliseconds",
        }
    }

    /// `duration` in this unit, or `None` when it is not a whole number of it.
    pub fn count(self, duration: Duration) -> Option<u64> {
        let millis = u64::try_from(duration.as_millis()).ok()?;
        let per = match self {
            Self::Milliseconds => 1,
            Self::Seconds => 1_000,
            Self::Minutes => 60_000,
        };
        (millis.is_multiple_of(per) && duration.subsec_nanos().is_multiple_of(1_000_000))
            .then_some(millis / per)
    }
}

/// `${lifetime.NAME.UNIT}`: a declared lifetime, sent as a number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LifetimeRef {
    /// The name declared under `lifetimes:`.
    pub name: String,
    /// The unit it is sent in.
    pub unit: LifetimeUnit,
    /// The declared lifetime (filled in by validation; zero in a template parsed on its own).
    pub duration: Duration,
}

impl LifetimeRef {
    /// The number sent: the lifetime in its unit (whole, checked by validation).
    pub fn value(&self) -> u64 {
        self.unit.count(self.duration).unwrap_or_default()
    }
}

impl fmt::Display for LifetimeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${{lifetime.{}.{}}}", self.name, self.unit.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_whole_units_only() {
        let half_hour = Duration::from_secs(1800);
        assert_eq!(LifetimeUnit::Minutes.count(half_hour), Some(30));
        assert_eq!(LifetimeUnit::Seconds.count(half_hour), Some(1800));
        assert_eq!(LifetimeUnit::Milliseconds.count(half_hour), Some(1_800_000));
        assert_eq!(LifetimeUnit::Minutes.count(Duration::from_secs(90)), None);
        assert_eq!(
            LifetimeUnit::Seconds.count(Duration::from_millis(1500)),
            None
        );
    }
}
