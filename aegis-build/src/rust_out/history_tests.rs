//! The event tests' history test: a create and an update each leave an
//! entry saying what they set, and restoring the first version writes it
//! back as a new change, with its event and an entry naming what it
//! restored.

use proc_macro2::TokenStream;
use quote::quote;

use crate::collect::Unit;

/// The test, in a module of the event tests (whose `app`, `create`,
/// `INPUTS` and `check_envelope` it uses); `update_text` is the sample
/// update and `fill_changed` puts the ids of referenced rows into it.
pub(super) fn history_test(
    unit: &Unit,
    update_text: &str,
    fill_changed: &TokenStream,
) -> TokenStream {
    let restore_body = match unit.module.version_field() {
        Some(version) => {
            let wire = &version.wire_name;
            quote!(Some(json!({ "version": updated.body[#wire] })))
        }
        None => quote!(None),
    };
    quote! {
    #[test]
    fn history_keeps_each_change_and_restores_a_version() {
        run(async {
            let app = app().await;
            let path = create(&app).await;
            let created = app.call("GET", &path, Some(&app.admin()), None, &[]).await.body;
            let changed: Value = serde_json::from_str(#update_text).expect("sample update is JSON");
            #fill_changed
            let updated = app.call("PUT", &path, Some(&app.admin()), Some(changed), &[]).await;
            ::core::assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
            let history = ::std::format!("{}/history", path);
            let reply = app.call("GET", &history, Some(&app.admin()), None, &[]).await;
            ::core::assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
            let entries = reply.body["data"].as_array().expect("entries").clone();
            let actions: ::std::vec::Vec<&Value> = entries.iter().map(|e| &e["action"]).collect();
            ::core::assert_eq!(actions, [&json!("updated"), &json!("created")], "newest first");
            for entry in &entries {
                ::core::assert_eq!(entry["userId"], "u1");
            }
            let set = |entry: &Value, name: &str| {
                entry["changes"].as_array().expect("changes").iter().find(|c| c["field"] == name).cloned()
            };
            for name in INPUTS {
                let made = set(&entries[1], name).expect("a create lists every field");
                ::core::assert_eq!((&made["old"], &made["new"]), (&Value::Null, &created[*name]), "field `{}`", name);
                match set(&entries[0], name) {
                    Some(change) => {
                        ::core::assert_eq!((&change["old"], &change["new"]), (&created[*name], &updated.body[*name]), "field `{}`", name);
                    }
                    None => ::core::assert_eq!(created[*name], updated.body[*name], "an unlisted field `{}` is unchanged", name),
                }
            }

            let mut events = app.events();
            let restore = ::std::format!("{}/{}/restore", history, entries[1]["id"]);
            let restored = app.call("POST", &restore, Some(&app.admin()), #restore_body, &[]).await;
            ::core::assert_eq!(restored.status, StatusCode::OK, "{}", restored.text);
            for name in INPUTS {
                ::core::assert_eq!(restored.body[*name], created[*name], "field `{}` as created", name);
            }
            let event = events.try_recv().expect("an updated event");
            check_envelope(&event.message, EventAction::Updated, 3);
            ::core::assert_eq!(event.message.data, restored.body);
            let reply = app.call("GET", &history, Some(&app.admin()), None, &[]).await;
            ::core::assert_eq!(reply.body["total"], 3);
            ::core::assert_eq!(reply.body["data"][0]["restores"], entries[1]["id"]);
        });
    }
    }
}
