//! The file registry's journal (`src/store/registry_journal.rs`): several views of the same
//! files stay in step, the journal is folded into `jobs.json` once it outgrows it, and a torn or
//! unreadable line or a crash between folding and emptying the journal loses nothing else.

use std::io::Write;
use std::sync::Arc;

use afpool::job::MaskMode;
use afpool::shared_str::SharedStr;
use afpool::store::registry::{JobMasks, JobRegistry, PoolJob};
use afpool::store::registry_file::FileRegistry;
use afpool::store::registry_journal::journal_path;

fn job(job_id: i64, pool: &str) -> PoolJob {
    PoolJob {
        job_id,
        pool: pool.into(),
        user: "ann".into(),
        job_name: format!("shot_{job_id}_{}", "x".repeat(200)),
        submitted_at: bson::DateTime::from_millis(1_780_000_000_123),
        masks_written: JobMasks {
            hosts_mask_exclude: Some("(?!(?:gpu01|gpu02)$).*".into()),
            hosts_mask_type: Some("regex".into()),
            ..JobMasks::default()
        },
        user_masks: JobMasks::default(),
        mask_mode: MaskMode::Exclude,
        serial: None,
        held: None,
    }
}

async fn ids(registry: &FileRegistry) -> Vec<i64> {
    let jobs = registry.list(None).await.unwrap();
    jobs.iter().map(|j| j.job_id).collect()
}

fn shared<const N: usize>(jobs: [PoolJob; N]) -> Vec<Arc<PoolJob>> {
    jobs.into_iter().map(Arc::new).collect()
}

fn len(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

#[tokio::test]
async fn two_views_of_the_same_files_see_each_others_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.json");
    let (a, b) = (FileRegistry::new(&path), FileRegistry::new(&path));
    a.upsert(&job(1, "gpu")).await.unwrap();
    assert_eq!(ids(&b).await, [1]);
    b.upsert_many(&shared([job(2, "gpu"), job(3, "cpu")]))
        .await
        .unwrap();
    assert!(b.remove(1).await.unwrap());
    assert_eq!(ids(&a).await, [2, 3]);
    assert!(
        !a.remove(1).await.unwrap(),
        "b removed it; a's view must know"
    );
    let moved = job(3, "gpu");
    assert!(a.replace_if(&moved, &job(3, "cpu")).await.unwrap());
    assert!(!b
        .replace_if(&job(3, "night"), &job(3, "cpu"))
        .await
        .unwrap());
    assert_eq!(b.get(3).await.unwrap(), Some(moved));
    assert!(len(&journal_path(&path)) > 0, "changes go to the journal");
}

#[tokio::test]
async fn the_journal_is_folded_into_the_snapshot_once_it_outgrows_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.json");
    let registry = FileRegistry::new(&path);
    // ~400 bytes a line: 4,000 upserts and 2,000 removals make a journal well past 1 MiB.
    for chunk in (0..4000).collect::<Vec<i64>>().chunks(100) {
        let jobs: Vec<_> = chunk.iter().map(|id| Arc::new(job(*id, "gpu"))).collect();
        registry.upsert_many(&jobs).await.unwrap();
    }
    for id in (0..4000).step_by(2) {
        registry.remove(id).await.unwrap();
    }
    let journal = journal_path(&path);
    assert!(len(&path) > 0, "a snapshot was written");
    assert!(
        len(&journal) < 1 << 20,
        "journal of {} bytes was not folded",
        len(&journal)
    );
    let expected: Vec<i64> = (1..4000).step_by(2).collect();
    assert_eq!(ids(&FileRegistry::new(&path)).await, expected);
    assert_eq!(ids(&registry).await, expected);
}

#[tokio::test]
async fn a_torn_last_line_is_cut_and_appends_go_on_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.json");
    let registry = FileRegistry::new(&path);
    registry.upsert(&job(1, "gpu")).await.unwrap();
    let journal = journal_path(&path);
    let whole = len(&journal);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap();
    file.write_all(br#"{"upsert": {"job_id": 2, "po"#).unwrap();
    drop(file);
    let other = FileRegistry::new(&path);
    assert_eq!(ids(&other).await, [1]);
    assert_eq!(len(&journal), whole, "the torn line is cut");
    other.upsert(&job(3, "gpu")).await.unwrap();
    assert_eq!(ids(&registry).await, [1, 3]);
    assert_eq!(ids(&FileRegistry::new(&path)).await, [1, 3]);
}

#[tokio::test]
async fn an_unreadable_line_is_skipped_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.json");
    let registry = FileRegistry::new(&path);
    registry.upsert(&job(1, "gpu")).await.unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(journal_path(&path))
        .unwrap();
    file.write_all(b"{\"upsert\": 17}\n").unwrap();
    drop(file);
    registry.upsert(&job(2, "gpu")).await.unwrap();
    assert_eq!(ids(&FileRegistry::new(&path)).await, [1, 2]);
}

#[tokio::test]
async fn a_journal_replayed_over_a_snapshot_that_holds_it_changes_nothing() {
    // A crash after the snapshot was replaced and before the journal was emptied.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.json");
    let registry = FileRegistry::new(&path);
    registry
        .upsert_many(&shared([job(1, "gpu"), job(2, "gpu"), job(3, "cpu")]))
        .await
        .unwrap();
    registry.remove(2).await.unwrap();
    registry.upsert(&job(3, "gpu")).await.unwrap();
    let journal = std::fs::read(journal_path(&path)).unwrap();
    let state = serde_json::json!({"jobs": [job(1, "gpu"), job(3, "gpu")]});
    std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
    std::fs::write(journal_path(&path), journal).unwrap();
    let jobs = FileRegistry::new(&path).list(None).await.unwrap();
    assert_eq!(jobs, shared([job(1, "gpu"), job(3, "gpu")]));
}

#[tokio::test]
async fn a_replaced_snapshot_is_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.json");
    let registry = FileRegistry::new(&path);
    registry.upsert(&job(1, "gpu")).await.unwrap();
    assert_eq!(ids(&registry).await, [1]);
    // Another tool writes a whole new registry and removes the journal.
    std::fs::remove_file(journal_path(&path)).unwrap();
    let state = serde_json::json!({"jobs": [job(5, "cpu")]});
    std::fs::write(&path, serde_json::to_vec(&state).unwrap()).unwrap();
    assert_eq!(ids(&registry).await, [5]);
}

#[tokio::test]
async fn jobs_read_back_share_one_copy_of_their_pool_owner_and_masks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.json");
    let writer = FileRegistry::new(&path);
    writer
        .upsert_many(&shared([job(1, "gpu"), job(2, "gpu"), job(3, "cpu")]))
        .await
        .unwrap();
    let jobs = FileRegistry::new(&path).list(None).await.unwrap();
    let by_id = |id: i64| jobs.iter().find(|j| j.job_id == id).unwrap();
    let (one, two, three) = (by_id(1), by_id(2), by_id(3));
    assert!(SharedStr::same(&one.pool, &two.pool));
    assert!(SharedStr::same(&one.user, &three.user));
    let exclude = |j: &PoolJob| j.masks_written.hosts_mask_exclude.clone().unwrap();
    assert!(SharedStr::same(&exclude(one), &exclude(three)));
    assert!(!SharedStr::same(&one.pool, &three.pool));
    assert_eq!((one.pool.as_str(), three.pool.as_str()), ("gpu", "cpu"));
}
