use super::*;
use proptest::prelude::*;
use serde_json::json;

fn run(v: Value) -> Result<Transformed, PayloadError> {
    transform(&serde_json::to_vec(&v).unwrap())
}

#[test]
fn the_documented_shape_is_read() {
    let out = run(json!({"success": true, "data": [
        {"uid": "k3Jd8QpL2vXr9TzA1bCe", "name": "LuckyGoat77",
         "wagered": {"today": 412.55813927, "this_week": 2288.14, "this_month": 9731.6, "all_time": 154220.8}}
    ]}))
    .unwrap();
    assert_eq!(out.players.len(), 1);
    assert_eq!(out.players[0].wagered.this_month, 9731.6);
}

#[test]
fn results_and_bare_arrays_are_accepted_too() {
    let entry = json!({"uid": "a", "name": "A", "wagered": {"this_month": 1}});
    assert_eq!(
        run(json!({"results": [entry.clone()]}))
            .unwrap()
            .players
            .len(),
        1
    );
    assert_eq!(run(json!([entry])).unwrap().players.len(), 1);
}

#[test]
fn a_body_that_is_not_a_leaderboard_is_an_error_not_an_empty_list() {
    assert!(matches!(
        transform(b"<html>oops</html>"),
        Err(PayloadError::NotJson(_))
    ));
    assert_eq!(run(json!({"message": "hi"})), Err(PayloadError::NoList));
    assert_eq!(
        run(json!({"success": false, "data": []})),
        Err(PayloadError::Unsuccessful)
    );
    assert_eq!(run(json!("text")), Err(PayloadError::NoList));
}

/// Read entry by entry, the body still means what it means as a whole: the order of
/// the keys changes nothing, `data` wins over `results`, and a truncated body is not JSON
/// even when every entry before the cut was good.
#[test]
fn the_streamed_reading_depends_on_no_order_of_keys_and_stops_at_a_cut() {
    let entry = |uid: &str| json!({"uid": uid, "name": "A", "wagered": {"this_month": 1}});
    let uids = |body: &[u8]| -> Vec<String> {
        let out = transform(body).unwrap();
        out.players.into_iter().map(|p| p.uid).collect()
    };
    assert_eq!(
        transform(br#"{"data": [], "success": false}"#),
        Err(PayloadError::Unsuccessful),
        "success: false after the list"
    );
    assert_eq!(
        uids(br#"{"results": [{"uid": "r", "name": "R"}], "data": [{"uid": "d", "name": "D"}]}"#),
        ["d"]
    );
    assert_eq!(
        run(json!({"data": {"rows": [entry("a")]}, "results": [entry("b")]})),
        Err(PayloadError::NoList),
        "a `data` that is not a list is not replaced by `results`"
    );
    assert_eq!(
        uids(br#"{"data": [{"uid": "x", "name": "X"}], "data": [{"uid": "y", "name": "Y"}]}"#),
        ["y"],
        "a key given twice counts as its last occurrence"
    );
    assert_eq!(run(json!({"data": null})), Err(PayloadError::NoList));
    assert_eq!(run(json!(null)), Err(PayloadError::NoList));
    let whole = serde_json::to_vec(&json!({"data": [entry("a"), entry("b")]})).unwrap();
    assert!(matches!(
        transform(&whole[..whole.len() - 3]),
        Err(PayloadError::NotJson(_))
    ));
    let mut trailing = whole.clone();
    trailing.extend_from_slice(b" []");
    assert!(matches!(
        transform(&trailing),
        Err(PayloadError::NotJson(_))
    ));
}

#[test]
fn numeric_strings_are_read_and_missing_buckets_are_zero() {
    let out = run(
        json!([{"uid": "a", "name": "A", "wagered": {"this_month": " 12.5", "all_time": "40"}}]),
    )
    .unwrap();
    assert_eq!(
        out.players[0].wagered,
        Buckets {
            today: 0.0,
            this_week: 0.0,
            this_month: 12.5,
            all_time: 40.0
        }
    );
}

#[test]
fn bad_entries_are_rejected_and_counted_and_the_rest_kept() {
    let out = run(json!([
        {"uid": "ok", "name": "Fine", "wagered": {"this_month": 1}},
        {"uid": "", "name": "NoUid"},
        {"name": "MissingUid"},
        {"uid": "x".repeat(65), "name": "LongUid"},
        {"uid": "n1", "name": "  "},
        {"uid": "n2", "name": "Neg", "wagered": {"this_month": -1}},
        {"uid": "n3", "name": "Str", "wagered": {"today": "lots"}},
        {"uid": "n4", "name": "Arr", "wagered": [1, 2]},
        42
    ]))
    .unwrap();
    assert_eq!(out.received, 9);
    assert_eq!(out.players.len(), 1);
    assert_eq!(out.rejected, 8);
    assert_eq!(out.reasons.len(), 8);
}

/// Room for a large body's entries is made once: a body that repeats `data` 20,000
/// times (the last one counts, as in a JSON object) does not reserve it for each list,
/// which made a hostile 128 MB body cost a million reservations.
#[test]
fn repeated_lists_in_a_large_body_reserve_room_once() {
    let mut body = String::from("{");
    for _ in 0..20_000 {
        body.push_str(r#""data": [{"uid": "x", "name": "X"}], "#);
    }
    body.push_str(r#""data": [{"uid": "a", "name": "A"}]}"#);
    assert!(expected_entries(body.len()) > 5_000);
    let out = transform(body.as_bytes()).unwrap();
    assert_eq!(out.players.len(), 1);
    assert_eq!(out.players[0].uid, "a");
    assert!(
        out.players.capacity() < 100,
        "the kept list reserved room for {} entries",
        out.players.capacity()
    );
}

/// A large body's one list gets room for its entries at once (entries with fields the
/// board skips are larger than the estimate's 128 bytes, so room made by growing step by
/// step would fall short of it).
#[test]
fn a_large_body_s_list_gets_its_room_at_once() {
    let pad = "p".repeat(200);
    let list: Vec<Value> = (0..2_000)
        .map(|i| json!({"uid": format!("u{i}"), "name": "N", "avatar": pad, "wagered": {"all_time": 1}}))
        .collect();
    let body = serde_json::to_vec(&json!({ "data": list })).unwrap();
    let out = transform(&body).unwrap();
    assert_eq!(out.players.len(), 2_000);
    assert!(expected_entries(body.len()) > 2_048);
    assert!(out.players.capacity() >= expected_entries(body.len()));
}

#[test]
fn of_duplicate_uids_the_larger_all_time_is_kept() {
    let out = run(json!([
        {"uid": "a", "name": "Old", "wagered": {"all_time": 10}},
        {"uid": "a", "name": "New", "wagered": {"all_time": 20}},
        {"uid": "a", "name": "Older", "wagered": {"all_time": 5}}
    ]))
    .unwrap();
    assert_eq!(out.players.len(), 1);
    assert_eq!(out.players[0].name, "New");
    assert_eq!(out.duplicates, 2);
}

#[test]
fn fewer_than_half_the_last_good_count_is_suspect() {
    assert!(is_suspect(99, 200));
    assert!(!is_suspect(100, 200));
    assert!(!is_suspect(0, 0));
}

#[test]
fn a_uid_that_could_forge_a_proof_line_is_rejected_and_counted() {
    let out = run(json!([
        {"uid": "x 1 999999 999\n1 forged", "name": "Forger", "wagered": {"this_month": 5}},
        {"uid": "a.b", "name": "Dotted"},
        {"uid": "tab\there", "name": "Tab"},
        {"uid": "good_uid-1", "name": "Fine", "wagered": {"this_month": 1}},
    ]))
    .unwrap();
    assert_eq!(out.players.len(), 1);
    assert_eq!(out.players[0].uid, "good_uid-1");
    assert_eq!(out.rejected, 3);
    assert!(
        out.reasons[0].contains("is not 1 to 64 letters"),
        "{:?}",
        out.reasons
    );
}

#[test]
fn names_lose_line_breaks_direction_overrides_and_zero_width_characters() {
    let out = run(json!([
        {"uid": "a", "name": "Alice\n2. Bob — $9,999.00"},
        {"uid": "b", "name": "Eve\u{202E}00.999$"},
        {"uid": "c", "name": "\u{200B}\u{202E}\n"},
    ]))
    .unwrap();
    let names: Vec<&str> = out.players.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Alice2. Bob — $9,999.00", "Eve00.999$"]);
    // A name made only of such characters is empty, and so rejected.
    assert_eq!(out.reasons, ["entry 2: c: name missing or empty"]);
}

#[test]
fn an_answer_past_the_entry_limit_stops_being_read_there() {
    let list: Vec<Value> = (0..11)
        .map(|i| json!({"uid": format!("u{i}"), "name": "N"}))
        .collect();
    let body = serde_json::to_vec(&json!({"data": list})).unwrap();
    assert_eq!(
        transform_limited(&body, 10),
        Err(PayloadError::TooManyEntries(10))
    );
    assert_eq!(transform_limited(&body, 11).unwrap().players.len(), 11);
    // A body that is not JSON past the limit is still reported as too many entries,
    // and one that breaks before it as not JSON.
    let mut broken = body.clone();
    broken.truncate(body.len() - 2);
    assert_eq!(
        transform_limited(&broken, 10),
        Err(PayloadError::TooManyEntries(10))
    );
    assert!(matches!(
        transform_limited(&broken, 11),
        Err(PayloadError::NotJson(_))
    ));
}

#[test]
fn ten_times_the_last_good_answer_is_a_flood_once_it_is_large() {
    assert!(is_flooded(10_001, 1_000));
    assert!(!is_flooded(10_000, 1_000));
    // A small board may grow tenfold; nothing to compare with on a first sync.
    assert!(!is_flooded(1_000, 40));
    assert!(!is_flooded(3_500_000, 0));
}

fn raw_entry() -> impl Strategy<Value = Value> {
    let bucket = prop_oneof![
        Just(Value::Null),
        (0.0f64..1e9).prop_map(|f| json!(f)),
        (-1e6f64..-0.001).prop_map(|f| json!(f)),
        "[0-9]{1,6}(\\.[0-9]{1,3})?".prop_map(Value::String),
        "[a-z]{1,4}".prop_map(Value::String),
    ];
    (prop::option::of("[A-Za-z0-9]{0,70}"), prop::option::of("[ A-Za-z<>]{0,10}"), bucket.clone(), bucket)
        .prop_map(|(uid, name, month, all)| {
            json!({"uid": uid, "name": name, "wagered": {"this_month": month, "all_time": all}})
        })
}

proptest! {
    #[test]
    fn every_entry_is_either_kept_rejected_or_a_duplicate(list in prop::collection::vec(raw_entry(), 0..60)) {
        let out = run(Value::Array(list)).unwrap();
        prop_assert_eq!(out.players.len() + out.rejected + out.duplicates, out.received);
    }

    #[test]
    fn kept_players_are_always_valid(list in prop::collection::vec(raw_entry(), 0..60)) {
        let out = run(json!({"data": list})).unwrap();
        let mut seen = std::collections::HashSet::new();
        for p in &out.players {
            prop_assert!(!p.uid.trim().is_empty() && p.uid.len() <= MAX_UID_LEN);
            prop_assert!(!p.name.trim().is_empty());
            let b = p.wagered;
            for v in [b.today, b.this_week, b.this_month, b.all_time] {
                prop_assert!(v.is_finite() && v >= 0.0);
            }
            prop_assert!(seen.insert(p.uid.clone()), "uids are unique");
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = transform(&bytes);
    }
}

/// The boundaries of an entry, each with the reason a rejection gives: an operator
/// reads these in the sync log.
#[test]
fn each_limit_holds_at_its_value_and_refuses_one_past_it_with_its_reason() {
    let reasons = |list: Value| run(list).unwrap().reasons;
    let uid64 = "u".repeat(MAX_UID_LEN);
    let name128 = "n".repeat(MAX_NAME_LEN);
    let ok = run(json!([
        {"uid": uid64, "name": name128, "wagered": {"this_month": MAX_AMOUNT}}
    ]))
    .unwrap();
    assert_eq!((ok.players.len(), ok.rejected), (1, 0));
    assert_eq!(ok.players[0].wagered.this_month, MAX_AMOUNT);

    let uid65 = "u".repeat(MAX_UID_LEN + 1);
    assert_eq!(
        reasons(json!([{"uid": uid65, "name": "A"}])),
        ["entry 0: uid too long"]
    );
    assert_eq!(
        reasons(json!([{"uid": "  ", "name": "A"}])),
        ["entry 0: uid missing or empty"]
    );
    // Blank is blank at any length up to the limit: the reason the runs log gives is
    // "empty", not "too long".
    assert_eq!(
        reasons(json!([{"uid": " ".repeat(MAX_UID_LEN), "name": "A"}])),
        ["entry 0: uid missing or empty"]
    );
    let name129 = "n".repeat(MAX_NAME_LEN + 1);
    assert_eq!(
        reasons(json!([{"uid": "a", "name": name129}])),
        ["entry 0: a: name too long"]
    );
    assert_eq!(
        reasons(json!([{"uid": "a", "name": " \t"}])),
        ["entry 0: a: name missing or empty"]
    );
    assert_eq!(
        reasons(json!([{"uid": "a", "name": "A", "wagered": {"all_time": 1.0000001e12}}])),
        ["entry 0: a: all_time is above 10^12 dollars"]
    );
}

#[test]
fn of_duplicates_with_equal_amounts_the_first_stays() {
    let out = run(json!([
        {"uid": "a", "name": "First", "wagered": {"all_time": 5}},
        {"uid": "a", "name": "Second", "wagered": {"all_time": 5}},
    ]))
    .unwrap();
    assert_eq!(out.duplicates, 1);
    assert_eq!(out.players[0].name, "First");
}

#[test]
fn the_count_of_rejections_is_complete_and_twenty_reasons_are_kept() {
    let list: Vec<Value> = (0..30).map(|i| json!({"uid": format!("u{i}")})).collect();
    let out = run(Value::Array(list)).unwrap();
    assert_eq!(out.rejected, 30);
    assert_eq!(out.reasons.len(), 20);
}

/// Amounts each within the limit can still add up beyond what cents can count: the
/// payload is refused as a whole rather than any total overflowing later.
#[test]
fn totals_beyond_what_cents_can_count_refuse_the_payload() {
    let n = (i64::MAX as f64 / (MAX_AMOUNT * 100.0)) as usize + 1;
    let mut body = String::from("[");
    for i in 0..n {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!(
            r#"{{"uid":"u{i}","name":"N","wagered":{{"this_month":1e12}}}}"#
        ));
    }
    body.push(']');
    assert_eq!(
        transform(body.as_bytes()),
        Err(PayloadError::Overflow("this_month"))
    );
}

/// Entries are read field by field, not as a whole JSON tree: every kind of value where
/// an entry or its buckets belong is rejected on its own with its reason (arrays and
/// objects consumed whole, so the next entry still reads), fields the board does not
/// use are skipped whatever they hold, and a key given twice counts as its last one.
#[test]
fn an_entry_of_any_shape_is_judged_alone_and_the_list_reads_on() {
    // Raw bytes, not a `json!` value: a value cannot hold a key twice.
    let out = transform(
        br#"[
        [1, [2, {"uid": "inside"}]], 7, -1.5, "text", true, null,
        {"uid": "w1", "name": "W", "wagered": [1, 2]},
        {"uid": "w2", "name": "W", "wagered": "12"},
        {"uid": "w3", "name": "W", "wagered": 12},
        {"uid": "w4", "name": "W", "wagered": false},
        {"uid": "n1", "name": ["N"]},
        {"uid": {"id": "u"}, "name": "N"},
        {"extra": {"deep": [1, {"uid": "no"}]}, "uid": "ok1", "name": "Ann",
         "wagered": {"bonus": [1, 2], "this_month": "5.5", "this_month": 6, "all_time": null}},
        {"uid": "ok2", "name": "Bob", "wagered": null, "uid": "ok3"}
    ]"#,
    )
    .unwrap();
    assert_eq!(out.received, 14);
    assert_eq!(out.rejected, 12);
    let kept: Vec<(&str, &str, f64, f64)> = out
        .players
        .iter()
        .map(|p| {
            (
                p.uid.as_str(),
                p.name.as_str(),
                p.wagered.this_month,
                p.wagered.all_time,
            )
        })
        .collect();
    assert_eq!(kept, [("ok1", "Ann", 6.0, 0.0), ("ok3", "Bob", 0.0, 0.0)]);
    let reasons: Vec<&str> = out.reasons.iter().map(String::as_str).collect();
    assert_eq!(
        reasons,
        [
            "entry 0: not an object",
            "entry 1: not an object",
            "entry 2: not an object",
            "entry 3: not an object",
            "entry 4: not an object",
            "entry 5: not an object",
            "entry 6: w1: wagered is not an object",
            "entry 7: w2: wagered is not an object",
            "entry 8: w3: wagered is not an object",
            "entry 9: w4: wagered is not an object",
            "entry 10: n1: name missing or empty",
            "entry 11: uid missing or empty",
        ]
    );
}

/// Nesting 100,000 deep: in a field the board does not read it is skipped (serde_json
/// skips without recursing) and the entry kept; in a field it reads, serde_json's depth
/// limit makes the body an error. Neither overflows the stack or empties the list.
#[test]
fn a_field_nested_100_000_deep_is_skipped_unread_and_refuses_the_body_where_read() {
    let nested = |field: &str| {
        format!(
            r#"[{{"uid": "u1", "name": "Ann", "{field}": {}1{}}}]"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        )
    };
    let skipped = transform(nested("extra").as_bytes()).unwrap();
    assert_eq!(skipped.players.len(), 1);
    assert_eq!(skipped.rejected, 0);
    assert!(matches!(
        transform(nested("name").as_bytes()),
        Err(PayloadError::NotJson(_))
    ));
}
