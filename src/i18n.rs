//! English and Khmer: the language a request is served in, and the Fluent
//! messages of `locales/`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader as _, langid};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // Unicode isolation marks around arguments show as boxes in some Khmer fonts.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// Every message as `t` gives it (without arguments), in each language
/// (`Lang::ALL` order), looked up once: a page asks for hundreds (a label on
/// every row), and each Fluent lookup negotiates the language and formats
/// the message anew.
static MESSAGES: LazyLock<[HashMap<&'static str, String>; 2]> = LazyLock::new(|| {
    let keys: Vec<&'static str> = include_str!("../locales/en/main.ftl")
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once(" = ").map(|(key, _)| key))
        .collect();
    Lang::ALL.map(|lang| {
        keys.iter()
            .map(|key| (*key, LOCALES.lookup(lang.id(), key)))
            .collect()
    })
});

static ENGLISH: LanguageIdentifier = langid!("en");
static KHMER: LanguageIdentifier = langid!("km");

/// The name of the cookie that remembers a visitor's language.
pub const LANG_COOKIE: &str = "lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    En,
    Km,
}

impl Lang {
    /// A record's text in this language where it has one, else in the other.
    pub fn pick<'a>(self, en: &'a str, km: &'a str) -> &'a str {
        match self {
            Lang::Km if !km.is_empty() => km,
            Lang::En if en.is_empty() => km,
            _ => en,
        }
    }

    pub const ALL: [Lang; 2] = [Lang::En, Lang::Km];

    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "en" => Some(Lang::En),
            "km" => Some(Lang::Km),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Km => "km",
        }
    }

    /// The language's own name, for the language switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Km => "ខ្មែរ",
        }
    }

    fn id(self) -> &'static LanguageIdentifier {
        match self {
            Lang::En => &ENGLISH,
            Lang::Km => &KHMER,
        }
    }

    /// The message `key` in this language.
    pub fn t(self, key: &str) -> String {
        match MESSAGES[self as usize].get(key) {
            Some(message) => message.clone(),
            None => LOCALES.lookup(self.id(), key),
        }
    }

    /// The message `key` with its `{ $name }` placeholders filled in.
    pub fn t_with(self, key: &str, args: &[(&'static str, String)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue> = args
            .iter()
            .map(|(name, value)| (Cow::Borrowed(*name), FluentValue::from(value.clone())))
            .collect();
        LOCALES.lookup_with_args(self.id(), key, &args)
    }
}

/// The language asked for in a `Cookie` header, if any.
pub fn lang_from_cookie_header(header: &str) -> Option<Lang> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == LANG_COOKIE)
        .and_then(|(_, value)| Lang::parse(value))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    fn keys(lang: &str) -> BTreeSet<String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("locales/{lang}/main.ftl"));
        std::fs::read_to_string(path)
            .expect("messages")
            .lines()
            .filter_map(|line| line.split_once(" = ").map(|(key, _)| key.to_owned()))
            .collect()
    }

    #[test]
    fn messages_looked_up_once_are_those_fluent_gives() {
        for lang in Lang::ALL {
            for key in keys(lang.code()) {
                assert_eq!(lang.t(&key), LOCALES.lookup(lang.id(), &key), "{key}");
            }
        }
        assert_eq!(MESSAGES[Lang::Km as usize].len(), keys("km").len());
    }

    /// The messages of `lang`, key and text.
    fn messages(lang: &str) -> Vec<(String, String)> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("locales/{lang}/main.ftl"));
        std::fs::read_to_string(path)
            .expect("messages")
            .lines()
            .filter_map(|line| line.split_once(" = "))
            .map(|(key, text)| (key.to_owned(), text.to_owned()))
            .collect()
    }

    /// docs/glossary.md: endorsing is គាំទ្រ, never យល់ព្រម (kept for a
    /// person's consent), and what an action does is "implement", never
    /// "support", which reads as endorse in Khmer.
    #[test]
    fn the_messages_keep_to_the_glossary() {
        let consent = ["attachment-hint"];
        let strays: Vec<String> = messages("km")
            .into_iter()
            .filter(|(key, text)| {
                text.contains("ឯកភាព") || text.contains("យល់ព្រម") && !consent.contains(&key.as_str())
            })
            .map(|(key, _)| key)
            .collect();
        assert!(strays.is_empty(), "another word for endorse in {strays:?}");
        let endorsing: Vec<(String, String)> = messages("en")
            .into_iter()
            .filter(|(_, text)| text.contains("endorse"))
            .collect();
        assert!(endorsing.len() > 20);
        let khmer: std::collections::BTreeMap<String, String> =
            messages("km").into_iter().collect();
        for (key, _) in &endorsing {
            assert!(
                khmer[key].contains("គាំទ្រ"),
                "{key} says endorse in English, not in Khmer"
            );
        }
        let approving: Vec<String> = messages("en")
            .into_iter()
            .filter(|(_, text)| {
                text.to_lowercase().contains("approv") || text.contains(" supports")
            })
            .map(|(key, _)| key)
            .collect();
        assert!(approving.is_empty(), "{approving:?}");
    }

    #[test]
    fn english_and_khmer_have_the_same_messages() {
        assert_eq!(keys("en"), keys("km"));
    }

    /// Every message a template or the code looks up by a literal key exists.
    #[test]
    fn every_message_used_exists() {
        let known = keys("en");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut missing = Vec::new();
        let mut stack = vec![root.join("templates"), root.join("src")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).expect("folder").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for piece in text.split(".t(\"").skip(1) {
                    let key = piece.split('"').next().unwrap_or_default();
                    let looks_like_key =
                        !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '-');
                    if looks_like_key && !known.contains(key) {
                        missing.push(format!("{}: {key}", path.display()));
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "messages missing from locales/: {missing:#?}"
        );
    }

    /// The messages chosen by a code: roles, kinds of organization, types of
    /// place, and error pages.
    #[test]
    fn every_composed_message_exists() {
        let known = keys("en");
        let mut wanted: Vec<String> = Vec::new();
        for role in crate::auth::policy::Role::ALL {
            wanted.push(format!("role-{}", role.code()));
            wanted.push(format!("home-role-{}", role.code()));
        }
        for kind in crate::admin::organizations::KINDS {
            wanted.push(format!("kind-{kind}"));
        }
        let composed: [(&str, &[&str]); 7] = [
            ("agreement-kind", &crate::agreements::KINDS),
            ("agreement-status", &crate::agreements::STATUSES),
            ("agreement-to", &crate::agreements::STATUSES[1..]),
            ("event-kind", &crate::events::KINDS),
            ("level", &crate::events::LEVELS),
            ("participant-kind", &crate::events::ORGANIZATION_KINDS),
            ("project-status", &crate::projects::STATUSES),
        ];
        for (prefix, codes) in composed {
            wanted.extend(codes.iter().map(|code| format!("{prefix}-{code}")));
        }
        wanted.extend((1..=12).map(|month| format!("month-{month}")));
        for code in crate::api::problem::CODES {
            let code = code.replace('_', "-");
            wanted.push(format!("api-problem-{code}-title"));
            wanted.push(format!("api-problem-{code}-detail"));
        }
        for (prefix, codes) in [
            ("api-scope", &["read", "write"][..]),
            ("api-token-state", &["active", "expired", "revoked"][..]),
        ] {
            wanted.extend(codes.iter().map(|code| format!("{prefix}-{code}")));
        }
        for (path, item) in &crate::api::document().paths.paths {
            for (method, offered) in [("GET", item.get.is_some()), ("POST", item.post.is_some())] {
                if offered {
                    wanted.push(crate::api::endpoint_key(method, path));
                }
            }
        }
        for action in ["created", "updated", "signed", "ended", "expired"] {
            wanted.push(format!("audit-agreement_{action}"));
        }
        for kind in [
            "province",
            "capital",
            "municipality",
            "district",
            "khan",
            "commune",
            "sangkat",
        ] {
            wanted.push(format!("type-{kind}"));
        }
        for error in [
            "not-found",
            "forbidden",
            "bad-request",
            "csrf",
            "too-many",
            "internal",
        ] {
            wanted.push(format!("error-{error}-title"));
            wanted.push(format!("error-{error}-body"));
        }
        let missing: Vec<&String> = wanted.iter().filter(|key| !known.contains(*key)).collect();
        assert!(missing.is_empty(), "{missing:?}");
    }

    #[test]
    fn khmer_messages_are_khmer_and_fill_their_arguments() {
        assert_eq!(Lang::Km.t("nav-home"), "ទំព័រដើម");
        assert_eq!(
            Lang::En.t_with("import-field-count", &[("value", "7".into())]),
            "This line has 7 fields instead of 5."
        );
        assert_eq!(lang_from_cookie_header("a=b; lang=km"), Some(Lang::Km));
        assert_eq!(lang_from_cookie_header("lang=fr"), None);
    }
}
