//! A block's task count as afserver 3.4.1 computes it (`BlockData::jsonRead`, `setNumeric`,
//! `libafanasy/blockdata.cpp`), and the 64-bit frame arithmetic it later does with it
//! (`genNumbers`, `getReadyTaskNumber`). Pure integer code; the shield turns the errors into
//! rejections.

/// A numeric block's settings as afserver reads them (`jr_int64`: absent or non-integer values
/// keep the defaults 0, 0, 1, 1, 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Frames {
    pub first: i64,
    pub last: i64,
    pub per_task: i64,
    pub inc: i64,
    pub sequential: i64,
}

impl Default for Frames {
    fn default() -> Self {
        Frames {
            first: 0,
            last: 0,
            per_task: 1,
            inc: 1,
            sequential: 1,
        }
    }
}

/// Why afserver cannot hold a block's tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CountError {
    /// Zero tasks (afserver's `isValid` fails and 3.4.1 crashes), with the reason.
    NoTasks(String),
    /// More tasks than afserver's `int32_t m_tasks_num` holds.
    TooMany(i64),
    /// A negative `tasks_num`: afserver registers a job that can never run.
    NegativeTasksNum(i64),
    /// `tasks_num` past the listed tasks: afserver reads beyond its task array.
    BeyondList { tasks_num: i64, listed: usize },
    /// A step of afserver's frame arithmetic overflows `int64_t` (named).
    Overflow(&'static str),
}

/// Tasks of a numeric block. afserver clamps `frames_per_task` and `frames_inc` to at least 1
/// and `frame_last` to at least `frame_first` (`setNumeric`), so only overflow is refused.
pub(super) fn numeric(f: Frames) -> Result<i32, CountError> {
    let per_task = f.per_task.max(1);
    let inc = f.inc.max(1);
    let last = f.last.max(f.first);
    let span = last
        .checked_sub(f.first)
        .ok_or(CountError::Overflow("frame_last - frame_first"))?;
    let frames = (span / inc)
        .checked_add(1)
        .ok_or(CountError::Overflow("the number of frames"))?;
    let tasks = frames / per_task + i64::from(frames % per_task != 0);
    let step = per_task
        .checked_mul(inc)
        .ok_or(CountError::Overflow("frames_per_task * frames_inc"))?;
    last.checked_add(step - 1)
        .ok_or(CountError::Overflow("the last task's frame range"))?;
    sequential_steps(f.first, last, f.sequential)?;
    i32::try_from(tasks).map_err(|_| CountError::TooMany(tasks))
}

/// `getReadyTaskNumber` walks frames by `sequential` steps past the range's ends.
fn sequential_steps(first: i64, last: i64, sequential: i64) -> Result<(), CountError> {
    let fits = match sequential {
        s if s > 1 => last.checked_add(s).is_some(),
        s if s < -1 => first.checked_add(s).is_some(),
        _ => true,
    };
    fits.then_some(())
        .ok_or(CountError::Overflow("a frame plus sequential"))
}

/// Tasks of a task-list block: `listed` tasks, unless an int32 `tasks_num` overrides the count
/// (`jr_int32("tasks_num")` after `jsonReadTasks`). `frames_per_task`, when not 0, is multiplied
/// by task numbers (`genNumbers`).
pub(super) fn listed(
    listed: usize,
    tasks_num: Option<i64>,
    per_task: i64,
) -> Result<i32, CountError> {
    if listed == 0 {
        return Err(CountError::NoTasks("'tasks' is empty".into()));
    }
    let count = match tasks_num.filter(|n| i32::try_from(*n).is_ok()) {
        Some(0) => return Err(CountError::NoTasks("tasks_num is 0".into())),
        Some(n) if n < 0 => return Err(CountError::NegativeTasksNum(n)),
        Some(n) if n as usize > listed => {
            return Err(CountError::BeyondList {
                tasks_num: n,
                listed,
            })
        }
        Some(n) => n,
        None => i64::try_from(listed).unwrap_or(i64::MAX),
    };
    let count = i32::try_from(count).map_err(|_| CountError::TooMany(count))?;
    if per_task == i64::MIN || per_task.checked_mul(i64::from(count)).is_none() {
        return Err(CountError::Overflow(
            "frames_per_task * the number of tasks",
        ));
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const MAX: i64 = i64::MAX;
    const MIN: i64 = i64::MIN;

    fn frames(first: i64, last: i64, per_task: i64, inc: i64) -> Frames {
        Frames {
            first,
            last,
            per_task,
            inc,
            sequential: 1,
        }
    }

    #[rstest]
    #[case(frames(1, 10, 1, 1), Ok(10))]
    #[case(frames(1, 10, 3, 1), Ok(4))]
    #[case(frames(1, 10, 1, 2), Ok(5))]
    #[case(frames(1, 10, 2, 3), Ok(2))]
    #[case(frames(10, 1, 1, 1), Ok(1))] // frame_last clamped to frame_first
    #[case(frames(1, 10, 0, 0), Ok(10))] // clamped to 1
    #[case(frames(1, 10, -5, -1), Ok(10))]
    #[case(frames(0, 0, 1, 1), Ok(1))]
    #[case(frames(0, 2_147_483_646, 1, 1), Ok(i32::MAX))]
    #[case(frames(0, 2_147_483_647, 1, 1), Err(CountError::TooMany(1 << 31)))]
    #[case(frames(0, 4_294_967_295, 1, 1), Err(CountError::TooMany(1 << 32)))]
    #[case(frames(0, 4_294_967_295, 2, 1), Err(CountError::TooMany(1 << 31)))]
    #[case(frames(0, 4_294_967_295, 4, 1), Ok(1 << 30))]
    #[case(frames(0, 4_294_967_292, 1, 2), Ok(i32::MAX))]
    #[case(frames(0, 4_294_967_294, 1, 2), Err(CountError::TooMany(1 << 31)))]
    #[case(
        frames(MIN, MAX, 1, 1),
        Err(CountError::Overflow("frame_last - frame_first"))
    )]
    #[case(
        frames(0, MAX, 1, 1),
        Err(CountError::Overflow("the number of frames"))
    )]
    #[case(
        frames(0, 10, MAX, 2),
        Err(CountError::Overflow("frames_per_task * frames_inc"))
    )]
    #[case(frames(0, MAX - 1, MAX, 1), Err(CountError::Overflow("the last task's frame range")))]
    fn numeric_counts(#[case] f: Frames, #[case] want: Result<i32, CountError>) {
        assert_eq!(numeric(f), want, "{f:?}");
    }

    #[rstest]
    #[case(1, 10, 5, Ok(10))]
    #[case(1, 10, MAX - 5, Err(CountError::Overflow("a frame plus sequential")))]
    #[case(-10, 10, -5, Ok(21))]
    #[case(MIN + 3, MIN + 10, -5, Err(CountError::Overflow("a frame plus sequential")))]
    #[case(MIN + 3, 10, -1, Err(CountError::Overflow("frame_last - frame_first")))]
    fn sequential(
        #[case] first: i64,
        #[case] last: i64,
        #[case] seq: i64,
        #[case] want: Result<i32, CountError>,
    ) {
        let f = Frames {
            sequential: seq,
            ..frames(first, last, 1, 1)
        };
        assert_eq!(numeric(f), want);
    }

    #[rstest]
    #[case(3, None, 1, Ok(3))]
    #[case(3, Some(2), 1, Ok(2))]
    #[case(3, Some(3), 1, Ok(3))]
    #[case(3, Some(4), 1, Err(CountError::BeyondList { tasks_num: 4, listed: 3 }))]
    #[case(3, Some(0), 1, Err(CountError::NoTasks("tasks_num is 0".into())))]
    #[case(3, Some(-1), 1, Err(CountError::NegativeTasksNum(-1)))]
    #[case(3, Some(1 << 31), 1, Ok(3))] // not an int32: afserver ignores it
    #[case(3, Some(-(1 << 31)), 1, Err(CountError::NegativeTasksNum(-(1 << 31))))]
    #[case(0, Some(5), 1, Err(CountError::NoTasks("'tasks' is empty".into())))]
    #[case(3, None, -4, Ok(3))]
    #[case(
        3,
        None,
        MIN,
        Err(CountError::Overflow("frames_per_task * the number of tasks"))
    )]
    #[case(3, None, MAX / 2, Err(CountError::Overflow("frames_per_task * the number of tasks")))]
    fn listed_counts(
        #[case] len: usize,
        #[case] tasks_num: Option<i64>,
        #[case] per_task: i64,
        #[case] want: Result<i32, CountError>,
    ) {
        assert_eq!(listed(len, tasks_num, per_task), want);
    }
}
