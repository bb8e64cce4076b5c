//! The back-end event tests aegis-build generates for every module with
//! events.

include!(concat!(env!("OUT_DIR"), "/aegis_event_tests.rs"));
