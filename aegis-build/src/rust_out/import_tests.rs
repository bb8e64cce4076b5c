//! The import tests of `aegis_event_tests.rs`, for a module with import:
//! the events of one import (started, progress, completed), of row errors,
//! and of a job that stops.

use aegis_model::Module;
use proc_macro2::TokenStream;
use quote::quote;
use serde_json::{Map, Value};

use super::event_tests::csv_row;

/// The import tests of `module`, whose sample create input is
/// `create_json`; `fill_csv` puts the referenced rows' ids into `csv`.
pub(super) fn import_tests(
    module: &Module,
    inputs: &[&aegis_model::Field],
    create_json: &Map<String, Value>,
    fill_csv: &TokenStream,
) -> TokenStream {
    let names = &module.names;
    let feature = names.feature();
    let input_names: Vec<String> = inputs.iter().map(|f| f.wire_name.clone()).collect();
    let header = input_names.join(",");
    // A list of links is a cell of `;`-separated ids.
    let cells: Vec<Value> = inputs
        .iter()
        .map(|f| match (&f.many, &create_json[&f.wire_name]) {
            (Some(_), Value::Array(ids)) => {
                let ids: Vec<String> = ids
                    .iter()
                    .map(|id| id.as_str().map_or_else(|| id.to_string(), str::to_owned))
                    .collect();
                Value::String(ids.join(";"))
            }
            (_, value) => value.clone(),
        })
        .collect();
    let row = csv_row(&cells.iter().collect::<Vec<_>>());
    let csv = format!("{header}\n{row}\n");
    // The same row, and one with a cell too many: a row error.
    let mixed = format!("{header}\n{row}\n{row},extra\n");
    let events = import_events();
    let completes = completes_test(&feature, &csv, fill_csv);
    let fails = fails_test(&feature, names.module(), &mixed, fill_csv);
    quote! {
        #events

        #completes

        #fails
    }
}

/// `import_events`, which reads and checks the events of one import.
fn import_events() -> TokenStream {
    quote! {
    /// The events of one import: `import_started`, then progress
    /// (at least `min_progress`, ending at 100 with every row
    /// processed), then `import_completed`; returns the last.
    fn import_events(
        events: &mut ::aegis::testing::EventReceiver,
        job_id: &Value,
        total: u64,
        min_progress: usize,
    ) -> EventMessage {
        let started = events.try_recv().expect("an import_started event");
        check_envelope(&started.message, EventAction::ImportStarted, 1);
        ::core::assert_eq!(
            started.message.data,
            json!({ "jobId": job_id, "totalRows": total, "dryRun": false })
        );
        let mut seq = 1;
        let mut progress = 0;
        let mut last = events.try_recv().expect("an import event");
        while last.message.action == EventAction::ImportProgress {
            seq += 1;
            progress += 1;
            check_envelope(&last.message, EventAction::ImportProgress, seq);
            ::core::assert_eq!(last.message.data["jobId"], *job_id);
            let next = events.try_recv().expect("an import_completed event");
            if next.message.action != EventAction::ImportProgress {
                ::core::assert_eq!(last.message.data["progress"], 100, "progress ends at 100");
                ::core::assert_eq!(last.message.data["processedRows"], total, "every row processed");
                ::core::assert_eq!(last.message.data["totalRows"], total);
            }
            last = next;
        }
        ::core::assert!(progress >= min_progress, "at least {} import_progress", min_progress);
        check_envelope(&last.message, EventAction::ImportCompleted, seq + 1);
        ::core::assert_eq!(last.message.data["jobId"], *job_id);
        ::core::assert_eq!(last.message.data["dryRun"], false);
        ::core::assert_eq!(last.message.data["totalRows"], total);
        last.message.clone()
    }
    }
}

/// One import of the sample row: started, progress, completed.
fn completes_test(feature: &str, csv: &str, fill_csv: &TokenStream) -> TokenStream {
    quote! {
    #[test]
    fn import_events_start_progress_and_complete() {
        run(async {
            let app = app().await;
            let mut events = app.events();
            let csv = #csv;
            #fill_csv
            let reply = app.import(#feature, csv, false).await;
            ::core::assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
            let job_id = reply.body["jobId"].clone();
            let job = app.finished_job(#feature, job_id.as_str().unwrap()).await;
            ::core::assert_eq!(job["successfulRows"], 1, "{}", job);
            let completed = import_events(&mut events, &job_id, 1, 1);
            ::core::assert_eq!(completed.data["success"], true);
            ::core::assert_eq!(completed.data["successfulRows"], 1);
            ::core::assert_eq!(completed.data["failedRows"], 0);
        });
    }
    }
}

/// An import with a row error, then one the database stops.
fn fails_test(
    feature: &str,
    module_name: &str,
    mixed: &str,
    fill_csv: &TokenStream,
) -> TokenStream {
    quote! {
    #[test]
    fn import_events_report_failed_rows_and_a_stopped_job() {
        run(async {
            let app = app().await;
            let mut events = app.events();
            let csv = #mixed;
            #fill_csv
            let reply = app.import(#feature, csv, false).await;
            ::core::assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
            let job_id = reply.body["jobId"].clone();
            app.finished_job(#feature, job_id.as_str().unwrap()).await;
            let completed = import_events(&mut events, &job_id, 2, 1);
            ::core::assert_eq!(completed.data["success"], true, "a row error does not stop the job");
            ::core::assert_eq!(completed.data["successfulRows"], 1);
            ::core::assert_eq!(completed.data["failedRows"], 1);
            ::core::assert_eq!(completed.data["errors"][0]["row"], 2, "{}", completed.data);

            // A database that refuses the writes stops the job: it
            // fails, and every row it did not import counts as failed.
            let app = app_with_table_gone(#module_name).await;
            let mut events = app.events();
            let reply = app.import(#feature, csv, false).await;
            ::core::assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
            let job_id = reply.body["jobId"].clone();
            let job = app.finished_job(#feature, job_id.as_str().unwrap()).await;
            ::core::assert_eq!(job["state"], "failed", "{}", job);
            let completed = import_events(&mut events, &job_id, 2, 0);
            ::core::assert_eq!(completed.data["success"], false);
            ::core::assert_eq!(completed.data["successfulRows"], 0);
            ::core::assert_eq!(completed.data["failedRows"], 2);
        });
    }

    /// The app, its module's table dropped behind its back.
    async fn app_with_table_gone(module: &str) -> TestApp {
        let app = app().await;
        app.drop_table(module).await;
        app
    }
    }
}
