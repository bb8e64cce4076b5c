//! What the generator's integration tests share: a crate on disk.

#![allow(dead_code)]

use aegis_build::{Config, Error, Problem};

/// A crate in a temporary folder: `modules.toml` and `src/` files.
pub struct Crate {
    pub dir: tempfile::TempDir,
}

impl Crate {
    pub fn new(manifest: &str, sources: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("modules.toml"), manifest).unwrap();
        for (path, text) in sources {
            let path = dir.path().join("src").join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        Crate { dir }
    }

    pub fn config(&self) -> Config {
        Config::new()
            .manifest(self.dir.path().join("modules.toml"))
            .source(self.dir.path().join("src"))
            .crate_name("fixture")
    }

    pub fn problems(&self) -> Vec<(String, usize, usize, String)> {
        match self.config().generate() {
            Err(Error::Invalid(problems)) => problems
                .into_iter()
                .map(
                    |Problem {
                         file,
                         line,
                         column,
                         message,
                     }| {
                        let file = file
                            .strip_prefix(self.dir.path())
                            .unwrap_or(&file)
                            .display()
                            .to_string();
                        (file, line, column, message)
                    },
                )
                .collect(),
            Err(other) => panic!("expected problems, got {other}"),
            Ok(_) => panic!("expected problems, got none"),
        }
    }
}

pub const GENERATOR: &str = "[generator]\nweb_root = \"web\"\n";
