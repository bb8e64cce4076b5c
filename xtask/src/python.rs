//! Python tools from PyPI (schemathesis, moto), each in its own virtual
//! environment under `target/`, installed when missing or of another
//! release.

use std::path::Path;

use crate::run_in;

/// The path of `command` in the virtual environment `target/<dir>`, with
/// `requirement` (a pinned `name==version`) installed there first when
/// it is not yet.
pub fn tool(root: &Path, dir: &str, requirement: &str, command: &str) -> Result<String, String> {
    let venv = crate::target_dir()?.join(dir);
    let stamp = venv.join("installed");
    let program = venv.join("bin").join(command);
    let installed = std::fs::read_to_string(&stamp).unwrap_or_default();
    if installed.trim() != requirement || !program.exists() {
        let _ = std::fs::remove_dir_all(&venv);
        let venv_text = venv.to_string_lossy();
        run_in(root, &[], "python3", &["-m", "venv", &venv_text])?;
        let pip = venv.join("bin/pip");
        run_in(
            root,
            &[],
            &pip.to_string_lossy(),
            &[
                "install",
                "--quiet",
                "--disable-pip-version-check",
                requirement,
            ],
        )?;
        std::fs::write(&stamp, requirement).map_err(|e| e.to_string())?;
    }
    Ok(program.to_string_lossy().into_owned())
}
