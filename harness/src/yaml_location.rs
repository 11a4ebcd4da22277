//! Where a node of a YAML document is (line and column), for errors found after the document was
//! read: an unknown profile, a key of the wrong length, two meters on one port.
//!
//! serde_yaml gives a position only to errors raised while it deserializes. [`locate`] therefore
//! walks the document again with a deserializer that stops with an error at the node asked for,
//! and takes that error's position: the same positions serde_yaml gives its own errors, with no
//! second YAML parser.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One step on the way to a node: a mapping key or a sequence index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// The value of this key in a mapping.
    Key(&'a str),
    /// The element at this index (0-based) in a sequence.
    Index(usize),
}

/// A position in a text: 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

impl Location {
    /// The position of a serde_yaml error, if it has one.
    pub fn of(error: &serde_yaml::Error) -> Option<Location> {
        error.location().map(|l| Location {
            line: l.line(),
            column: l.column(),
        })
    }
}

/// The error [`Seek`] stops with at the node it looks for.
const FOUND: &str = "meterlab-yaml-location: found";

/// The position of the node at `path` in the YAML document `text`: for a key's value, where the
/// value starts; `None` if the text is not YAML or has no such node.
pub fn locate(text: &str, path: &[Step<'_>]) -> Option<Location> {
    let de = serde_yaml::Deserializer::from_str(text);
    match (Seek { path, target: Here }).deserialize(de) {
        Err(e) if e.to_string().contains(FOUND) => Location::of(&e),
        _ => None,
    }
}

/// The position of the key `key` itself (not its value) in the mapping at `path`.
pub fn locate_key(text: &str, path: &[Step<'_>], key: &str) -> Option<Location> {
    let de = serde_yaml::Deserializer::from_str(text);
    match (Seek {
        path,
        target: KeyOf(key),
    })
    .deserialize(de)
    {
        Err(e) if e.to_string().contains(FOUND) => Location::of(&e),
        _ => None,
    }
}

/// Walks `path`, then fails at the node there (or, with [`KeyOf`], at a key of it).
struct Seek<'p, 'a, T> {
    path: &'p [Step<'a>],
    target: T,
}

/// At the end of the path, fails at the key `.0` of the mapping found, not at its value.
#[derive(Clone, Copy)]
struct KeyOf<'k>(&'k str);

/// A node's end of the walk.
trait Target: Copy {
    fn found<'de, D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error>;
}

#[derive(Clone, Copy)]
struct Here;

impl Target for Here {
    fn found<'de, D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(Fail)
    }
}

impl Target for KeyOf<'_> {
    fn found<'de, D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(FailAtKey(self.0))
    }
}

impl<'de, T: Target> DeserializeSeed<'de> for Seek<'_, '_, T> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let Seek { path, target } = self;
        match path.split_first() {
            None => target.found(d),
            Some((Step::Key(key), rest)) => d.deserialize_map(InMap { key, rest, target }),
            Some((Step::Index(index), rest)) => d.deserialize_seq(InSeq {
                index: *index,
                rest,
                target,
            }),
        }
    }
}

struct InMap<'p, 'a, T> {
    key: &'a str,
    rest: &'p [Step<'a>],
    target: T,
}

impl<'de, T: Target> Visitor<'de> for InMap<'_, '_, T> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a mapping with `{}`", self.key)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<serde_yaml::Value>()? {
            if key.as_str() == Some(self.key) {
                return map.next_value_seed(Seek {
                    path: self.rest,
                    target: self.target,
                });
            }
            map.next_value::<IgnoredAny>()?;
        }
        Err(de::Error::custom("no such key"))
    }
}

struct InSeq<'p, 'a, T> {
    index: usize,
    rest: &'p [Step<'a>],
    target: T,
}

impl<'de, T: Target> Visitor<'de> for InSeq<'_, '_, T> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a sequence of more than {} elements", self.index)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        for _ in 0..self.index {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Err(de::Error::custom("no such element"));
            }
        }
        match seq.next_element_seed(Seek {
            path: self.rest,
            target: self.target,
        })? {
            Some(()) => Ok(()),
            None => Err(de::Error::custom("no such element")),
        }
    }
}

/// Fails at whatever node it is given.
struct Fail;

impl<'de> Visitor<'de> for Fail {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any node")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_some<D: de::Deserializer<'de>>(self, _: D) -> Result<(), D::Error> {
        Err(de::Error::custom(FOUND))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(FOUND))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(FOUND))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(FOUND))
    }
}

/// Fails at the key `.0` of a mapping.
struct FailAtKey<'k>(&'k str);

impl<'de> Visitor<'de> for FailAtKey<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a mapping with `{}`", self.0)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(()) = map.next_key_seed(KeyIs(self.0))? {
            map.next_value::<IgnoredAny>()?;
        }
        Err(de::Error::custom("no such key"))
    }
}

/// A mapping key: fails if it is `.0` (while its scalar is read, so the error has its
/// position).
struct KeyIs<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scalar key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        if v == self.0 {
            return Err(E::custom(FOUND));
        }
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod test {
    use super::*;

    const TEXT: &str = "meters:\n  - profile: dsmr-5.0\n    pty: /tmp/a\n  - profile: nope\n    tcp: \"127.0.0.1:1\"\n    faults:\n      - noise: { ber: 1 }\n";

    fn at(line: usize, column: usize) -> Option<Location> {
        Some(Location { line, column })
    }

    #[test]
    fn finds_values_by_path() {
        use Step::*;
        assert_eq!(
            locate(TEXT, &[Key("meters"), Index(0), Key("pty")]),
            at(3, 10)
        );
        assert_eq!(
            locate(TEXT, &[Key("meters"), Index(1), Key("profile")]),
            at(4, 14)
        );
        assert_eq!(
            locate(TEXT, &[Key("meters"), Index(1), Key("tcp")]),
            at(5, 10)
        );
        assert_eq!(locate(TEXT, &[Key("meters"), Index(1)]), at(4, 5));
        assert_eq!(
            locate(
                TEXT,
                &[
                    Key("meters"),
                    Index(1),
                    Key("faults"),
                    Index(0),
                    Key("noise"),
                    Key("ber")
                ]
            ),
            at(7, 23)
        );
        assert_eq!(locate(TEXT, &[Key("meters"), Index(2)]), None);
        assert_eq!(
            locate(TEXT, &[Key("meters"), Index(0), Key("colour")]),
            None
        );
        assert_eq!(locate("a: [\nb: 1", &[Key("b")]), None);
    }

    #[test]
    fn finds_keys() {
        use Step::*;
        assert_eq!(
            locate_key(TEXT, &[Key("meters"), Index(1)], "tcp"),
            at(5, 5)
        );
        assert_eq!(locate_key(TEXT, &[Key("meters"), Index(1)], "colour"), None);
    }
}
