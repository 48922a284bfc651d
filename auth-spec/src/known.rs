//! The first pass over a spec: every key and every named value checked against the format's
//! JSON Schema, so that all unknown keys, unknown values and missing keys of a file are reported
//! at once (the typed parse stops at its first error, and ignores unknown keys so that the later
//! checks still run).
//!
//! The key sets come from the schema generated from [`crate::raw`], so they cannot drift from
//! the types the file is parsed into.

use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::{Location, Spanned};

use crate::diagnostic::Diagnostic;

/// A YAML document as written, with the location of every key and value.
#[derive(Debug)]
pub(crate) enum Tree {
    /// `null`, a boolean or a number: never a key set nor a named value.
    Other,
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Spanned<Tree>>),
    /// A mapping, in file order, with the location of each key.
    Map(Vec<(Spanned<String>, Spanned<Tree>)>),
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TreeVisitor)
    }
}

struct TreeVisitor;

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = Tree;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Tree, E> {
        Ok(Tree::Other)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Tree, E> {
        Ok(Tree::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Tree, E> {
        Ok(Tree::Other)
    }

    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Tree, E> {
        Ok(Tree::Other)
    }

    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Tree, E> {
        Ok(Tree::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Tree, E> {
        Ok(Tree::Other)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Tree, E> {
        Ok(Tree::Str(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Tree, E> {
        Ok(Tree::Str(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Tree, E> {
        Ok(Tree::Other)
    }

    fn visit_none<E: de::Error>(self) -> Result<Tree, E> {
        Ok(Tree::Other)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Tree, D::Error> {
        Tree::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Tree>>()? {
            items.push(item);
        }
        Ok(Tree::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<Spanned<Tree>>()?;
            entries.push((key, value));
        }
        Ok(Tree::Map(entries))
    }
}

/// What the first pass found.
#[derive(Default)]
pub(crate) struct Findings {
    /// Unknown keys, unknown values and missing keys, in the order met.
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// Keys reported missing, or suggested for an unknown key: the typed parse's "missing key"
    /// error for one of them says nothing new.
    pub(crate) explained_missing: HashSet<String>,
    /// The keys suggested for unknown keys ("did you mean"): the file most likely meant them.
    pub(crate) suggested: HashSet<String>,
}

impl Findings {
    /// Whether a later check's problem is only the consequence of a misspelt key: it names the
    /// key the misspelling was most likely meant to be (`encodng: json` leaves "the body has no
    /// `encoding`").
    pub(crate) fn follows_from_a_misspelling(&self, d: &Diagnostic) -> bool {
        let text = format!("{} {}", d.message, d.hint.as_deref().unwrap_or(""));
        self.suggested
            .iter()
            .any(|k| text.contains(&format!("`{k}`")) || text.contains(&format!("`{k}:")))
    }
}

/// Checks `tree` (the whole file) against the spec format.
pub(crate) fn check(file: &str, tree: &Spanned<Tree>) -> Findings {
    let schema = schema();
    let mut walk = Walk {
        file,
        defs: schema.get("$defs").unwrap_or(&Value::Null),
        found: Findings::default(),
    };
    walk.node(tree, schema);
    walk.found
}

fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::to_value(schemars::schema_for!(crate::raw::RawSpec)).unwrap_or_default()
    })
}

struct Walk<'a> {
    file: &'a str,
    defs: &'a Value,
    found: Findings,
}

impl<'a> Walk<'a> {
    /// Follows a `$ref` into `$defs`.
    fn resolve(&self, schema: &'a Value) -> &'a Value {
        let mut here = schema;
        // A reference chain is at most a few links; the bound guards against a cycle.
        for _ in 0..8 {
            let Some(name) = here
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/$defs/"))
            else {
                break;
            };
            match self.defs.get(name) {
                Some(next) => here = next,
                None => break,
            }
        }
        here
    }

    fn push(&mut self, at: Location, message: String, hint: String) {
        self.found.diagnostics.push(Diagnostic {
            file: self.file.to_owned(),
            line: at.line(),
            column: at.column(),
            message,
            hint: Some(hint),
        });
    }

    fn node(&mut self, node: &Spanned<Tree>, schema: &'a Value) {
        let schema = self.resolve(schema);
        if let Some(branches) = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Value::as_array)
        {
            self.branches(node, branches);
            return;
        }
        if let (Some(allowed), Tree::Str(text)) = (named_values(schema), &node.value) {
            if !allowed.iter().any(|a| a == text) {
                self.unknown_value(node.referenced, text, &allowed);
            }
            return;
        }
        match &node.value {
            Tree::Map(entries) => self.mapping(node.referenced, entries, schema),
            Tree::Seq(items) => {
                if let Some(item) = schema.get("items") {
                    for i in items {
                        self.node(i, item);
                    }
                }
            }
            Tree::Str(_) | Tree::Other => {}
        }
    }

    fn unknown_value(&mut self, at: Location, text: &str, allowed: &[String]) {
        self.push(
            at,
            format!("unknown value `{text}`"),
            crate::unknown_hint(text, &as_strs(allowed), "values allowed here"),
        );
    }

    /// An optional value (`X` or null), or one of an enum's variants: a name, or a mapping of
    /// one variant key to its settings.
    fn branches(&mut self, node: &Spanned<Tree>, branches: &'a [Value]) {
        let branches: Vec<&'a Value> = branches
            .iter()
            .map(|b| self.resolve(b))
            .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"))
            .collect();
        if let [only] = branches.as_slice() {
            if !matches!(node.value, Tree::Other) {
                self.node(node, only);
            }
            return;
        }
        // Each branch must be a variant name or a one-key variant mapping; anything else
        // (a size written as a number or a text) is left to the typed parse.
        let mut names = Vec::new();
        let mut keyed: Vec<(&'a str, &'a Value)> = Vec::new();
        // A name or a whole mapping (`usage: unknown` or `usage: { headers: ... }`).
        let mut object: Option<&'a Value> = None;
        for b in &branches {
            if let Some(values) = named_values(b) {
                names.extend(values);
            } else if let Some((key, inner)) = variant_key(b) {
                names.push(key.to_owned());
                keyed.push((key, inner));
            } else if object.is_none() && b.get("properties").is_some() {
                object = Some(b);
            } else {
                return;
            }
        }
        if let (Some(object), Tree::Map(_), true) = (object, &node.value, keyed.is_empty()) {
            self.node(node, object);
            return;
        }
        match &node.value {
            Tree::Str(text) => {
                let plain = names
                    .iter()
                    .filter(|n| !keyed.iter().any(|(k, _)| k == n))
                    .any(|n| n == text);
                if !plain && !keyed.iter().any(|(k, _)| k == text) {
                    self.unknown_value(node.referenced, text, &names);
                }
            }
            Tree::Map(entries) if entries.len() == 1 => {
                let (key, value) = &entries[0];
                match keyed.iter().find(|(k, _)| *k == key.value) {
                    Some((_, inner)) => self.node(value, inner),
                    None => self.unknown_value(key.referenced, &key.value, &names),
                }
            }
            _ => {}
        }
    }

    fn mapping(
        &mut self,
        at: Location,
        entries: &[(Spanned<String>, Spanned<Tree>)],
        schema: &'a Value,
    ) {
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        let mut suggested = HashSet::new();
        if let Some(properties) = properties {
            let known: Vec<&str> = properties.keys().map(String::as_str).collect();
            for (key, value) in entries {
                match properties.get(&key.value) {
                    Some(inner) => self.node(value, inner),
                    None if additional == Some(&Value::Bool(false)) => {
                        if let Some(near) = crate::suggest::closest(&key.value, &known) {
                            suggested.insert(near.to_owned());
                        }
                        self.push(
                            key.referenced,
                            format!("unknown key `{}`", key.value),
                            crate::unknown_hint(&key.value, &known, "keys allowed here"),
                        );
                    }
                    None => {}
                }
            }
        } else if let Some(inner) = additional.filter(|a| a.is_object()) {
            for (_, value) in entries {
                self.node(value, inner);
            }
        }
        let required = schema
            .get("required")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        // Reported at the mapping's first key, as the typed parse reports one.
        let first = entries.first().map_or(at, |(k, _)| k.referenced);
        for name in required.iter().filter_map(Value::as_str) {
            if entries.iter().any(|(k, _)| k.value == name) {
                continue;
            }
            self.found.explained_missing.insert(name.to_owned());
            // A misspelt key is one problem, not two.
            if suggested.contains(name) {
                continue;
            }
            self.push(
                first,
                format!("missing key `{name}` in this mapping"),
                format!("add `{name}:`; README.md's \"Spec format reference\" says what it holds"),
            );
        }
        self.found
            .explained_missing
            .extend(suggested.iter().cloned());
        self.found.suggested.extend(suggested);
    }
}

/// The names a plain enum allows (`enum` or `const` strings), if `schema` is one.
fn named_values(schema: &Value) -> Option<Vec<String>> {
    if let Some(c) = schema.get("const").and_then(Value::as_str) {
        return Some(vec![c.to_owned()]);
    }
    // An enum whose variants carry docs: `oneOf` of documented constants.
    if let Some(variants) = schema.get("oneOf").and_then(Value::as_array) {
        return variants
            .iter()
            .map(|v| v.get("const").and_then(Value::as_str).map(str::to_owned))
            .collect();
    }
    let values = schema.get("enum")?.as_array()?;
    values
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// The key and settings schema of an enum variant written as a one-key mapping.
fn variant_key(schema: &Value) -> Option<(&str, &Value)> {
    let properties = schema.get("properties")?.as_object()?;
    if properties.len() != 1 || schema.get("additionalProperties") != Some(&Value::Bool(false)) {
        return None;
    }
    properties.iter().next().map(|(k, v)| (k.as_str(), v))
}

fn as_strs(names: &[String]) -> Vec<&str> {
    names.iter().map(String::as_str).collect()
}
