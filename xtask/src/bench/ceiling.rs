//! `cargo xtask bench ceiling [clients...]` and `cargo xtask bench
//! connections [N]`: Aegis and the Socket.IO v4 baseline, each as two
//! instances on a throwaway PostgreSQL (the same clusters as `bench fanout
//! --postgres`), side by side in one run.
//!
//! The ceiling raises the offered rate step by step (×1.5, each step 4 s of
//! creates, fresh clients) until p99 exceeds 100 ms or deliveries fall
//! behind, and reports the highest rate sustained. Connections measures the
//! servers' memory per idle authenticated, subscribed connection and how
//! fast connections are set up. Where the machine has 4 CPUs or more, the
//! servers run on the lower half and the load generator (this process) on
//! the upper half. Each step prints the CPU milliseconds per thousand
//! deliveries of the servers and of the clients: where they share the
//! CPUs, the clients' share bounds how far apart two systems' ceilings can
//! be.

use std::time::Instant;

use crate::bench::fanout_pg::{Cluster, Figures, System, prepare};
use crate::postgres::Postgres;
use crate::workspace_root;

/// The first step offers this many deliveries per second.
const FIRST_OFFER: f64 = 5_000.0;
const STEP: f64 = 1.5;
/// Steps that halve the interval between the last rate sustained and the
/// first one not.
const REFINE: usize = 2;
const STEP_SECONDS: f64 = 4.0;
const MAX_STEPS: usize = 12;
/// A step is sustained when p99 stays within this and ...
const P99_LIMIT_MS: f64 = 100.0;
/// ... deliveries keep up with this share of the offered rate.
const KEEP_UP: f64 = 0.9;

/// Runs `work` on a runtime made after pinning this process away from the
/// servers, whose command prefix it is given.
fn pinned<T>(work: impl FnOnce(&[String]) -> Result<T, String>) -> Result<T, String> {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    if cpus < 4 {
        println!(
            "{cpus} CPUs: too few to pin the load generator apart; servers, PostgreSQL and clients share them"
        );
        return work(&[]);
    }
    let half = cpus / 2;
    let generator = format!("{half}-{}", cpus - 1);
    let status = std::process::Command::new("taskset")
        .args(["-p", "-c", &generator, &std::process::id().to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("cannot run taskset: {e}"))?;
    if !status.success() {
        return Err("taskset could not pin the load generator".to_owned());
    }
    println!(
        "{cpus} CPUs: servers on 0-{}, the load generator on {generator}",
        half - 1
    );
    work(&[
        "taskset".to_owned(),
        "-c".to_owned(),
        format!("0-{}", half - 1),
    ])
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// One step's outcome.
struct Step {
    rate: f64,
    offered: f64,
    figures: Figures,
    expected: usize,
}

impl Step {
    fn sustained(&self) -> bool {
        self.figures.p99_ms <= P99_LIMIT_MS
            && self.figures.deliveries as f64 >= 0.999 * self.expected as f64
            && self.figures.per_second() >= KEEP_UP * self.offered
    }
}

pub fn ceiling(client_counts: &[usize]) -> Result<(), String> {
    let root = workspace_root();
    prepare(&root)?;
    let postgres = Postgres::start()?;
    let best = pinned(|pin| {
        let runtime = runtime()?;
        let mut best = Vec::new();
        println!(
            "{:<14} {:>7} {:>9} {:>12} {:>14} {:>9} {:>9} {:>9} {:>9}  sustained",
            "system",
            "clients",
            "creates/s",
            "offered/s",
            "deliveries/s",
            "p50 ms",
            "p99 ms",
            "server",
            "clients"
        );
        for &clients in client_counts {
            for system in System::BOTH {
                let highest = runtime.block_on(climb(system, clients, &root, &postgres, pin))?;
                best.push((clients, system, highest));
            }
        }
        Ok(best)
    })?;
    println!(
        "highest sustained deliveries/s (p99 ≤ {P99_LIMIT_MS} ms, ≥ {KEEP_UP} of the offered rate):"
    );
    for &clients in client_counts {
        let of = |system| {
            best.iter()
                .find(|(c, s, _)| *c == clients && *s == system)
                .map_or(0.0, |(_, _, d)| *d)
        };
        let (aegis, baseline) = (of(System::Aegis), of(System::SocketIo));
        println!(
            "{clients} clients: aegis {aegis:.0}, socket.io {baseline:.0}, ratio ×{:.2}",
            aegis / baseline
        );
    }
    Ok(())
}

/// Raises the rate until a step is not sustained; the highest deliveries/s
/// of a sustained step.
async fn climb(
    system: System,
    clients: usize,
    root: &std::path::Path,
    postgres: &Postgres,
    pin: &[String],
) -> Result<f64, String> {
    let mut cluster = Cluster::start(system, root, postgres, pin).await?;
    let mut rate = (FIRST_OFFER / clients as f64).max(0.5);
    let mut highest = 0.0_f64;
    // The last sustained rate and the first one that was not.
    let mut bounds = (0.0, None);
    for _ in 0..MAX_STEPS {
        match step(&mut cluster, system, clients, rate).await? {
            Some(delivered) => {
                highest = highest.max(delivered);
                bounds.0 = rate;
                rate *= STEP;
            }
            None => {
                bounds.1 = Some(rate);
                break;
            }
        }
    }
    // Then halves the last step (geometrically), twice: the ceiling is
    // known within a tenth, not within a step of ×1.5.
    if let (ok, Some(mut failed)) = bounds
        && ok > 0.0
    {
        let mut ok = ok;
        for _ in 0..REFINE {
            let middle = f64::sqrt(ok * failed);
            match step(&mut cluster, system, clients, middle).await? {
                Some(delivered) => {
                    highest = highest.max(delivered);
                    ok = middle;
                }
                None => failed = middle,
            }
        }
    }
    Ok(highest)
}

/// Offers `rate` creates/s to `clients` fresh clients for a step; the
/// deliveries/s when sustained.
async fn step(
    cluster: &mut Cluster,
    system: System,
    clients: usize,
    rate: f64,
) -> Result<Option<f64>, String> {
    let writes = (rate * STEP_SECONDS).ceil() as u64;
    let readers = cluster.subscribe(clients, writes).await?;
    let started = cluster.write(rate, writes).await?;
    let step = Step {
        rate,
        offered: rate * clients as f64,
        figures: cluster.collect(readers, started).await?,
        expected: clients * writes as usize,
    };
    let sustained = step.sustained();
    println!(
        "{:<14} {:>7} {:>9.1} {:>12.0} {:>14.0} {:>9.2} {:>9.2} {:>9.1} {:>9.1}  {}",
        system.name(),
        clients,
        step.rate,
        step.offered,
        step.figures.per_second(),
        step.figures.p50_ms,
        step.figures.p99_ms,
        step.figures.cpu_per_thousand(),
        step.figures.generator_per_thousand(),
        if sustained { "yes" } else { "no" }
    );
    Ok(sustained.then(|| step.figures.per_second()))
}

pub fn connections(count: usize) -> Result<(), String> {
    let root = workspace_root();
    prepare(&root)?;
    let postgres = Postgres::start()?;
    let rows = pinned(|pin| {
        let runtime = runtime()?;
        let mut rows = Vec::new();
        for system in System::BOTH {
            rows.push(runtime.block_on(async {
                let cluster = Cluster::start(system, &root, &postgres, pin).await?;
                // One connection first, so that what every connection
                // shares (pools, caches, the runtime's threads) is counted
                // before.
                let first = cluster.connect(1).await?;
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                let before = cluster.rss_kib();
                let started = Instant::now();
                let sockets = cluster.connect(count).await?;
                let setup = started.elapsed().as_secs_f64();
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                let after = cluster.rss_kib();
                drop((first, sockets));
                Ok::<_, String>((system, setup, before, after))
            })?);
        }
        Ok(rows)
    })?;
    println!(
        "{count} idle connections, authenticated and subscribed to one feature, spread over two instances per system"
    );
    println!(
        "{:<14} {:>12} {:>14} {:>14} {:>16}",
        "system", "setup s", "connections/s", "RSS grew MiB", "bytes/connection"
    );
    let mut per = Vec::new();
    for (system, setup, before, after) in &rows {
        let grew = after.saturating_sub(*before) as f64 * 1024.0;
        per.push(grew / count as f64);
        println!(
            "{:<14} {:>12.2} {:>14.0} {:>14.1} {:>16.0}",
            system.name(),
            setup,
            count as f64 / setup,
            grew / (1024.0 * 1024.0),
            grew / count as f64
        );
    }
    if let [(_, aegis_setup, ..), (_, baseline_setup, ..)] = &rows[..] {
        println!(
            "ratio aegis / socket.io: memory per connection ×{:.2}, setup rate ×{:.2}",
            per[0] / per[1],
            baseline_setup / aegis_setup
        );
    }
    Ok(())
}
