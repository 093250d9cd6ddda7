//! Table tests of window specs, membership and edges, DST nights included.

use super::*;
use jiff::civil::date;

fn berlin() -> TimeZone {
    TimeZone::get("Europe/Berlin").unwrap()
}

/// `y-m-d h:m` on Berlin's wall clock (compatible rule).
fn at(y: i16, m: i8, d: i8, h: i8, min: i8) -> Timestamp {
    berlin()
        .to_timestamp(date(y, m, d).at(h, min, 0, 0))
        .unwrap()
}

#[test]
fn specs_read_and_print_canonically() {
    let cases: &[(&str, &[&str])] = &[
        ("Mon-Fri 19:00-07:00", &["Mon-Fri 19:00-07:00"]),
        ("mon-FRI 19:00-07:00", &["Mon-Fri 19:00-07:00"]),
        ("Sat,Sun", &["Sat,Sun"]),
        ("saturday, Sunday", &["Sat,Sun"]),
        ("08:00-18:00", &["08:00-18:00"]),
        ("00:00-24:00", &["00:00-24:00"]),
        ("Fri-Mon 22:00-24:00", &["Mon,Fri-Sun 22:00-24:00"]),
        ("Mon-Sun", &["00:00-24:00"]),
        ("Mon,Wed,Fri 09:00-12:00", &["Mon,Wed,Fri 09:00-12:00"]),
        (
            "Mon-Fri 19:00-07:00, Sat,Sun",
            &["Mon-Fri 19:00-07:00", "Sat,Sun"],
        ),
        ("Sat, Sun 10:00-16:00", &["Sat,Sun 10:00-16:00"]),
        (
            " Tue 01:00-02:00 , 23:00-01:00 ",
            &["Tue 01:00-02:00", "23:00-01:00"],
        ),
    ];
    for (spec, want) in cases {
        let got = Schedule::parse(&[spec]).unwrap_or_else(|e| panic!("{spec}: {e}"));
        assert_eq!(got.canonical(), *want, "{spec}");
        let again = Schedule::parse(&got.canonical()).unwrap();
        assert_eq!(again, got, "{spec}: the canonical form reads back the same");
    }
}

#[test]
fn bad_specs_say_what_was_wrong() {
    let cases: &[(&str, &str)] = &[
        ("", "empty"),
        ("Mon-Fri", ""),
        ("Mo 19:00-07:00", "'Mo' is not a day"),
        ("Mon-Fry 19:00-07:00", "'Fry' is not a day"),
        ("Mon 19:00", "'19:00' is not a span"),
        ("Mon 7:00-9:00", "'7:00' is not a time"),
        ("Mon 19:60-20:00", "'19:60' is not a time"),
        ("Mon 24:30-01:00", "'24:30' is not a time"),
        ("Mon 24:00-01:00", "starts at 24:00"),
        ("Mon 10:00-10:00", "starts and ends at once"),
        ("Mon,,Tue", "empty part"),
        ("Mon 10:00-11:00 extra", "'extra' after the time"),
        ("10:00-11:00 Mon", "the days come first"),
    ];
    for (spec, want) in cases {
        match Schedule::parse(&[spec]) {
            Ok(s) if want.is_empty() => assert_eq!(s.canonical(), ["Mon-Fri"]),
            Ok(s) => panic!("{spec:?} accepted as {:?}", s.canonical()),
            Err(e) => {
                let line = e.to_string();
                assert!(
                    line.contains(want) && !line.contains('\n'),
                    "{spec}: {line}"
                );
            }
        }
    }
    assert!(zone("Europe/Berlin").is_ok());
    let bad = zone("Europe/Berln").unwrap_err().to_string();
    assert!(
        bad.contains("Europe/Berln") && bad.contains("IANA"),
        "{bad}"
    );
}

#[test]
fn membership_follows_days_and_overnight_spans() {
    let nights = Schedule::parse(&["Mon-Fri 19:00-07:00"]).unwrap();
    let weekend = Schedule::parse(&["Sat,Sun"]).unwrap();
    let tz = berlin();
    // 2026-12-07 is a Monday.
    let cases = [
        (at(2026, 12, 7, 6, 59), false, false), // Monday morning: Sunday started no night
        (at(2026, 12, 7, 18, 59), false, false),
        (at(2026, 12, 7, 19, 0), true, false),
        (at(2026, 12, 8, 6, 59), true, false), // Tuesday morning, Monday's night
        (at(2026, 12, 8, 7, 0), false, false),
        (at(2026, 12, 11, 23, 0), true, false), // Friday night
        (at(2026, 12, 12, 6, 59), true, true),  // Saturday morning: both
        (at(2026, 12, 12, 7, 0), false, true),
        (at(2026, 12, 13, 23, 59), false, true),
        (at(2026, 12, 14, 0, 0), false, false),
    ];
    for (t, night, wknd) in cases {
        assert_eq!(nights.contains(t, &tz), night, "{t}");
        assert_eq!(weekend.contains(t, &tz), wknd, "{t}");
    }
}

#[test]
fn next_change_is_the_next_real_edge() {
    let tz = berlin();
    let cases: &[(&[&str], Timestamp, Option<Timestamp>)] = &[
        (
            &["Mon-Fri 19:00-07:00"],
            at(2026, 12, 7, 12, 0),
            Some(at(2026, 12, 7, 19, 0)),
        ),
        (
            &["Mon-Fri 19:00-07:00"],
            at(2026, 12, 7, 19, 0),
            Some(at(2026, 12, 8, 7, 0)),
        ),
        // Friday night leads into Saturday morning, then nothing till Monday 19:00.
        (
            &["Mon-Fri 19:00-07:00"],
            at(2026, 12, 12, 7, 0),
            Some(at(2026, 12, 14, 19, 0)),
        ),
        // Windows that touch are one stretch: Sat 00:00 to Mon 00:00.
        (
            &["Sat", "Sun"],
            at(2026, 12, 12, 1, 0),
            Some(at(2026, 12, 14, 0, 0)),
        ),
        // Overlapping: nights and a weekend.
        (
            &["Fri 19:00-07:00", "Sat,Sun"],
            at(2026, 12, 11, 20, 0),
            Some(at(2026, 12, 14, 0, 0)),
        ),
        (&["00:00-24:00"], at(2026, 12, 7, 12, 0), None),
    ];
    for (specs, t, want) in cases {
        let s = Schedule::parse(specs).unwrap();
        assert_eq!(s.next_change(*t, &tz), *want, "{specs:?} at {t}");
    }
}

#[test]
fn dst_nights_skip_forward_and_fold_once() {
    let tz = berlin();
    // 2026-03-29: clocks go 02:00 -> 03:00. A window from 02:30 opens at 03:30 CEST
    // (the skipped time read an hour later), one ending at 02:30 ends at 03:30.
    let gap_start = Schedule::parse(&["Sun 02:30-06:00"]).unwrap();
    let opens = gap_start.next_change(at(2026, 3, 29, 0, 0), &tz).unwrap();
    assert_eq!(opens.to_string(), "2026-03-29T01:30:00Z");
    let night = Schedule::parse(&["Sat 22:00-02:30"]).unwrap();
    let t = at(2026, 3, 28, 23, 0);
    assert_eq!(
        night.next_change(t, &tz).unwrap().to_string(),
        "2026-03-29T01:30:00Z"
    );
    // 2026-10-25: clocks go 03:00 -> 02:00. A window ending at 02:30 ends at the first
    // 02:30 (CEST) and does not open again when the clock shows 02:00 a second time.
    let night = Schedule::parse(&["Sat 22:00-02:30"]).unwrap();
    let ends = night.next_change(at(2026, 10, 24, 23, 0), &tz).unwrap();
    assert_eq!(ends.to_string(), "2026-10-25T00:30:00Z");
    let second_two = "2026-10-25T01:15:00Z".parse::<Timestamp>().unwrap(); // 02:15 CET
    assert!(!night.contains(second_two, &tz));
    assert_eq!(
        night.next_change(ends, &tz).unwrap().to_string(),
        "2026-10-31T21:00:00Z",
        "next Saturday 22:00 CET"
    );
}
