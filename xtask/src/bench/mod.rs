//! `cargo xtask bench <name>`: benchmarks print figures; they assert
//! nothing about speed, which the shared machines make noisy. Each bench
//! is a module of its own; what several share (a process of its own per
//! run, quantiles) is here and in [`crate::measure`].

mod ceiling;
mod codegen;
mod export;
mod fanout;
pub(crate) mod fanout_pg;
mod files;
pub(crate) mod import;
mod macros;
mod rest;

pub fn run(args: &[&str]) -> Result<(), String> {
    if cfg!(debug_assertions) {
        // Figures from a debug build mislead: measure an optimised one.
        return crate::run_optimised("bench", args);
    }
    match args {
        ["codegen"] => codegen::run(),
        ["import"] => crate::bench::import::compare(false),
        ["import", "--postgres"] => crate::bench::import::compare(true),
        ["macro"] => crate::bench::macros::run(),
        ["rest"] => crate::bench::rest::run(false),
        ["rest", "--postgres"] => crate::bench::rest::run(true),
        ["export"] => crate::bench::export::compare(),
        ["fanout"] => crate::bench::fanout::run(&[100, 1000]),
        ["fanout", "--postgres"] => crate::bench::fanout_pg::run(1000),
        ["fanout", "--postgres", clients] => crate::bench::fanout_pg::run(
            clients
                .parse()
                .map_err(|_| format!("`{clients}` is not a number of clients"))?,
        ),
        ["fanout", clients] => {
            let clients = clients
                .parse()
                .map_err(|_| format!("`{clients}` is not a number of clients"))?;
            crate::bench::fanout::run(&[clients])
        }
        ["browser"] => crate::e2e::bench(),
        ["ceiling"] => crate::bench::ceiling::ceiling(&[1000, 5000]),
        ["ceiling", counts @ ..] => crate::bench::ceiling::ceiling(&numbers(counts)?),
        ["connections"] => crate::bench::ceiling::connections(10_000),
        ["connections", count] => crate::bench::ceiling::connections(
            count
                .parse()
                .map_err(|_| format!("`{count}` is not a number of connections"))?,
        ),
        ["import-run", rows, history] => crate::bench::import::run_one(rows, history, None),
        ["import-run", rows, history, server] => {
            crate::bench::import::run_one(rows, history, Some(server))
        }
        ["import-raw", rows] => crate::bench::import::run_raw(rows, None),
        ["import-raw", rows, server] => crate::bench::import::run_raw(rows, Some(server)),
        ["export-run", rows] => crate::bench::export::run_one(rows),
        ["files"] => files::compare(),
        ["files-run", megabytes] => files::run_one(megabytes, None),
        ["files-run", megabytes, server] => files::run_one(megabytes, Some(server)),
        _ => Err(
            "usage: cargo xtask bench codegen | import [--postgres] | macro | rest [--postgres] | export | fanout [clients] | fanout --postgres [clients] | ceiling [clients...] | connections [count] | browser | files"
                .to_owned(),
        ),
    }
}

fn numbers(counts: &[&str]) -> Result<Vec<usize>, String> {
    counts
        .iter()
        .map(|count| {
            count
                .parse()
                .map_err(|_| format!("`{count}` is not a number of clients"))
        })
        .collect()
}

/// Runs `cargo xtask bench <task> <rows>` in a process of its own (so each
/// size's memory is its own) and reads the numbers its one line prints.
pub(crate) fn run_alone(task: &str, rows: u64, extra: &[&str]) -> Result<Vec<f64>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let output = std::process::Command::new(&exe)
        .args(["bench", task, &rows.to_string()])
        .args(extra)
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "the {rows}-row run failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect())
}
