//! Member windows (pure): when a scheduled member is one. A spec is `[DAYS] [HH:MM-HH:MM]`:
//! `Mon-Fri 19:00-07:00`, `Sat,Sun` (whole days), `08:00-18:00` (every day), `Fri-Mon
//! 22:00-24:00`. Days are `Mon`..`Sun` (any case, or the full English name), single, as a range
//! (wrapping: `Fri-Mon`) or a list; the time is a start and an end, `00:00`..`24:00`, and an
//! end not after the start runs overnight into the next day (the days name the day a window
//! starts on: `Mon-Fri 19:00-07:00` includes Friday night until Saturday 07:00).
//!
//! One string may hold several windows separated by commas: a part holding a time closes a
//! window, so `Mon-Fri 19:00-07:00, Sat,Sun` is two windows (weeknights, whole weekend) and
//! `Sat, Sun 10:00-16:00` one (weekend days, 10 to 16).
//!
//! Windows are read in a time zone on its wall clock, each occurrence turned into instants with
//! jiff's `compatible` rule (RFC 5545's): a time the clock skips (02:30 when clocks go from
//! 02:00 to 03:00) is read an hour later (03:30), a time the clock shows twice (02:30 when
//! clocks go back from 03:00 to 02:00) is its first occurrence. So a window never opens twice
//! for one start, and a night window is an hour shorter or longer on the nights clocks change.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// A spec that cannot be read: one line saying what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("window '{spec}': {why}")]
pub struct WindowError {
    /// The spec as given.
    pub spec: String,
    /// What was wrong with it.
    pub why: String,
}

/// One window: the days it starts on and a span of the day in minutes (`end` may be at or
/// before `start`: overnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Monday first.
    days: [bool; 7],
    start: u16,
    end: u16,
}

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const FULL_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
const DAY: u16 = 24 * 60;

/// Every window in `spec` (comma-separated, see the module doc).
pub fn parse(spec: &str) -> Result<Vec<Window>, WindowError> {
    let fail = |why: String| WindowError {
        spec: spec.trim().to_string(),
        why,
    };
    if spec.trim().is_empty() {
        return Err(fail("empty; expected e.g. 'Mon-Fri 19:00-07:00'".into()));
    }
    let mut windows = Vec::new();
    let mut days = [false; 7];
    let mut pending = false;
    for part in spec.split(',').map(str::trim) {
        if part.is_empty() {
            return Err(fail("an empty part between commas".into()));
        }
        let mut words = part.split_whitespace();
        let first = words.next().unwrap_or_default();
        let (day_word, time_word) = match (first.contains(':'), words.next()) {
            (true, None) => (None, Some(first)),
            (false, second) => (Some(first), second),
            (true, Some(_)) => return Err(fail(format!("'{part}': the days come first"))),
        };
        if let Some(extra) = words.next() {
            return Err(fail(format!("'{extra}' after the time")));
        }
        if let Some(word) = day_word {
            add_days(&mut days, word).map_err(fail)?;
            pending = true;
        }
        if let Some(word) = time_word {
            let (start, end) = span(word).map_err(fail)?;
            if !pending {
                days = [true; 7];
            }
            windows.push(Window { days, start, end });
            (days, pending) = ([false; 7], false);
        }
    }
    if pending {
        windows.push(Window {
            days,
            start: 0,
            end: DAY,
        });
    }
    Ok(windows)
}

fn day(word: &str) -> Result<usize, String> {
    let lower = word.to_ascii_lowercase();
    let found = DAY_NAMES
        .iter()
        .zip(FULL_NAMES)
        .position(|(short, full)| lower == short.to_ascii_lowercase() || lower == full);
    found.ok_or_else(|| format!("'{word}' is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)"))
}

fn add_days(days: &mut [bool; 7], word: &str) -> Result<(), String> {
    match word.split_once('-') {
        None => days[day(word)?] = true,
        Some((from, to)) => {
            let (from, to) = (day(from)?, day(to)?);
            let mut d = from;
            loop {
                days[d] = true;
                if d == to {
                    break;
                }
                d = (d + 1) % 7;
            }
        }
    }
    Ok(())
}

fn clock(word: &str) -> Result<u16, String> {
    let bad = || format!("'{word}' is not a time HH:MM (00:00 to 24:00)");
    let (h, m) = word.split_once(':').ok_or_else(bad)?;
    let digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || !digits(m) {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn span(word: &str) -> Result<(u16, u16), String> {
    let (from, to) = word
        .split_once('-')
        .ok_or_else(|| format!("'{word}' is not a span HH:MM-HH:MM"))?;
    let (start, end) = (clock(from)?, clock(to)?);
    if start == DAY {
        return Err(format!("'{word}' starts at 24:00; start at 00:00"));
    }
    if start == end {
        return Err(format!(
            "'{word}' starts and ends at once; for all day write 00:00-24:00"
        ));
    }
    Ok((start, end))
}

impl Window {
    /// The window as stored: days compacted (`Mon-Fri`, `Sat,Sun`; none for every day), the
    /// span (none for a whole day).
    pub fn canonical(&self) -> String {
        let mut parts = Vec::new();
        let mut d = 0;
        while d < 7 {
            if !self.days[d] {
                d += 1;
                continue;
            }
            let run = (d..7).take_while(|&e| self.days[e]).count();
            match run {
                1 => parts.push(DAY_NAMES[d].to_string()),
                2 => parts.push(format!("{},{}", DAY_NAMES[d], DAY_NAMES[d + 1])),
                _ => parts.push(format!("{}-{}", DAY_NAMES[d], DAY_NAMES[d + run - 1])),
            }
            d += run;
        }
        let days = if self.days == [true; 7] {
            String::new()
        } else {
            parts.join(",")
        };
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        match (days.is_empty(), self.start == 0 && self.end == DAY) {
            (true, true) => "00:00-24:00".to_string(),
            (false, true) => days,
            (true, false) => format!("{}-{}", hm(self.start), hm(self.end)),
            (false, false) => format!("{days} {}-{}", hm(self.start), hm(self.end)),
        }
    }

    /// The occurrence starting on `date`, as instants in `tz`, if the window starts that day.
    fn on(&self, date: Date, tz: &TimeZone) -> Option<(Timestamp, Timestamp)> {
        if !self.days[date.weekday().to_monday_zero_offset() as usize] {
            return None;
        }
        let at = |date: Date, minutes: u16| -> Option<Timestamp> {
            let (date, minutes) = match minutes {
                DAY => (date.tomorrow().ok()?, 0),
                m => (date, m),
            };
            let dt = DateTime::from_parts(
                date,
                jiff::civil::time((minutes / 60) as i8, (minutes % 60) as i8, 0, 0),
            );
            tz.to_timestamp(dt).ok()
        };
        let end_date = if self.end > self.start {
            date
        } else {
            date.tomorrow().ok()?
        };
        let (start, end) = (at(date, self.start)?, at(end_date, self.end)?);
        (start < end).then_some((start, end))
    }
}

/// Several windows: a member is one while any of them is open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schedule {
    windows: Vec<Window>,
}

impl Schedule {
    /// The windows of every spec.
    pub fn parse<S: AsRef<str>>(specs: &[S]) -> Result<Schedule, WindowError> {
        let mut windows = Vec::new();
        for spec in specs {
            windows.extend(parse(spec.as_ref())?);
        }
        Ok(Schedule { windows })
    }

    /// The windows in their stored form, one string each.
    pub fn canonical(&self) -> Vec<String> {
        self.windows.iter().map(Window::canonical).collect()
    }

    /// True while some window is open at `t` (on `tz`'s wall clock).
    pub fn contains(&self, t: Timestamp, tz: &TimeZone) -> bool {
        let today = tz.to_datetime(t).date();
        let days = [today.yesterday().ok(), Some(today)];
        days.into_iter().flatten().any(|d| {
            self.windows
                .iter()
                .filter_map(|w| w.on(d, tz))
                .any(|(start, end)| start <= t && t < end)
        })
    }

    /// The first instant after `t` at which [`Schedule::contains`] changes, within the next
    /// eight days (`None`: it never does, e.g. `00:00-24:00`).
    pub fn next_change(&self, t: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let now = self.contains(t, tz);
        let mut edges: Vec<Timestamp> = Vec::new();
        let mut date = tz.to_datetime(t).date().yesterday().ok()?;
        for _ in 0..10 {
            for (start, end) in self.windows.iter().filter_map(|w| w.on(date, tz)) {
                edges.extend([start, end].into_iter().filter(|e| *e > t));
            }
            date = date.tomorrow().ok()?;
        }
        edges.sort();
        edges.dedup();
        edges.into_iter().find(|e| self.contains(*e, tz) != now)
    }
}

/// The IANA time zone `name` (`Europe/Berlin`), or why not.
pub fn zone(name: &str) -> Result<TimeZone, WindowError> {
    TimeZone::get(name.trim()).map_err(|e| WindowError {
        spec: name.to_string(),
        why: format!("not a time zone jiff knows ({e}); use an IANA name such as Europe/Berlin"),
    })
}

#[cfg(test)]
#[path = "window_tests.rs"]
mod tests;
