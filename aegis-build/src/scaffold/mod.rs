//! A new Aegis project (`cargo aegis new`): a crate serving one sample
//! module with `aegis::server`, its build script and modules.toml, tests,
//! and the Angular shell the generated features live in. Pure: the files
//! by path, for the caller to write.
//!
//! The templates are under `templates/scaffold/`, beside the generator's
//! other templates; a name ending in `.hbs` is rendered (strict, no
//! escaping), any other is copied as it is.

mod add;

use std::collections::BTreeMap;
use std::path::PathBuf;

use handlebars::Handlebars;
use heck::{ToSnakeCase, ToTitleCase};
use serde::Serialize;

use crate::error::Error;

pub use add::{NewModule, add_module};

/// Where a project takes the Aegis crates from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A checkout of the Aegis repository (its root folder).
    Path(PathBuf),
    /// A git repository, at a revision if given.
    Git { url: String, rev: Option<String> },
    /// A published version.
    Version(String),
}

impl Source {
    /// The dependency's inline-table keys for `crate_dir` (`aegis` or
    /// `aegis-build`), as Cargo.toml text.
    fn keys(&self, crate_dir: &str) -> String {
        let quoted = |text: &str| toml::Value::String(text.to_owned()).to_string();
        match self {
            Source::Path(root) => {
                format!("path = {}", quoted(&root.join(crate_dir).to_string_lossy()))
            }
            Source::Git { url, rev } => match rev {
                Some(rev) => format!("git = {}, rev = {}", quoted(url), quoted(rev)),
                None => format!("git = {}", quoted(url)),
            },
            Source::Version(version) => format!("version = {}", quoted(version)),
        }
    }
}

/// What a new project is called and built from.
#[derive(Clone, Debug)]
pub struct Scaffold {
    /// The package name: lowercase letters, digits, `-` and `_`.
    pub name: String,
    pub source: Source,
}

#[derive(Serialize)]
struct Context<'a> {
    /// The package name.
    name: &'a str,
    /// The name Rust code uses for the crate.
    crate_name: String,
    /// The name people read (page title, toolbar).
    title: String,
    /// The `aegis` dependency's keys.
    aegis: String,
    /// The `aegis-build` dependency's keys.
    aegis_build: String,
}

struct File {
    /// The template's path under `templates/scaffold/`.
    path: &'static str,
    text: &'static str,
}

macro_rules! scaffold_files {
    ($($path:literal),* $(,)?) => {
        &[$(File { path: $path, text: include_str!(concat!("../../templates/scaffold/", $path)) }),*]
    };
}

const FILES: &[File] = scaffold_files![
    "Cargo.toml.hbs",
    "README.md.hbs",
    "build.rs",
    "gitignore",
    "modules.toml",
    "src/lib.rs.hbs",
    "src/main.rs.hbs",
    "tests/api.rs.hbs",
    "tests/events.rs",
    "web/angular.json",
    "web/package-lock.json",
    "web/package.json",
    "web/proxy.conf.json",
    "web/src/app/app.config.ts",
    "web/src/app/app.html.hbs",
    "web/src/app/app.routes.ts",
    "web/src/app/app.scss",
    "web/src/app/app.ts",
    "web/src/app/pages/about.page.ts.hbs",
    "web/src/app/sign-in/oidc-sign-in.ts",
    "web/src/index.html.hbs",
    "web/src/main.ts",
    "web/src/styles.scss",
    "web/tsconfig.app.json",
    "web/tsconfig.json",
];

/// Whether `name` can name a package (and so a crate).
pub fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_well =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !starts_well || !rest_well {
        return Err(format!(
            "`{name}` cannot name a package: use lowercase letters, digits, `-` and `_`, \
             starting with a letter"
        ));
    }
    if matches!(name, "aegis" | "aegis-build" | "test" | "build" | "web") {
        return Err(format!("`{name}` is taken; choose another name"));
    }
    Ok(())
}

/// The new project's files, by path relative to its folder.
pub fn scaffold(project: &Scaffold) -> Result<BTreeMap<PathBuf, String>, Error> {
    check_name(&project.name).map_err(Error::Config)?;
    let context = Context {
        name: &project.name,
        crate_name: project.name.to_snake_case(),
        title: project.name.to_title_case(),
        aegis: project.source.keys("aegis"),
        aegis_build: project.source.keys("aegis-build"),
    };
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    registry.register_escape_fn(handlebars::no_escape);
    let mut files = BTreeMap::new();
    for file in FILES {
        let (path, text) = match file.path.strip_suffix(".hbs") {
            Some(path) => (
                path,
                registry
                    .render_template(file.text, &context)
                    .map_err(|e| Error::Template {
                        name: format!("scaffold/{}", file.path),
                        message: e.to_string(),
                    })?,
            ),
            None => (file.path, file.text.to_owned()),
        };
        // A file named `.gitignore` would hide itself from some packagers.
        let path = if path == "gitignore" {
            ".gitignore"
        } else {
            path
        };
        files.insert(PathBuf::from(path), text);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop(source: Source) -> BTreeMap<PathBuf, String> {
        scaffold(&Scaffold {
            name: "corner-shop".into(),
            source,
        })
        .unwrap()
    }

    #[test]
    fn every_template_is_listed() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/scaffold");
        let on_disk: Vec<String> = walkdir::WalkDir::new(root)
            .into_iter()
            .map(Result::unwrap)
            .filter(|entry| entry.file_type().is_file())
            .map(|entry| {
                entry
                    .path()
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect();
        let mut listed: Vec<&str> = FILES.iter().map(|f| f.path).collect();
        let mut on_disk: Vec<&str> = on_disk.iter().map(String::as_str).collect();
        listed.sort_unstable();
        on_disk.sort_unstable();
        assert_eq!(listed, on_disk);
    }

    #[test]
    fn names_and_sources_reach_the_files() {
        let files = shop(Source::Path(PathBuf::from("/src/aegis")));
        let cargo = &files[&PathBuf::from("Cargo.toml")];
        assert!(cargo.contains("name = \"corner-shop\""), "{cargo}");
        assert!(
            cargo.contains("aegis = { path = \"/src/aegis/aegis\", features = [\"server\"] }"),
            "{cargo}"
        );
        assert!(cargo.contains("aegis-build = { path = \"/src/aegis/aegis-build\" }"));
        let parsed: toml::Table = cargo.parse().expect("Cargo.toml is TOML");
        assert_eq!(parsed["package"]["name"].as_str(), Some("corner-shop"));
        assert!(
            files[&PathBuf::from("src/main.rs")]
                .contains("corner_shop::server().main(\"corner-shop\")")
        );
        assert!(files[&PathBuf::from("web/src/index.html")].contains("<title>Corner Shop</title>"));
        let shell = &files[&PathBuf::from("web/src/app/app.html")];
        assert!(shell.contains("<span>Corner Shop</span>") && shell.contains("{{page.title}}"));
        assert!(files.contains_key(&PathBuf::from(".gitignore")));
        assert!(
            files
                .keys()
                .all(|path| path.extension().is_none_or(|ext| ext != "hbs"))
        );

        let git = shop(Source::Git {
            url: "https://example.com/aegis.git".into(),
            rev: Some("abc123".into()),
        });
        assert!(git[&PathBuf::from("Cargo.toml")].contains(
            "aegis-build = { git = \"https://example.com/aegis.git\", rev = \"abc123\" }"
        ));
        let published = shop(Source::Version("0.1".into()));
        assert!(
            published[&PathBuf::from("Cargo.toml")]
                .contains("aegis = { version = \"0.1\", features")
        );
    }

    #[test]
    fn the_sample_modules_toml_is_valid() {
        let files = shop(Source::Version("0.1".into()));
        let manifest: aegis_model::manifest::Manifest =
            toml::from_str(&files[&PathBuf::from("modules.toml")]).unwrap();
        for (name, entry) in &manifest.modules {
            aegis_model::ir::Module::from_manifest_entry(name, entry).unwrap();
        }
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in ["Shop", "1shop", "my shop", "", "shop!", "aegis"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        check_name("shop_2-b").unwrap();
    }
}
